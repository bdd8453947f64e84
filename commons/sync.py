"""Bring the per-page revision table up to a commit, from git's own log.

Renames come from git's rename detection (``git log -M``), so a ``git mv``
made anywhere is followed. A move made by the app also names, in a trailer
of its commit message (``Renamed: old.md -> new.md``), each page whose text
it changed while moving it (its own links rewritten): git may not pair a
short page whose text changed much, the trailer does, and it is in git too.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Callable

from commons import markup, paths
from commons.history import HistoryStore, Revision
from commons.storage import CommitInfo, FileChange, GitStore

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
RENAMED = "Renamed"
_RENAMED_RE = re.compile(rf"^{RENAMED}: (\S+) -> (\S+)$", re.MULTILINE)


def rename_trailers(pairs: list[tuple[str, str]]) -> list[str]:
    """The trailer lines naming renamed files (old name, new name), for the last paragraph of a message."""
    return [f"{RENAMED}: {old} -> {new}" for old, new in pairs]


def _declared_renames(commit: CommitInfo) -> list[FileChange]:
    """The commit's changes with each declared rename (a deletion and an addition) made one ``R`` change."""
    last = commit.message.strip().rsplit("\n\n", 1)[-1] if "\n\n" in commit.message.strip() else ""
    declared = dict((new, old) for old, new in _RENAMED_RE.findall(last))
    if not declared:
        return commit.changes
    deleted = {c.name: c for c in commit.changes if c.status == "D"}
    paired = {new: old for new, old in declared.items() if old in deleted}
    changes = [replace(c, status="R", old_name=paired[c.name], old_blob=deleted[paired[c.name]].old_blob)
               if c.status == "A" and c.name in paired else c for c in commit.changes]
    return [c for c in changes if not (c.status == "D" and c.name in paired.values())]


def _page_change(change: FileChange) -> tuple[str, str, str | None, str | None] | None:
    """``(op, path, blob, old_path)`` of a change to a page, or ``None`` when no page is concerned.

    A rename (git's ``R``) between two page files is op ``R`` with ``old_path``;
    a file renamed into a page is an addition, a page renamed into another file a deletion.
    """
    path = paths.path_for_file(change.name)
    old_path = paths.path_for_file(change.old_name) if change.old_name else None
    if change.status != "R":
        return (change.status, path, change.blob, None) if path else None
    if path is None:
        return ("D", old_path, None, None) if old_path else None
    return ("R", path, change.blob, old_path) if old_path else ("A", path, change.blob, None)


def _revisions(commits: list[CommitInfo], sizes: dict[str, int]) -> list[Revision]:
    revisions: list[Revision] = []
    for commit in commits:
        summary = commit.message.split("\n", 1)[0]
        for change in _declared_renames(commit):
            found = _page_change(change)
            if found is None:
                continue
            op, path, blob, old_path = found
            size = sizes.get(blob, 0) if blob else 0
            old = sizes.get(change.old_blob, 0) if change.old_blob and op != "A" else 0
            revisions.append(Revision(path, commit.sha, commit.parent, blob, op, commit.author_name,
                                      commit.date, summary, size, size - old, old_path))
    return revisions


def sync_history(store: GitStore, history: HistoryStore, head: str,
                 progress: Progress | None = None, rebuild: bool = False) -> int:
    """Apply the commits between what ``history`` reflects and ``head``; returns how many.

    A history rewritten under the store (``since`` no longer an ancestor of
    ``head``) or ``rebuild`` starts again from the first commit.
    """
    since = None if rebuild else history.reflected()
    if since == head:
        return 0
    if since and not store.is_ancestor(since, head):
        log.warning("history %s is not an ancestor of %s: rebuilding", since, head)
        since, rebuild = None, True
    commits = list(store.log(since, head, renames=True))
    blobs = {b for c in commits for ch in c.changes for b in (ch.blob, ch.old_blob) if b}
    sizes = store.sizes(blobs)
    revisions = _revisions(commits, sizes)
    touched = {r.path for r in revisions} | {r.old_path for r in revisions if r.old_path}
    with history.transaction() as db:
        if rebuild or since is None:
            history.clear(db)
        history.add_revisions(db, revisions)
        titles = {}
        for done, path in enumerate(sorted(touched), 1):
            state = history.page(path)
            if state is not None:
                text = store.read_blob(state.blob).decode("utf-8", "replace")
                titles[path] = markup.title_of(text, path)
            if progress and (done % 200 == 0 or done == len(touched)):
                progress(done, len(touched))
        history.set_titles(db, titles)
        history.set_reflected(db, head)
    log.info("history caught up to %s (%d commits, %d pages)", head, len(commits), len(touched))
    return len(commits)
