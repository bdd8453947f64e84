"""HistoryStore: the derived per-page revision table (SQLite, in the cache folder).

It answers "which pages exist, what is their current revision and title" and
"what are the revisions of this page" without walking git history. It is
derived from git: it records the commit it reflects, is caught up from git by
:class:`commons.pages.PageService` and can be rebuilt from scratch.
Rows for renames (op ``R``) carry ``old_path`` so that history can follow a
move, and the ``redirects`` table derived from them sends an old name to the
page's new one until a page exists again at the old name.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, NamedTuple

from commons.changes import ChangeFilter
from commons.sqlite import ReflectedStore, select_in

SCHEMA_VERSION = "2"
MAX_MOVES = 100  # renames followed back through a page's history, and redirects followed forward
_NO_END = 1 << 62
_COLUMNS = "path, rev, parent, blob, op, author, date, summary, size, delta, old_path"

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
CREATE INDEX IF NOT EXISTS revisions_by_op ON revisions (op, id);
CREATE TABLE IF NOT EXISTS redirects (old_path TEXT PRIMARY KEY, path TEXT NOT NULL, rev TEXT NOT NULL);
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


class Segment(NamedTuple):
    """Part of a page's history: the rows of ``path`` with ids from ``low`` to ``high``.

    ``moved_in`` is the commit that renamed the page to ``path`` (the row at ``low``), if any.
    """

    path: str
    low: int
    high: int
    moved_in: str | None


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


def _prepare(conn: sqlite3.Connection) -> None:
    conn.executescript(_SCHEMA)


class HistoryStore(ReflectedStore):
    """Per-page revisions and current page states, in one SQLite file.

    Connections, ``transaction()``, ``reflected()`` and ``set_reflected()`` come from
    :class:`~commons.sqlite.ReflectedStore`.
    """

    def __init__(self, db_file: Path) -> None:
        super().__init__(db_file, _prepare, SCHEMA_VERSION)

    def clear(self, db: sqlite3.Connection) -> None:
        """Forget everything (inside a transaction), before a rebuild."""
        db.execute("DELETE FROM revisions")
        db.execute("DELETE FROM redirects")
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
            self._follow_move(db, r)
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

    def _follow_move(self, db: sqlite3.Connection, r: Revision) -> None:
        """Keep the redirects: a page at ``r.path`` wins over a redirect; a rename leaves one behind."""
        if r.op != "D" and r.blob is not None:
            db.execute("DELETE FROM redirects WHERE old_path = ?", (r.path,))
        if r.op == "R" and r.old_path and r.old_path != r.path:
            db.execute("DELETE FROM pages WHERE path = ?", (r.old_path,))
            db.execute("INSERT OR REPLACE INTO redirects (old_path, path, rev) VALUES (?, ?, ?)",
                       (r.old_path, r.path, r.rev))

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

    def recent(self, limit: int = 50, offset: int = 0, where: ChangeFilter | None = None) -> list[Revision]:
        """The latest revisions across the commons, newest first, filtered by ``where`` (indexed columns)."""
        clause, args = (where or ChangeFilter()).sql()
        columns = "path, rev, parent, blob, op, author, date, summary, size, delta, old_path"
        sql = f"SELECT {columns} FROM revisions{clause} ORDER BY id DESC LIMIT ? OFFSET ?"  # noqa: S608  # nosec B608
        rows = self._db().execute(sql, (*args, limit, offset))
        return [_revision(row) for row in rows]

    def titles(self, paths: Iterable[str]) -> dict[str, str]:
        """The current titles of those of ``paths`` that exist."""
        return dict(select_in(self._db(), "SELECT path, title FROM pages WHERE path IN ({marks})", sorted(set(paths))))


    # -- renames -----------------------------------------------------------------------

    def segments(self, path: str) -> list[Segment]:
        """The parts of the page's history, newest first, following renames back (``old_path`` chains).

        Rows of ``path`` older than the rename that brought the page there
        belong to an earlier page of that name, deleted before: they are left out.
        """
        db, high = self._db(), _NO_END
        found: list[Segment] = []
        for _ in range(MAX_MOVES):
            row = db.execute("SELECT id, old_path, rev FROM revisions WHERE path = ? AND op = 'R' AND id <= ?"
                             " ORDER BY id DESC LIMIT 1", (path, high)).fetchone()
            if row is None or not row[1]:
                break
            found.append(Segment(path, row[0], high, row[2]))
            path, high = row[1], row[0] - 1
        found.append(Segment(path, 0, high, None))
        return found

    def _lineage_rows(self, path: str, select: str, tail: str, args: tuple[object, ...]) -> list[Any]:
        """Rows of every segment of the page's history (``select`` columns, then ``tail``: order, limit)."""
        segments = self.segments(path)
        where = " OR ".join("(path = ? AND id BETWEEN ? AND ?)" for _ in segments)
        bounds = tuple(v for s in segments for v in (s.path, s.low, s.high))
        sql = f"SELECT {select} FROM revisions WHERE ({where}) {tail}"  # noqa: S608  # nosec B608
        return self._db().execute(sql, bounds + args).fetchall()

    def page_revisions(self, path: str, limit: int = 50, offset: int = 0) -> list[Revision]:
        """Revisions of a page, newest first, including those made under its former names."""
        rows = self._lineage_rows(path, _COLUMNS, "ORDER BY id DESC LIMIT ? OFFSET ?", (limit, offset))
        return [_revision(row) for row in rows]

    def count_page_revisions(self, path: str) -> int:
        """How many revisions :meth:`page_revisions` knows for ``path``."""
        return int(self._lineage_rows(path, "COUNT(*)", "", ())[0][0])

    def lineage_revision(self, path: str, rev: str) -> Revision | None:
        """The revision made by commit ``rev`` to the page now at ``path``, under whatever name it had."""
        rows = self._lineage_rows(path, _COLUMNS, "AND rev = ? ORDER BY id DESC LIMIT 1", (rev,))
        return _revision(rows[0]) if rows else None

    def redirect(self, path: str) -> str | None:
        """Where a page renamed away from ``path`` lives now (following later renames), if it still exists."""
        db, seen = self._db(), {path}
        for _ in range(MAX_MOVES):
            row = db.execute("SELECT path FROM redirects WHERE old_path = ?", (path,)).fetchone()
            if row is None or row[0] in seen:
                return None
            path = row[0]
            if self.exists(path):
                return str(path)
            seen.add(path)
        return None


def _page(row: tuple) -> PageState:  # type: ignore[type-arg]
    path, title, blob, rev, updated, author, size = row
    return PageState(path, title, blob, rev, datetime.fromisoformat(updated), author, size)


def _revision(row: tuple) -> Revision:  # type: ignore[type-arg]
    path, rev, parent, blob, op, author, date, summary, size, delta, old_path = row
    return Revision(path, rev, parent, blob, op, author, datetime.fromisoformat(date), summary, size, delta, old_path)
