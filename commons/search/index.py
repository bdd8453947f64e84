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
from typing import Any, Callable

from whoosh import index as whoosh_index
from whoosh.index import LockError
from whoosh.searching import Searcher
from whoosh.writing import CLEAR

from commons import paths
from commons.errors import Unavailable
from commons.history import HistoryStore, PageState
from commons.search.analysis import document_text, folders, make_schema
from commons.search.query import Results, run_query
from commons.storage import GitStore

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
SCHEMA_VERSION = "1"


class SearchIndex:
    """A Whoosh index of the current pages, following the branch."""

    def __init__(self, index_dir: Path, history: HistoryStore, procs: int = 0) -> None:
        self.index_dir = Path(index_dir)
        self.history = history
        self.procs = procs or min(2, os.cpu_count() or 1)
        self._ix: Any = None
        self._ix_lock = threading.Lock()
        self._local = threading.local()
        self._searchers: list[Searcher] = []

    # -- the index and the commit it reflects --------------------------------------------

    @property
    def _marker(self) -> Path:
        return self.index_dir / "REFLECTED"

    def reflected(self) -> str | None:
        try:
            version, commit = self._marker.read_text().split()
        except (OSError, ValueError):
            return None
        ok = version == SCHEMA_VERSION and commit != "-" and whoosh_index.exists_in(str(self.index_dir))
        return commit if ok else None

    def _set_reflected(self, commit: str) -> None:
        tmp = self._marker.with_suffix(".tmp")
        tmp.write_text(f"{SCHEMA_VERSION} {commit}\n")
        os.replace(tmp, self._marker)

    def _index(self) -> Any:
        """The open index; created empty, or recreated when written with another schema version."""
        with self._ix_lock:
            if self._ix is None:
                if whoosh_index.exists_in(str(self.index_dir)) and self._schema_version() != SCHEMA_VERSION:
                    shutil.rmtree(self.index_dir)
                self.index_dir.mkdir(parents=True, exist_ok=True)
                if whoosh_index.exists_in(str(self.index_dir)):
                    self._ix = whoosh_index.open_dir(str(self.index_dir))
                else:
                    self._ix = whoosh_index.create_in(str(self.index_dir), make_schema())
                    self._marker.write_text(f"{SCHEMA_VERSION} -\n")
            return self._ix

    def _schema_version(self) -> str | None:
        try:
            return self._marker.read_text().split()[0]
        except (OSError, IndexError):
            return None

    def close(self) -> None:
        for searcher in self._searchers:
            searcher.close()
        self._searchers = []
        self._local = threading.local()
        if self._ix is not None:
            self._ix.close()
            self._ix = None

    # -- following git -------------------------------------------------------------------

    def catch_up(self, store: GitStore, head: str, progress: Progress | None = None, rebuild: bool = False) -> None:
        """Index the pages changed between the reflected commit and ``head`` (all pages on rebuild).

        The caller holds the commons' write lock, so there is one writer at a time.
        """
        since = None if rebuild else self.reflected()
        if since == head:
            return
        if since and not store.is_ancestor(since, head):
            since = None
        if since is None:
            self._rebuild(store, progress)
        else:
            touched = {p for c in store.log(since, head) for ch in c.changes
                       if (p := paths.path_for_file(ch.name)) is not None}
            self._update(store, sorted(touched))
        self._set_reflected(head)

    def _document(self, store: GitStore, state: PageState) -> dict[str, Any]:
        markdown = store.read_blob(state.blob).decode("utf-8", "replace")
        headings, body, tags = document_text(markdown)
        return {
            "path": state.path, "title": state.title, "title_exact": state.title, "headings": headings,
            "body": body, "spell": f"{state.title} {body}", "vocab": f"{state.title} {body}",
            "tags": ",".join(tags), "folder": folders(state.path), "updated": state.updated.replace(tzinfo=None),
            "authors": ",".join(self.history.authors(state.path)), "rev": state.rev,
        }

    def _writer(self, **kwargs: Any) -> Any:
        try:
            return self._index().writer(timeout=60, delay=0.05, **kwargs)
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
                    writer.update_document(**self._document(store, state))
        except BaseException:
            writer.cancel()
            raise
        writer.commit()

    def _rebuild(self, store: GitStore, progress: Progress | None) -> None:
        pages = self.history.pages()
        writer = self._writer(procs=self.procs, limitmb=128, multisegment=self.procs > 1) if len(pages) > 500 \
            else self._writer()
        try:
            for done, state in enumerate(pages, 1):
                writer.add_document(**self._document(store, state))
                if progress and (done % 200 == 0 or done == len(pages)):
                    progress(done, len(pages))
        except BaseException:
            writer.cancel()
            raise
        writer.commit(mergetype=CLEAR)  # drop every older segment: the index is exactly these pages
        log.info("search index rebuilt: %d pages", len(pages))

    # -- querying ------------------------------------------------------------------------

    def _searcher(self) -> Searcher:
        """This thread's searcher, reopened when the index changed.

        Not ``Searcher.refresh()``: in whoosh-reloaded 2.7.5 it re-adds the old
        reader's segments to the new one (index.py ``_reader`` with ``reuse``),
        so merged or cleared segments come back as duplicate hits.
        """
        searcher = getattr(self._local, "searcher", None)
        if searcher is not None and not searcher.up_to_date():
            self._searchers.remove(searcher)
            searcher.close()
            searcher = None
        if searcher is None:
            searcher = self._index().searcher()
            self._local.searcher = searcher
            self._searchers.append(searcher)
        return searcher

    def search(self, text: str, limit: int = 20, offset: int = 0) -> Results:
        """Pages matching ``text`` (all words by default), best first, with snippets and a suggestion."""
        if not whoosh_index.exists_in(str(self.index_dir)):
            return Results(text, 0, [], None)
        return run_query(self._searcher(), text, max(1, min(limit, 100)), max(0, offset))
