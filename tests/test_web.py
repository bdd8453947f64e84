"""The web front end through the app factory's test client, on a real commons (git + SQLite)."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any, cast
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from conftest import PASSWORD, MakeApp, add_user, csrf_token, git_log, logged_in, login
from conftest import save as submit_form
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from commons import create_app
from commons.pages import identity_for
from commons.services import Commons

# -- helpers ---------------------------------------------------------------------------


def save(client: FlaskClient, path: str, markdown: str, base_rev: str = "", summary: str = "") -> TestResponse:
    """Submit the edit form of ``path`` like a browser (see ``conftest.save``)."""
    return cast(TestResponse, submit_form(client, path, markdown, base_rev, summary))


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def textarea(page: str, element_id: str) -> str:
    """The (unescaped) content of ``<textarea id=...>`` as a browser would show it."""
    found = re.search(rf'<textarea id="{element_id}"[^>]*>(.*?)</textarea>', page, re.S)
    assert found, f"no textarea #{element_id}"
    return html.unescape(found.group(1))


def hidden(page: str, name: str) -> str:
    found = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden input {name}"
    return html.unescape(found.group(1))


def alert(page: str) -> str:
    """The message of the page's alert box."""
    found = re.search(r'role="alert">(.*?)</p>', page, re.S)
    assert found, "no alert message"
    return html.unescape(found.group(1)).strip()


def rev_of(app: Flask, path: str) -> str:
    state = app.extensions["commons"].pages.state(path)
    assert state is not None
    return str(state.rev)


class Tags(HTMLParser):
    """Every start tag of a document with its attributes."""

    def __init__(self, document: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.feed(document)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def links(self) -> dict[str, dict[str, str]]:
        return {a["href"]: a for t, a in self.tags if t == "a" and "href" in a}


# -- reading pages ---------------------------------------------------------------------


def test_home_page_renders_once_created(client: FlaskClient, contributor: str) -> None:
    assert client.get("/").status_code == 404
    assert save(client, "home", "# Bienvenue\n\nUn wiki de **guides**.").status_code == 303
    response = client.get("/")
    assert response.status_code == 200
    assert "<h1" in text(response) and "Bienvenue</h1>" in text(response)
    assert "<strong>guides</strong>" in text(response)


def test_home_path_redirects_permanently_to_root(client: FlaskClient, contributor: str) -> None:
    save(client, "home", "# Accueil\n")
    response = client.get("/home")
    assert response.status_code == 301
    assert response.headers["Location"] == "/"


def test_missing_page_answers_404_with_a_link_to_create_it(client: FlaskClient) -> None:
    response = client.get("/guides/logement")
    assert response.status_code == 404
    assert "/-/edit/guides/logement" in Tags(text(response)).links()
    assert "n'existe pas encore" in text(response)


INVALID_NAMES = [
    "/-/edit/..%2Fetc",
    "/-/edit/..%2F..%2Fetc%2Fpasswd",
    "/-/edit/-rf",
    "/-/edit/guides/-rf",
    "/-/edit/Foo",
    "/-/edit/a//b",
    "/-/edit/a%00b",
    "/-/edit/.git/config",
    "/-/edit/caf%C3%A9",
    "/-/edit/" + "a" * 250,
    "/Foo",
    "/a//b",
    "/a%00b",
    "/-rf",
    "/" + "a" * 250,
    "/-/history/..%2Fetc",
    "/-/diff/Foo?to=abcd",
]


@pytest.mark.parametrize("url", INVALID_NAMES)
def test_invalid_page_names_answer_400_and_create_nothing(
    app: Flask, client: FlaskClient, contributor: str, services: Commons, url: str
) -> None:
    save(client, "existante", "# Existante\n")
    before = git_log(services)
    response = client.get(url)
    assert response.status_code == 400, url
    assert "Nom de page" in text(response) or "nom de page" in text(response)
    if url.startswith("/-/edit/"):
        token = csrf_token(client, "/-/edit/autre")
        posted = client.post(url, data={"markdown": "# Pirate\n", "csrf_token": token, "base_rev": ""})
        assert posted.status_code == 400, url
    assert git_log(services) == before
    assert [p.path for p in app.extensions["commons"].pages.list_pages()] == ["existante"]


# -- creating and editing --------------------------------------------------------------


def test_edit_form_of_a_new_page_carries_an_empty_base_rev_and_a_csrf_token(
    client: FlaskClient, contributor: str
) -> None:
    page = text(client.get("/-/edit/guides/aide-au-logement"))
    assert hidden(page, "base_rev") == ""
    assert len(hidden(page, "csrf_token")) > 20
    assert textarea(page, "markdown").startswith("# Aide au logement")


def test_create_page_through_the_form(client: FlaskClient, contributor: str, services: Commons) -> None:
    page = text(client.get("/-/edit/guides/rsa"))
    response = client.post("/-/edit/guides/rsa", data={
        "csrf_token": hidden(page, "csrf_token"), "base_rev": hidden(page, "base_rev"),
        "markdown": "# Le RSA\n\nLe *revenu de solidarité active*.", "summary": "Premier jet sur le RSA"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/guides/rsa"
    shown = text(client.get("/guides/rsa"))
    assert "Le RSA</h1>" in shown
    assert "<em>revenu de solidarité active</em>" in shown
    assert git_log(services) == ["alice <alice@users.noreply.commons>|Premier jet sur le RSA"]


def test_commits_carry_only_pseudonymous_identities(
    app: Flask, client: FlaskClient, contributor: str, services: Commons
) -> None:
    save(client, "a", "# A\n", summary="un")
    save(client, "a", "# A\n\nsuite\n", base_rev=rev_of(app, "a"), summary="deux")
    identities = git_log(services, "%an <%ae>|%cn <%ce>")
    assert identities == ["alice <alice@users.noreply.commons>|alice <alice@users.noreply.commons>"] * 2


def test_edit_form_of_an_existing_page_carries_its_revision(
    app: Flask, client: FlaskClient, contributor: str
) -> None:
    save(client, "notes", "# Notes\n\nPremière ligne.\n")
    page = text(client.get("/-/edit/notes"))
    assert hidden(page, "base_rev") == rev_of(app, "notes")
    assert re.fullmatch(r"[0-9a-f]{40}", hidden(page, "base_rev"))
    assert textarea(page, "markdown") == "# Notes\n\nPremière ligne.\n"


def test_edit_with_the_right_base_rev_saves(app: Flask, client: FlaskClient, contributor: str,
                                            services: Commons) -> None:
    save(client, "notes", "# Notes\n\nversion un\n")
    response = save(client, "notes", "# Notes\n\nversion deux\n", base_rev=rev_of(app, "notes"), summary="v2")
    assert response.status_code == 303
    assert "version deux" in text(client.get("/notes"))
    assert git_log(services)[0] == "alice <alice@users.noreply.commons>|v2"


def test_stale_base_rev_answers_409_keeps_both_texts_and_commits_nothing(
    app: Flask, client: FlaskClient, contributor: str, services: Commons
) -> None:
    save(client, "notes", "# Notes\n\nLe loyer est de 500 euros.\n")
    stale = rev_of(app, "notes")
    bob = logged_in(app, "bob")
    assert save(bob, "notes", "# Notes\n\nLe loyer est de 650 euros.\n", base_rev=stale).status_code == 303
    before = git_log(services)

    mine = "# Notes\n\nLe loyer est de 480 euros <environ>.\n"
    response = save(client, "notes", mine, base_rev=stale, summary="mon résumé")
    assert response.status_code == 409
    page = text(response)
    assert textarea(page, "markdown") == mine
    assert "650 euros" in textarea(page, "current")
    assert "Conflit" in page
    assert hidden(page, "base_rev") == rev_of(app, "notes")
    assert 'value="mon résumé"' in page
    assert git_log(services) == before
    assert "650 euros" in text(client.get("/notes"))


def test_creating_a_page_that_already_exists_is_a_conflict(
    app: Flask, client: FlaskClient, contributor: str, services: Commons
) -> None:
    save(client, "notes", "# Notes\n\noriginal\n")
    before = git_log(services)
    response = save(client, "notes", "# Notes\n\nécrasé\n", base_rev="")
    assert response.status_code == 409
    assert "existe déjà" in text(response)
    assert git_log(services) == before


def test_preview_renders_without_committing(client: FlaskClient, contributor: str, services: Commons) -> None:
    token = csrf_token(client, "/-/edit/brouillon")
    response = client.post("/-/edit/brouillon", data={
        "csrf_token": token, "base_rev": "", "markdown": "# Brouillon\n\nDu **gras**.", "preview": "1"})
    assert response.status_code == 200
    page = text(response)
    assert "Aperçu" in page and "<strong>gras</strong>" in page
    assert textarea(page, "markdown") == "# Brouillon\n\nDu **gras**."
    assert git_log(services) == []
    assert client.get("/brouillon").status_code == 404


def test_preview_of_invalid_text_keeps_the_users_text(client: FlaskClient, contributor: str,
                                                      services: Commons) -> None:
    token = csrf_token(client, "/-/edit/brouillon")
    response = client.post("/-/edit/brouillon", data={
        "csrf_token": token, "base_rev": "", "markdown": "mon texte\0 précieux", "preview": "1"})
    assert response.status_code == 400
    assert "nul" in alert(text(response))
    assert "mon texte" in textarea(text(response), "markdown")
    assert "précieux" in textarea(text(response), "markdown")
    assert git_log(services) == []


def test_new_page_from_a_title_goes_to_its_edit_form(client: FlaskClient, contributor: str) -> None:
    assert "Titre de la page" in text(client.get("/-/new"))
    response = client.get("/-/new?title=" + quote("Accès aux droits : la CSS"))
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert target.path == "/-/edit/acces-aux-droits-la-css"
    form = text(client.get(response.headers["Location"]))
    assert textarea(form, "markdown").startswith("# Accès aux droits : la CSS")
    assert client.get("/-/new?title=" + quote("!!!")).status_code == 400


# -- wikilinks and sanitising ----------------------------------------------------------


def test_wikilinks_to_existing_and_missing_pages(client: FlaskClient, contributor: str) -> None:
    save(client, "guides/rsa", "# RSA\n")
    save(client, "home", "# Accueil\n\nVoir [[guides/rsa]] et [[Aide au logement]].\n")
    links = Tags(text(client.get("/"))).links()
    assert "new" not in links["/guides/rsa"].get("class", "").split()
    assert "new" in links["/-/edit/aide-au-logement"]["class"].split()
    assert "/aide-au-logement" not in links


def test_red_link_turns_blue_once_the_page_exists(client: FlaskClient, contributor: str) -> None:
    save(client, "home", "# Accueil\n\nVoir [[Aide au logement]].\n")
    assert "/-/edit/aide-au-logement" in Tags(text(client.get("/"))).links()  # cached as red
    save(client, "aide-au-logement", "# Aide au logement\n")
    links = Tags(text(client.get("/"))).links()
    assert "/-/edit/aide-au-logement" not in links
    assert "new" not in links["/aide-au-logement"].get("class", "").split()


def test_link_turns_red_again_when_the_target_is_deleted(app: Flask, client: FlaskClient,
                                                         contributor: str) -> None:
    save(client, "cible", "# Cible\n")
    save(client, "home", "# Accueil\n\n[[cible]]\n")
    assert "/cible" in Tags(text(client.get("/"))).links()
    app.extensions["commons"].pages.delete("cible", None, identity_for("alice"))
    assert "/-/edit/cible" in Tags(text(client.get("/"))).links()


HOSTILE = (
    "# Piège\n\n"
    "<script>alert('script')</script>\n\n"
    "<img src=x onerror=\"alert('img')\">\n\n"
    "[clic](javascript:alert('lien'))\n\n"
    "<a href=\"javascript:alert('a')\">a</a>\n\n"
    "<svg onload=\"alert('svg')\"></svg>\n\n"
    "<iframe src=\"https://evil.example\"></iframe>\n\n"
    "<p style=\"background:url(javascript:alert(1))\" onclick=\"alert('p')\">texte</p>\n\n"
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)\n"
)


def test_hostile_markdown_is_not_served(client: FlaskClient, contributor: str) -> None:
    assert save(client, "piege", HOSTILE).status_code == 303
    page = text(client.get("/piege"))
    tags = Tags(page).tags
    names = {t for t, _ in tags}
    assert not names & {"script", "svg", "iframe", "object", "embed", "style"}
    for tag, attrs in tags:
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        assert "style" not in attrs, (tag, attrs)
        for attr in ("href", "src"):
            value = attrs.get(attr, "").strip().lower()
            assert not value.startswith(("javascript:", "data:", "vbscript:")), (tag, attrs)
    assert "<script" not in page.lower()
    assert "texte" in page and "Piège" in page


def test_hostile_markdown_is_not_served_in_preview(client: FlaskClient, contributor: str) -> None:
    token = csrf_token(client, "/-/edit/piege")
    response = client.post("/-/edit/piege", data={"csrf_token": token, "base_rev": "", "markdown": HOSTILE,
                                                  "preview": "1"})
    preview = re.search(r'<section class="preview".*?</section>', text(response), re.S)
    assert preview
    tags = Tags(preview.group(0)).tags
    assert not {t for t, _ in tags} & {"script", "svg", "iframe"}
    assert not [a for _, attrs in tags for a in attrs if a.startswith("on")]
    assert not [v for _, attrs in tags for v in attrs.values() if v.lower().startswith("javascript:")]


# -- history, old revisions, diff, restore ------------------------------------------------


@pytest.fixture
def three_revisions(app: Flask, client: FlaskClient, contributor: str) -> list[str]:
    """Page ``notes`` saved three times by alice; returns the revisions, oldest first."""
    revs: list[str] = []
    for number, (words, summary) in enumerate([("le chat dort", "rev-alpha"), ("le chien dort", "rev-beta"),
                                               ("le chien court", "rev-gamma")]):
        assert save(client, "notes", f"# Notes\n\n{words}\n", base_rev=revs[-1] if revs else "",
                    summary=summary).status_code == 303, number
        revs.append(rev_of(app, "notes"))
    return revs


def test_history_lists_revisions_newest_first(client: FlaskClient, three_revisions: list[str]) -> None:
    page = text(client.get("/-/history/notes"))
    positions = [page.index(f"?rev={rev}") for rev in reversed(three_revisions)]
    assert positions == sorted(positions)
    assert page.index("rev-gamma") < page.index("rev-beta") < page.index("rev-alpha")
    assert page.count('href="/-/contributors/alice">alice</a>') == 3
    assert "3 révision(s)" in page


def test_history_is_paginated(make_app: MakeApp, three_revisions: list[str]) -> None:
    small = make_app(history_page_size=2)
    browser = small.test_client()
    first = text(browser.get("/-/history/notes"))
    assert "rev-gamma" in first and "rev-beta" in first and "rev-alpha" not in first
    assert "Page 1 sur 2" in first and 'rel="next" href="?page=2"' in first
    second = text(browser.get("/-/history/notes?page=2"))
    assert "rev-alpha" in second and "rev-beta" not in second
    assert "Page 2 sur 2" in second and 'rel="prev"' in second


def test_history_of_a_missing_page_is_404(client: FlaskClient) -> None:
    assert client.get("/-/history/jamais").status_code == 404


def test_old_revision_shows_old_text_with_a_banner(client: FlaskClient, three_revisions: list[str]) -> None:
    response = client.get(f"/notes?rev={three_revisions[0]}")
    assert response.status_code == 200
    page = text(response)
    assert "le chat dort" in page and "le chien court" not in page
    assert "ancienne version" in page and three_revisions[0][:7] in page
    current = text(client.get("/notes"))
    assert "ancienne version" not in current and "le chien court" in current


def test_unknown_revision_of_a_page_is_404(client: FlaskClient, three_revisions: list[str]) -> None:
    assert client.get("/notes?rev=" + "0" * 40).status_code == 404
    assert client.get("/notes?rev=nimportequoi").status_code == 404


def test_diff_marks_changed_words(client: FlaskClient, three_revisions: list[str]) -> None:
    first, second, third = three_revisions
    response = client.get(f"/-/diff/notes?from={first}&to={third}")
    assert response.status_code == 200
    page = text(response)
    assert "<del>chat</del>" in page and "<ins>chien</ins>" in page
    assert "<del>dort</del>" in page and "<ins>court</ins>" in page
    assert 'aria-label="ajouté">+</span>' in page and 'aria-label="supprimé">−</span>' in page
    assert "+1 ligne(s) ajoutée(s)" in page


def test_diff_without_from_shows_the_change_made_by_a_revision(
    client: FlaskClient, three_revisions: list[str]
) -> None:
    page = text(client.get(f"/-/diff/notes?to={three_revisions[1]}"))
    assert "<del>chat</del>" in page and "<ins>chien</ins>" in page
    assert "<ins>court</ins>" not in page


@pytest.mark.parametrize("query", ["from={first}&to=" + "f" * 40, "from=" + "f" * 40 + "&to={first}",
                                   "to=" + "f" * 40, "from=zzzz&to={first}", "from={first}&to=zzzz"])
def test_diff_with_an_unknown_revision_is_404(client: FlaskClient, three_revisions: list[str],
                                              query: str) -> None:
    response = client.get("/-/diff/notes?" + query.format(first=three_revisions[0]))
    assert response.status_code == 404
    assert "Révision inconnue" in alert(text(response))


def test_restore_by_a_maintainer(app: Flask, client: FlaskClient, three_revisions: list[str],
                                 services: Commons) -> None:
    maud = logged_in(app, "maud", "maintainer")
    history = text(maud.get("/-/history/notes"))
    assert "restaurer" in history
    token = hidden(history, "csrf_token")
    response = maud.post("/-/restore/notes", data={"csrf_token": token, "rev": three_revisions[0]})
    assert response.status_code == 303 and response.headers["Location"] == "/notes"
    assert git_log(services)[0] == (f"maud <maud@users.noreply.commons>|"
                                    f"Restauration de la révision {three_revisions[0][:7]}")
    assert len(git_log(services)) == 4
    page = text(maud.get("/notes"))
    assert "le chat dort" in page and "le chien" not in page


def test_restore_by_a_contributor_is_forbidden(client: FlaskClient, three_revisions: list[str],
                                               services: Commons) -> None:
    assert "restaurer" not in text(client.get("/-/history/notes"))
    token = csrf_token(client, "/-/edit/notes")
    response = client.post("/-/restore/notes", data={"csrf_token": token, "rev": three_revisions[0]})
    assert response.status_code == 403
    assert "mainteneur" in alert(text(response))
    assert len(git_log(services)) == 3
    assert "le chien court" in text(client.get("/notes"))


# -- delete ----------------------------------------------------------------------------


def test_delete_asks_then_deletes_and_history_remains(app: Flask, client: FlaskClient, contributor: str,
                                                      services: Commons) -> None:
    save(client, "obsolete", "# Obsolète\n\nVieux texte.\n", summary="création")
    confirm = client.get("/-/delete/obsolete")
    assert confirm.status_code == 200
    page = text(confirm)
    assert "Supprimer « Obsolète » ?" in page
    assert hidden(page, "base_rev") == rev_of(app, "obsolete")
    assert len(git_log(services)) == 1  # asking changes nothing

    response = client.post("/-/delete/obsolete", data={"csrf_token": hidden(page, "csrf_token"),
                                                       "base_rev": hidden(page, "base_rev"),
                                                       "summary": "plus à jour"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/-/history/obsolete"
    assert client.get("/obsolete").status_code == 404
    history = text(client.get("/-/history/obsolete"))
    assert "Suppression" in history and "plus à jour" in history and "création" in history
    assert git_log(services)[0] == "alice <alice@users.noreply.commons>|plus à jour"
    assert "obsolete" not in text(client.get("/-/pages"))


def test_delete_with_a_stale_base_rev_is_a_conflict(app: Flask, client: FlaskClient, contributor: str,
                                                    services: Commons) -> None:
    save(client, "page", "# Page\n\nun\n")
    stale = rev_of(app, "page")
    save(client, "page", "# Page\n\ndeux\n", base_rev=stale)
    token = csrf_token(client, "/-/delete/page")
    response = client.post("/-/delete/page", data={"csrf_token": token, "base_rev": stale})
    assert response.status_code == 409
    assert len(git_log(services)) == 2
    assert client.get("/page").status_code == 200


def test_delete_of_a_missing_page_is_404(client: FlaskClient, contributor: str) -> None:
    assert client.get("/-/delete/absente").status_code == 404


# -- CSRF and permissions ----------------------------------------------------------------


def test_edit_post_without_csrf_token_is_refused(client: FlaskClient, contributor: str,
                                                 services: Commons) -> None:
    response = client.post("/-/edit/x", data={"markdown": "# X\n", "base_rev": ""})
    assert response.status_code == 400
    assert "CSRF" in alert(text(response))
    response = client.post("/-/edit/x", data={"markdown": "# X\n", "base_rev": "", "csrf_token": "faux"})
    assert response.status_code == 400
    assert git_log(services) == []


def test_login_post_without_csrf_token_is_refused(app: Flask, client: FlaskClient) -> None:
    add_user(app, "alice")
    response = client.post("/-/login", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 400
    assert "CSRF" in alert(text(response))
    assert "/-/profile" not in text(client.get("/-/pages"))  # not logged in


def test_delete_and_restore_without_csrf_token_change_nothing(app: Flask, client: FlaskClient,
                                                              contributor: str, services: Commons) -> None:
    save(client, "page", "# Page\n")
    maud = logged_in(app, "maud", "maintainer")
    assert client.post("/-/delete/page", data={"base_rev": rev_of(app, "page")}).status_code == 400
    assert maud.post("/-/restore/page", data={"rev": rev_of(app, "page")}).status_code == 400
    assert len(git_log(services)) == 1


def test_anonymous_edit_form_redirects_to_login(client: FlaskClient, services: Commons) -> None:
    offered = client.get("/-/edit/guides/x")  # visitors may suggest by default: the form in suggest mode
    assert offered.status_code == 303 and offered.headers["Location"].startswith("/-/suggest/guides/x")
    closed = create_app({"data_dir": services.settings.data_dir, "anonymous_suggestions": False})
    response = closed.test_client().get("/-/edit/guides/x")
    closed.extensions["commons"].close()
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert target.path == "/-/login"
    assert parse_qs(target.query)["next"] == ["/-/edit/guides/x"]


def test_anonymous_post_is_401(client: FlaskClient, services: Commons) -> None:
    token = csrf_token(client, "/-/login")
    response = client.post("/-/edit/x", data={"markdown": "# X\n", "base_rev": "", "csrf_token": token})
    assert response.status_code == 401
    assert "Connectez-vous" in alert(text(response))
    assert git_log(services) == []


def test_reader_cannot_edit(app: Flask, services: Commons) -> None:
    reader = logged_in(app, "rita", "reader")
    offered = reader.get("/-/edit/x")  # readers may only suggest: the form in suggest mode
    assert offered.status_code == 303 and offered.headers["Location"].startswith("/-/suggest/x")
    token = csrf_token(reader, "/-/login")
    response = reader.post("/-/edit/x", data={"markdown": "# X\n", "base_rev": "", "csrf_token": token})
    assert response.status_code == 403
    assert "contributeur" in alert(text(response))
    assert git_log(services) == []


def test_blocked_account_cannot_log_in(app: Flask, client: FlaskClient) -> None:
    add_user(app, "alice")
    app.extensions["commons"].accounts.set_blocked("alice")
    response = client.post("/-/login", data={"username": "alice", "password": PASSWORD,
                                             "csrf_token": csrf_token(client)})
    assert response.status_code == 401
    assert "bloqué" in alert(text(response))


def test_blocked_accounts_session_stops_working(app: Flask, client: FlaskClient, contributor: str,
                                                services: Commons) -> None:
    assert client.get("/-/edit/x").status_code == 200
    token = csrf_token(client, "/-/edit/x")
    app.extensions["commons"].accounts.set_blocked("alice")
    assert client.get("/-/profile").status_code == 302  # (the edit form would offer a visitor's suggestion)
    response = client.post("/-/edit/x", data={"markdown": "# X\n", "base_rev": "", "csrf_token": token})
    assert response.status_code == 401
    assert git_log(services) == []
    assert 'href="/-/profile"' not in text(client.get("/-/pages"))


def test_login_with_a_wrong_password_is_401(app: Flask, client: FlaskClient) -> None:
    add_user(app, "alice")
    response = client.post("/-/login", data={"username": "alice", "password": "mauvais mot de passe",
                                             "csrf_token": csrf_token(client)})
    assert response.status_code == 401
    assert "incorrect" in alert(text(response))
    assert 'value="alice"' in text(response)


def test_logout_ends_the_session(client: FlaskClient, contributor: str) -> None:
    token = csrf_token(client, "/-/edit/x")
    response = client.post("/-/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert client.get("/-/profile").status_code == 302


# -- accounts ----------------------------------------------------------------------------


def register(browser: FlaskClient, username: str, password: str = PASSWORD, password2: str | None = None,
             display_name: str = "") -> Any:
    token = csrf_token(browser, "/-/register")
    return browser.post("/-/register", data={
        "csrf_token": token, "username": username, "password": password,
        "password2": password if password2 is None else password2, "display_name": display_name})


def test_first_account_is_admin_then_contributors(app: Flask) -> None:
    first = app.test_client()
    assert "administrateur" in text(first.get("/-/register"))
    response = register(first, "Fondatrice", display_name="La Fondatrice")
    assert response.status_code == 303 and response.headers["Location"] == "/-/profile"
    profile = text(first.get("/-/profile"))
    assert "fondatrice" in profile and "La Fondatrice" in profile and "administrateur" in profile

    second = app.test_client()
    assert "administrateur" not in text(second.get("/-/register"))
    assert register(second, "bob").status_code == 303
    assert "contributeur" in text(second.get("/-/profile"))
    accounts = app.extensions["commons"].accounts
    assert accounts.by_name("fondatrice").role == "admin"
    assert accounts.by_name("bob").role == "contributor"


def test_register_with_mismatched_passwords_reshows_the_form(app: Flask, client: FlaskClient) -> None:
    response = register(client, "bob", PASSWORD, PASSWORD + "x", display_name="Bobby")
    assert response.status_code == 400
    page = text(response)
    assert "identiques" in alert(page)
    assert 'value="bob"' in page and 'value="Bobby"' in page
    assert app.extensions["commons"].accounts.count() == 0


def test_register_with_a_short_password_reshows_the_form(app: Flask, client: FlaskClient) -> None:
    response = register(client, "bob", "court")
    assert response.status_code == 400
    assert "8 caractères" in alert(text(response))
    assert app.extensions["commons"].accounts.count() == 0


@pytest.mark.parametrize("username", ["x", "bad name", "../etc", "-rf", "é" * 5, "a" * 40, ""])
def test_register_with_an_invalid_username_is_400(app: Flask, client: FlaskClient, username: str) -> None:
    response = register(client, username)
    assert response.status_code == 400
    assert "Nom d'utilisateur invalide" in alert(text(response))
    assert app.extensions["commons"].accounts.count() == 0


def test_register_with_a_taken_username_is_409(app: Flask, client: FlaskClient) -> None:
    add_user(app, "bob")
    response = register(client, "Bob")
    assert response.status_code == 409
    assert "déjà pris" in alert(text(response))
    assert app.extensions["commons"].accounts.count() == 1


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example", "//evil.example/-/edit/x",
                                    "/\\evil.example", "javascript:alert(1)", "http:/evil.example",
                                    "/\t/evil.example", " //evil.example", "/x\r\nSet-Cookie: pris=1"])
def test_login_never_redirects_off_site(app: Flask, client: FlaskClient, target: str) -> None:
    add_user(app, "alice")
    response = client.post("/-/login", data={"username": "alice", "password": PASSWORD, "next": target,
                                             "csrf_token": csrf_token(client)})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_login_follows_a_local_next(app: Flask, client: FlaskClient) -> None:
    add_user(app, "alice")
    login_page = text(client.get("/-/login?next=" + quote("/-/edit/guides/x")))
    assert hidden(login_page, "next") == "/-/edit/guides/x"
    response = client.post("/-/login", data={"username": "alice", "password": PASSWORD,
                                             "next": "/-/edit/guides/x", "csrf_token": csrf_token(client)})
    assert response.headers["Location"] == "/-/edit/guides/x"


def test_personal_tokens_from_the_profile_page(app: Flask, client: FlaskClient, contributor: str) -> None:
    profile = text(client.get("/-/profile"))
    assert "Aucun jeton" in profile
    created = client.post("/-/profile/tokens", data={"csrf_token": hidden(profile, "csrf_token"),
                                                     "name": "robot-export"})
    assert created.status_code == 200
    shown = re.search(r'<code class="token">([^<]+)</code>', text(created))
    assert shown
    token = shown.group(1)
    assert "il ne sera plus jamais affiché" in text(created)
    api = app.test_client()  # another program, without the browser's cookie
    assert api.get("/-/api/v1/pages", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    again = text(client.get("/-/profile"))
    assert token not in again
    assert "robot-export" in again
    revoke = re.search(r'action="(/-/profile/tokens/\d+/revoke)"', again)
    assert revoke
    response = client.post(revoke.group(1), data={"csrf_token": hidden(again, "csrf_token")})
    assert response.status_code == 303
    after = text(client.get("/-/profile"))
    assert "robot-export" not in after and "Aucun jeton" in after
    assert api.get("/-/api/v1/pages", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_token_creation_requires_csrf_and_login(app: Flask, client: FlaskClient) -> None:
    assert client.post("/-/profile/tokens", data={"name": "x"}).status_code in (400, 401)
    add_user(app, "alice")
    login(client, "alice")
    assert client.post("/-/profile/tokens", data={"name": "x"}).status_code == 400
    assert app.extensions["commons"].accounts.tokens(app.extensions["commons"].accounts.by_name("alice").id) == []


def test_revoking_someone_elses_token_is_404(app: Flask, client: FlaskClient, contributor: str) -> None:
    accounts = app.extensions["commons"].accounts
    accounts.new_token("alice", "à moi")
    bob = logged_in(app, "bob")
    mine = accounts.tokens(accounts.by_name("alice").id)[0]
    response = bob.post(f"/-/profile/tokens/{mine.id}/revoke", data={"csrf_token": csrf_token(bob, "/-/profile")})
    assert response.status_code == 404
    assert len(accounts.tokens(accounts.by_name("alice").id)) == 1


# -- hostile bodies ----------------------------------------------------------------------


def test_body_over_the_limit_is_413(make_app: MakeApp, services: Commons) -> None:
    small = make_app(max_body_bytes=1000)
    browser = logged_in(small, "alice")
    token = csrf_token(browser, "/-/edit/grosse")
    response = browser.post("/-/edit/grosse", data={"csrf_token": token, "base_rev": "",
                                                    "markdown": "# Grosse\n\n" + "blabla " * 300})
    assert response.status_code == 413
    assert "trop volumineuse" in alert(text(response))
    assert git_log(services) == []


def test_page_over_the_page_limit_is_413_and_keeps_the_text(make_app: MakeApp, services: Commons) -> None:
    small = make_app(max_page_bytes=100)
    browser = logged_in(small, "alice")
    response = save(browser, "grosse", "# Grosse\n\n" + "mot " * 100)
    assert response.status_code == 413
    assert "taille maximale" in alert(text(response))
    assert textarea(text(response), "markdown").startswith("# Grosse\n\nmot mot")
    assert git_log(services) == []


def _raw_form(browser: FlaskClient, url: str, body: bytes, content_type: str) -> Any:
    return browser.post(url, data=body, content_type=content_type)


def test_invalid_utf8_in_a_urlencoded_form_is_refused(client: FlaskClient, contributor: str,
                                                      services: Commons) -> None:
    token = quote(csrf_token(client, "/-/edit/x")).encode()
    body = b"csrf_token=" + token + b"&base_rev=&summary=s&markdown=caf%E9+%FF%FE"
    response = _raw_form(client, "/-/edit/x", body, "application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "UTF-8" in alert(text(response))
    assert git_log(services) == []


def test_invalid_utf8_in_a_multipart_form_is_refused(client: FlaskClient, contributor: str,
                                                     services: Commons) -> None:
    token = csrf_token(client, "/-/edit/x").encode()
    body = (b"--B\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n" + token +
            b"\r\n--B\r\nContent-Disposition: form-data; name=\"markdown\"\r\n\r\ncaf\xe9 \xff\xfe" +
            b"\r\n--B--\r\n")
    response = _raw_form(client, "/-/edit/x", body, "multipart/form-data; boundary=B")
    assert response.status_code == 400
    assert "UTF-8" in alert(text(response))
    assert git_log(services) == []


def test_valid_utf8_percent_signs_and_accents_are_saved_as_typed(client: FlaskClient, contributor: str) -> None:
    token = quote(csrf_token(client, "/-/edit/x")).encode()
    body = b"csrf_token=" + token + b"&base_rev=&markdown=" + quote("# Café\n\n100%E9 à 5 €").encode()
    response = _raw_form(client, "/-/edit/x", body, "application/x-www-form-urlencoded")
    assert response.status_code == 303
    assert "100%E9 à 5 €" in text(client.get("/x"))


def test_nul_in_markdown_is_refused_with_a_message(client: FlaskClient, contributor: str,
                                                   services: Commons) -> None:
    response = save(client, "x", "# X\n\navant\0après")
    assert response.status_code == 400
    assert "nul" in alert(text(response))
    assert git_log(services) == []


@pytest.mark.parametrize("markdown", ["", "   \n\n  "])
def test_empty_page_is_refused(client: FlaskClient, contributor: str, services: Commons, markdown: str) -> None:
    response = save(client, "vide", markdown)
    assert response.status_code == 400
    assert "vide" in alert(text(response))
    assert git_log(services) == []


def test_over_long_summary_is_refused(client: FlaskClient, contributor: str, services: Commons) -> None:
    response = save(client, "x", "# X\n", summary="r" * 400)
    assert response.status_code == 400
    assert "300 caractères" in alert(text(response))
    assert git_log(services) == []


# -- listings --------------------------------------------------------------------------


@pytest.fixture
def some_pages(app: Flask, client: FlaskClient, contributor: str) -> None:
    save(client, "home", "# Accueil\n", summary="accueil")
    save(client, "guides/rsa", "---\ntitle: Le revenu de solidarité\n---\n\nTexte.\n", summary="rsa")
    save(client, "guides/aide-au-logement", "# Aide au logement\n", summary="logement")
    bob = logged_in(app, "bob")
    save(bob, "apropos", "Sans titre.\n", summary="à propos par bob")


def test_all_pages_lists_titles(client: FlaskClient, some_pages: None) -> None:
    page = text(client.get("/-/pages"))
    assert "4 page(s)" in page
    links = Tags(page).links()
    assert {"/", "/guides/rsa", "/guides/aide-au-logement", "/apropos"} <= set(links)
    assert ">Le revenu de solidarité</a>" in page
    assert ">Aide au logement</a>" in page
    assert ">Accueil</a>" in page
    assert ">Apropos</a>" in page


def test_folder_lists_its_pages(client: FlaskClient, some_pages: None) -> None:
    response = client.get("/guides/")
    assert response.status_code == 200
    page = text(response)
    assert "2 page(s)" in page and "Dossier « guides/ »" in page
    assert ">Le revenu de solidarité</a>" in page and ">Aide au logement</a>" in page
    assert "/apropos" not in Tags(page).links()
    assert client.get("/vide/").status_code == 404


def test_recent_changes(client: FlaskClient, some_pages: None) -> None:
    page = text(client.get("/-/recent"))
    assert page.index("à propos par bob") < page.index("logement") < page.index("accueil")
    assert 'href="/-/contributors/bob">bob</a>' in page
    assert 'href="/-/contributors/alice">alice</a>' in page


def test_recent_changes_of_an_empty_commons(client: FlaskClient) -> None:
    assert "Aucune modification" in text(client.get("/-/recent"))


def test_contributor_page_lists_their_edits(client: FlaskClient, some_pages: None) -> None:
    response = client.get("/-/contributors/alice")
    assert response.status_code == 200
    page = text(response)
    assert "3 modification(s)" in page
    assert "accueil" in page and "rsa" in page and "logement" in page
    assert "à propos par bob" not in page
    assert "contributeur" in page


def test_contributor_name_is_case_insensitive(client: FlaskClient, some_pages: None) -> None:
    page = text(client.get("/-/contributors/Alice"))
    assert "3 modification(s)" in page


def test_unknown_contributor_is_404(client: FlaskClient) -> None:
    response = client.get("/-/contributors/personne")
    assert response.status_code == 404
    assert "personne" in alert(text(response))


def test_unknown_reserved_url_is_404(client: FlaskClient) -> None:
    assert client.get("/-/nulle-part").status_code == 404


@pytest.mark.parametrize("raw", ["²", "١", "³³"])
def test_non_ascii_digits_in_numbers_are_refused_or_ignored_never_a_500(app: Flask, raw: str) -> None:
    """``"²".isdigit()`` is true but ``int("²")`` fails: numbers in URLs must be ASCII digits."""
    client = app.test_client()
    app.extensions["commons"].pages.save("guide", "# Guide\n\n## Partie\n\ntexte\n", "x", None, identity_for("admin"))
    add_user(app, "lea", "contributor")
    login(client, "lea")
    for url in (f"/-/history/guide?page={raw}", f"/-/history/guide?limit={raw}", f"/-/recent?page={raw}",
                f"/-/recent?limit={raw}", f"/-/edit/guide?section={raw}", f"/-/watchlist?page={raw}"):
        response = client.get(url)
        assert response.status_code in (200, 400, 404), (url, response.status_code)
        assert "Erreur interne" not in response.get_data(as_text=True)
