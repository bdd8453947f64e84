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
