"""End-to-end flows in a real browser (Playwright driving Debian's chromium) against `commons serve`.

Skipped with a clear reason where chromium is absent, unless COMMONS_REQUIRE_BROWSER=1
(set by .ci/run), where its absence is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    if os.environ.get("COMMONS_REQUIRE_BROWSER") == "1":
        raise RuntimeError("COMMONS_REQUIRE_BROWSER=1 but no chromium is installed (apt-get install chromium)")
    pytest.skip("chromium is not installed (apt-get install chromium); browser tests skipped",
                allow_module_level=True)

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

ARTEFACTS = Path(os.environ.get("COMMONS_ARTEFACTS", "test-artefacts"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`commons serve` on a demo commons, as a user would start it."""
    data = tmp_path_factory.mktemp("browser") / "data"
    command = [sys.executable, "-m", "commons", "--data", str(data)]
    subprocess.run([*command, "init", "--demo"], check=True, capture_output=True)
    port = _free_port()
    process = subprocess.Popen([*command, "serve", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/", timeout=2)  # noqa: S310 - our own local server
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("commons serve did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(locale="fr-FR")
    tab = context.new_page()
    yield tab
    ARTEFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTEFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def register(page: Page, server: str, name: str) -> None:
    page.goto(server + "/-/register")
    page.get_by_label("Nom d'utilisateur").fill(name)
    page.get_by_label("Mot de passe (8 caractères au moins)").fill("un mot de passe sûr")
    page.get_by_label("Mot de passe, encore").fill("un mot de passe sûr")
    page.get_by_role("button", name="Créer mon compte").click()
    expect(page.get_by_role("heading", name="Mon compte")).to_be_visible()


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
