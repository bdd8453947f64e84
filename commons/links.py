"""LinkStore: the link graph and the tags of the pages, as a derived store following git.

One SQLite file in the cache folder (``links.sqlite``, WAL, one connection
per thread). Like the search index, it records the commit it reflects and is
brought up to the branch's head by :meth:`LinkStore.catch_up`, called under
the commons' write lock after every commit, at start-up and by
``commons reindex``. Each page changed since the reflected commit is re-read
from the :class:`~commons.history.HistoryStore` and read by
:func:`commons.linktext.links_of`, which finds exactly the links
:func:`commons.markup.render` finds, so the graph holds the links a reader
sees: wikilinks and relative Markdown links, nothing inside code.

A deleted page keeps no outgoing edges; the edges pointing to it stay, which
is what makes it "wanted".
"""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from commons import paths
from commons.errors import InvalidPath
from commons.history import HistoryStore
from commons.linktext import MAX_TAG, MAX_TAGS_PER_PAGE, clean_tag, labels_of, links_of, tags_of
from commons.sqlite import ReflectedStore, select_in
from commons.storage import GitStore
from commons.sync import BLOB_BATCH, Pending, read_texts

if TYPE_CHECKING:
    from commons.wanted import Miss

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
SCHEMA_VERSION = "1"
__all__ = ["MAX_TAG", "MAX_TAGS_PER_PAGE", "LinkStore", "Wanted", "clean_tag", "tags_of"]

_TABLES = ("meta", "pages", "links", "tags")
_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS pages (path TEXT PRIMARY KEY, title TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS links (source TEXT NOT NULL, target TEXT NOT NULL, label TEXT,"
    " PRIMARY KEY (source, target)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS links_by_target ON links (target, source)",
    "CREATE TABLE IF NOT EXISTS tags (path TEXT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (path, tag)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS tags_by_tag ON tags (tag, path)",
]


@dataclass(frozen=True)
class Wanted:
    """A missing page: how many existing pages link to it and how many searches looked for it."""

    path: str
    title: str
    links: int
    searches: int


@dataclass
class _Entry:
    """A wanted page being counted."""

    title: str | None
    links: int
    searches: int = 0


# -- helpers ---------------------------------------------------------------------------------


def _segment_key(text: str) -> str:
    """What a search or a title looks like as one path segment (``Chèque énergie`` -> ``cheque-energie``)."""
    return paths.slugify_segment(text)


def _slug(query: str) -> str | None:
    """The page path a search would name, or ``None`` when it names none."""
    try:
        return paths.slugify(query)
    except InvalidPath:
        return None


def _readable(text: str) -> str:
    text = " ".join(text.split())
    return text[:1].upper() + text[1:]


def _schema_of(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    except sqlite3.OperationalError:  # no meta table yet
        return None
    return str(row[0]) if row else None


def _create(conn: sqlite3.Connection, drop: bool) -> None:
    """Create every table, after dropping them all when ``drop`` (inside the caller's transaction)."""
    for table in _TABLES if drop else ():
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    for statement in _SCHEMA:
        conn.execute(statement)


def _prepare(conn: sqlite3.Connection) -> None:
    """Create the tables; drop those written by another schema version first (a rebuild follows).

    A file already in shape is only read, so that opening a connection never
    waits for a catch-up in progress.
    """
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if _schema_of(conn) in (None, SCHEMA_VERSION) and tables >= set(_TABLES):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        _create(conn, drop=_schema_of(conn) not in (None, SCHEMA_VERSION))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


# -- the store ------------------------------------------------------------------------------


class LinkStore(ReflectedStore):
    """Links between pages, and tags, of the current pages; follows the branch.

    Connections, ``transaction()``, ``reflected()`` and ``set_reflected()`` come from
    :class:`~commons.sqlite.ReflectedStore`.
    """

    def __init__(self, db_file: Path, history: HistoryStore) -> None:
        super().__init__(db_file, _prepare, SCHEMA_VERSION)
        self.history = history

    # -- following git -------------------------------------------------------------------

    def catch_up(self, store: GitStore, head: str, progress: Progress | None = None, rebuild: bool = False,
                 pending: Pending | None = None) -> None:
        """Re-read every page changed between the reflected commit and ``head`` (every page on rebuild).

        The caller holds the commons' write lock and has brought the history
        table up to ``head``; ``pending``, the commits from the reflected one,
        saves reading git's log again. One transaction, which also records ``head``.
        """
        since = None if rebuild else self.reflected()
        if since == head:
            return
        if since and not (pending is not None and pending.since == since and pending.head == head) \
                and not store.is_ancestor(since, head):
            log.warning("link graph %s is not an ancestor of %s: rebuilding", since, head)
            since = None
        with self.transaction() as db:
            if since is None:
                _create(db, drop=True)  # a rebuild also upgrades the schema
                touched = [state.path for state in self.history.pages()]
            elif pending is not None and pending.since == since and pending.head == head:
                touched = pending.touched_pages()
            else:
                touched = sorted({p for c in store.log(since, head) for ch in c.changes
                                  if (p := paths.path_for_file(ch.name)) is not None})
            for start in range(0, len(touched), BLOB_BATCH):
                self._refresh_many(db, store, touched[start:start + BLOB_BATCH])
                if progress:
                    progress(min(start + BLOB_BATCH, len(touched)), len(touched))
            self.set_reflected(db, head)
        log.info("link graph caught up to %s (%d pages)", head, len(touched))

    def _refresh_many(self, db: sqlite3.Connection, store: GitStore, touched: list[str]) -> None:
        """Replace the rows, outgoing edges and tags of ``touched`` pages by what their current text says."""
        db.executemany("DELETE FROM links WHERE source = ?", [(path,) for path in touched])
        db.executemany("DELETE FROM tags WHERE path = ?", [(path,) for path in touched])
        states = [(path, self.history.page(path)) for path in touched]
        db.executemany("DELETE FROM pages WHERE path = ?", [(path,) for path, state in states if state is None])
        live = [state for _, state in states if state is not None]
        texts = read_texts(store, (state.blob for state in live))
        pages, links, tags = [], [], []
        for state in live:
            data = texts.get(state.blob)
            text = (store.read_blob(state.blob) if data is None else data).decode("utf-8", "replace")
            found = links_of(text, state.path)
            labels = labels_of(text, state.path, found)
            pages.append((state.path, state.title))
            links += [(state.path, target, labels.get(target)) for target in sorted(found)]
            tags += [(state.path, tag) for tag in tags_of(text)]
        db.executemany("INSERT OR REPLACE INTO pages (path, title) VALUES (?, ?)", pages)
        db.executemany("INSERT INTO links (source, target, label) VALUES (?, ?, ?)", links)
        db.executemany("INSERT INTO tags (path, tag) VALUES (?, ?)", tags)

    # -- the graph --------------------------------------------------------------------------

    def links_to(self, path: str) -> list[str]:
        """The pages ``path`` links to (existing or not), sorted."""
        rows = self._db().execute("SELECT target FROM links WHERE source = ? ORDER BY target", (path,))
        return [row[0] for row in rows]

    def linked_from(self, path: str) -> list[str]:
        """The existing pages that link to ``path``, sorted."""
        rows = self._db().execute("SELECT source FROM links WHERE target = ? ORDER BY source", (path,))
        return [row[0] for row in rows]

    def titles(self, pages: Iterable[str]) -> dict[str, str]:
        """The titles of those of ``pages`` that exist (a missing page is absent from the answer)."""
        wanted = list(dict.fromkeys(pages))
        return dict(select_in(self._db(), "SELECT path, title FROM pages WHERE path IN ({marks})", wanted))

    def orphans(self) -> list[str]:
        """Existing pages that no other existing page links to (never the home page nor the templates)."""
        rows = self._db().execute(
            "SELECT p.path FROM pages p WHERE p.path != ? AND p.path NOT LIKE ? AND NOT EXISTS (SELECT 1 FROM links l"
            " JOIN pages s ON s.path = l.source WHERE l.target = p.path AND l.source != p.path)"
            " ORDER BY p.path", (paths.HOME, paths.TEMPLATES + "/%"))
        return [row[0] for row in rows]

    def _red_links(self) -> dict[str, tuple[int, str | None]]:
        """Missing pages that existing pages link to: path -> (number of linking pages, best label)."""
        rows = self._db().execute(
            "SELECT l.target, l.label FROM links l JOIN pages s ON s.path = l.source"
            " WHERE l.target NOT IN (SELECT path FROM pages)")
        counts: Counter[str] = Counter()
        labels: dict[str, Counter[str]] = {}
        for target, label in rows:
            counts[target] += 1
            if label:
                labels.setdefault(target, Counter())[label] += 1
        return {t: (n, labels[t].most_common(1)[0][0] if t in labels else None) for t, n in counts.items()}

    def _answered(self) -> set[str]:
        """What existing pages answer: their paths, and their titles and last segments as segment keys."""
        answered: set[str] = set()
        for path, title in self._db().execute("SELECT path, title FROM pages"):
            answered.update((path, _segment_key(title), path.rsplit("/", 1)[-1]))
        return answered

    def wanted(self, misses: Iterable[Miss] = (), limit: int | None = None) -> list[Wanted]:
        """Missing pages, most wanted first: linking pages plus searches that found nothing for them.

        A search counts for a missing page when its slug is the page's path or
        when it reads like the page's title (``chèque énergie`` for
        ``aides/cheque-energie``). A search that names no linked page, and that
        no existing page answers, is a wanted page of its own (``links`` 0).
        """
        red = self._red_links()
        entries = {path: _Entry(label, count) for path, (count, label) in red.items()}
        by_title: dict[str, list[str]] = {}
        for path in red:
            by_title.setdefault(_segment_key(paths.readable_name(path)), []).append(path)
        answered: set[str] | None = None
        for miss in misses:
            slug, key = _slug(miss.query), _segment_key(miss.query)
            targets = set(by_title.get(key, [])) | ({slug} if slug in red else set())
            if not targets and slug is not None:
                answered = self._answered() if answered is None else answered
                if slug in answered or key in answered:
                    continue
                entries.setdefault(slug, _Entry(None, 0))
                targets = {slug}
            for target in targets:
                entry = entries[target]
                entry.title = entry.title or _readable(miss.query)
                entry.searches += miss.count
        found = [Wanted(path, e.title or paths.readable_name(path), e.links, e.searches)
                 for path, e in entries.items()]
        found.sort(key=lambda w: (-(w.links + w.searches), -w.links, w.path))
        return found[:limit] if limit is not None else found

    # -- tags --------------------------------------------------------------------------------

    def tags(self) -> list[tuple[str, int]]:
        """Every tag with the number of pages carrying it, in alphabetical order (accents folded)."""
        rows = self._db().execute("SELECT tag, COUNT(*) FROM tags GROUP BY tag").fetchall()
        return sorted(((tag, int(count)) for tag, count in rows), key=lambda row: (paths.fold(row[0]), row[0]))

    def pages_with_tag(self, tag: str) -> list[str]:
        """The pages tagged ``tag`` (normalised like the tags themselves), sorted."""
        rows = self._db().execute("SELECT path FROM tags WHERE tag = ? ORDER BY path", (clean_tag(tag),))
        return [row[0] for row in rows]

    def page_tags(self, path: str) -> list[str]:
        """The tags of one page as the store reflects it, sorted."""
        rows = self._db().execute("SELECT tag FROM tags WHERE path = ? ORDER BY tag", (path,))
        return [row[0] for row in rows]
