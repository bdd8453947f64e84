"""``commons reindex``: rebuild every derived store from git, the independent ones side by side.

The history table comes first (the search index and the link graph read it);
then each follower (search index, credits, link graph) is rebuilt from it. On
a large history they are rebuilt in worker processes, the longest first, as
many at a time as there are cores: each worker opens its own git and SQLite
handles (started with ``spawn``, never forked with a ``Repo`` open). The
caller's write lock is held throughout, so nothing else writes meanwhile.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
from collections.abc import Sequence
from multiprocessing.context import SpawnProcess
from typing import TYPE_CHECKING, Any

from commons.config import Settings
from commons.errors import N_, CommonsError
from commons.sync import DerivedStore, Progress, sync_history

if TYPE_CHECKING:
    from commons.services import Commons

log = logging.getLogger(__name__)

PARALLEL_FROM = 2000  # commits: below, starting worker processes costs more than it saves
_POLL = 0.5  # seconds between two looks at the workers


def rebuild_all(commons: Commons, progress: Progress | None = None, workers: int | None = None) -> int:
    """Rebuild the history, then every follower, from the whole history; returns the commits read.

    ``workers`` processes rebuild the followers (default: one per core on a
    large history, else none: everything in this process).
    """
    pages, store = commons.pages, commons.store
    with pages.write_lock(timeout=600):
        head = store.head()
        if head is None:
            return 0
        commits = sync_history(store, commons.history, head, progress, rebuild=True)
        followers = pages.followers
        if workers is None:
            workers = min(os.cpu_count() or 1, len(followers)) if commits >= PARALLEL_FROM else 1
        if workers <= 1 or len(followers) <= 1:
            for follower in followers:
                follower.catch_up(store, head, progress, True)
        else:
            _rebuild_in_workers(commons.settings, head, followers, progress, workers)
    return commits


def _order(followers: Sequence[DerivedStore]) -> list[int]:
    """Follower indexes, the longest rebuild first (``rebuild_weight``, 1 when a store does not say)."""
    return sorted(range(len(followers)), key=lambda i: -float(getattr(followers[i], "rebuild_weight", 1)))


def _rebuild_in_workers(settings: Settings, head: str, followers: Sequence[DerivedStore],
                        progress: Progress | None, workers: int) -> None:
    """Rebuild each follower in a worker process, ``workers`` at a time; raise if any of them fails."""
    context = multiprocessing.get_context("spawn")
    events: Any = context.Queue()
    waiting = _order(followers)
    running: dict[int, SpawnProcess] = {}
    counts: dict[int, tuple[int, int]] = {}
    try:
        while waiting or running:
            while waiting and len(running) < workers:
                index = waiting.pop(0)
                running[index] = context.Process(target=rebuild_one, args=(settings, index, head, events),
                                                 name=f"reindex-{type(followers[index]).__name__}")
                running[index].start()
            _wait_for_event(events, running, counts, progress, followers)
    finally:
        for process in running.values():  # an error or an interruption: stop what is left
            process.terminate()
            process.join()
        events.close()


def _wait_for_event(events: Any, running: dict[int, SpawnProcess], counts: dict[int, tuple[int, int]],
                    progress: Progress | None, followers: Sequence[DerivedStore]) -> None:
    """Handle the next word from a worker (progress, done, failure), or notice one that died silently."""
    try:
        kind, index, done, total = events.get(timeout=_POLL)
    except queue.Empty:
        for index, process in list(running.items()):
            if process.exitcode is not None:
                running.pop(index).join()
                raise CommonsError(N_("La reconstruction de %(store)s s'est arrêtée (code %(code)s).",
                                      store=type(followers[index]).__name__, code=process.exitcode)) from None
        return
    name = type(followers[index]).__name__
    if kind == "error":
        raise CommonsError(N_("La reconstruction de %(store)s a échoué : %(reason)s", store=name, reason=done))
    if kind == "done":
        running.pop(index).join()
        log.info("reindex: %s rebuilt", name)
    elif progress is not None:
        counts[index] = (int(done), int(total))
        progress(sum(d for d, _ in counts.values()), sum(t for _, t in counts.values()))


def rebuild_one(settings: Settings, index: int, head: str, events: Any) -> None:
    """In a worker process: rebuild follower ``index`` of a freshly opened commons up to ``head``."""
    from commons.services import open_commons  # here: the services module imports this one

    commons = open_commons(settings)
    try:
        follower = commons.pages.followers[index]
        follower.catch_up(commons.store, head, lambda done, total: events.put(("progress", index, done, total)),
                          True)
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises it as a CommonsError
        log.exception("reindex worker %d failed", index)
        events.put(("error", index, f"{type(exc).__name__}: {exc}", 0))
    else:
        events.put(("done", index, 0, 0))
    finally:
        commons.close()
