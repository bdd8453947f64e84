"""Interface languages: French by default, English from the browser, the switch, or the account."""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from flask import Flask, render_template_string

from commons.errors import N_, BadRequest
from commons.pages import identity_for
from commons.services import Commons
from tests.conftest import add_user, csrf_token, login


def test_french_by_default_and_english_from_the_browser(app: Flask) -> None:
    client = app.test_client()
    french = client.get("/-/pages").get_data(as_text=True)
    assert '<html lang="fr">' in french and ">Langue</label>" in french
    english = client.get("/-/pages", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in english and ">Language</label>" in english
    assert '<html lang="fr">' in client.get("/-/pages", headers={"Accept-Language": "de"}).get_data(as_text=True)


def test_the_switch_is_remembered_for_the_visitor_and_the_account(app: Flask) -> None:
    client = app.test_client()
    token = csrf_token(client, "/-/pages")
    response = client.post("/-/lang", data={"csrf_token": token, "lang": "en", "next": "/-/pages"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/-/pages")
    assert '<html lang="en">' in client.get("/-/pages").get_data(as_text=True)
    add_user(app, "lea", "contributor")
    login(client, "lea")  # logging in clears the session: the account's own choice is what counts next
    token = csrf_token(client, "/-/pages")
    client.post("/-/lang", data={"csrf_token": token, "lang": "en", "next": "/-/pages"})
    assert app.extensions["commons"].accounts.by_name("lea").locale == "en"
    other = app.test_client()
    login(other, "lea")
    assert '<html lang="en">' in other.get("/-/pages", headers={"Accept-Language": "fr"}).get_data(as_text=True)


def test_the_switch_refuses_a_missing_token_and_an_outside_target(app: Flask) -> None:
    client = app.test_client()
    assert client.post("/-/lang", data={"lang": "en"}).status_code == 400
    token = csrf_token(client, "/-/pages")
    response = client.post("/-/lang", data={"csrf_token": token, "lang": "en", "next": "https://evil.example/"})
    assert response.status_code == 302 and response.headers["Location"] in ("/", "http://localhost/")


# -- catalogues, extraction and rendered pages --------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "commons" / "translations"
PARIS = ZoneInfo("Europe/Paris")
# Text a reader never sees as interface text: the page bodies of these tests are neutral Latin.
NEUTRAL = "Lorem ipsum dolor sit amet.\n\n## Consectetur\n\nAdipiscing elit, sed do eiusmod.\n"


def _keywords() -> list[str]:
    """The ``-k`` keywords of ``make translations``: the test extracts exactly like the Makefile."""
    line = next(ln for ln in (ROOT / "Makefile").read_text().splitlines() if "pybabel" in ln and " extract " in ln)
    return re.findall(r"-k (\S+)", line)


def _catalog(language: str) -> Catalog:
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=language)


def _strings(message: Message) -> list[str]:
    return list(message.string) if isinstance(message.string, (list, tuple)) else [message.string or ""]


def test_the_extraction_marks_service_messages_and_every_string_has_an_english_translation(tmp_path: Path) -> None:
    assert "N_" in _keywords() and "_l" in _keywords()
    pot = tmp_path / "messages.pot"
    arguments = ["pybabel", "--quiet", "extract", "--no-location", "-F", str(ROOT / "babel.cfg"), "-o", str(pot)]
    for keyword in _keywords():
        arguments += ["-k", keyword]
    previous = os.getcwd()
    os.chdir(ROOT)  # babel.cfg's patterns are relative to the project
    try:
        CommandLineInterface().run([*arguments, "."])
    finally:
        os.chdir(previous)
    with pot.open("rb") as handle:
        extracted = {m.id for m in read_po(handle) if m.id}
    # a service message (N_), a lazy web label (_l), a template string, a plural
    assert "La page est vide. Pour la supprimer, utilisez « Supprimer »." in extracted
    assert "mainteneur" in extracted and "Aller au contenu" in extracted
    revisions = "%(n)s révision(s), la plus récente en premier."
    assert (revisions, revisions) in extracted
    for language in ("en", "fr"):
        catalog = _catalog(language)
        missing = [m for m in extracted if m not in catalog]
        assert not missing, f"{language}: run `make translations` ({len(missing)} new strings, e.g. {missing[:3]})"
        empty = [m.id for m in catalog if m.id and m.id in extracted and not all(_strings(m))]
        assert not empty, f"{language}: untranslated {empty[:5]}"
        assert not [m.id for m in catalog if m.id and m.fuzzy], f"{language}: fuzzy translations left"


def _entries(catalog: Catalog) -> dict[object, object]:
    def key(value: object) -> object:
        return tuple(value) if isinstance(value, (list, tuple)) else value

    return {key(m.id): key(m.string) for m in catalog if m.id}


def test_the_committed_mo_files_match_their_po_files() -> None:
    for language in ("en", "fr"):
        catalog = _catalog(language)
        compiled = BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        fresh = _entries(read_mo(compiled))
        with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo").open("rb") as mo:
            committed = _entries(read_mo(mo))
        assert committed == fresh, f"{language}: run `make translations` (pybabel compile)"


class _VisibleText(HTMLParser):
    """The interface words a reader meets: text and the attributes read out or shown.

    Left out: scripts, styles, text areas, and code (paths, revisions, search syntax such as ``dossier:``).
    """

    SHOWN = ("placeholder", "title", "aria-label", "alt")
    LITERAL = ("script", "style", "textarea", "code", "pre")

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.LITERAL:
            self._hidden += 1
        self.parts += [value for name, value in attrs if name in self.SHOWN and value]

    def handle_endtag(self, tag: str) -> None:
        if tag in self.LITERAL:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def _fragments(text: str) -> list[str]:
    """The literal parts of a message worth looking for (placeholders cut out, short words dropped)."""
    pieces = re.split(r"%\(\w+\)[sdr]|%%", text)
    return [" ".join(p.split()) for p in pieces if len(" ".join(p.split()).strip(" .,:;()«»—")) >= 4]


def _telltales() -> tuple[list[str], list[str]]:
    """French texts that must not show in English, and English texts that must not show in French."""
    french: set[str] = set()
    english: set[str] = set()
    for message in _catalog("en"):
        if not message.id:
            continue
        ids = list(message.id) if isinstance(message.id, (list, tuple)) else [message.id]
        source = {part for text in ids for part in _fragments(text)}
        target = {part for text in _strings(message) for part in _fragments(text)}
        french |= source - target
        english |= target - source
    # a fragment that also reads inside a text of the other language proves nothing ("page)", "Type")
    every_french, every_english = " | ".join(sorted(french)), " | ".join(sorted(english))
    return ([part for part in sorted(french) if part not in every_english],
            [part for part in sorted(english) if part not in every_french])


def _found(needles: list[str], text: str) -> list[str]:
    return sorted({n for n in needles if re.search(r"(?<!\w)" + re.escape(n) + r"(?!\w)", text)})


@pytest.fixture
def site(app: Flask) -> dict[str, str]:
    """A small commons in neutral words: pages, two revisions, a suggestion, a talk; the URLs to read."""
    services = app.extensions["commons"]
    add_user(app, "mia", "admin")
    add_user(app, "bob", "contributor")
    services.pages.save("home", "# Lorem\n\n" + NEUTRAL, "lorem", None, identity_for("mia"))
    first = services.pages.save("notes/ipsum", "# Ipsum\n\n" + NEUTRAL, "lorem", None, identity_for("bob"))
    second = services.pages.save("notes/ipsum", "# Ipsum\n\n" + NEUTRAL + "\nTempor incididunt.\n", "dolor",
                                 first.rev, identity_for("mia"))
    services.suggestions.suggest("notes/ipsum", "# Ipsum\n\nVelit esse.\n", "amet", second.rev, "bob")
    services.talk.post("notes/ipsum", "Ut enim ad minim.", "bob")
    return {
        "home": "/", "page": "/notes/ipsum", "edit": "/-/edit/notes/ipsum", "history": "/-/history/notes/ipsum",
        "diff": f"/-/diff/notes/ipsum?from={first.rev}&to={second.rev}", "search": "/-/search?q=lorem",
        "search, nothing": "/-/search?q=zzyzx", "credits": "/-/credits/notes/ipsum", "everyone": "/-/credits",
        "login": "/-/login", "register": "/-/register", "recent": "/-/recent", "pages": "/-/pages",
        "profile": "/-/profile", "admin": "/-/admin", "review": "/-/review", "404": "/-/nowhere/at/all",
        "talk": "/-/talk/notes/ipsum", "contributor": "/-/contributors/bob", "new": "/-/new",
        "privacy": "/-/privacy", "watchlist": "/-/watchlist", "move": "/-/move/notes/ipsum", "sync": "/-/sync",
        "tags": "/-/tags", "wanted": "/-/wanted", "orphans": "/-/orphans", "links": "/-/links/notes/ipsum",
        "suggestions": "/-/suggestions/mine", "talks": "/-/talk?q=minim",
    }


def _read(app: Flask, urls: dict[str, str], language: str, logged_in: bool) -> dict[str, str]:
    client = app.test_client()
    if logged_in:
        login(client, "mia")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    pages = {}
    for name, url in urls.items():
        response = client.get(url)
        assert response.status_code == (404 if name == "404" else 200), (name, response.status_code)
        html = response.get_data(as_text=True)
        assert f'<html lang="{language}">' in html, name
        pages[name] = visible(html)
    return pages


def test_english_pages_show_no_french_and_french_pages_no_english(app: Flask, site: dict[str, str]) -> None:
    french, english = _telltales()
    assert len(french) > 300  # the catalogue is really there
    visitor = {k: site[k] for k in ("home", "page", "login", "register", "search", "search, nothing", "404")}
    for logged_in, urls in ((True, site), (False, visitor)):
        in_english, in_french = _read(app, urls, "en", logged_in), _read(app, urls, "fr", logged_in)
        for name, text in in_english.items():
            assert not _found(french, text), (name, _found(french, text))
        for name, text in in_french.items():
            assert not _found(english, text), (name, _found(english, text))
        # the detector does see each language: the French page is full of French telltales, and back
        assert "Modifications récentes" in _found(french, in_french["page"])
        assert "Recent changes" in _found(english, in_english["page"])
    shown = _read(app, {"history": site["history"]}, "en", True)["history"]
    assert "2 revisions, newest first." in shown and "Restore" not in shown


def test_dates_follow_the_language(app: Flask, site: dict[str, str]) -> None:
    revision = app.extensions["commons"].pages.revisions("notes/ipsum", 1, 0)[0][0]
    when = revision.date.astimezone(PARIS)
    english = _read(app, {"history": site["history"]}, "en", False)["history"]
    french = _read(app, {"history": site["history"]}, "fr", False)["history"]
    assert format_date(when, "medium", locale="en") in english  # "Nov 29, 2026"
    assert format_date(when, "medium", locale="fr") in french  # "29 nov. 2026"
    assert re.search(r"\b[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d\d\s?[AP]M\b", english)
    assert re.search(r"\b\d{1,2} [a-zéû]{3,5}\.? \d{4}, \d\d:\d\d\b", french)
    assert when.strftime("%d/%m/%Y") not in english + french


def test_numbers_follow_the_language(app: Flask) -> None:
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert render_template_string("{{ 12345|number }}") == "12,345"
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        assert render_template_string("{{ 12345|number }}") == "12\u202f345"


def test_a_service_error_arrives_in_the_readers_language(app: Flask, services: Commons) -> None:
    with pytest.raises(BadRequest) as raised:
        services.pages.save("notes/vide", "  \n", "", None, identity_for("bob"))
    assert raised.value.message == "La page est vide. Pour la supprimer, utilisez « Supprimer »."  # French stays
    client = app.test_client()
    api = client.get("/-/api/v1/pages/Pas..valide", headers={"Accept-Language": "en"})
    assert api.status_code == 400 and api.get_json()["error"]["message"].startswith("Invalid page name")
    french = client.get("/-/api/v1/pages/Pas..valide", headers={"Accept-Language": "fr"})
    assert french.get_json()["error"]["message"].startswith("Nom de page invalide")
    add_user(app, "lea", "contributor")
    login(client, "lea")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    token = csrf_token(client, "/-/edit/notes/vide")
    form = client.post("/-/edit/notes/vide", data={"markdown": "  ", "base_rev": "", "csrf_token": token})
    assert form.status_code == 400
    assert "The page is empty. To delete it, use “Delete”." in visible(form.get_data(as_text=True))
    missing = client.get("/-/history/notes/absente")
    assert missing.status_code == 404 and "has no history" in visible(missing.get_data(as_text=True))


def test_a_marked_message_is_french_text_that_keeps_its_template() -> None:
    message = N_("La page « %(path)s » n'existe pas.", path="notes/x")
    assert message == "La page « notes/x » n'existe pas." and isinstance(message, str)
    assert message.template == "La page « %(path)s » n'existe pas." and message.params == {"path": "notes/x"}
    assert N_("100 % libre") == "100 % libre"  # no values: no formatting


def test_a_rate_limit_is_explained_in_the_readers_language(app: Flask) -> None:
    add_user(app, "cible")
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    token = csrf_token(client)
    for _ in range(11):
        client.post("/-/login", data={"username": "cible", "password": "not-it", "csrf_token": token})
    refused = client.post("/-/login", data={"username": "cible", "password": "not-it", "csrf_token": token})
    assert refused.status_code == 429
    assert "Too many failed logins" in visible(refused.get_data(as_text=True))
