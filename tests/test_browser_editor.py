"""The editor in a real browser: toolbar, live preview, drafts, image upload, CSP, phones (360 px).

Playwright drives Debian's chromium against a real ``commons serve``; skipped with a clear reason where
chromium is absent (see tests/browser_support.py).
"""

from __future__ import annotations

import json
import struct
import time
import zlib
from collections.abc import Iterator

import pytest
from browser_support import (
    browser_fixture,  # noqa: F401 - the "browser" fixture
    expect,
    make_commons,
    new_context,
    register,
    screenshot,
    serve,
)
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, Response

from commons.pages import identity_for
from commons.services import Commons

TEXT = "Texte (Markdown)"


LINKS = ("# Liens utiles\n\nLe site [Service public](https://www.service-public.fr/particuliers) et la page "
         "[[guides/rsa|du RSA]].\n\n## Un\n\n## Deux\n\n## Trois\n")


def _seed(services: Commons) -> None:
    services.pages.save("liens-utiles", LINKS, "Liens", None, identity_for("commons"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`commons serve` on a demo commons, plus a page with an external link."""
    data, _ = make_commons(tmp_path_factory, _seed)
    yield from serve(data)


class Watched:
    """A tab whose console errors (CSP violations included) and dialogs are recorded."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        page.on("dialog", self._dialog)
        page.on("response", self._response)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not str(message.location.get("url", "")).endswith("/favicon.ico"):
            self.errors.append(f"{message.text} at {message.location.get('url')}")

    def _response(self, response: Response) -> None:
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):
            self.errors.append(f"{response.status} {response.request.method} {response.url}")

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.type)
        dialog.accept()


@pytest.fixture
def tab(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Watched]:
    context = new_context(browser)
    watched = Watched(context.new_page())
    yield watched
    screenshot(watched.page, f"editor-{request.node.name}")
    context.close()
    assert watched.errors == [], f"console errors (CSP violations?): {watched.errors}"


def _saved_markdown(page: Page, server: str, path: str) -> str:
    response = page.request.get(f"{server}/-/api/v1/pages/{path}")
    assert response.status == 200, response.text()
    return str(json.loads(response.text())["markdown"])


def _wait_for_draft(page: Page, path: str, present: bool = True, timeout: float = 5) -> None:
    """Wait until the browser keeps (or no longer keeps) a draft of ``path`` (polls: the CSP forbids eval)."""
    deadline = time.monotonic() + timeout
    while (page.evaluate(f"localStorage.getItem('commons:draft:{path}')") is not None) != present:
        assert time.monotonic() < deadline, f"draft of {path} {'never saved' if present else 'still there'}"
        page.wait_for_timeout(100)


def _png() -> bytes:
    """A real 1x1 PNG image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
            + chunk(b"IEND", b""))


def test_create_a_page_with_the_toolbar_and_the_live_preview(tab: Watched, server: str) -> None:
    page = tab.page
    register(page, server, "toolbar")
    page.goto(server + "/-/new")
    page.get_by_label("Titre de la page").fill("Guides/Aide au transport")
    page.get_by_role("button", name="Continuer").click()
    area = page.get_by_label(TEXT)
    expect(area).to_have_value("# Aide au transport\n\n")
    toolbar = page.get_by_role("toolbar", name="Mise en forme")
    expect(toolbar).to_be_visible()
    area.focus()
    page.keyboard.press("Control+End")
    toolbar.get_by_role("button", name="Titre", exact=True).click()
    page.keyboard.type("Qui peut en bénéficier")  # replaces the selected placeholder
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    page.keyboard.type("Les personnes ")
    toolbar.get_by_role("button", name="Gras").click()
    page.keyboard.type("de plus de 60 ans")
    page.keyboard.press("End")
    page.keyboard.type(" et leur famille")
    page.keyboard.press("Shift+Control+ArrowLeft")  # selects "famille"
    page.keyboard.press("Control+I")
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    toolbar.get_by_role("button", name="Liste à puces").click()
    page.keyboard.type("une carte d'identité")
    page.keyboard.press("Enter")
    page.keyboard.type("- un justificatif de domicile")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    page.keyboard.type("Voir ")
    toolbar.get_by_role("button", name="Lien", exact=True).click()
    page.keyboard.type("https://www.service-public.fr")  # replaces the selected "https://"
    expected = ("# Aide au transport\n\n## Qui peut en bénéficier\n\nLes personnes **de plus de 60 ans** et leur "
                "*famille*\n\n- une carte d'identité\n- un justificatif de domicile\n\n"
                "Voir [texte du lien](https://www.service-public.fr)")
    expect(area).to_have_value(expected)

    preview = page.locator(".live-preview .content")
    expect(page.locator(".live-preview")).to_be_visible()
    expect(preview.locator("h2")).to_have_text("Qui peut en bénéficier")
    expect(preview.locator("strong")).to_have_text("de plus de 60 ans")
    expect(preview.locator("em")).to_have_text("famille")
    expect(preview.locator("li")).to_have_count(2)
    expect(preview.locator("a[href='https://www.service-public.fr']")).to_have_text("texte du lien")
    expect(preview).to_have_attribute("aria-live", "polite")

    page.get_by_label("Résumé de la modification").fill("Première version")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page).to_have_url(server + "/guides/aide-au-transport")
    expect(page.locator("article strong")).to_have_text("de plus de 60 ans")
    assert _saved_markdown(page, server, "guides/aide-au-transport") == expected + "\n"
    assert tab.dialogs == []  # saving does not warn about leaving


def test_a_draft_comes_back_after_a_reload_and_goes_after_saving(tab: Watched, server: str) -> None:
    page = tab.page
    register(page, server, "brouillon")
    page.goto(server + "/-/edit/guides/rsa")
    area = page.get_by_label(TEXT)
    original = area.input_value()
    area.focus()
    page.keyboard.press("Control+End")
    page.keyboard.type("\nUn paragraphe tapé mais pas enregistré.\n")
    _wait_for_draft(page, "guides/rsa")
    page.reload()  # the browser asks before leaving unsaved changes (the dialog is accepted)
    assert "beforeunload" in tab.dialogs
    expect(area).to_have_value(original)
    notice = page.locator(".notice.draft")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Un brouillon non enregistré existe")
    notice.get_by_role("button", name="Restaurer").click()
    expect(area).to_have_value(original + "\nUn paragraphe tapé mais pas enregistré.\n")
    expect(notice).to_be_hidden()

    page.get_by_role("button", name="Enregistrer").click()
    expect(page).to_have_url(server + "/guides/rsa")
    expect(page.locator("article")).to_contain_text("Un paragraphe tapé mais pas enregistré.")
    page.goto(server + "/-/edit/guides/rsa")  # the form opens with the draft's text: saved, so forgotten
    expect(page.get_by_role("toolbar", name="Mise en forme")).to_be_visible()
    expect(page.locator(".notice.draft")).to_be_hidden()
    _wait_for_draft(page, "guides/rsa", present=False)


def test_a_lost_connection_on_saving_loses_nothing(tab: Watched, server: str) -> None:
    page = tab.page
    register(page, server, "horsligne")
    page.goto(server + "/-/edit/ecrire-un-bon-guide")
    area = page.get_by_label(TEXT)
    area.focus()
    page.keyboard.press("Control+End")
    page.keyboard.type("\nÉcrit dans le train, sans réseau.\n")
    _wait_for_draft(page, "ecrire-un-bon-guide")
    typed = area.input_value()
    page.context.set_offline(True)
    try:
        page.get_by_role("button", name="Enregistrer").click(no_wait_after=True)
        page.wait_for_timeout(500)
    finally:
        page.context.set_offline(False)
    tab.errors.clear()  # the failed navigation is the point of this test
    page.goto(server + "/-/edit/ecrire-un-bon-guide")
    assert "Écrit dans le train" not in _saved_markdown(page, server, "ecrire-un-bon-guide")
    page.locator(".notice.draft").get_by_role("button", name="Restaurer").click()
    expect(area).to_have_value(typed)


def test_an_ignored_draft_is_forgotten(tab: Watched, server: str) -> None:
    page = tab.page
    register(page, server, "ignore")
    page.goto(server + "/-/edit/guides/aide-au-logement")
    area = page.get_by_label(TEXT)
    area.focus()
    page.keyboard.type("Brouillon jeté. ")
    _wait_for_draft(page, "guides/aide-au-logement")
    page.goto(server + "/-/edit/guides/aide-au-logement")
    page.locator(".notice.draft").get_by_role("button", name="Ignorer").click()
    expect(page.locator(".notice.draft")).to_be_hidden()
    assert page.evaluate("localStorage.getItem('commons:draft:guides/aide-au-logement')") is None
    assert "Brouillon jeté." not in area.input_value()


def test_the_image_button_uploads_and_inserts_the_image(tab: Watched, server: str) -> None:
    page = tab.page
    register(page, server, "photographe")
    page.goto(server + "/-/edit/guides/rgpd-association")
    area = page.get_by_label(TEXT)
    area.focus()
    page.keyboard.press("Control+End")
    with page.expect_file_chooser() as chooser:
        page.get_by_role("toolbar", name="Mise en forme").get_by_role("button", name="Image…").click()
    chooser.value.set_files(files=[{"name": "Plan d'accès.PNG", "mimeType": "image/png", "buffer": _png()}])
    expect(page.locator(".editor-status")).to_contain_text("Image jointe à la page")
    assert area.input_value().endswith("![description de l'image](plan-d-acces.png)")
    page.keyboard.type("Plan d'accès au local")  # the description was selected
    expect(page.locator(".live-preview img[alt=\"Plan d'accès au local\"]")).to_have_attribute(
        "src", "/-/files/guides/rgpd-association/plan-d-acces.png")
    assert page.request.get(server + "/-/files/guides/rgpd-association/plan-d-acces.png").status == 200


def test_dark_mode_follows_the_system_and_print_shows_only_the_text(browser: Browser, server: str) -> None:
    context = new_context(browser, color_scheme="dark")
    page = context.new_page()
    try:
        page.goto(server + "/liens-utiles")
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(22, 22, 21)", background  # the dark theme's --bg
        expect(page.locator("aside.toc")).to_be_visible()
        page.emulate_media(media="print", color_scheme="light")
        expect(page.locator("header.site")).to_be_hidden()
        expect(page.locator("aside.toc")).to_be_hidden()
        expect(page.locator("nav.page-actions")).to_be_hidden()
        expect(page.locator("article h1")).to_be_visible()
        after = page.evaluate("getComputedStyle(document.querySelector('article a[href^=\"http\"]'), '::after')"
                              ".content")
        assert after == '" (https://www.service-public.fr/particuliers)"', after  # external links print their URL
        internal = page.evaluate("getComputedStyle(document.querySelector('article a.wikilink'), '::after').content")
        assert internal in ("none", "normal"), internal  # internal links do not
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
    finally:
        context.close()


PHONE_PATHS = ["/", "/guides/rsa", "/-/edit/guides/rsa", "/-/search?q=logement", "/-/recent", "/-/history/guides/rsa",
               "/-/credits/guides/rsa", "/-/new", "/-/pages"]


def test_no_horizontal_scroll_at_360_px(browser: Browser, server: str) -> None:
    """Logged in (the header is at its fullest), no page scrolls sideways on a 360 px wide phone."""
    context = browser.new_context(locale="fr-FR", viewport={"width": 360, "height": 740})
    page = context.new_page()
    wide = {}
    try:
        register(page, server, "mobile")
        for path in PHONE_PATHS:
            page.goto(server + path)
            scroll, client = page.evaluate("[document.documentElement.scrollWidth, "
                                           "document.documentElement.clientWidth]")
            screenshot(page, "editor-360" + path.replace("/", "_").replace("?", "_"))
            if scroll > client:
                wide[path] = scroll
    finally:
        context.close()
    assert wide == {}, f"pages wider than 360 px: {wide}"
