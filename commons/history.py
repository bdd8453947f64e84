"""HistoryStore: the derived per-page revision table (SQLite, in the cache folder).

It answers "which pages exist, what is their current revision and title" and
"what are the revisions of this page" without walking git history. It is
derived from git: it records the commit it reflects, is caught up from git by
:class:`commons.pages.PageService` and can be rebuilt from scratch.
Rows for renames carry ``old_path`` so that history can follow a move.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterable, Iterator

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS revisions (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,
    rev TEXT NOT NULL,
    parent TEXT,
    blob TEXT,
    op TEXT NOT NULL,
    old_path TEXT,
    author TEXT NOT NULL,
    date TEXT NOT NULL,
    summary TEXT NOT NULL,
    size INTEGER NOT NULL,
    delta INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS revisions_by_path ON revisions (path, id);
CREATE INDEX IF NOT EXISTS revisions_by_rev ON revisions (rev);
CREATE INDEX IF NOT EXISTS revisions_by_author ON revisions (author, id);
CREATE TABLE IF NOT EXISTS pages (
    path TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    blob TEXT NOT NULL,
    rev TEXT NOT NULL,
    updated TEXT NOT NULL,
    author TEXT NOT NULL,
    size INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class Revision:
    """One change to one page."""

    path: str
    rev: str
    parent: str | None
    blob: str | None
    op: str
    author: str
    date: datetime
    summary: str
    size: int
    delta: int
    old_path: str | None = None


@dataclass(frozen=True)
class PageState:
    """A page as it stands at the reflected commit."""

    path: str
    title: str
    blob: str
    rev: str
    updated: datetime
    author: str
    size: int


class HistoryStore:
    """Per-page revisions and current page states, in one SQLite file."""

    def __init__(self, db_file: Path) -> None:
        self.db_file = Path(db_file)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()

    def _db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            self.db_file.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.db_file, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        """Close every connection this store opened."""
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        self._local = threading.local()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``)."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # -- the commit reflected --------------------------------------------------------

    def reflected(self) -> str | None:
        """The commit this store reflects, or ``None`` when empty or from another schema."""
        rows = dict(self._db().execute("SELECT key, value FROM meta").fetchall())
        if rows.get("schema") != SCHEMA_VERSION:
            return None
        return rows.get("commit") or None

    def set_reflected(self, db: sqlite3.Connection, commit: str) -> None:
        db.execute("INSERT OR REPLACE INTO meta VALUES ('commit', ?), ('schema', ?)", (commit, SCHEMA_VERSION))

    def clear(self, db: sqlite3.Connection) -> None:
        """Forget everything (inside a transaction), before a rebuild."""
        db.execute("DELETE FROM revisions")
        db.execute("DELETE FROM pages")
        db.execute("DELETE FROM meta")

    # -- updates ------------------------------------------------------------------

    def add_revisions(self, db: sqlite3.Connection, revisions: Iterable[Revision]) -> None:
        """Append revisions and move each page's current state accordingly."""
        for r in revisions:
            db.execute(
                "INSERT INTO revisions (path, rev, parent, blob, op, old_path, author, date,"
                " summary, size, delta) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (r.path, r.rev, r.parent, r.blob, r.op, r.old_path, r.author, r.date.isoformat(),
                 r.summary, r.size, r.delta),
            )
            if r.op == "D" or r.blob is None:
                db.execute("DELETE FROM pages WHERE path = ?", (r.path,))
            else:
                db.execute(
                    "INSERT INTO pages (path, title, blob, rev, updated, author, size)"
                    " VALUES (?,?,?,?,?,?,?) ON CONFLICT(path) DO UPDATE SET blob=excluded.blob,"
                    " rev=excluded.rev, updated=excluded.updated, author=excluded.author,"
                    " size=excluded.size",
                    (r.path, r.path, r.blob, r.rev, r.date.isoformat(), r.author, r.size),
                )

    def set_titles(self, db: sqlite3.Connection, titles: dict[str, str]) -> None:
        db.executemany("UPDATE pages SET title = ? WHERE path = ?", [(t, p) for p, t in titles.items()])

    # -- queries ---------------------------------------------------------------------

    def page(self, path: str) -> PageState | None:
        """The current state of a page, or ``None`` if it does not exist."""
        row = self._db().execute(
            "SELECT path, title, blob, rev, updated, author, size FROM pages WHERE path = ?", (path,)
        ).fetchone()
        return _page(row) if row else None

    def exists(self, path: str) -> bool:
        return self._db().execute("SELECT 1 FROM pages WHERE path = ?", (path,)).fetchone() is not None

    def pages(self, prefix: str = "") -> list[PageState]:
        """Every current page (under ``prefix/`` when given), sorted by path."""
        sql = "SELECT path, title, blob, rev, updated, author, size FROM pages"
        args: tuple[str, ...] = ()
        if prefix:
            sql += " WHERE path >= ? AND path < ?"
            args = (prefix + "/", prefix + "0")
        return [_page(row) for row in self._db().execute(sql + " ORDER BY path", args)]

    def count_pages(self) -> int:
        return int(self._db().execute("SELECT COUNT(*) FROM pages").fetchone()[0])

    def revisions(self, path: str, limit: int = 50, offset: int = 0) -> list[Revision]:
        """Revisions of a page, newest first."""
        rows = self._db().execute(
            "SELECT path, rev, parent, blob, op, author, date, summary, size, delta, old_path"
            " FROM revisions WHERE path = ? ORDER BY id DESC LIMIT ? OFFSET ?",
            (path, limit, offset),
        )
        return [_revision(row) for row in rows]

    def count_revisions(self, path: str) -> int:
        return int(self._db().execute("SELECT COUNT(*) FROM revisions WHERE path = ?", (path,)).fetchone()[0])

    def revision(self, path: str, rev: str) -> Revision | None:
        """The revision of ``path`` made by commit ``rev`` (full id), if any."""
        row = self._db().execute(
            "SELECT path, rev, parent, blob, op, author, date, summary, size, delta, old_path"
            " FROM revisions WHERE path = ? AND rev = ?", (path, rev),
        ).fetchone()
        return _revision(row) if row else None

    def revision_at(self, path: str, rev: str) -> Revision | None:
        """The latest revision of ``path`` made at or before commit ``rev``."""
        row = self._db().execute(
            "SELECT path, rev, parent, blob, op, author, date, summary, size, delta, old_path"
            " FROM revisions WHERE path = ? AND id <= (SELECT MAX(id) FROM revisions WHERE rev = ?)"
            " ORDER BY id DESC LIMIT 1", (path, rev),
        ).fetchone()
        return _revision(row) if row else None

    def authors(self, path: str) -> list[str]:
        """Everyone who changed ``path``, in order of first change."""
        rows = self._db().execute(
            "SELECT author FROM revisions WHERE path = ? GROUP BY author ORDER BY MIN(id)", (path,))
        return [row[0] for row in rows]

    def by_author(self, author: str, limit: int = 50) -> list[Revision]:
        """The latest revisions made by ``author``, newest first."""
        rows = self._db().execute(
            "SELECT path, rev, parent, blob, op, author, date, summary, size, delta, old_path"
            " FROM revisions WHERE author = ? ORDER BY id DESC LIMIT ?", (author, limit),
        )
        return [_revision(row) for row in rows]

    def count_by_author(self, author: str) -> int:
        return int(self._db().execute("SELECT COUNT(*) FROM revisions WHERE author = ?", (author,)).fetchone()[0])

    def recent(self, limit: int = 50) -> list[Revision]:
        """The latest revisions across the commons, newest first."""
        rows = self._db().execute(
            "SELECT path, rev, parent, blob, op, author, date, summary, size, delta, old_path"
            " FROM revisions ORDER BY id DESC LIMIT ?", (limit,),
        )
        return [_revision(row) for row in rows]


def _page(row: tuple) -> PageState:  # type: ignore[type-arg]
    path, title, blob, rev, updated, author, size = row
    return PageState(path, title, blob, rev, datetime.fromisoformat(updated), author, size)


def _revision(row: tuple) -> Revision:  # type: ignore[type-arg]
    path, rev, parent, blob, op, author, date, summary, size, delta, old_path = row
    return Revision(path, rev, parent, blob, op, author, datetime.fromisoformat(date), summary, size, delta, old_path)
