"""SearchIndex: full-text search in French over the pages. The only Whoosh importer.

The index is a derived store: it follows the branch through
:meth:`SearchIndex.catch_up` (called by the write path after each commit, at
start-up and by ``commons reindex``), records the commit it reflects, and
re-reads each page from the derived page table when it indexes it, so that
repeated or reordered updates are harmless.

Analysis: tokenise, lower-case, drop elisions and (body only) a short French
stop list, fold accents *before* Snowball stemming, so that ``médiation``,
``mediation`` and ``Médiations`` meet. Titles are also indexed unstemmed.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from pathlib import Path
from typing import Any, Callable, TypeVar

from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3PerDocReader
from whoosh.index import LockError
from whoosh.reading import IndexReader, SegmentReader
from whoosh.searching import Searcher
from whoosh.writing import CLEAR, NO_MERGE

from commons import paths
from commons.errors import Unavailable
from commons.history import HistoryStore, PageState
from commons.search.analysis import document_text, folders, make_schema
from commons.search.codec import ArrayCodec
from commons.search.query import Results, naive_utc, run_query
from commons.search.writer import RebuildWriter
from commons.storage import GitStore
from commons.sync import Pending, read_texts

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
_T = TypeVar("_T")
SCHEMA_VERSION = "6"  # 2: one "content" field; 4: "pairs" of adjacent words; 5: segments as separate files;
# 6: "freqs" (content without positions), pairs with their positions, posting blocks as arrays
# Segments are written as separate files, not one compound file: whoosh-reloaded reads a compound file
# through a copy of the whole of it in each process (BytesIO over the mmap), about 100 MB of private memory
# per worker at 10,000 pages; separate files are read through the page cache, shared by every worker.
# And with ArrayCodec: posting blocks as raw arrays, which the array scorer reads at once (commons/search/codec.py).
SEGMENT_OPTIONS: dict[str, Any] = {"compound": False, "codec": ArrayCodec()}
REBUILD_MB = 512  # a rebuild keeps this much of postings in memory (estimated) before spilling a sorted run
READ_BATCH = 2000  # pages read from git at once (one ``cat-file`` run) by a rebuild
# A rebuild writes 2 segments, as Whoosh's writer with 2 processes did. (Chosen when Whoosh's shortcuts
# skipped matches, which 2 segments helped; the array scorer reads every match, so the number matters little.)
REBUILD_SEGMENTS = 2
SMALL_REBUILD = 500  # pages: below, one segment


OPEN_ATTEMPTS = 10  # a searcher opened again at most this many times while saves replace its segments
MERGE_FANOUT = 8  # segments of one size class merged together
MERGE_MAX_DOCS = 2048  # on a save, never merge segments this big (commons reindex rebuilds everything)


def _tier(segment: Any) -> int:
    return max(0, int(segment.doc_count_all())).bit_length() // 3  # size classes of powers of 8 documents


def merge_tiers(writer: Any, segments: list[Any]) -> list[Any]:
    """Whoosh merge policy for saves: merge the smallest size class once it holds ``MERGE_FANOUT`` segments.

    Whoosh's default (MERGE_SMALL) sometimes folds every segment into one, a save
    of several seconds. Here a save merges at most a few hundred documents, except
    once every few thousand saves; a reindex starts again from one segment per process.
    """
    tiers: dict[int, list[Any]] = {}
    for segment in segments:
        if segment.doc_count_all() < MERGE_MAX_DOCS:
            tiers.setdefault(_tier(segment), []).append(segment)
    full = [group for _, group in sorted(tiers.items()) if len(group) >= MERGE_FANOUT]
    if not full:
        return segments
    for segment in full[0]:
        reader = SegmentReader(writer.storage, writer.schema, segment)
        writer.add_reader(reader)
        reader.close()
    return [s for s in segments if s not in full[0]]


class OpenedColumns(W3PerDocReader):  # type: ignore[misc]
    """A segment's per-document reader with every column file (lengths, stored fields...) opened at once.

    Whoosh's own opens each column at its first use, after checking that its file
    exists: once a save merged the segment away and deleted its files, a searcher
    opened before that scored without field lengths and failed on stored fields. A
    file open stays readable after its deletion, so these are all opened up front,
    and whether a column exists is answered from the files found then.
    """

    def __init__(self, storage: Any, segment: Any, files: list[str]) -> None:
        super().__init__(storage, segment)
        prefix, suffix = segment.make_filename("."), ".col"
        self._found: set[str] = set()
        for name in files:
            if name.startswith(prefix) and name.endswith(suffix):
                column = name[len(prefix):-len(suffix)]
                self._colfiles[column] = self._get_column_file(column)  # FileNotFoundError if deleted by now
                self._found.add(column)

    def has_column(self, fieldname: str) -> bool:
        return fieldname in self._found


def _open_columns(ix: Any, reader: IndexReader) -> None:
    """Give each segment of ``reader`` an :class:`OpenedColumns` (segments in compound files need none)."""
    files = ix.storage.list()
    for leaf, _ in reader.leaf_readers():
        if isinstance(leaf, SegmentReader) and type(leaf._perdoc) is W3PerDocReader \
                and not leaf.segment().is_compound():
            opened = OpenedColumns(leaf._storage, leaf.segment(), files)
            leaf._perdoc.close()
            leaf._perdoc = opened


def _segments_kept(ix: Any, reader: IndexReader) -> bool:
    """True when every segment of ``reader`` is still in the index (so none of its files is deleted yet)."""
    if ix.latest_generation() == reader.generation():
        return True
    try:
        latest = {segment.segment_id() for segment in ix._segments()}
    except FileNotFoundError:  # a newer save replaced that table of contents meanwhile
        return False
    return all(leaf.segment() is None or leaf.segment().segment_id() in latest
               for leaf, _ in reader.leaf_readers())


def open_searcher(ix: Any) -> Searcher:
    """A searcher of the latest generation of ``ix`` with all its files open, safe from saves that follow.

    A save that merges segments deletes their files once it has written the new
    table of contents. The files are listed and opened after the reader read its
    table of contents; if its segments are all still in the index afterwards, none
    of their files was deleted before that: else (rarely) the searcher is opened again.
    """
    for _ in range(OPEN_ATTEMPTS):
        reader = ix.reader()  # Whoosh reads the table of contents again itself if a save deleted it meanwhile
        kept = False
        try:
            _open_columns(ix, reader)
            kept = _segments_kept(ix, reader)
        except FileNotFoundError:  # a file deleted between the table of contents and its opening
            pass
        finally:
            if not kept:
                reader.close()
        if kept:
            return Searcher(reader, fromindex=ix)
    raise Unavailable("L'index de recherche change trop vite ; réessayez dans un instant.")


def _retried(read: Callable[[], _T]) -> _T:
    """``read()``, again when a save deleted the table of contents it was reading (``OPEN_ATTEMPTS`` times)."""
    for _ in range(OPEN_ATTEMPTS - 1):
        try:
            return read()
        except FileNotFoundError:
            pass
    return read()


def _index_exists(index_dir: Path) -> bool:
    """``whoosh.index.exists_in``, retried while saves replace the table of contents."""
    return _retried(lambda: bool(whoosh_index.exists_in(str(index_dir))))


class SearchIndex:
    """A Whoosh index of the current pages, following the branch."""

    def __init__(self, index_dir: Path, history: HistoryStore, searchers: int = 1) -> None:
        self.index_dir = Path(index_dir)
        self.history = history
        self._ix: Any = None
        self._ix_lock = threading.Lock()
        # Searchers are lent to one query at a time. Each costs ~80 MiB of caches at 10,000 pages: one per
        # thread took a worker to 1.27 GB RSS with 8 threads, one shared searcher 207 MB, with the same
        # throughput (queries are CPU-bound under the GIL) -- measured with 120 queries from 8 threads.
        self._slots = threading.BoundedSemaphore(max(1, searchers))
        self._idle: list[Searcher] = []
        self._idle_lock = threading.Lock()

    # -- the index and the commit it reflects --------------------------------------------

    @property
    def _marker(self) -> Path:
        return self.index_dir / "REFLECTED"

    def reflected(self) -> str | None:
        try:
            version, commit = self._marker.read_text().split()
        except (OSError, ValueError):
            return None
        ok = version == SCHEMA_VERSION and commit != "-" and _index_exists(self.index_dir)
        return commit if ok else None

    def _set_reflected(self, commit: str) -> None:
        tmp = self._marker.with_suffix(".tmp")
        tmp.write_text(f"{SCHEMA_VERSION} {commit}\n")
        os.replace(tmp, self._marker)

    def _index(self) -> Any:
        """The open index; created empty, or recreated when written with another schema version."""
        with self._ix_lock:
            if self._ix is None:
                if _index_exists(self.index_dir) and self._schema_version() != SCHEMA_VERSION:
                    shutil.rmtree(self.index_dir)
                self.index_dir.mkdir(parents=True, exist_ok=True)
                if _index_exists(self.index_dir):
                    self._ix = _retried(lambda: whoosh_index.open_dir(str(self.index_dir)))
                else:
                    self._ix = whoosh_index.create_in(str(self.index_dir), make_schema())
                    self._marker.write_text(f"{SCHEMA_VERSION} -\n")
            return self._ix

    def _schema_version(self) -> str | None:
        try:
            return self._marker.read_text().split()[0]
        except (OSError, IndexError):
            return None

    def segment_count(self) -> int:
        """How many segments the index has (each one is searched; saves add one, merges remove some)."""
        return len(self._index()._segments())

    def close(self) -> None:
        with self._idle_lock:
            idle, self._idle = self._idle, []
        for searcher in idle:
            searcher.close()
        if self._ix is not None:
            self._ix.close()
            self._ix = None

    # -- following git -------------------------------------------------------------------

    def catch_up(self, store: GitStore, head: str, progress: Progress | None = None, rebuild: bool = False,
                 pending: Pending | None = None) -> None:
        """Index the pages changed between the reflected commit and ``head`` (all pages on rebuild).

        ``pending``, the commits the caller already read from git, saves a ``merge-base`` and a
        ``log`` when it starts at the reflected commit. The caller holds the commons' write lock,
        so there is one writer at a time.
        """
        since = None if rebuild else self.reflected()
        if since == head:
            return
        if since and pending is not None and pending.since == since and pending.head == head:
            self._update(store, pending.touched_pages())
        elif since and store.is_ancestor(since, head):
            touched = {p for c in store.log(since, head) for ch in c.changes
                       if (p := paths.path_for_file(ch.name)) is not None}
            self._update(store, sorted(touched))
        else:
            self._rebuild(store, progress)
        self._set_reflected(head)

    def _document(self, state: PageState, blob: bytes) -> dict[str, Any]:
        headings, body, tags = document_text(blob.decode("utf-8", "replace"))
        text = f"{state.title}\n{body}"  # one string for the fields that analyse it: cut into words once
        return {
            "path": state.path, "title": state.title, "title_exact": state.title, "headings": headings,
            "content": text, "freqs": text, "pairs": text, "body": body, "spell": text, "vocab": text,
            "tags": ",".join(tags), "folder": folders(state.path), "updated": naive_utc(state.updated),
            "authors": ",".join(self.history.authors(state.path)), "rev": state.rev,
        }

    def _writer(self, rebuild: bool = False) -> Any:
        try:
            if rebuild:
                return RebuildWriter(self._index(), limitmb=REBUILD_MB, timeout=60, delay=0.05, **SEGMENT_OPTIONS)
            return self._index().writer(timeout=60, delay=0.05, **SEGMENT_OPTIONS)
        except LockError as exc:
            raise Unavailable("L'index de recherche est occupé ; réessayez dans un instant.") from exc

    def _update(self, store: GitStore, touched: list[str]) -> None:
        writer = self._writer()
        try:
            for path in touched:
                state = self.history.page(path)
                if state is None:
                    writer.delete_by_term("path", path)
                else:
                    writer.update_document(**self._document(state, store.read_blob(state.blob)))
        except BaseException:
            writer.cancel()
            raise
        writer.commit(mergetype=merge_tiers)

    def _rebuild(self, store: GitStore, progress: Progress | None) -> None:
        """Index every page again, in ``REBUILD_SEGMENTS`` segments (one for a small commons)."""
        pages = self.history.pages()
        parts = REBUILD_SEGMENTS if len(pages) > SMALL_REBUILD else 1
        size = -(-len(pages) // parts) if pages else 1
        for start in range(0, max(len(pages), 1), size):
            writer = self._writer(rebuild=True)
            try:
                self._add_pages(writer, store, pages, start, start + size, progress)
            except BaseException:
                writer.cancel()
                raise
            # the first part drops every older segment: the index is exactly these pages
            writer.commit(mergetype=CLEAR if start == 0 else NO_MERGE)
        log.info("search index rebuilt: %d pages", len(pages))

    def _add_pages(self, writer: Any, store: GitStore, pages: list[PageState], start: int, end: int,
                   progress: Progress | None) -> None:
        blobs: dict[str, bytes] = {}
        for done in range(start, min(end, len(pages))):
            state = pages[done]
            if (done - start) % READ_BATCH == 0:
                blobs = read_texts(store, [s.blob for s in pages[done:min(end, done + READ_BATCH)]])
            blob = blobs.get(state.blob)
            writer.add_document(**self._document(state, blob if blob is not None else store.read_blob(state.blob)))
            if progress and (done % 200 == 199 or done == len(pages) - 1):
                progress(done + 1, len(pages))

    # -- querying ------------------------------------------------------------------------

    def _borrow(self) -> Searcher:
        """An idle searcher still up to date, or a new one (the caller holds a slot).

        Reopened rather than ``Searcher.refresh()``: in whoosh-reloaded 2.7.5 that
        re-adds the old reader's segments to the new one (index.py ``_reader`` with
        ``reuse``), so merged or cleared segments come back as duplicate hits. Opened
        with every file at once (:func:`open_searcher`): another process's save may
        delete them while this one is lent.
        """
        with self._idle_lock:
            searcher = self._idle.pop() if self._idle else None
        if searcher is not None and not searcher.up_to_date():
            searcher.close()
            searcher = None
        return searcher if searcher is not None else open_searcher(self._index())

    def _give_back(self, searcher: Searcher) -> None:
        with self._idle_lock:
            self._idle.append(searcher)

    def search(self, text: str, limit: int = 20, offset: int = 0) -> Results:
        """Pages matching ``text`` (all words by default), best first, with snippets and a suggestion."""
        if self._ix is None and not _index_exists(self.index_dir):  # once open, the index stays
            return Results(text, 0, [], None)
        with self._slots:  # at most `searchers` queries at once per process; the others wait their turn
            searcher = self._borrow()
            try:
                return run_query(searcher, text, max(1, min(limit, 100)), max(0, offset))
            finally:
                self._give_back(searcher)
