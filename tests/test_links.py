"""The link graph, wanted pages, orphans, tags and the page tree, through real services and the app."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from commons import create_app
from commons.config import load_settings
from commons.links import tags_of
from commons.pages import identity_for
from commons.services import Commons, open_commons

ALICE = identity_for("alice")

PAGES = {
    "home": "# Accueil\n\nVoir [[Guides/RSA]], [l'aide au logement](guides/aide-au-logement.md) "
            "et [un site](https://example.org/rsa).\n",
    "guides/rsa": "# RSA\n\nVoir aussi [[./budget]] et [le budget](budget.md#aides), "
                  "[[Chèque énergie]] et [[../home|l'accueil]].\n\n"
                  "```\n[[guides/dans-le-code]]\n```\n\nEt `[[code-en-ligne]]`.\n",
    "guides/budget": "# Gérer son budget\n\nVoir [[Chèque énergie]] et [[guides/rsa#conditions|le RSA]].\n",
    "guides/aide-au-logement": "---\ntitle: Les aides au logement\ntags: [Logement, droits]\n---\n\n"
                               "Texte sans lien.\n",
    "guides/droits/caf": "---\ntags: logement, caf\n---\n# La CAF\n\nPersonne n'y renvoie.\n",
}


def write(services: Commons, path: str, text: str) -> str:
    """Create or replace a page as alice; returns the new revision."""
    state = services.pages.state(path)
    return services.pages.save(path, text, "", state.rev if state else None, ALICE).rev


def delete(services: Commons, path: str) -> None:
    services.pages.delete(path, services.pages.state(path).rev, ALICE)  # type: ignore[union-attr]


@pytest.fixture
def filled(services: Commons) -> Commons:
    for path, text in PAGES.items():
        write(services, path, text)
    return services


@pytest.fixture
def web(filled: Commons) -> Iterator[FlaskClient]:
    """The app on the filled commons (its own services, the same data directory)."""
    app: Flask = create_app({"data_dir": filled.settings.data_dir})
    app.config["TESTING"] = True
    yield app.test_client()
    app.extensions["commons"].close()


def graph(services: Commons) -> dict[str, object]:
    """Everything the link store answers, to compare two states."""
    links = services.links
    every = [p.path for p in services.pages.list_pages()]
    return {"to": {p: links.links_to(p) for p in every}, "from": {p: links.linked_from(p) for p in every},
            "orphans": links.orphans(), "wanted": links.wanted(), "tags": links.tags(),
            "tagged": {t: links.pages_with_tag(t) for t, _ in links.tags()}}


# -- the graph --------------------------------------------------------------------------------


def test_wikilinks_and_relative_links_make_the_graph(filled: Commons) -> None:
    links = filled.links
    assert links.links_to("home") == ["guides/aide-au-logement", "guides/rsa"]
    assert links.links_to("guides/rsa") == ["cheque-energie", "guides/budget", "home"]
    assert links.links_to("guides/budget") == ["cheque-energie", "guides/rsa"]
    assert links.linked_from("guides/rsa") == ["guides/budget", "home"]
    assert links.linked_from("cheque-energie") == ["guides/budget", "guides/rsa"]
    assert links.links_to("guides/aide-au-logement") == []


def test_links_inside_code_and_external_links_do_not_count(filled: Commons) -> None:
    assert filled.links.linked_from("guides/dans-le-code") == []
    assert filled.links.linked_from("code-en-ligne") == []
    assert all("example" not in target for target in filled.links.links_to("home"))


def test_an_edit_that_removes_a_link_removes_the_edge(filled: Commons) -> None:
    write(filled, "guides/budget", "# Gérer son budget\n\nPlus que [[Chèque énergie]].\n")
    assert filled.links.links_to("guides/budget") == ["cheque-energie"]
    assert filled.links.linked_from("guides/rsa") == ["home"]
    write(filled, "guides/budget", "# Gérer son budget\n\nPlus aucun lien.\n")
    assert filled.links.links_to("guides/budget") == []
    assert filled.links.linked_from("cheque-energie") == ["guides/rsa"]


def test_a_deleted_page_keeps_its_incoming_edges_and_becomes_wanted(filled: Commons) -> None:
    assert "guides/rsa" not in [w.path for w in filled.links.wanted()]
    delete(filled, "guides/rsa")
    assert filled.links.links_to("guides/rsa") == []  # no outgoing edges left
    assert filled.links.linked_from("guides/rsa") == ["guides/budget", "home"]
    wanted = {w.path: w for w in filled.links.wanted()}
    assert wanted["guides/rsa"].links == 2
    assert wanted["cheque-energie"].links == 1  # the deleted page no longer counts as linking
    assert filled.links.linked_from("guides/budget") == []


def test_orphans(filled: Commons) -> None:
    assert filled.links.orphans() == ["guides/droits/caf"]
    write(filled, "guides/droits/caf", "# La CAF\n\nElle se cite elle-même : [[guides/droits/caf]].\n")
    assert filled.links.orphans() == ["guides/droits/caf"]  # a link to oneself does not count
    write(filled, "guides/budget", "# Gérer son budget\n\n[[guides/droits/caf]]\n")
    assert filled.links.orphans() == []
    delete(filled, "home")  # home never counts as an orphan; what only home linked to becomes one
    assert filled.links.orphans() == ["guides/aide-au-logement", "guides/rsa"]
    delete(filled, "guides/budget")
    assert filled.links.orphans() == ["guides/aide-au-logement", "guides/droits/caf", "guides/rsa"]


def test_a_page_without_brackets_has_no_links(services: Commons) -> None:
    write(services, "simple", "# Simple\n\nDu texte (et des parenthèses) sans aucun lien.\n")
    assert services.links.links_to("simple") == []
    assert services.links.orphans() == ["simple"]


# -- wanted pages -----------------------------------------------------------------------------------


def test_wanted_combines_red_links_and_searches_that_found_nothing(filled: Commons) -> None:
    write(filled, "guides/droits/caf", "# La CAF\n\n[[Aides/Permis de conduire]] [[Aides/Permis de conduire]]\n")
    for query in ("Chèque énergie", "cheque  ENERGIE", "chèque-énergie"):  # one slug, two miss keys
        filled.misses.record(query)
    for _ in range(5):
        filled.misses.record("permis de conduire")  # reads like the title of aides/permis-de-conduire
    for _ in range(2):
        filled.misses.record("Aide alimentaire")  # no page links to it: a wanted page of its own
    filled.misses.record("RSA")  # answered by guides/rsa: not wanted
    filled.misses.record("???")  # names no page
    wanted = [(w.path, w.title, w.links, w.searches) for w in filled.links.wanted(filled.misses.top())]
    assert wanted == [
        ("aides/permis-de-conduire", "Permis de conduire", 1, 5),
        ("cheque-energie", "Chèque énergie", 2, 3),
        ("aide-alimentaire", "Aide alimentaire", 0, 2),
    ]
    assert [w.path for w in filled.links.wanted(filled.misses.top(), limit=1)] == ["aides/permis-de-conduire"]


def test_a_written_guide_leaves_the_wanted_list(filled: Commons) -> None:
    filled.misses.record("aide alimentaire")
    write(filled, "cheque-energie", "# Chèque énergie\n\nLe guide.\n")
    write(filled, "guides/aide-alimentaire", "# Aide alimentaire\n\nLe guide.\n")
    assert filled.links.wanted(filled.misses.top()) == []


def test_wanted_page_counts_empty_searches_made_through_the_app(filled: Commons, web: FlaskClient) -> None:
    write(filled, "guides/droits/caf", "# La CAF\n\nPour les petits, [[guides/garde-enfants|voir ici]].\n")
    assert web.get("/-/search?q=Garde+enfants").status_code == 200  # reads like the title "Garde enfants"
    web.get("/-/api/v1/search?q=guides/garde enfants")  # its slug is the path
    web.get("/-/search?q=Foyer+de+jeunes+travailleurs")
    web.get("/-/search?q=Chèque+énergie")  # found: the words are in pages that link to it
    page = web.get("/-/wanted").get_data(as_text=True)
    assert "Guides demandés" in page and "Écrire ce guide" in page
    assert page.index("Garde enfants") < page.index("Chèque énergie") < page.index("Foyer de jeunes travailleurs")
    assert 'href="/-/edit/cheque-energie?title=Ch%C3%A8que+%C3%A9nergie"' in page
    assert 'href="/-/links/cheque-energie">2 pages</a>' in page
    assert 'href="/-/links/guides/garde-enfants">1 page</a>' in page
    body = web.get("/-/api/v1/wanted").get_json()
    assert body["wanted"] == [
        {"path": "guides/garde-enfants", "title": "Garde enfants", "links": 1, "searches": 2},
        {"path": "cheque-energie", "title": "Chèque énergie", "links": 2, "searches": 0},
        {"path": "foyer-de-jeunes-travailleurs", "title": "Foyer de jeunes travailleurs", "links": 0, "searches": 1},
    ]


# -- tags -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "tags"), [
    ("---\ntags: [logement, droits]\n---\n# X\n", ["logement", "droits"]),
    ("---\ntags: Logement ,  Droits sociaux \n---\n# X\n", ["logement", "droits sociaux"]),
    ("---\ntags: ['logement', \"droits\", logement]\n---\n", ["logement", "droits"]),
    ("---\ntitle: X\ntags:\n  - logement\n  - '#droits'\n---\n", ["logement", "droits"]),
    ("---\ntags: " + "a" * 80 + "\n---\n", ["a" * 50]),
    ("---\ntags: []\n---\n", []),
    ("# Pas d'en-tête\n\ntags: logement\n", []),
    ("---\ntags: [x\x01y, , ]\n---\n", ["x y"]),
])
def test_tags_from_front_matter(text: str, tags: list[str]) -> None:
    assert tags_of(text) == tags


def test_tags_are_stored_and_follow_edits(filled: Commons) -> None:
    assert filled.links.tags() == [("caf", 1), ("droits", 1), ("logement", 2)]
    assert filled.links.pages_with_tag("logement") == ["guides/aide-au-logement", "guides/droits/caf"]
    assert filled.links.pages_with_tag(" Logement ") == ["guides/aide-au-logement", "guides/droits/caf"]
    write(filled, "guides/droits/caf", "# La CAF\n")
    assert filled.links.page_tags("guides/droits/caf") == []
    delete(filled, "guides/aide-au-logement")
    assert filled.links.tags() == []


def test_tag_pages_and_tags_on_the_page(web: FlaskClient) -> None:
    page = web.get("/guides/aide-au-logement").get_data(as_text=True)
    assert page.index("<h1>Les aides au logement</h1>") < page.index('href="/-/tags/logement"')
    assert 'href="/-/tags/droits" rel="tag"' in page
    caf = web.get("/guides/droits/caf").get_data(as_text=True)  # the heading comes from the text itself
    assert caf.index('id="la-caf">La CAF</h1>') < caf.index('href="/-/tags/caf"') < caf.index("Personne")
    tags = web.get("/-/tags").get_data(as_text=True)
    assert 'href="/-/tags/logement"' in tags and "(2 pages)" in tags
    tag = web.get("/-/tags/logement").get_data(as_text=True)
    assert 'href="/guides/aide-au-logement">Les aides au logement</a>' in tag and 'href="/guides/droits/caf"' in tag
    assert web.get("/-/tags/inconnue").status_code == 404
    plain = web.get("/guides/rsa").get_data(as_text=True)
    assert "/-/tags/" not in plain and 'href="/-/links/guides/rsa">Pages liées</a>' in plain


# -- web pages and API -----------------------------------------------------------------------------


def test_what_links_here_page(web: FlaskClient) -> None:
    page = web.get("/-/links/guides/rsa").get_data(as_text=True)
    assert "Pages qui pointent ici" in page and "Cette page pointe vers" in page
    assert 'href="/">Accueil</a>' in page and 'href="/guides/budget">Gérer son budget</a>' in page
    assert 'class="wikilink new" href="/-/edit/cheque-energie"' in page
    missing = web.get("/-/links/cheque-energie")
    assert missing.status_code == 200 and 'href="/guides/rsa">RSA</a>' in missing.get_data(as_text=True)
    assert web.get("/-/links/personne/ne/pointe/ici").status_code == 404
    orphan = web.get("/-/links/guides/droits/caf").get_data(as_text=True)
    assert "Aucune page ne pointe vers celle-ci" in orphan


def test_orphans_page(web: FlaskClient) -> None:
    page = web.get("/-/orphans").get_data(as_text=True)
    assert 'href="/guides/droits/caf">La CAF</a>' in page and 'href="/guides/rsa"' not in page


def test_links_api(web: FlaskClient) -> None:
    body = web.get("/-/api/v1/pages/guides/rsa/links").get_json()
    assert body["links_to"] == ["cheque-energie", "guides/budget", "home"]
    assert body["linked_from"] == ["guides/budget", "home"]
    assert web.get("/-/api/v1/pages/cheque-energie/links").get_json()["links_to"] == []
    missing = web.get("/-/api/v1/pages/nulle-part/links")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"]
    assert web.get("/-/api/v1/pages/Mauvais Nom/links").status_code == 400
    refused = web.get("/-/api/v1/wanted", headers={"Authorization": "Bearer faux"})
    assert refused.status_code == 401 and "error" in refused.get_json()
    assert web.get("/-/api/v1/pages/guides/rsa").get_json()["path"] == "guides/rsa"  # the page itself still answers
    spec = web.get("/-/api/v1/openapi.json").get_json()["paths"]
    assert "/pages/{path}/links" in spec and "/wanted" in spec


def test_all_pages_as_a_tree(web: FlaskClient) -> None:
    page = web.get("/-/pages").get_data(as_text=True)
    assert '<h2 class="folder"><a href="/guides/">guides/</a>' in page
    assert '<h3 class="folder"><a href="/guides/droits/">droits/</a>' in page
    assert page.index('href="/guides/">') < page.index('href="/guides/rsa">RSA</a>') \
        < page.index('href="/guides/droits/">') < page.index('href="/guides/droits/caf">La CAF</a>')
    assert page.index('href="/">Accueil</a>') < page.index('href="/guides/">')
    assert "(5 page(s))" not in page and "(4 page(s))" in page
    folder = web.get("/guides/").get_data(as_text=True)
    assert 'href="/guides/rsa"' in folder and 'href="/">Accueil</a>' not in folder
    assert '<h2 class="folder"><a href="/guides/droits/">droits/</a>' in folder
    assert web.get("/guides/droits/").status_code == 200


# -- following git ---------------------------------------------------------------------------------


def _outside_commit(repo: Path, tmp: Path, files: dict[str, str | None]) -> None:
    work = tmp / "work"
    subprocess.run(["git", "clone", "-q", str(repo), str(work)], check=True)
    for name, text in files.items():
        if text is None:
            (work / name).unlink()
        else:
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            (work / name).write_text(text, encoding="utf-8")
    git = ["git", "-C", str(work), "-c", "user.name=bob", "-c", "user.email=bob@example.org"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "changé hors de l'app"], check=True)
    subprocess.run([*git, "push", "-q", "origin", "HEAD:main"], check=True)


def test_a_commit_made_outside_the_app_is_reflected_after_catch_up(filled: Commons, tmp_path: Path) -> None:
    _outside_commit(filled.settings.repo_dir, tmp_path, {
        "cheque-energie.md": "---\ntags: [énergie]\n---\n# Chèque énergie\n\nVoir [[guides/droits/caf]].\n",
        "guides/budget.md": None,
    })
    filled.close()
    restarted = open_commons(load_settings(filled.settings.data_dir, environ={}))
    try:
        assert restarted.links.reflected() != restarted.store.head()
        restarted.pages.catch_up()
        assert restarted.links.reflected() == restarted.store.head()
        assert restarted.links.linked_from("guides/droits/caf") == ["cheque-energie"]
        assert restarted.links.linked_from("cheque-energie") == ["guides/rsa"]
        assert restarted.links.pages_with_tag("énergie") == ["cheque-energie"]
        assert [w.path for w in restarted.links.wanted()] == ["guides/budget"]
        assert restarted.check() == []
    finally:
        restarted.close()


def test_reindex_gives_the_same_graph(filled: Commons) -> None:
    delete(filled, "guides/budget")
    before = graph(filled)
    filled.reindex()
    assert graph(filled) == before
    filled.links.close()
    (filled.settings.cache_dir / "links.sqlite").unlink()
    for suffix in ("-wal", "-shm"):
        (filled.settings.cache_dir / f"links.sqlite{suffix}").unlink(missing_ok=True)
    assert filled.links.reflected() is None
    filled.pages.catch_up()
    assert graph(filled) == before


def test_a_store_from_another_schema_version_is_rebuilt(filled: Commons) -> None:
    before = graph(filled)
    filled.links.close()
    with sqlite3.connect(filled.settings.cache_dir / "links.sqlite") as raw:
        raw.execute("UPDATE meta SET value = '0' WHERE key = 'schema'")
        raw.execute("DROP TABLE links")
        raw.execute("CREATE TABLE links (something_else TEXT)")
    raw.close()
    assert filled.links.reflected() is None
    assert filled.pages.catch_up() == 0 and filled.links.reflected() == filled.store.head()
    assert graph(filled) == before
