"""Shared parts of the real-browser tests: Debian's chromium through Playwright, a real ``commons serve``.

Importing this module skips the importing test module with a clear reason where chromium is absent,
unless ``COMMONS_REQUIRE_BROWSER=1`` (set by ``.ci/run``), where its absence is an error.
Screenshots go to ``test-artefacts/screenshots/`` (``COMMONS_ARTEFACTS`` moves ``test-artefacts``).
A test module imports the fixtures it uses: ``browser_fixture`` (``browser``), ``page_fixture`` (``page``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal, TypeVar

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    if os.environ.get("COMMONS_REQUIRE_BROWSER") == "1":
        raise RuntimeError("COMMONS_REQUIRE_BROWSER=1 but no chromium is installed (apt-get install chromium)")
    pytest.skip("chromium is not installed (apt-get install chromium); browser tests skipped",
                allow_module_level=True)

from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright  # noqa: E402
from serving import PASSWORD, Server, start_server, stop_server  # noqa: E402

from commons.config import load_settings  # noqa: E402
from commons.pages import identity_for  # noqa: E402
from commons.services import Commons, open_commons  # noqa: E402

ARTEFACTS = Path(os.environ.get("COMMONS_ARTEFACTS", "test-artefacts"))
SCREENSHOTS = ARTEFACTS / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOCALES = {"fr": "fr-FR", "en": "en-GB"}
T = TypeVar("T")
FAST = {"password_time_cost": 1, "password_memory_kib": 8192}


def make_commons(tmp_path_factory: pytest.TempPathFactory, seed: Callable[[Commons], T] | None = None
                 ) -> tuple[Path, T | None]:
    """A new demo commons in a temporary folder; ``seed`` adds accounts or pages. Returns (data dir, seed's answer)."""
    data = tmp_path_factory.mktemp("browser") / "data"
    services = open_commons(load_settings(data, FAST, environ={}))
    try:
        services.init(demo=True)
        return data, seed(services) if seed is not None else None
    finally:
        services.close()


def serve(data: Path) -> Iterator[str]:
    """Yield the URL of ``commons serve`` on ``data``, stopped afterwards."""
    server: Server = start_server(data, data.parent / "server.log")
    try:
        yield server.url
    finally:
        stop_server(server)


def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Yield the URL of ``commons serve`` on a new demo commons."""
    data, _ = make_commons(tmp_path_factory)
    yield from serve(data)


def add_account(services: Commons, name: str, role: str = "contributor") -> None:
    """An account ``name`` (password :data:`PASSWORD`) in a commons that no server is using yet."""
    services.accounts.add(name, PASSWORD, role=role)


def save_as(services: Commons, name: str, path: str, markdown: str, summary: str) -> str:
    """Save ``path`` as account ``name`` from its current revision; returns the new revision."""
    state = services.pages.state(path)
    result = services.pages.save(path, markdown, summary, state.rev if state else None, identity_for(name))
    return result.rev


@pytest.fixture(scope="module", name="browser")
def browser_fixture() -> Iterator[Browser]:
    """Debian's chromium, headless, for the whole test module."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def new_context(browser: Browser, lang: str = "fr", color_scheme: Literal["light", "dark"] = "light",
                bypass_csp: bool = False) -> BrowserContext:
    """A fresh browser profile (no cookies) whose Accept-Language is ``lang``."""
    return browser.new_context(locale=LOCALES[lang], color_scheme=color_scheme, bypass_csp=bypass_csp,
                               viewport={"width": 1280, "height": 900})


@pytest.fixture(name="page")
def page_fixture(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A tab in a fresh French profile; its last state is saved as a screenshot named after the test."""
    context = new_context(browser)
    tab = context.new_page()
    yield tab
    screenshot(tab, request.node.name)
    context.close()


def screenshot(tab: Page, name: str) -> Path:
    """Save a full-page screenshot of ``tab`` as ``test-artefacts/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / f"{name}.png"
    tab.screenshot(path=str(target), full_page=True)
    return target


def register(page: Page, server: str, name: str) -> None:
    """Create an account through the registration form, as a visitor would (French interface)."""
    page.goto(server + "/-/register")
    page.get_by_label("Nom d'utilisateur").fill(name)
    page.get_by_label("Mot de passe (8 caractères au moins)").fill("un mot de passe sûr")
    page.get_by_label("Mot de passe, encore").fill("un mot de passe sûr")
    page.get_by_role("button", name="Créer mon compte").click()
    expect(page.get_by_role("heading", name="Mon compte")).to_be_visible()


def log_in(page: Page, server: str, name: str, password: str = PASSWORD) -> None:
    """Log in through the login form, in whatever interface language, and land on the home page."""
    page.goto(server + "/-/login?next=/")
    page.locator("#username").fill(name)
    page.locator("#password").fill(password)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("form[action$='/-/logout']")).to_have_count(1)
