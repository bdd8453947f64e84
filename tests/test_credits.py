"""Word-level attribution through the real services: git repository, page service, derived stores."""

from __future__ import annotations

import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from commons.credits.attribution import MemorySeen, Occurrence, PageTokens, attribute
from commons.credits.lineage import decode_runs, encode_runs
from commons.credits.tokens import split, tokens_of
from commons.errors import NotFound
from commons.pages import identity_for
from commons.services import Commons

INTRO = "Le revenu de solidarité active aide les personnes sans ressources. Il est versé par la CAF chaque mois."
DEMARCHE = "La demande se fait en ligne sur le site de la CAF. Un conseiller peut aider à remplir le formulaire."
DROITS = "Le RSA ouvre des droits connexes, comme la complémentaire santé solidaire."
PAGE = f"# Le RSA\n\n{INTRO}\n\n## Démarches\n\n{DEMARCHE}\n\n{DROITS}\n"


def save(services: Commons, path: str, text: str, who: str, summary: str = "modification") -> str:
    """Save ``text`` as ``who`` on top of the current revision; returns the new revision."""
    state = services.pages.state(path)
    result = services.pages.save(path, text, summary, state.rev if state else None, identity_for(who))
    return result.rev


def current_rev(services: Commons, path: str) -> str:
    state = services.pages.state(path)
    assert state is not None
    return state.rev


def tokens_by(services: Commons, path: str) -> Counter[str]:
    return Counter(author for _, author in services.credits.tokens(path))


def count(text: str) -> int:
    return len(tokens_of(text))


def run_git(work: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(work), *args], check=True, capture_output=True, text=True).stdout


def commit_outside(services: Commons, tmp_path: Path, files: dict[str, str | None], who: str = "outsider") -> str:
    """Commit with plain git in a clone of the bare repository and push; ``None`` removes, ``(old, new)`` moves."""
    work = tmp_path / "outside"
    if not work.exists():
        subprocess.run(["git", "clone", "-q", str(services.store.repo_dir), str(work)], check=True,
                       capture_output=True)
    run_git(work, "pull", "-q", "--ff-only")
    for name, text in files.items():
        if text is None:
            run_git(work, "rm", "-q", name)
        else:
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            (work / name).write_text(text, "utf-8")
            run_git(work, "add", name)
    run_git(work, "-c", f"user.name={who}", "-c", f"user.email={who}@example.org", "commit", "-q", "-m", "dehors")
    run_git(work, "push", "-q", "origin", "HEAD:main")
    return run_git(work, "rev-parse", "HEAD").strip()


@pytest.fixture
def written(services: Commons) -> Commons:
    """``guides/rsa`` written by alice."""
    save(services, "guides/rsa", PAGE, "alice", "création")
    return services


# -- tokens ------------------------------------------------------------------------------------------


def test_markdown_syntax_yields_no_token() -> None:
    text = ("---\ntitle: Le RSA\n---\n# Titre *gras* et `code`\n\n- un | deux\n* trois\n1. quatre\n\n"
            "| a | b |\n|---|:-:|\n| c | d |\n\n> cité\n\n```python\nx\n```\n\n***\n")
    assert [t.value for t in tokens_of(text)] == ["Le", "RSA", "Titre", "gras", "et", "code", "un", "deux", "trois",
                                                  "quatre", "a", "b", "c", "d", "cité", "x"]


def test_wrapping_and_indenting_change_no_hash() -> None:
    flat = f"{INTRO}\n\n- premier point de la liste\n- second point\n"
    wrapped = "  Le revenu de solidarité\nactive aide les personnes   sans\n ressources. Il est versé par la CAF\n" \
              "chaque mois.\n\n    * premier point\n      de la liste\n    * second point\n"
    assert [p.hash for p in split(flat)] == [p.hash for p in split(wrapped)]


def test_paragraphs_are_the_same_read_whole_or_between_blank_lines() -> None:
    text = "---\ntitle: Le RSA\n---\nIntro.\n  \n\n\n---\nclé: valeur\n---\n\n- un\n\t\n- deux\n"
    assert [[s.values for s in p.sentences] for p in split(text)] == [
        [("Le", "RSA"), ("Intro", ".")], [("clé", ":", "valeur")], [("un",)], [("deux",)]]
    assert [t.value for t in tokens_of(text)] == [v for p in split(text) for s in p.sentences for v in s.values]


def test_token_runs_round_trip() -> None:
    tids, origins = [5, 6, 7, 9, 10, 3, 4, 4], [1, 1, 2, 2, 2, 2, 2, 2]
    assert encode_runs(tids, origins) == [5, 2, 1, 7, 1, 2, 9, 2, 2, 3, 2, 2, 4, 1, 2]
    assert decode_runs(encode_runs(tids, origins)) == (tids, origins)
    assert encode_runs(list(range(3, 9)), [4] * 6) == [3, 6, 4]
    assert encode_runs([], []) == []


def test_sentences_split_after_terminators_and_list_items() -> None:
    [paragraph] = split("Un. Deux ! Trois : quatre, https://x.org/a.b cinq\n- six\n- sept")
    assert [s.values[0] for s in paragraph.sentences] == ["Un", "Deux", "Trois", "six", "sept"]


class CountingSeen(MemorySeen):
    """A seen store that records every hash looked up."""

    def __init__(self) -> None:
        super().__init__()
        self.looked: list[tuple[str, str]] = []

    def lookup(self, kind: str, hashes: set[str]) -> dict[str, list[Occurrence]]:
        self.looked += [(kind, h) for h in hashes]
        return super().lookup(kind, hashes)


def test_a_small_change_costs_look_ups_for_what_changed_only() -> None:
    seen = CountingSeen()
    text = "\n\n".join(f"Paragraphe numéro {i}. Il dit des choses utiles." for i in range(200))
    state = attribute(PageTokens(), split(text), seen, origin=1)
    seen.looked.clear()
    state = attribute(state, split(text.replace("numéro 7.", "numéro sept.")), seen, origin=2)
    assert [kind for kind, _ in seen.looked] == ["p", "s"]
    assert Counter(state.origins) == {1: len(state.origins) - 1, 2: 1}


def test_copies_of_a_sentence_keep_their_authors_and_cost_one_pass() -> None:
    seen = MemorySeen()
    state = attribute(PageTokens(), split(" ".join(["Oui."] * 3000)), seen, origin=1)
    state = attribute(state, split(" ".join(["Oui."] * 3002) + "\n\nFin."), seen, origin=2)
    assert Counter(state.origins) == {1: 6000, 2: 6}


def test_replacing_a_huge_page_by_another_stays_bounded() -> None:
    words = [f"mot{i}" for i in range(300)]
    first = "\n\n".join(" ".join(words[(i * 7 + k) % 300] for k in range(12)) + "." for i in range(3000))
    second = "\n\n".join(" ".join(words[(i * 11 + k) % 300] for k in range(12)) + "!" for i in range(3000))
    seen = MemorySeen()
    state = attribute(PageTokens(), split(first), seen, origin=1)
    started = time.perf_counter()
    state = attribute(state, split(second), seen, origin=2)
    assert time.perf_counter() - started < 20
    assert len(state.tids) == len(set(state.tids)) == 3000 * 13


# -- the properties users judge attribution by ----------------------------------------------------------


def test_first_author_owns_everything(written: Commons) -> None:
    assert tokens_by(written, "guides/rsa") == {"alice": count(PAGE)}


def test_moved_paragraph_keeps_its_authors(written: Commons) -> None:
    save(written, "guides/rsa", PAGE.replace(DEMARCHE, "Une phrase de bob."), "bob")
    moved = f"# Le RSA\n\n{DROITS}\n\n{INTRO}\n\n## Démarches\n\nUne phrase de bob.\n"
    save(written, "guides/rsa", moved, "carol")
    assert tokens_by(written, "guides/rsa") == {"alice": count(moved) - 5, "bob": 5}


def test_sentence_moved_inside_a_paragraph_keeps_its_authors(written: Commons) -> None:
    first, second = INTRO.split(". ")
    save(written, "guides/rsa", PAGE.replace(INTRO, f"{second} {first}."), "bob")
    assert tokens_by(written, "guides/rsa") == {"alice": count(PAGE)}


def test_fixing_one_word_credits_one_token(written: Commons) -> None:
    save(written, "guides/rsa", PAGE.replace("chaque mois", "chaque trimestre"), "bob")
    assert tokens_by(written, "guides/rsa") == {"alice": count(PAGE) - 1, "bob": 1}
    assert ("trimestre", "bob") in written.credits.tokens("guides/rsa")


def test_rewrapping_and_reindenting_credit_nothing(written: Commons) -> None:
    text = PAGE + "\n- premier point\n- second point\n"
    save(written, "guides/rsa", text, "alice")
    wrapped = text.replace(INTRO, INTRO.replace(" les ", "\nles ").replace(" par ", "\n   par "))
    wrapped = wrapped.replace("- premier point\n- second point", "  - premier\n    point\n  - second point")
    save(written, "guides/rsa", wrapped, "bob")
    assert tokens_by(written, "guides/rsa") == {"alice": count(text)}


def test_markdown_syntax_changes_credit_nothing(written: Commons) -> None:
    text = PAGE + "\n- premier point\n- second point\n"
    save(written, "guides/rsa", text, "alice")
    restyled = text.replace("## Démarches", "### Démarches").replace("- ", "* ").replace("# Le RSA", "Le RSA\n===")
    save(written, "guides/rsa", restyled, "bob")
    save(written, "guides/rsa", restyled.replace("* premier", "1. premier").replace("* second", "2. second")
         .replace("Démarches", "**Démarches**"), "carol")
    assert tokens_by(written, "guides/rsa") == {"alice": count(text)}


def test_vandalism_then_manual_revert_gives_every_word_back(written: Commons) -> None:
    save(written, "guides/rsa", PAGE.replace(INTRO, "N'importe quoi, des insultes ici."), "vandale")
    save(written, "guides/rsa", "LOL\n", "vandale")
    save(written, "guides/rsa", PAGE, "bob", "annulation du vandalisme")
    assert tokens_by(written, "guides/rsa") == {"alice": count(PAGE)}
    assert [a.name for a in written.credits.credits("guides/rsa").authors] == ["alice"]


def test_vandalism_then_restore_button_gives_every_word_back(written: Commons) -> None:
    good = save(written, "guides/rsa", PAGE.replace("chaque mois", "tous les mois"), "bob")
    save(written, "guides/rsa", PAGE.replace(DEMARCHE, "Tout ceci est faux, allez ailleurs."), "vandale")
    written.pages.restore("guides/rsa", good, identity_for("carol"))
    assert tokens_by(written, "guides/rsa") == {"alice": count(PAGE) - 1, "bob": 2}


def test_deleted_text_readded_by_someone_else_goes_back_to_its_first_author(written: Commons) -> None:
    save(written, "guides/rsa", PAGE + "\nUn paragraphe de bob sur les aides au logement.\n", "bob")
    save(written, "guides/rsa", PAGE.replace(f"{DROITS}\n", ""), "carol")
    save(written, "guides/rsa", PAGE.replace("chaque mois", "chaque trimestre"), "dave")
    readded = PAGE.replace("chaque mois", "chaque trimestre") + "\nUn paragraphe de bob sur les aides au logement.\n"
    save(written, "guides/rsa", readded, "erin")
    assert tokens_by(written, "guides/rsa") == {"alice": count(PAGE) - 1, "dave": 1, "bob": 10}


def test_deleted_page_recreated_by_someone_else_keeps_its_authors(written: Commons) -> None:
    written.pages.delete("guides/rsa", None, identity_for("bob"))
    with pytest.raises(NotFound):
        written.credits.credits("guides/rsa")
    save(written, "guides/rsa", PAGE, "carol", "recréation")
    assert tokens_by(written, "guides/rsa") == {"alice": count(PAGE)}


def test_rename_in_one_commit_keeps_the_authors(written: Commons, tmp_path: Path) -> None:
    fixed = PAGE.replace("chaque mois", "chaque trimestre")
    save(written, "guides/rsa", fixed, "bob")
    commit_outside(written, tmp_path, {"guides/rsa.md": None, "aides/rsa.md": fixed + "\nUne ligne de plus.\n"})
    written.pages.catch_up()
    assert tokens_by(written, "aides/rsa") == {"alice": count(PAGE) - 1, "bob": 1, "outsider": 5}
    body = [c for c in _contributions(written, "aides/rsa") if c[1] == "creation"]
    assert body == [("alice", "creation", 1)]


def test_delete_then_recreate_under_another_path_keeps_the_authors(written: Commons) -> None:
    written.pages.delete("guides/rsa", None, identity_for("bob"))
    save(written, "prestations/rsa", PAGE.replace("chaque mois", "chaque trimestre"), "bob", "déplacement")
    assert tokens_by(written, "prestations/rsa") == {"alice": count(PAGE) - 1, "bob": 1}
    assert written.credits.former_paths("prestations/rsa")[0][0] == "guides/rsa"


def test_new_unrelated_page_does_not_take_a_deleted_page(written: Commons) -> None:
    written.pages.delete("guides/rsa", None, identity_for("bob"))
    other = "# Logement\n\nLes aides au logement dépendent des revenus et du loyer.\n"
    save(written, "guides/logement", other, "bob")
    assert tokens_by(written, "guides/logement") == {"bob": count(other)}


def test_commit_made_outside_the_app_is_attributed_after_catch_up(written: Commons, tmp_path: Path) -> None:
    commit_outside(written, tmp_path, {"guides/rsa.md": PAGE.replace("chaque mois", "chaque semaine")})
    assert written.credits.reflected() != written.store.head()
    written.pages.catch_up()
    assert written.credits.reflected() == written.store.head()
    assert tokens_by(written, "guides/rsa") == {"alice": count(PAGE) - 1, "outsider": 1}


def test_reindex_gives_identical_credits(written: Commons, tmp_path: Path) -> None:
    save(written, "guides/rsa", PAGE.replace("chaque mois", "chaque trimestre") + "\nAjout de bob.\n", "bob")
    save(written, "guides/rsa", "vide\n", "vandale")
    save(written, "guides/rsa", PAGE.replace("chaque mois", "chaque trimestre") + "\nAjout de bob.\n", "carol")
    written.pages.delete("guides/rsa", None, identity_for("bob"))
    save(written, "guides/allocation", PAGE.replace("chaque mois", "chaque trimestre") + "\nAjout de bob.\n", "dave")
    save(written, "guides/autre", "# Autre\n\nUne autre page.\n", "erin")
    before = {p: (written.credits.credits(p), written.credits.tokens(p), written.credits.attribution(p))
              for p in ("guides/allocation", "guides/autre")}
    written.reindex()
    assert {p: (written.credits.credits(p), written.credits.tokens(p), written.credits.attribution(p))
            for p in before} == before


def test_shares_sum_to_one(written: Commons) -> None:
    save(written, "guides/rsa", PAGE + "\nTrois mots ici.\n", "bob")
    save(written, "guides/rsa", PAGE + "\nTrois mots ici.\n\nEt sept autres mots pour carol ici.\n", "carol")
    credits = written.credits.credits("guides/rsa")
    assert abs(sum(a.share for a in credits.authors) - 1.0) <= 1e-9
    assert [a.name for a in credits.authors] == ["alice", "carol", "bob"]
    assert sum(a.tokens for a in credits.authors) == credits.total == len(written.credits.tokens("guides/rsa"))
    assert credits.rev == current_rev(written, "guides/rsa")


def test_a_page_without_words_has_no_authors(services: Commons) -> None:
    save(services, "vide", "***\n", "alice")
    credits = services.credits.credits("vide")
    assert credits.authors == [] and credits.total == 0


def test_who_wrote_this_runs_cover_the_text(written: Commons) -> None:
    text = PAGE.replace("chaque mois", "chaque trimestre")
    save(written, "guides/rsa", text, "bob")
    runs = written.credits.attribution("guides/rsa")
    assert "".join(run.text for run in runs) == text
    assert [run.text for run in runs if run.author == "bob"] == ["trimestre"]


def test_reads_from_many_threads_while_writing(written: Commons) -> None:
    errors: list[BaseException] = []

    def read() -> None:
        try:
            for _ in range(30):
                assert written.credits.credits("guides/rsa").authors
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for n in range(5):
        save(written, "guides/rsa", PAGE + f"\nAjout numéro {n}.\n", "bob")
    for thread in threads:
        thread.join()
    assert not errors


# -- contributions, web page and API ----------------------------------------------------------------------


def _contributions(services: Commons, path: str) -> list[tuple[str, str, int]]:
    return [(c.name, c.kind, c.count) for c in services.credits.summary(path).contributions]


def test_contributions_count_creation_edits_and_restores(written: Commons) -> None:
    first = current_rev(written, "guides/rsa")
    save(written, "guides/rsa", PAGE.replace("chaque mois", "chaque trimestre"), "bob")
    save(written, "guides/rsa", PAGE.replace("chaque mois", "chaque année"), "bob")
    written.pages.restore("guides/rsa", first, identity_for("carol"))
    assert _contributions(written, "guides/rsa") == [
        ("alice", "creation", 1), ("alice", "edit", 1), ("bob", "edit", 2), ("carol", "edit", 1),
        ("carol", "restore", 1)]
    edits = Counter(r.author for r in written.history.revisions("guides/rsa", 500) if r.op != "D")
    assert {c[0]: c[2] for c in _contributions(written, "guides/rsa") if c[1] == "edit"} == edits
    people = written.credits.summary("guides/rsa").contributors
    assert [(p.name, p.edits, p.created, p.restores) for p in people] == [
        ("alice", 1, True, 0), ("bob", 2, False, 0), ("carol", 1, False, 1)]
    assert all(p.first and p.last and p.first <= p.last for p in people)


@pytest.fixture
def app_client(written: Commons) -> Iterator[FlaskClient]:
    from commons import create_app

    save(written, "guides/rsa", PAGE.replace("chaque mois", "chaque trimestre") + "\nUn ajout de bob.\n", "bob")
    app = create_app({"data_dir": written.settings.data_dir})
    yield app.test_client()
    app.extensions["commons"].close()


def test_api_gives_authors_shares_and_contributions(app_client: FlaskClient, written: Commons) -> None:
    body = app_client.get("/-/api/v1/pages/guides/rsa/credits").get_json()
    total = count(PAGE) + 5
    assert body["rev"] == current_rev(written, "guides/rsa")
    assert body["authors"] == [{"name": "alice", "share": pytest.approx((total - 6) / total), "tokens": total - 6},
                               {"name": "bob", "share": pytest.approx(6 / total), "tokens": 6}]
    assert abs(sum(a["share"] for a in body["authors"]) - 1) <= 1e-9
    kinds = {(c["name"], c["kind"]): c["count"] for c in body["contributions"]}
    assert kinds == {("alice", "creation"): 1, ("alice", "edit"): 1, ("bob", "edit"): 1}


def test_api_answers_404_for_a_missing_page(app_client: FlaskClient) -> None:
    response = app_client.get("/-/api/v1/pages/guides/absente/credits")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    assert app_client.get("/-/api/v1/pages/Pas..valide/credits").status_code == 400
    assert app_client.get("/-/api/v1/pages/guides/rsa/credits",
                          headers={"Authorization": "Bearer faux"}).status_code == 401


def test_credits_page_shows_names_percentages_passages_and_citation(app_client: FlaskClient) -> None:
    total = count(PAGE) + 5
    html = app_client.get("/-/credits/guides/rsa").get_data(as_text=True)
    alice, bob = f"{(total - 6) / total * 100:.1f}".replace(".", ","), f"{6 / total * 100:.1f}".replace(".", ",")
    assert html.index(">alice</a>") < html.index(">bob</a>")
    assert f"{alice}\u00a0%" in html and f"{bob}\u00a0%" in html
    assert 'class="fill w-' in html and "style=" not in html
    assert 'title="écrit par bob"' in html and "[bob :] </span>trimestre</span>" in html
    assert "a créé la page" in html
    assert "alice, bob. « Le RSA »" in html and "@misc{commons-guides-rsa," in html and "CC BY-SA 4.0" in html


def test_credits_page_answers_404_for_a_missing_page(app_client: FlaskClient) -> None:
    assert app_client.get("/-/credits/guides/absente").status_code == 404


def test_page_links_to_its_credits(app_client: FlaskClient) -> None:
    assert 'href="/-/credits/guides/rsa">Crédits</a>' in app_client.get("/guides/rsa").get_data(as_text=True)
