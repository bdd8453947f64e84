"""Search in French with a real Whoosh index following a real git repository."""

from __future__ import annotations

import multiprocessing
import subprocess
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from commons.config import load_settings
from commons.pages import identity_for
from commons.services import Commons, open_commons

ALICE = identity_for("alice")

PAGES = {
    "guides/mediation-numerique": "# Médiation numérique\n\nAccompagner les personnes éloignées du numérique "
    "dans leurs démarches en ligne.\n",
    "guides/logement-social": "# Demander un logement social\n\nLes logements sociaux sont attribués par une "
    "commission. Déposez la demande de logement social en ligne.\n",
    "guides/enfance": "# Aide sociale à l'enfance\n\nLa protection de l'enfance relève du département.\n",
    "guides/divers": "# Notes diverses\n\nLa protection des données et l'enfance heureuse sont deux sujets.\n",
    "guides/rsa": "# RSA\n\nLe revenu de solidarité active : conditions et démarches.\n",
    "guides/budget": "# Gérer son budget\n\nQuand le RSA ne suffit pas, voir les aides locales. "
    "Comparer a < b & c.\n",
}


def paths_of(services: Commons, query: str) -> list[str]:
    return [hit.path for hit in services.search.search(query).hits]


@pytest.fixture
def filled(services: Commons) -> Commons:
    for path, text in PAGES.items():
        services.pages.save(path, text, "création", None, ALICE)
    return services


@pytest.mark.parametrize("query", ["mediation numerique", "Médiation numérique", "MÉDIATIONS", "médiations"])
def test_accents_and_case_meet(filled: Commons, query: str) -> None:
    assert paths_of(filled, query) == ["guides/mediation-numerique"]


def test_plural_and_singular_meet(filled: Commons) -> None:
    assert paths_of(filled, "logements sociaux")[0] == "guides/logement-social"
    assert paths_of(filled, "logement social")[0] == "guides/logement-social"


def test_elisions_are_split(filled: Commons) -> None:
    found = paths_of(filled, "l'enfance")
    assert set(found) == {"guides/enfance", "guides/divers"}
    assert paths_of(filled, "enfance") == found


def test_phrase_with_stop_words_matches_only_the_phrase(filled: Commons) -> None:
    assert paths_of(filled, '"protection de l\'enfance"') == ["guides/enfance"]
    # the same words without quotes match both pages
    assert set(paths_of(filled, "protection enfance")) == {"guides/enfance", "guides/divers"}


def test_all_words_must_match_and_stop_words_are_ignored(filled: Commons) -> None:
    assert paths_of(filled, "comment demander le logement") == ["guides/logement-social"]
    assert paths_of(filled, "logement rsa") == []


def test_title_hits_rank_first(filled: Commons) -> None:
    assert paths_of(filled, "rsa") == ["guides/rsa", "guides/budget"]


def test_fields_prefix_and_exclusion(filled: Commons) -> None:
    assert paths_of(filled, "titre:rsa") == ["guides/rsa"]
    assert paths_of(filled, "rsa -budget") == ["guides/rsa"]
    assert set(paths_of(filled, "numéri*")) == {"guides/mediation-numerique"}
    assert "guides/rsa" in paths_of(filled, "dossier:guides rsa")
    assert paths_of(filled, "dossier:ailleurs rsa") == []


def test_snippet_marks_words_and_escapes_html(filled: Commons) -> None:
    hit = filled.search.search("comparer").hits[0]
    assert "<mark" in hit.snippet and "omparer</mark>" in hit.snippet
    assert "a &lt; b &amp; c" in hit.snippet


def test_did_you_mean_uses_the_index_vocabulary(filled: Commons) -> None:
    results = filled.search.search("mediatoin")
    assert results.total == 0
    assert results.suggestion == "médiation"


@pytest.mark.parametrize("query", ['"unclosed', "((((", "title:", "tag:x AND", "*", "-", "a" * 600, "OR OR",
                                   "title:[a TO", "\x00", "日本語", "?", ")", "NOT"])
def test_malformed_queries_never_fail(filled: Commons, query: str) -> None:
    results = filled.search.search(query)
    assert results.total >= 0 and isinstance(results.hits, list)


def test_deleted_page_leaves_no_ghost(filled: Commons) -> None:
    rev = filled.pages.state("guides/rsa").rev  # type: ignore[union-attr]
    filled.pages.delete("guides/rsa", rev, ALICE)
    assert paths_of(filled, "rsa") == ["guides/budget"]


def test_edit_removes_old_words(filled: Commons) -> None:
    rev = filled.pages.state("guides/budget").rev  # type: ignore[union-attr]
    filled.pages.save("guides/budget", "# Gérer son budget\n\nÉpargne de précaution.\n", "", rev, ALICE)
    assert paths_of(filled, "rsa") == ["guides/rsa"]
    assert paths_of(filled, "épargne") == ["guides/budget"]


def _outside_commit(repo: Path, tmp: Path, name: str, text: str) -> None:
    work = tmp / "work"
    subprocess.run(["git", "clone", "-q", str(repo), str(work)], check=True)
    (work / name).parent.mkdir(parents=True, exist_ok=True)
    (work / name).write_text(text, encoding="utf-8")
    git = ["git", "-C", str(work), "-c", "user.name=bob", "-c", "user.email=bob@example.org"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "ajout hors de l'app"], check=True)
    subprocess.run([*git, "push", "-q", "origin", "HEAD:main"], check=True)


def test_commit_made_outside_the_app_is_found_after_restart(filled: Commons, tmp_path: Path) -> None:
    _outside_commit(filled.settings.repo_dir, tmp_path, "guides/domiciliation.md",
                    "# Domiciliation\n\nObtenir une adresse auprès d'un CCAS.\n")
    filled.close()
    restarted = open_commons(load_settings(filled.settings.data_dir, environ={}))
    try:
        restarted.pages.catch_up()
        assert paths_of(restarted, "domiciliation ccas") == ["guides/domiciliation"]
        assert restarted.search.reflected() == restarted.store.head()
    finally:
        restarted.close()


def test_reindex_rebuilds_the_same_answers(filled: Commons) -> None:
    before = {q: paths_of(filled, q) for q in ("rsa", "logement", "enfance", "numérique")}
    filled.reindex()
    assert {q: paths_of(filled, q) for q in before} == before


def _write_pages(data_dir: str, prefix: str, count: int) -> None:
    services = open_commons(load_settings(data_dir, environ={}))
    try:
        for i in range(count):
            services.pages.save(f"{prefix}/page-{i}", f"# Page {i}\n\nmot{prefix}{i} commun\n", "", None,
                                identity_for(prefix))
    finally:
        services.close()


def test_two_processes_writing_at_once_lose_nothing(services: Commons) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_write_pages, args=(str(services.settings.data_dir), name, 6))
               for name in ("ana", "bea")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    services.pages.catch_up()
    assert services.search.search("commun", limit=100).total == 12
    assert paths_of(services, "motana5") == ["ana/page-5"]
    assert paths_of(services, "motbea0") == ["bea/page-0"]


def test_search_page_and_api(app_client: FlaskClient) -> None:
    page = app_client.get("/-/search?q=mediation").get_data(as_text=True)
    assert 'href="/guides/mediation-numerique"' in page
    body = app_client.get("/-/api/v1/search?q=logements&limit=1").get_json()
    assert body["total"] == 1 and body["results"][0]["path"] == "guides/logement-social"
    assert set(body["results"][0]) >= {"path", "title", "snippet", "score"}
    assert app_client.get("/-/api/v1/search?q=x&limit=-1").status_code == 400
    assert app_client.get("/-/api/v1/search").status_code == 400


def test_empty_search_invites_writing_and_is_counted_without_person(app_client: FlaskClient, filled: Commons) -> None:
    page = app_client.get("/-/search?q=Chèque+énergie").get_data(as_text=True)
    assert "Aucun guide" in page and "/-/new?title=Ch%C3%A8que+%C3%A9nergie" in page
    app_client.get("/-/api/v1/search?q=cheque  ENERGIE")
    misses = app_client.application.extensions["commons"].misses.top()
    assert [(m.query, m.count) for m in misses] == [("Chèque énergie", 2)]


@pytest.fixture
def app_client(filled: Commons) -> FlaskClient:
    from commons import create_app

    app = create_app({"data_dir": filled.settings.data_dir})
    yield app.test_client()
    app.extensions["commons"].close()


def test_prefix_finds_words_whose_stem_is_shorter(filled: Commons) -> None:
    # « logement » is indexed as the stem « log »: the prefix is matched on the unstemmed words
    assert paths_of(filled, "logem*") == ["guides/logement-social"]
    assert "<mark>logement</mark>" in filled.search.search("logem*").hits[0].snippet


def test_snippet_marks_every_form_and_not_excluded_words(filled: Commons) -> None:
    hit = filled.search.search("logements sociaux -rsa").hits[0]
    assert hit.path == "guides/logement-social"
    assert "<mark>logements</mark> <mark>sociaux</mark>" in hit.snippet
    assert "<mark>social</mark>" in hit.snippet  # same stem as « sociaux »
    assert "<mark>commission</mark>" not in hit.snippet
    phrase = filled.search.search('"protection de l\'enfance"').hits[0].snippet
    assert "<mark>protection</mark> de l'<mark>enfance</mark>" in phrase.replace("&#x27;", "'")


def test_snippet_of_a_long_page_shows_the_passage_with_the_word(services: Commons) -> None:
    filler = "Texte sans rapport <b>gras</b> & suite. " * 200
    services.pages.save("guides/long", f"# Long\n\n{filler}\n\nLe mot rarissime est ici.\n", "", None, ALICE)
    snippet = services.search.search("rarissime").hits[0].snippet
    assert "<mark>rarissime</mark>" in snippet and snippet.startswith("… ")
    assert len(snippet) < 600 and "<b>" not in snippet


def test_totals_are_exact_for_few_matches_and_pages_do_not_overlap(services: Commons) -> None:
    for i in range(25):
        services.pages.save(f"notes/n{i}", f"# Note {i}\n\nUne quittance numéro {i}.\n", "", None, ALICE)
    first, second = services.search.search("quittance", limit=10), services.search.search("quittance", 10, 10)
    assert first.total == second.total == 25
    assert len(first.hits) == len(second.hits) == 10
    assert not {h.path for h in first.hits} & {h.path for h in second.hits}


def test_saves_keep_the_number_of_segments_bounded(services: Commons) -> None:
    from commons.search.index import MERGE_FANOUT

    for i in range(3 * MERGE_FANOUT):
        services.pages.save(f"notes/s{i}", f"# Segment {i}\n\nTexte {i} du registre.\n", "", None, ALICE)
        assert services.search.segment_count() < 2 * MERGE_FANOUT
    assert services.search.search("registre", limit=100).total == 3 * MERGE_FANOUT
    rev = services.pages.state("notes/s0").rev  # type: ignore[union-attr]
    services.pages.save("notes/s0", "# Segment 0\n\nAutre chose.\n", "", rev, ALICE)
    assert services.search.search("registre", limit=100).total == 3 * MERGE_FANOUT - 1


def test_misspelt_word_gets_a_suggestion_quickly(filled: Commons) -> None:
    results = filled.search.search("logemnet")
    assert results.total == 0 and results.suggestion == "logement"


def test_concurrent_searches_share_a_few_searchers_and_see_new_saves(filled: Commons) -> None:
    """Eight threads searching at once get right answers from one shared searcher (memory per worker)."""
    from concurrent.futures import ThreadPoolExecutor

    expected = paths_of(filled, "médiation")
    assert expected
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: paths_of(filled, "mediation"), range(40)))
    assert all(answer == expected for answer in answers)
    assert len(filled.search._idle) == 1
    filled.pages.save("nouveau", "# Nouveau\n\nUne médiation de quartier.\n", "x", None, identity_for("lea"))
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: paths_of(filled, "mediation"), range(8)))
    assert all("nouveau" in answer for answer in answers)  # no searcher lent out is stale


# -- indexing shortcuts and phrases through word pairs ----------------------------------

TRICKY = [
    "", "de la le", "La maison de l'enfance", "  à  Ça  ça l'été", "l'État d'urgence qu'il",
    "İstanbul ǅemal ﬁn Straße ÉCOLE 2019 ², ½ x_y __init__ œuvre Œuvre",
    "Le dépôt de garantie, le dépôt et la garantie : dépôt de garantie.",
]


def test_fast_fields_index_what_their_analyzers_give() -> None:
    from whoosh.fields import TEXT

    from commons.search.analysis import FastText, make_schema

    schema = make_schema()
    fields = [name for name in schema.names() if type(schema[name]) is FastText]
    assert {"content", "title", "title_exact", "headings", "spell", "vocab"} <= set(fields)
    texts = TRICKY + [f"# {t}\n{body}" for t, body in PAGES.items()]
    for name in fields:
        for text in texts:
            assert sorted(schema[name].index(text)) == sorted(TEXT.index(schema[name], text)), (name, text)


def _documents(count: int) -> list[dict[str, object]]:
    from datetime import datetime

    words = ["logement", "médiation", "dépôt", "garantie", "enfance", "protection", "données", "aide"]
    return [{"path": f"p/{i}", "title": f"Page {words[i % 8]}", "title_exact": f"Page {words[i % 8]}",
             "content": " ".join(words[(i * k) % 8] for k in range(1, 3 + i % 40)), "spell": f"mot{i % 7} aide",
             "vocab": f"Données {words[i % 5]}", "pairs": " ".join(words[(i + k) % 8] for k in range(i % 9)),
             "tags": "a,b" if i % 2 else "c", "updated": datetime(2024, 1, 1 + i % 28), "body": f"corps {i}"}
            for i in range(count)]


def _postings(ix: object) -> dict[tuple[str, bytes], list[tuple[object, ...]]]:
    reader = ix.reader()  # type: ignore[attr-defined]
    found: dict[tuple[str, bytes], list[tuple[object, ...]]] = {}
    for fieldname, text in reader.all_terms():
        matcher = reader.postings(fieldname, text)
        rows: list[tuple[object, ...]] = []
        while matcher.is_active():
            rows.append((matcher.block_min_length(), matcher.block_max_length(), matcher.block_max_weight()))
            while True:
                rows.append((matcher.id(), matcher.weight(), matcher.value(),
                             reader.doc_field_length(matcher.id(), fieldname)))
                if matcher.next() or not matcher.is_active():
                    break
        found[(fieldname, text)] = rows
    found[("", b"stored")] = [tuple(sorted(reader.stored_fields(d).items())) for d in range(reader.doc_count_all())]
    found[("", b"updated")] = list(reader.column_reader("updated"))
    reader.close()
    return found


@pytest.mark.parametrize("spill", [False, True])
def test_rebuild_writer_writes_what_whoosh_writes(tmp_path: Path, spill: bool) -> None:
    """Same postings, blocks (more than 128 postings per term), lengths; also when postings spill to disk."""
    from whoosh import index as whoosh_index

    from commons.search.analysis import make_schema
    from commons.search.writer import RebuildWriter

    built = []
    for name in ("whoosh", "rebuild"):
        (tmp_path / name).mkdir()
        ix = whoosh_index.create_in(str(tmp_path / name), make_schema())
        writer = ix.writer() if name == "whoosh" else RebuildWriter(ix)
        if spill and name == "rebuild":
            writer.pool.limit = 20_000
        for doc in _documents(400):
            writer.add_document(**doc)
        assert bool(spill and name == "rebuild") == bool(getattr(writer.pool, "runs", []))
        writer.commit()
        built.append(_postings(ix))
        ix.close()
    assert built[0] == built[1]
    assert max(len(rows) for rows in built[1].values()) > 300


def test_phrase_of_three_words_needs_them_adjacent(filled: Commons) -> None:
    filled.pages.save("notes/a", "# A\n\nEnvoyer un courrier recommandé avec accusé de réception.\n", "", None, ALICE)
    filled.pages.save("notes/b", "# B\n\nUn courrier recommandé, puis recommandé avec accusé plus tard.\n", "",
                      None, ALICE)
    assert paths_of(filled, '"courrier recommandé avec accusé"') == ["notes/a"]
    assert set(paths_of(filled, '"recommandé avec accusé"')) == {"notes/a", "notes/b"}
    assert paths_of(filled, '"la demande de logement social"') == ["guides/logement-social"]
    assert paths_of(filled, '"accusé courrier"') == []
    assert set(paths_of(filled, "courrier recommandé accusé")) == {"notes/a", "notes/b"}


def test_phrases_through_pairs_match_and_score_as_whoosh_phrases(filled: Commons) -> None:
    from whoosh.query import Phrase

    from commons.search.phrases import PairPhrase, with_pairs
    from commons.search.query import parse

    for i in range(30):  # enough pages for several words and pairs in common
        filled.pages.save(f"notes/p{i}", f"# P{i}\n\nLa protection {'de l' if i % 3 else 'des'}'enfance, "
                          f"{'aide sociale' if i % 2 else 'sociale aide'} {i}. Protection enfance.\n", "", None, ALICE)
    searcher = filled.search._index().searcher()
    try:
        for text in ['"protection de l\'enfance"', '"aide sociale"', '"la protection de l\'enfance"',
                     '"sociale aide" OR "protection enfance"', 'aide -"aide sociale"', '"enfance aide sociale"']:
            query = parse(searcher.schema, text)
            paired = with_pairs(query)
            assert any(isinstance(q, PairPhrase) for q in paired.leaves()) or \
                not any(isinstance(q, Phrase) for q in query.leaves())
            for limit in (None, 5):
                plain = [(h.docnum, h.score) for h in searcher.search(query, limit=limit)]
                assert [(h.docnum, h.score) for h in searcher.search(paired, limit=limit)] == plain, text
        assert len(searcher.search(with_pairs(parse(searcher.schema, '"aide sociale"')), limit=None)) == 16
    finally:
        searcher.close()


def test_index_of_an_older_schema_is_rebuilt(filled: Commons) -> None:
    from commons.search.index import SearchIndex

    index_dir = filled.search.index_dir
    head = filled.store.head()
    filled.search.close()
    (index_dir / "REFLECTED").write_text(f"2 {head}\n")
    reopened = SearchIndex(index_dir, filled.history)
    try:
        assert reopened.reflected() is None
        reopened.catch_up(filled.store, head)  # type: ignore[arg-type]
        assert reopened.reflected() == head
        assert [h.path for h in reopened.search('"protection de l\'enfance"').hits] == ["guides/enfance"]
    finally:
        reopened.close()


def test_rebuild_in_two_segments_gives_the_same_answers(filled: Commons, monkeypatch: pytest.MonkeyPatch) -> None:
    import commons.search.index as search_index

    queries = ("rsa", "logement", "enfance", "numérique", '"protection de l\'enfance"', "logem*", "RSA budget")
    before = {q: [(h.path, h.score) for h in filled.search.search(q).hits] for q in queries}
    monkeypatch.setattr(search_index, "SMALL_REBUILD", 2)
    filled.reindex()
    assert filled.search.segment_count() == search_index.REBUILD_SEGMENTS
    assert {q: [h.path for h in filled.search.search(q).hits] for q in queries} == \
        {q: [path for path, _ in hits] for q, hits in before.items()}
    assert filled.search.search("logement").total == 1


def _page(i: int) -> tuple[str, str]:
    """Strong title hits first, then a long run of weak body hits, then title hits again."""
    if i < 30:
        return "Logement d'abord", "logement " * 8
    if i < 400:
        return f"Fiche {i}", "logement " + "quittance bail loyer charges " * 30
    return f"Logement et quittance {i}", "logement quittance " * 3 + ("pension alimentaire " if i % 2 else "")


def test_first_page_holds_the_best_scored_pages_of_the_whole_ranking(services: Commons) -> None:
    """The shown page is the top of the full ranking (Whoosh's block skipping once dropped better pages)."""
    for i in range(460):
        title, body = _page(i)
        services.pages.save(f"fiches/f{i}", f"# {title}\n\n## Partie\n\n{body}.\n", "", None, ALICE)
    services.reindex(workers=1)  # large segments: blocks of postings that can be skipped
    for query in ("logement", 'logement OR "pension alimentaire"', "logement quittance"):
        first = services.search.search(query, limit=20)
        scores = [h.score for offset in range(0, 500, 100) for h in services.search.search(query, 100, offset).hits]
        assert first.total == len(scores)
        best = sorted(scores)[-20:]
        assert sorted(h.score for h in first.hits) == pytest.approx(best), query
