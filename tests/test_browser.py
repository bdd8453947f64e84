"""End-to-end flows in a real browser (Playwright driving Debian's chromium) against `commons serve`.

Skipped with a clear reason where chromium is absent, unless COMMONS_REQUIRE_BROWSER=1
(set by .ci/run), where its absence is a failure.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser_support import browser_fixture, demo_server, expect, page_fixture, register  # noqa: F401 - fixtures
from playwright.sync_api import Page


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`commons serve` on a demo commons, as a user would start it."""
    yield from demo_server(tmp_path_factory)


def test_visitor_reads_the_demo_and_follows_links(page: Page, server: str) -> None:
    page.goto(server + "/")
    expect(page.get_by_role("heading", level=1, name="Bienvenue sur Commons")).to_be_visible()
    page.get_by_role("link", name="le RSA").first.click()
    expect(page).to_have_url(server + "/guides/rsa")
    expect(page.locator("aside.toc")).to_be_visible()
    red = page.locator("a.wikilink.new").first
    expect(red).to_have_attribute("href", "/-/edit/guides/domiciliation")


def test_contributor_creates_edits_and_reads_history(page: Page, server: str) -> None:
    register(page, server, "camille")
    page.goto(server + "/-/new")
    page.get_by_label("Titre de la page").fill("Guides/Chèque énergie")
    page.get_by_role("button", name="Continuer").click()
    assert page.url.split("?")[0] == server + "/-/edit/guides/cheque-energie"
    expect(page.get_by_label("Texte (Markdown)")).to_have_value("# Chèque énergie\n\n")
    page.get_by_label("Texte (Markdown)").fill("# Chèque énergie\n\nUne aide pour payer les factures.\n")
    page.get_by_role("button", name="Aperçu").click()
    expect(page.locator("section.preview")).to_contain_text("Une aide pour payer les factures.")
    page.get_by_label("Résumé de la modification").fill("Première version")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page).to_have_url(server + "/guides/cheque-energie")
    expect(page.get_by_role("heading", level=1, name="Chèque énergie")).to_be_visible()

    page.get_by_role("link", name="Modifier").click()
    page.get_by_label("Texte (Markdown)").fill("# Chèque énergie\n\nUne aide de l'État pour payer l'énergie.\n")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("article")).to_contain_text("Une aide de l'État")

    page.get_by_role("link", name="Historique").click()
    expect(page.locator("table.history tbody tr")).to_have_count(2)
    page.get_by_role("link", name="diff").first.click()
    expect(page.locator("table.diff ins").first).to_be_visible()

    page.goto(server + "/-/search?q=cheque+energie")
    expect(page.locator("ol.results li")).to_have_count(1)


def test_keyboard_reaches_the_content_through_the_skip_link(page: Page, server: str) -> None:
    page.goto(server + "/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused.strip() == "Aller au contenu"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "contenu"
