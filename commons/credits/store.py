"""CreditStore: who wrote the surviving words of each page, as a derived store following git.

The store is one SQLite file in the cache folder (``credits.sqlite``). Like
the search index, it records the commit it reflects and is brought up to the
branch's head by :meth:`CreditStore.catch_up`, called under the commons'
write lock after every commit, at start-up and by ``commons reindex``. Reads
come from any thread, each with its own connection (WAL), and only touch the
page asked for: a page's credits are one indexed query however long its history.
"""

from __future__ import annotations

import gc
import json
import logging
import sqlite3
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator

from commons.credits.follow import Applier
from commons.credits.lineage import SCHEMA, Lineage, read_lineage
from commons.credits.models import (
    PageCredits,
    PageSummary,
    PersonCredits,
    Run,
    contributions,
    contributors,
    shares,
)
from commons.credits.tokens import tokens_of
from commons.errors import N_, NotFound
from commons.sqlite import ReflectedStore, select_in
from commons.storage import CommitInfo, GitStore
from commons.sync import Pending

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
SCHEMA_VERSION = "2"  # 2: other kinds of contribution (trailers), per-author indexes
BATCH = 200
REBUILD_BATCH = 1000  # commits per transaction during a rebuild
REBUILD_CACHE_KIB = -262_144  # SQLite's page cache during a rebuild (negative: in KiB), for the inserts in random order

# Contributions, surviving tokens and other kinds per author: of everyone, or of one author (by index).
_EVERYONE = (
    "SELECT author, SUM(created), SUM(edits), SUM(restores), MIN(first), MAX(last) FROM contributors GROUP BY author",
    "SELECT author, SUM(tokens) FROM shares GROUP BY author",
    "SELECT author, kind, SUM(count) FROM others GROUP BY author, kind",
)
_ONE = (
    "SELECT author, SUM(created), SUM(edits), SUM(restores), MIN(first), MAX(last) FROM contributors"
    " WHERE author = ? GROUP BY author",
    "SELECT author, SUM(tokens) FROM shares WHERE author = ? GROUP BY author",
    "SELECT author, kind, SUM(count) FROM others WHERE author = ? GROUP BY author, kind",
)


def _prepare(conn: sqlite3.Connection) -> None:
    try:
        conn.executescript(SCHEMA)
    except sqlite3.OperationalError:  # tables of another schema version: the next catch-up rebuilds
        log.warning("credits store has another schema: it will be rebuilt")


@contextmanager
def _collector_paused(rebuilding: bool) -> Iterator[None]:
    """During a rebuild, pause Python's cyclic garbage collector.

    A rebuild keeps millions of objects alive (paragraphs, tokens, seen
    occurrences) and each full pass of the collector walks them all, about a
    tenth of the rebuild's time; the lists and tuples it makes form no
    reference cycles, and any other garbage is collected once it resumes.
    """
    if not rebuilding or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class CreditStore(ReflectedStore):
    """Word-level attribution of every page, in one SQLite file, following the branch.

    Connections, ``transaction()``, ``reflected()`` and ``set_reflected()`` come from
    :class:`~commons.sqlite.ReflectedStore`.
    """

    rebuild_weight = 3  # the longest rebuild of the derived stores: started first by ``commons reindex``

    def __init__(self, db_file: Path) -> None:
        super().__init__(db_file, _prepare, SCHEMA_VERSION)

    # -- following git -------------------------------------------------------------------

    def catch_up(self, store: GitStore, head: str, progress: Progress | None = None, rebuild: bool = False,
                 pending: Pending | None = None) -> None:
        """Attribute the commits between the reflected one and ``head``, oldest first (all on rebuild).

        The caller holds the commons' write lock; ``pending``, the commits from
        the reflected one, saves reading git's log again. Commits are applied in
        batches of ``BATCH``, each in one transaction that also records the
        last commit applied, so an interrupted catch-up resumes where it stopped.
        """
        since = None if rebuild else self.reflected()
        if since == head:
            return
        if pending is not None and pending.head == head and pending.since == since:
            commits = pending.commits
        else:
            if since and not store.is_ancestor(since, head):
                log.warning("credits reflect %s, not an ancestor of %s: rebuilding", since, head)
                since = None
            commits = list(store.log(since, head))
        with self._fast_writes(since is None), _collector_paused(since is None):
            self._apply(store, head, commits, since is None, progress)
        log.info("credits caught up to %s (%d commits)", head, len(commits))

    def _apply(self, store: GitStore, head: str, commits: list[CommitInfo], afresh: bool,
               progress: Progress | None) -> None:
        """Apply ``commits`` batch by batch, one transaction each (``afresh``: into new tables)."""
        applier: Applier | None = None
        size = REBUILD_BATCH if afresh else BATCH
        for start in range(0, max(len(commits), 1), size):
            batch = commits[start:start + size]
            with self.transaction() as db:
                if afresh and start == 0:  # start afresh, in this schema's tables
                    for table in ("meta", "commits", "lineages", "seen", "shares", "contributors", "others"):
                        db.execute(f"DROP TABLE IF EXISTS {table}")
                    for statement in SCHEMA.split(";"):
                        if statement.strip():
                            db.execute(statement)
                applier = applier or Applier(db)
                applier.read_ahead(store, batch)
                for commit in batch:
                    applier.apply(store, commit)
                applier.flush()
                last = batch[-1].sha if batch else head
                self.set_reflected(db, last)
            applier.forget()
            if progress:
                progress(min(start + size, len(commits)), len(commits))

    @contextmanager
    def _fast_writes(self, rebuilding: bool) -> Iterator[None]:
        """During a rebuild, let SQLite skip the syncs to disk (a crash only means rebuilding again)."""
        if not rebuilding:
            yield
            return
        db = self._db()
        cache = db.execute("PRAGMA cache_size").fetchone()[0]
        db.execute("PRAGMA synchronous=OFF")
        db.execute(f"PRAGMA cache_size={REBUILD_CACHE_KIB}")
        try:
            yield
        finally:
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(f"PRAGMA cache_size={int(cache)}")

    # -- reading ---------------------------------------------------------------------------

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """Several reads seeing one state of the store, whatever a catch-up writes meanwhile."""
        db = self._db()
        db.execute("BEGIN")
        try:
            yield db
        finally:
            db.execute("COMMIT")

    def _credits(self, db: sqlite3.Connection, path: str) -> tuple[int, PageCredits]:
        found = db.execute("SELECT id, rev FROM lineages WHERE path = ? AND live = 1", (path,)).fetchone()
        if found is None:
            raise NotFound(N_("La page « %(path)s » n'existe pas.", path=path))
        rows = db.execute("SELECT author, tokens FROM shares WHERE lineage = ?", (found[0],)).fetchall()
        return int(found[0]), shares(path, str(found[1]), rows)

    def credits(self, path: str) -> PageCredits:
        """The authors of the page's current text, largest share first; :class:`NotFound` if no such page."""
        with self._snapshot() as db:
            return self._credits(db, path)[1]

    def summary(self, path: str) -> PageSummary:
        """The page's credits with every contributor and contribution; :class:`NotFound` if no such page."""
        with self._snapshot() as db:
            lineage_id, credits = self._credits(db, path)
            rows = db.execute("SELECT author, created, edits, restores, first, last FROM contributors"
                              " WHERE lineage = ? ORDER BY since, author", (lineage_id,)).fetchall()
            others: dict[str, dict[str, int]] = {}
            for author, kind, count in db.execute("SELECT author, kind, count FROM others WHERE lineage = ?",
                                                  (lineage_id,)):
                others.setdefault(author, {})[kind] = int(count)
        return PageSummary(credits, contributors(credits, rows, others), contributions(rows, others))

    # -- across the commons: one indexed aggregate per table, whatever the number of pages ---------

    def person(self, name: str) -> PersonCredits | None:
        """Everything ``name`` contributed across the commons (every page, deleted ones included), or ``None``."""
        found = self._people(name)
        return found[0] if found else None

    def people(self) -> list[PersonCredits]:
        """Every contributor the store knows, by name."""
        return self._people(None)

    def total_tokens(self) -> int:
        """The number of attributed tokens in the current text of every page."""
        return int(self._db().execute("SELECT COALESCE(SUM(tokens), 0) FROM shares").fetchone()[0])

    def _people(self, name: str | None) -> list[PersonCredits]:
        people, tokens_sql, others_sql = _EVERYONE if name is None else _ONE
        args = () if name is None else (name,)
        with self._snapshot() as db:
            rows = db.execute(people, args).fetchall()
            tokens = dict(db.execute(tokens_sql, args).fetchall())
            others: dict[str, dict[str, int]] = {}
            for author, kind, count in db.execute(others_sql, args):
                others.setdefault(author, {})[kind] = int(count)
        found = {author: PersonCredits(author, int(created), int(edits), int(restores), int(tokens.get(author, 0)),
                                       datetime.fromisoformat(first), datetime.fromisoformat(last),
                                       others.get(author, {}))
                 for author, created, edits, restores, first, last in rows}
        for author in set(tokens) - set(found):  # tokens without a contribution row: not expected, kept anyway
            found[author] = PersonCredits(author, 0, 0, 0, int(tokens[author]), None, None, others.get(author, {}))
        return [found[author] for author in sorted(found)]

    def _lineage(self, path: str) -> Lineage:
        found = read_lineage(self._db(), path)
        if found is None or not found.live:
            raise NotFound(N_("La page « %(path)s » n'existe pas.", path=path))
        return found

    def _authors(self, origins: set[int]) -> dict[int, str]:
        return dict(select_in(self._db(), "SELECT id, author FROM commits WHERE id IN ({marks})", sorted(origins)))

    def tokens(self, path: str) -> list[tuple[str, str]]:
        """Every token of the page's current text with its author, in order."""
        lineage = self._lineage(path)
        names = self._authors(set(lineage.tokens.origins))
        return [(value, names.get(origin, "?")) for value, origin in
                zip(lineage.tokens.values, lineage.tokens.origins, strict=True)]

    def attribution(self, path: str) -> list[Run]:
        """The page's Markdown cut into runs of words by the same author ("who wrote this").

        Spacing and syntax between two runs of different authors make a run of their own (author ``None``).
        """
        lineage = self._lineage(path)
        text = lineage.text
        names = self._authors(set(lineage.tokens.origins))
        runs: list[Run] = []
        start, author, end = 0, None, 0
        for token, origin in zip(tokens_of(text), lineage.tokens.origins, strict=True):
            name = names.get(origin, "?")
            if name != author:
                if author is not None:
                    runs.append(Run(text[start:end], author))
                if token.start > end:
                    runs.append(Run(text[end:token.start], None))
                start, author = token.start, name
            end = token.end
        if author is not None:
            runs.append(Run(text[start:end], author))
        if end < len(text):
            runs.append(Run(text[end:], None))
        return runs

    def former_paths(self, path: str) -> list[tuple[str, str]]:
        """The paths the page had before, each with the commit that moved it, oldest first."""
        row = self._db().execute("SELECT former FROM lineages WHERE path = ? AND live = 1", (path,)).fetchone()
        if row is None:
            raise NotFound(N_("La page « %(path)s » n'existe pas.", path=path))
        return [(old, sha) for old, sha in json.loads(row[0])]
