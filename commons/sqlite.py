"""One SQLite file shared by threads: a connection per thread (WAL), every one closed by ``close()``.

The derived stores (history, credits, links) each keep their tables in such a file,
through :class:`ReflectedStore`: the connections, the write transaction and the
commit reflected, recorded in a ``meta`` table with the schema version.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

IN_CHUNK = 500  # keys bound in one ``IN (...)`` list, well under SQLite's limit on parameters


def select_in(db: sqlite3.Connection, query: str, keys: Sequence[str | int]) -> Iterator[Any]:
    """The rows ``query`` selects for ``keys``, asked ``IN_CHUNK`` keys at a time.

    ``query`` is a constant holding ``{marks}`` where the ``IN`` list of parameters goes.
    """
    for start in range(0, len(keys), IN_CHUNK):
        chunk = keys[start:start + IN_CHUNK]
        marks = ",".join("?" * len(chunk))
        yield from db.execute(query.format(marks=marks), chunk)


class LocalDatabase:
    """Per-thread connections to ``db_file``; ``prepare`` runs once on each new connection."""

    def __init__(self, db_file: Path, prepare: Callable[[sqlite3.Connection], None]) -> None:
        self.db_file = Path(db_file)
        self._prepare = prepare
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            self.db_file.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.db_file, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._prepare(conn)
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        """Close every connection opened here."""
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        self._local = threading.local()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``), rolled back on any error."""
        db = self.connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")


class ReflectedStore:
    """A derived store in one SQLite file, recording in its ``meta`` table the commit it reflects.

    Subclasses pass the function that creates their tables on each new
    connection and their schema version: a file written with another
    version reflects nothing, so the next catch-up rebuilds it.
    """

    def __init__(self, db_file: Path, prepare: Callable[[sqlite3.Connection], None], schema_version: str) -> None:
        self.db_file = Path(db_file)
        self._schema_version = schema_version
        self._database = LocalDatabase(self.db_file, prepare)

    def _db(self) -> sqlite3.Connection:
        return self._database.connection()

    def close(self) -> None:
        """Close every connection this store opened."""
        self._database.close()

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``)."""
        return self._database.transaction()

    def reflected(self) -> str | None:
        """The commit this store reflects, or ``None`` when empty or written with another schema."""
        rows = dict(self._db().execute("SELECT key, value FROM meta").fetchall())
        if rows.get("schema") != self._schema_version:
            return None
        return rows.get("commit") or None

    def set_reflected(self, db: sqlite3.Connection, commit: str) -> None:
        """Record ``commit`` and this schema's version as reflected (inside the caller's transaction ``db``)."""
        db.execute("INSERT OR REPLACE INTO meta VALUES ('commit', ?), ('schema', ?)", (commit, self._schema_version))
