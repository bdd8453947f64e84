"""Bring the per-page revision table up to a commit, from git's own log."""

from __future__ import annotations

import logging
from typing import Callable

from commons import markup, paths
from commons.history import HistoryStore, Revision
from commons.storage import CommitInfo, GitStore

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


def _revisions(commits: list[CommitInfo], sizes: dict[str, int]) -> list[Revision]:
    revisions: list[Revision] = []
    for commit in commits:
        summary = commit.message.split("\n", 1)[0]
        for change in commit.changes:
            path = paths.path_for_file(change.name)
            if path is None:
                continue
            size = sizes.get(change.blob, 0) if change.blob else 0
            old = sizes.get(change.old_blob, 0) if change.old_blob else 0
            revisions.append(Revision(path, commit.sha, commit.parent, change.blob, change.status,
                                      commit.author_name, commit.date, summary, size, size - old))
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
    commits = list(store.log(since, head))
    blobs = {b for c in commits for ch in c.changes for b in (ch.blob, ch.old_blob) if b}
    sizes = store.sizes(blobs)
    revisions = _revisions(commits, sizes)
    touched = {r.path for r in revisions}
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
