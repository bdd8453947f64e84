"""Bring the per-page revision table up to a commit, from git's own log.

Renames come from git's rename detection (``git log -M``), so a ``git mv``
made anywhere is followed. A move made by the app also names, in a trailer
of its commit message (``Renamed: old.md -> new.md``), each page whose text
it changed while moving it (its own links rewritten): git may not pair a
short page whose text changed much, the trailer does, and it is in git too.
"""

from __future__ import annotations

import inspect
import logging
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Callable, Protocol

from commons import markup, paths
from commons.errors import N_, CommonsError
from commons.history import HistoryStore, Revision
from commons.storage import CommitInfo, FileChange, GitStore

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
BLOB_BATCH = 2000  # blobs read by one ``git cat-file --batch``
FEW_BLOBS = 8  # up to this many, blobs are read one by one (no new git process)
RENAMED = "Renamed"
_RENAMED_RE = re.compile(rf"^{RENAMED}: (\S+) -> (\S+)$", re.MULTILINE)


@dataclass(frozen=True)
class Pending:
    """The commits after ``since`` up to ``head``, read once (``git log -M``) for every derived store.

    ``since`` is ``None`` for the whole history. A store reflecting ``since``
    applies ``commits``; any other store reads its own log.
    """

    since: str | None
    head: str
    commits: list[CommitInfo]

    def touched_pages(self) -> list[str]:
        """Every page path a commit added, changed, deleted or renamed (either name), sorted."""
        return sorted({p for c in self.commits for ch in plain_changes(c) if (p := paths.path_for_file(ch.name))})


class DerivedStore(Protocol):
    """A store derived from git that follows the branch (search index, credits...)."""

    def reflected(self) -> str | None: ...

    def catch_up(self, store: GitStore, head: str, progress: Progress | None, rebuild: bool) -> None:
        """Apply the commits up to ``head``; may also accept ``pending=``, the :class:`Pending` commits."""


def follow(follower: DerivedStore, store: GitStore, head: str, progress: Progress | None, rebuild: bool,
           pending: Pending | None) -> None:
    """Bring ``follower`` up to ``head``, handing it ``pending`` when its ``catch_up`` takes it."""
    if pending is not None and "pending" in inspect.signature(follower.catch_up).parameters:
        follower.catch_up(store, head, progress, rebuild, pending=pending)  # type: ignore[call-arg]
    else:
        follower.catch_up(store, head, progress, rebuild)


def pending_commits(store: GitStore, since: str | None, head: str) -> Pending:
    """The commits from ``since`` (exclusive) to ``head``; the whole history when ``since`` is not an ancestor.

    When the oldest commit read has ``since`` as first parent (a save, a usual catch-up), ``since`` is an
    ancestor: no ``git merge-base`` is needed.
    """
    if since == head:
        return Pending(since, head, [])
    commits = list(store.log(since, head, renames=True))
    if since and not (commits and commits[0].parent == since) and not store.is_ancestor(since, head):
        log.warning("%s is not an ancestor of %s: reading the whole history", since, head)
        since, commits = None, list(store.log(None, head, renames=True))
    return Pending(since, head, commits)


def read_texts(store: GitStore, blobs: Iterable[str]) -> dict[str, bytes]:
    """The content of blobs: a few through the store's long-running reader, many in one ``cat-file`` run."""
    wanted = set(blobs)
    if len(wanted) > FEW_BLOBS:
        return read_blobs(store, wanted)
    return {blob: store.read_blob(blob) for blob in wanted}


def plain_changes(commit: CommitInfo) -> list[FileChange]:
    """The commit's changes as ``git log --no-renames`` gives them: a rename is a deletion and an addition."""
    if not any(c.status == "R" for c in commit.changes):
        return commit.changes
    plain: list[FileChange] = []
    for change in commit.changes:
        if change.status == "R" and change.old_name is not None:
            plain.append(FileChange("D", change.old_name, None, change.old_blob))
            plain.append(FileChange("A", change.name, change.blob, None))
        else:
            plain.append(change)
    return sorted(plain, key=lambda c: c.name.encode("utf-8", "surrogateescape"))


def read_blobs(store: GitStore, blobs: Iterable[str]) -> dict[str, bytes]:
    """The content of many blobs in one ``git cat-file --batch`` run (a missing one is left out)."""
    wanted = sorted(set(blobs))
    if not wanted:
        return {}
    try:
        out = subprocess.run(["git", f"--git-dir={store.repo_dir}", "cat-file", "--batch"],
                             input="\n".join(wanted).encode() + b"\n", capture_output=True, check=True,
                             timeout=600).stdout
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        raise CommonsError(N_("git %(args)s a échoué : %(message)s", args="cat-file", message=str(exc))) from exc
    found: dict[str, bytes] = {}
    at = 0
    while at < len(out):
        end = out.index(b"\n", at)
        header = out[at:end].split(b" ")
        at = end + 1
        if len(header) == 3 and header[2].isdigit():
            size = int(header[2])
            found[header[0].decode()] = out[at:at + size]
            at += size + 1
    return found


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


def _titles(store: GitStore, history: HistoryStore, touched: list[str], progress: Progress | None) -> dict[str, str]:
    """The title of each of the ``touched`` pages that exists, its text read in batches of blobs."""
    titles: dict[str, str] = {}
    for start in range(0, len(touched), BLOB_BATCH):
        states = [s for p in touched[start:start + BLOB_BATCH] if (s := history.page(p)) is not None]
        texts = read_texts(store, (s.blob for s in states))
        for state in states:
            text = texts.get(state.blob)
            text = store.read_blob(state.blob) if text is None else text
            titles[state.path] = markup.title_of(text.decode("utf-8", "replace"), state.path)
        if progress:
            progress(min(start + BLOB_BATCH, len(touched)), len(touched))
    return titles


def sync_history(store: GitStore, history: HistoryStore, head: str,
                 progress: Progress | None = None, rebuild: bool = False, pending: Pending | None = None) -> int:
    """Apply the commits between what ``history`` reflects and ``head``; returns how many.

    A history rewritten under the store (``since`` no longer an ancestor of
    ``head``) or ``rebuild`` starts again from the first commit. ``pending``,
    when it starts where the history stands (or at the beginning, on rebuild), saves reading git's log again.
    """
    since = None if rebuild else history.reflected()
    if since == head:
        return 0
    if pending is None or pending.head != head or pending.since != since:
        pending = pending_commits(store, since, head)
    since = pending.since
    commits = pending.commits
    blobs = {b for c in commits for ch in c.changes for b in (ch.blob, ch.old_blob) if b}
    sizes = store.sizes(blobs)
    revisions = _revisions(commits, sizes)
    touched = {r.path for r in revisions} | {r.old_path for r in revisions if r.old_path}
    with history.transaction() as db:
        if since is None:
            history.clear(db)
        history.add_revisions(db, revisions)
        history.set_titles(db, _titles(store, history, sorted(touched), progress))
        history.set_reflected(db, head)
    log.info("history caught up to %s (%d commits, %d pages)", head, len(commits), len(touched))
    return len(commits)
