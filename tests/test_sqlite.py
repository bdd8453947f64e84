"""The SQLite plumbing shared by the derived stores: the commit reflected and chunked ``IN`` queries."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from commons.history import HistoryStore, Revision
from commons.sqlite import IN_CHUNK, ReflectedStore, select_in


def _prepare(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")


def test_reflected_commit_is_recorded_with_the_schema_version(tmp_path: Path) -> None:
    store = ReflectedStore(tmp_path / "s.sqlite", _prepare, "3")
    assert store.reflected() is None
    with store.transaction() as db:
        store.set_reflected(db, "abc")
    assert store.reflected() == "abc"
    store.close()
    assert ReflectedStore(tmp_path / "s.sqlite", _prepare, "3").reflected() == "abc"
    assert ReflectedStore(tmp_path / "s.sqlite", _prepare, "4").reflected() is None  # another schema: rebuild


def test_a_failed_transaction_records_nothing(tmp_path: Path) -> None:
    store = ReflectedStore(tmp_path / "s.sqlite", _prepare, "1")
    with store.transaction() as db:
        store.set_reflected(db, "first")
    with pytest.raises(RuntimeError), store.transaction() as db:
        store.set_reflected(db, "second")
        raise RuntimeError("interrupted")
    assert store.reflected() == "first"
    store.close()


def test_select_in_asks_every_key_across_chunks(tmp_path: Path) -> None:
    store = ReflectedStore(tmp_path / "s.sqlite", _prepare, "1")
    count = 2 * IN_CHUNK + 7
    with store.transaction() as db:
        db.executemany("INSERT INTO items VALUES (?, ?)", [(i, f"n{i}") for i in range(count)])
        rows = dict(select_in(db, "SELECT id, name FROM items WHERE id IN ({marks})", [*range(1, count + 5)]))
        none = list(select_in(db, "SELECT id FROM items WHERE id IN ({marks})", []))
    assert rows == {i: f"n{i}" for i in range(1, count)}
    assert none == []
    store.close()


def test_history_titles_of_many_pages(tmp_path: Path) -> None:
    history = HistoryStore(tmp_path / "history.sqlite")
    date = datetime(2024, 1, 1, tzinfo=UTC)
    paths = [f"page-{i:04d}" for i in range(IN_CHUNK + 3)]
    with history.transaction() as db:
        history.add_revisions(db, (Revision(p, "r1", None, "b1", "A", "Ann", date, "new", 1, 1) for p in paths))
        history.set_titles(db, {p: p.upper() for p in paths})
        history.set_reflected(db, "r1")
    assert history.reflected() == "r1"
    assert history.titles([*paths, "missing", paths[0]]) == {p: p.upper() for p in paths}
    history.close()
