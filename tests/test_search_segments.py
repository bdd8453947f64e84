"""Search segments as separate files, and searchers that saves in other processes cannot break (issue #10).

whoosh-reloaded copies a compound segment file whole into each process's memory,
so segments are written as separate files; a save that merges segments then
deletes files that searchers opened earlier have not read yet.
"""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest
from whoosh.reading import IndexReader

from commons.config import load_settings
from commons.pages import identity_for
from commons.search import SearchIndex
from commons.search import index as index_module
from commons.search.index import open_searcher
from commons.search.query import run_query
from commons.services import Commons, open_commons

ALICE = identity_for("alice")
KEPT = {  # pages that no save below changes: every search for "quittance" must find exactly these
    "guides/loyer": "# Payer son loyer\n\nLa quittance de loyer arrive chaque mois.\n",
    "guides/caf": "# Aides au logement\n\nJoindre une quittance récente au dossier de la CAF.\n",
    "guides/edf": "# Électricité\n\nUne facture ou une quittance prouve le domicile.\n",
    "notes/divers": "# Notes\n\nRien à voir ici, sinon une quittance égarée.\n",
}


@pytest.fixture
def kept(services: Commons) -> Commons:
    for path, text in KEPT.items():  # one save, so one segment, each
        services.pages.save(path, text, "création", None, ALICE)
    return services


def _answers(index: SearchIndex, query: str) -> list[tuple[str, str, float]]:
    return [(hit.path, hit.title, hit.score) for hit in index.search(query).hits]


def test_segments_are_separate_files_read_through_the_page_cache(kept: Commons) -> None:
    """No compound segment: whoosh-reloaded copies a whole compound file into each process's memory."""
    kept.reindex(workers=1)  # a rebuild's segments, then a save's
    kept.pages.save("notes/separes", "# Fichiers séparés\n\nUne quittance introuvable ailleurs.\n", "", None, ALICE)
    files = [p.name for p in kept.search.index_dir.iterdir()]
    assert not [name for name in files if name.endswith(".seg")], files
    assert len([name for name in files if name.endswith(".pst")]) >= 2, files  # postings in files of their own
    assert [hit.path for hit in kept.search.search("introuvable").hits] == ["notes/separes"]


def _save_until_merged(services: Commons, segments: set[str]) -> None:
    """Save new pages until a save has merged every one of ``segments`` away, and deleted their files."""
    index = services.search
    for number in range(20):
        services.pages.save(f"notes/ajout-{number}", f"# Ajout {number}\n\nSans rapport.\n", "", None, ALICE)
        if not segments & {segment.segment_id() for segment in index._index()._segments()}:
            break
    left = [p.name for p in index.index_dir.iterdir() if p.name.split(".")[0] in segments]
    assert not left, left


def _segment_ids(reader: IndexReader) -> set[str]:
    return {leaf.segment().segment_id() for leaf, _ in reader.leaf_readers()}


def test_a_lent_searcher_answers_after_saves_merged_its_segments_and_deleted_their_files(kept: Commons) -> None:
    other = SearchIndex(kept.search.index_dir, kept.history)  # another worker, to know the answers
    try:
        expected = _answers(other, "quittance")
    finally:
        other.close()
    assert {path for path, _, _ in expected} == set(KEPT)
    index = kept.search
    searcher = index._borrow()  # as a query of another thread holds it, before it read anything
    try:
        _save_until_merged(kept, _segment_ids(searcher.reader()))
        results = run_query(searcher, "quittance", 20, 0)
    finally:
        index._give_back(searcher)
    assert [(hit.path, hit.title) for hit in results.hits] == [(path, title) for path, title, _ in expected]
    assert [hit.score for hit in results.hits] == pytest.approx([score for _, _, score in expected])
    assert _answers(index, "quittance")[0][0] == expected[0][0]  # a new searcher for the newer segments


def test_a_searcher_whose_files_a_save_deleted_before_it_opened_them_is_opened_again(
        kept: Commons, monkeypatch: pytest.MonkeyPatch) -> None:
    """The save happens between the reading of the table of contents and the opening of the columns."""
    ix = kept.search._index()
    read_toc = ix.reader
    readers: list[IndexReader] = []

    def reader_then_saves() -> IndexReader:
        reader = read_toc()
        readers.append(reader)
        if len(readers) == 1:
            _save_until_merged(kept, _segment_ids(reader))
        return reader

    monkeypatch.setattr(ix, "reader", reader_then_saves)
    searcher = open_searcher(ix)
    monkeypatch.undo()
    try:
        assert len(readers) == 2 and searcher.reader() is readers[1]
        results = run_query(searcher, "quittance", 20, 0)
    finally:
        searcher.close()
    other = SearchIndex(kept.search.index_dir, kept.history)
    try:
        assert [(hit.path, hit.title, hit.score) for hit in results.hits] == _answers(other, "quittance")
    finally:
        other.close()
    assert {hit.path for hit in results.hits} == set(KEPT)


def _save_pages(data_dir: str, writer: str, count: int) -> None:
    index_module.MERGE_FANOUT = 2  # a merge, and files deleted, at almost every save
    services = open_commons(load_settings(data_dir, environ={}))
    try:
        for number in range(count):
            services.pages.save(f"{writer}/page-{number}", f"# Page {number}\n\nmot{writer}{number} commun\n", "",
                                None, identity_for(writer))
    finally:
        services.close()


def test_searches_meet_no_error_while_two_other_processes_save_and_merge(kept: Commons, data_dir: Path) -> None:
    """Two processes save pages (each save a segment, merged by twos) while this one searches in a loop."""
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_save_pages, args=(str(data_dir), name, 100)) for name in ("ana", "bea")]
    for writer in writers:
        writer.start()
    index = SearchIndex(kept.search.index_dir, kept.history)  # a worker of its own, as gunicorn's
    searches = 0
    try:
        while any(writer.is_alive() for writer in writers) or searches == 0:
            assert {path for path, _, _ in _answers(index, "quittance")} == set(KEPT)
            searches += 1
            time.sleep(0.001)
        for writer in writers:
            writer.join(60)
            assert writer.exitcode == 0
        assert index.search("commun", limit=200).total == 200
    finally:
        for writer in writers:
            if writer.is_alive():
                writer.terminate()
        index.close()
    assert searches > 10, searches
