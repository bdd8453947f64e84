"""Accessibility audit (WCAG 2.1 A and AA) of the main pages with axe-core, in Debian's chromium.

Every page is loaded in French and in English (and a few in dark mode), axe-core 4.10 (vendored in
tests/vendor, checked against its sha256) runs on it, and the test fails on any violation of impact
"serious" or "critical", listing them. A full-page screenshot of each page is saved to
``test-artefacts/screenshots/<lang>-<name>.png`` and axe's full answer to ``test-artefacts/axe/``.
The English pages are also read for French interface text left untranslated (message ids of the catalogue).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from browser_support import (  # noqa: F401 - fixtures
    ARTEFACTS,
    PASSWORD,
    add_account,
    browser_fixture,
    log_in,
    make_commons,
    new_context,
    save_as,
    screenshot,
    serve,
)
from playwright.sync_api import Browser, Page

from commons.services import Commons

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_VERSION = "4.10.3"
AXE_SHA256 = "880970c081707360e64f34cea25ff91892f5bc95675b0776925b9709dd8a68bb"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}
PATH = "guides/mediation"

FIRST = """# Médiation familiale

La **médiation familiale** aide à renouer le dialogue après une séparation.

## Qui contacter

- La caisse d'allocations familiales ([[Guides/RSA|voir aussi le RSA]]).
- Un [[Guides/Point justice]] près de chez vous.

| Séance | Prix |
|--------|------|
| Première | gratuite |
| Suivantes | selon les revenus |
"""

SECOND = FIRST.replace("aide à renouer le dialogue", "aide les parents à renouer le dialogue") + """
## Bon à savoir

Une séance d'information est `gratuite` et sans engagement.
"""

# name -> (path after the server URL, needs a logged-in contributor)
PAGES: dict[str, tuple[str, bool]] = {
    "home": ("/", False),
    "page": (f"/{PATH}", False),
    "edit": (f"/-/edit/{PATH}", True),
    "history": (f"/-/history/{PATH}", False),
    "diff": ("/-/diff/" + PATH + "?from={first}&to={second}", False),
    "search": ("/-/search?q=m%C3%A9diation", False),
    "credits": (f"/-/credits/{PATH}", False),
    "login": ("/-/login", False),
}
# More pages, audited in French only (the same templates in English are covered by the pages above).
MORE: dict[str, tuple[str, bool]] = {
    "register": ("/-/register", False),
    "new": ("/-/new", True),
    "recent": ("/-/recent", False),
    "all-pages": ("/-/pages", False),
    "contributor": ("/-/contributors/camille", False),
    "profile": ("/-/profile", True),
    "talk": (f"/-/talk/{PATH}", True),
    "links": (f"/-/links/{PATH}", False),
    "commons-credits": ("/-/credits", False),
    "old-revision": (f"/{PATH}?rev={{first}}", False),
}
DARK = ["home", "page", "edit", "diff", "credits"]
# Maintainer pages, audited in both languages as an administrator (with a pending account and a suggestion).
MAINTAINER: dict[str, str] = {
    "admin": "/-/admin",
    "review": "/-/review",
    "sync": "/-/sync",
    "suggestion-form": f"/-/suggest/{PATH}",
}


def _seed(services: Commons) -> dict[str, str]:
    add_account(services, "camille")
    add_account(services, "dominique")
    add_account(services, "sacha", role="admin")
    services.accounts.add("noa", PASSWORD, role="contributor", approved=False)  # waiting on /-/admin
    first = save_as(services, "camille", PATH, FIRST, "Première version")
    second = save_as(services, "dominique", PATH, SECOND, "Précisions sur les séances")
    services.suggestions.suggest(PATH, SECOND + "\nUne phrase proposée.\n", "Une proposition", second, "dominique")
    return {"first": first, "second": second}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A demo commons with a page written by two people; returns its folder and the page's two revisions."""
    data, revs = make_commons(tmp_path_factory, _seed)
    assert revs is not None
    return data, revs


@pytest.fixture(scope="module")
def server(seeded: tuple[Path, dict[str, str]]) -> Iterator[str]:
    """`commons serve` on the seeded commons."""
    yield from serve(seeded[0])


@pytest.fixture(scope="module")
def revisions(seeded: tuple[Path, dict[str, str]]) -> dict[str, str]:
    return seeded[1]


def audit(tab: Page) -> dict[str, list[dict[str, Any]]]:
    """Inject axe-core into the page; its WCAG 2.1 A/AA ``violations`` and what it could not decide (``incomplete``)."""
    tab.add_script_tag(path=str(AXE))
    result = tab.evaluate("""async (tags) => {
        const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
        const brief = (items) => items.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => ({target: n.target, failureSummary: n.failureSummary}))}));
        return {version: axe.version, violations: brief(r.violations), incomplete: brief(r.incomplete),
                passes: r.passes.length};
    }""", WCAG_TAGS)
    assert result["version"] == AXE_VERSION
    assert result["passes"] > 10, "axe-core ran no check: the audit itself is broken"
    return {"violations": list(result["violations"]), "incomplete": list(result["incomplete"])}


def describe(violations: list[dict[str, Any]]) -> str:
    """One line per failing element: impact, rule, what axe says and where."""
    lines = []
    for v in violations:
        for node in v["nodes"]:
            lines.append(f"[{v['impact']}] {v['id']}: {v['help']} -- {node['target']} -- "
                         f"{node.get('failureSummary', '').replace(chr(10), ' ')}")
    return "\n".join(lines)


def check_page(browser: Browser, server: str, revisions: dict[str, str], lang: str, name: str,
               scheme: Literal["light", "dark"] = "light") -> None:
    """Load page ``name`` in ``lang``, save its screenshot and axe's answer, fail on serious violations."""
    if name in MAINTAINER:
        url, account = MAINTAINER[name], "sacha"
    else:
        url, needs_account = {**PAGES, **MORE}[name]
        account = "camille" if needs_account else None
    # axe is injected as an inline script, which the site's CSP (rightly) forbids: bypass it for the audit only.
    context = new_context(browser, lang, scheme, bypass_csp=True)
    try:
        tab = context.new_page()
        if account:
            log_in(tab, server, account)
        response = tab.goto(server + url.format(**revisions))
        assert response is not None and response.status == 200, f"{name}: HTTP {response and response.status}"
        assert tab.evaluate("document.documentElement.lang") == lang
        label = f"{lang}-{name}" if scheme == "light" else f"{lang}-{scheme}-{name}"
        screenshot(tab, label)
        found = audit(tab)
        (ARTEFACTS / "axe").mkdir(parents=True, exist_ok=True)
        (ARTEFACTS / "axe" / f"{label}.json").write_text(json.dumps(found, indent=1, ensure_ascii=False))
        blocking = [v for v in found["violations"] if v["impact"] in BLOCKING]
        assert not blocking, f"{label}: serious or critical WCAG violations:\n{describe(blocking)}"
    finally:
        context.close()


def french_interface_strings() -> set[str]:
    """The French message ids the English catalogue translates, at least 12 characters long,
    leaving out those found inside an English translation (words both languages share, like "Modifications")."""
    from babel.messages.pofile import read_po

    catalogue = Path(__file__).parent.parent / "commons" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
    with catalogue.open("rb") as source:
        messages = list(read_po(source))

    def texts(value: object) -> list[str]:
        return [str(t) for t in (value if isinstance(value, (tuple, list)) else (value,)) if t]

    english = "\n".join(t for m in messages for t in texts(m.string))
    return {text for m in messages if texts(m.string) for text in texts(m.id)
            if "%(" not in text and len(text) >= 12 and text not in english}


# What the visitor wrote is not the interface: the page text, the diff and who-wrote-what, history summaries.
INTERFACE_TEXT = """() => {
    const copy = document.body.cloneNode(true);
    copy.querySelectorAll('article.content, pre, table.diff td.text, table.history td:nth-child(3), '
        + 'ol.results .snippet, option, textarea, [lang=fr]:not(html)').forEach(e => e.remove());
    return copy.innerText;
}"""


@pytest.mark.parametrize("name", list(PAGES))
def test_english_pages_show_no_french_interface_text(browser: Browser, server: str, revisions: dict[str, str],
                                                     name: str) -> None:
    url, needs_account = PAGES[name]
    context = new_context(browser, "en")
    try:
        tab = context.new_page()
        if needs_account:
            log_in(tab, server, "camille")
        tab.goto(server + url.format(**revisions))
        shown = tab.evaluate(INTERFACE_TEXT)
        left = sorted(text for text in french_interface_strings() if text in shown)
        assert not left, f"{name}: French interface text in the English page: {left}"
    finally:
        context.close()


def test_vendored_axe_is_the_pinned_release() -> None:
    assert hashlib.sha256(AXE.read_bytes()).hexdigest() == AXE_SHA256, (
        "tests/vendor/axe.min.js changed: refresh it as tests/vendor/README.md says, with its new sha256")
    assert f"axe v{AXE_VERSION}" in AXE.read_text(encoding="utf-8")[:100]


@pytest.mark.parametrize("name", list(PAGES))
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_page_has_no_serious_wcag_violation(browser: Browser, server: str, revisions: dict[str, str],
                                            lang: str, name: str) -> None:
    check_page(browser, server, revisions, lang, name)


@pytest.mark.parametrize("name", list(MORE))
def test_more_pages_have_no_serious_wcag_violation(browser: Browser, server: str, revisions: dict[str, str],
                                                   name: str) -> None:
    check_page(browser, server, revisions, "fr", name)


@pytest.mark.parametrize("name", list(MAINTAINER))
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_maintainer_pages_have_no_serious_wcag_violation(browser: Browser, server: str, revisions: dict[str, str],
                                                         lang: str, name: str) -> None:
    check_page(browser, server, revisions, lang, name)


@pytest.mark.parametrize("name", DARK)
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_dark_mode_has_no_serious_wcag_violation(browser: Browser, server: str, revisions: dict[str, str],
                                                 lang: str, name: str) -> None:
    check_page(browser, server, revisions, lang, name, scheme="dark")


def test_the_audit_catches_what_it_must(browser: Browser, server: str) -> None:
    """The audit is not blind: an image without text and grey-on-white text are reported, as serious or worse."""
    context = new_context(browser, "fr", bypass_csp=True)
    try:
        tab = context.new_page()
        tab.goto(server + "/")
        tab.evaluate("""() => {
            const main = document.querySelector('main');
            main.insertAdjacentHTML('beforeend', '<img src="/static/nothing.png"><p id="pale">pâle</p>');
            Object.assign(document.getElementById('pale').style, {color: '#cccccc', background: '#ffffff'});
        }""")
        found = {v["id"]: v["impact"] for v in audit(tab)["violations"]}
        assert found.get("image-alt") == "critical", found
        assert found.get("color-contrast") == "serious", found
    finally:
        context.close()
