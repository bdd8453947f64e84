"""What people do with Commons, done in a real browser (Debian's chromium) against `commons serve`.

Accounts, writing, a conflict and its resolution, search with and without accents, history and diff,
credits, the language switch, and one flow done with the keyboard alone (focus always visible).
Screenshots of the last state of each test go to ``test-artefacts/screenshots/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import (  # noqa: F401 - fixtures
    add_account,
    browser_fixture,
    expect,
    log_in,
    make_commons,
    new_context,
    page_fixture,
    register,
    save_as,
    screenshot,
    serve,
)
from playwright.sync_api import Browser, Page

from commons.services import Commons

MEDIATION = """# Médiation familiale

La médiation familiale aide les parents à renouer le dialogue.

## Tarifs

La première séance est gratuite.
"""
TEXTAREA = "Texte (Markdown)"


def _seed(services: Commons) -> None:
    add_account(services, "alice")
    add_account(services, "bruno")
    add_account(services, "clavier")
    save_as(services, "alice", "guides/mediation", MEDIATION, "Première version")
    save_as(services, "alice", "guides/conflit", "# Conflit\n\nLigne un.\n\nLigne deux.\n", "Départ")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`commons serve` on a demo commons with three contributors and two pages."""
    data: Path
    data, _ = make_commons(tmp_path_factory, _seed)
    yield from serve(data)


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("link", name="Se connecter")).to_be_visible()


def test_register_log_out_and_log_in_again(page: Page, server: str) -> None:
    register(page, server, "zoe")
    expect(page.get_by_role("navigation", name="Compte")).to_contain_text("zoe")
    log_out(page)
    expect(page.get_by_role("navigation", name="Compte")).not_to_contain_text("zoe")

    page.get_by_role("link", name="Se connecter").click()
    page.get_by_label("Nom d'utilisateur").fill("zoe")
    page.get_by_label("Mot de passe", exact=True).fill("pas le bon")
    page.locator("main").get_by_role("button", name="Se connecter").click()
    error = page.get_by_role("alert")
    expect(error).to_contain_text("incorrect")
    expect(page.get_by_label("Mot de passe", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Mot de passe", exact=True)).to_have_accessible_description(re.compile("incorrect"))

    page.get_by_label("Mot de passe", exact=True).fill("un mot de passe sûr")
    page.locator("main").get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("navigation", name="Compte")).to_contain_text("zoe")


def test_create_a_page_then_edit_it(page: Page, server: str) -> None:
    log_in(page, server, "alice")
    page.get_by_role("link", name="Nouvelle page").click()
    page.get_by_label("Titre de la page").fill("Guides/Tarif social")
    page.get_by_role("button", name="Continuer").click()
    page.get_by_label(TEXTAREA).fill("# Tarif social\n\nLe tarif social de l'eau existe dans certaines villes.\n")
    page.get_by_label("Résumé de la modification").fill("Création")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page).to_have_url(server + "/guides/tarif-social")
    expect(page.locator("article")).to_contain_text("Le tarif social de l'eau existe")

    page.get_by_role("link", name="Modifier", exact=True).click()
    expect(page.get_by_label(TEXTAREA)).to_have_value(re.compile("certaines villes"))
    page.get_by_label(TEXTAREA).fill("# Tarif social\n\nLe tarif social de l'eau existe à Paris et à Lyon.\n")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page).to_have_url(server + "/guides/tarif-social")
    expect(page.locator("article")).to_contain_text("existe à Paris et à Lyon")
    expect(page.locator("article")).not_to_contain_text("certaines villes")


def test_two_people_edit_the_same_line_and_the_second_resolves_the_conflict(browser: Browser, server: str) -> None:
    first, second = new_context(browser), new_context(browser)
    try:
        alice, bruno = first.new_page(), second.new_page()
        log_in(alice, server, "alice")
        log_in(bruno, server, "bruno")
        for tab in (alice, bruno):
            tab.goto(server + "/-/edit/guides/conflit")
            expect(tab.get_by_label(TEXTAREA)).to_have_value(re.compile("Ligne un"))

        alice.get_by_label(TEXTAREA).fill("# Conflit\n\nLigne un, selon Alice.\n\nLigne deux.\n")
        alice.get_by_role("button", name="Enregistrer").click()
        expect(alice.locator("article")).to_contain_text("selon Alice")

        bruno.get_by_label(TEXTAREA).fill("# Conflit\n\nLigne un, selon Bruno.\n\nLigne deux.\n")
        bruno.get_by_role("button", name="Enregistrer").click()
        expect(bruno.get_by_role("heading", name="Conflit de modification")).to_be_visible()
        expect(bruno.get_by_role("alert").first).to_be_visible()
        diff = bruno.locator("table.diff")
        expect(diff.locator("del")).to_contain_text("Alice")
        expect(diff.locator("ins")).to_contain_text("Bruno")
        assert "line-through" in diff.locator("del").first.evaluate("e => getComputedStyle(e).textDecorationLine")
        expect(diff.locator("tr.delete td.text")).to_contain_text("[début de la suppression] Alice")
        expect(bruno.get_by_label(TEXTAREA)).to_have_value(re.compile("selon Bruno"))
        screenshot(bruno, "flow-conflict")

        resolved = "# Conflit\n\nLigne un, selon Alice et Bruno.\n\nLigne deux.\n"
        bruno.get_by_label(TEXTAREA).fill(resolved)
        bruno.get_by_role("button", name="Enregistrer").click()
        expect(bruno).to_have_url(server + "/guides/conflit")
        expect(bruno.locator("article")).to_contain_text("Ligne un, selon Alice et Bruno.")
        bruno.goto(server + "/-/api/v1/pages/guides/conflit")
        assert "selon Alice et Bruno" in bruno.content()
    finally:
        first.close()
        second.close()


def test_search_finds_the_same_page_with_and_without_accents(page: Page, server: str) -> None:
    found = {}
    for words in ("mediation", "médiation"):
        page.goto(server + "/")
        page.get_by_role("searchbox", name="Rechercher").fill(words)
        page.get_by_role("searchbox", name="Rechercher").press("Enter")
        expect(page.get_by_role("heading", level=1, name="Recherche")).to_be_visible()
        found[words] = page.locator("ol.results li h2 a").all_inner_texts()
    assert "Médiation familiale" in found["mediation"]
    assert found["mediation"] == found["médiation"]
    page.get_by_role("link", name="Médiation familiale").click()
    expect(page).to_have_url(server + "/guides/mediation")


def test_history_and_diff_show_the_change_and_credits_name_the_author(browser: Browser, server: str) -> None:
    context = new_context(browser)
    try:
        tab = context.new_page()
        log_in(tab, server, "bruno")
        tab.goto(server + "/-/edit/guides/mediation")
        tab.get_by_label(TEXTAREA).fill(MEDIATION.replace("est gratuite", "est gratuite et sans engagement"))
        tab.get_by_label("Résumé de la modification").fill("Sans engagement")
        tab.get_by_role("button", name="Enregistrer").click()
        expect(tab.locator("article")).to_contain_text("sans engagement")

        tab.get_by_role("link", name="Historique").click()
        rows = tab.locator("table.history tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.first).to_contain_text("bruno")
        expect(rows.first).to_contain_text("Sans engagement")
        expect(rows.nth(1)).to_contain_text("alice")
        rows.first.get_by_role("link", name="diff").click()
        diff = tab.locator("table.diff")
        expect(diff.locator("tr.insert ins")).to_contain_text("et sans engagement")
        expect(diff.get_by_role("img", name="ajouté")).to_have_count(1)
        expect(diff.get_by_role("img", name="supprimé")).to_have_count(1)
        # Not by colour alone: changed words are underlined or struck through, and say so to screen readers.
        assert "underline" in diff.locator("ins").first.evaluate("e => getComputedStyle(e).textDecorationLine")
        expect(diff.locator("tr.insert td.text")).to_contain_text(
            "[début de l'ajout] et sans engagement [fin de l'ajout]")
        screenshot(tab, "flow-diff")

        tab.get_by_role("heading", level=1).get_by_role("link").click()
        expect(tab).to_have_url(server + "/guides/mediation")
        tab.get_by_role("link", name="Crédits").click()
        people = tab.locator("table.credits tbody")
        expect(people).to_contain_text("alice")
        expect(people).to_contain_text("bruno")
        who = tab.locator("pre.who-wrote")
        expect(who).to_contain_text("[bruno :]")
        expect(who).to_contain_text("[alice :]")
        # Not by colour alone: every passage starts with its author's number, as in the legend.
        passages = who.locator(".by")
        assert passages.count() >= 2
        for n in range(passages.count()):
            expect(passages.nth(n).locator(".marker")).to_have_text(re.compile(r"^\d+$"))
        expect(tab.locator("ol.legend")).to_contain_text("bruno")
        screenshot(tab, "flow-credits")
    finally:
        context.close()


def test_the_footer_switch_changes_the_interface_language(page: Page, server: str) -> None:
    page.goto(server + "/guides/mediation")
    assert page.evaluate("document.documentElement.lang") == "fr"
    page.get_by_label("Langue").select_option("en")
    page.get_by_role("button", name="Changer").click()
    expect(page).to_have_url(server + "/guides/mediation")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_label("Language")).to_have_value("en")
    expect(page.get_by_role("button", name="Change")).to_be_visible()
    expect(page.locator("article")).to_contain_text("La médiation familiale")  # content stays as written
    screenshot(page, "flow-english")
    page.goto(server + "/-/search?q=tarifs")  # the choice is remembered
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_label("Language").select_option("fr")
    page.get_by_role("button", name="Change").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two CSS ``rgb(r, g, b)`` colours."""
    def luminance(colour: str) -> float:
        channels = [int(c) / 255 for c in re.findall(r"\d+", colour)[:3]]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_focus_ring_stands_out_in_both_themes(browser: Browser, server: str, scheme: str) -> None:
    context = new_context(browser, color_scheme="dark" if scheme == "dark" else "light")
    try:
        page = context.new_page()
        page.goto(server + "/guides/mediation")
        page_colour = page.evaluate("getComputedStyle(document.body).backgroundColor")
        for _ in range(6):  # skip link, brand, search box, search button, the first links of the menu
            page.keyboard.press("Tab")
            ring = page.evaluate("(() => { const s = getComputedStyle(document.activeElement);"
                                 " return [s.outlineStyle, s.outlineWidth, s.outlineColor]; })()")
            assert ring[0] == "solid" and float(ring[1].rstrip("px")) >= 3, ring
            assert contrast(ring[2], page_colour) >= 3, (ring, page_colour)
        screenshot(page, f"flow-focus-{scheme}")
    finally:
        context.close()


# --- the keyboard alone -------------------------------------------------------------------------------------

FOCUS = """() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    return {tag: el.tagName, text: (el.innerText || el.value || el.getAttribute('aria-label') || '').trim(),
            id: el.id, outline: style.outlineStyle, width: parseFloat(style.outlineWidth)};
}"""


def focused(page: Page) -> dict[str, object]:
    """What has the focus now, and whether it shows a ring (outline style and width)."""
    return dict(page.evaluate(FOCUS))


def assert_focus_visible(page: Page) -> dict[str, object]:
    """The focused element shows a ring; waits up to 3 s like Playwright's assertions (a loaded CI machine
    once read the style before the stylesheet applied: the browser's own 1px ring)."""
    for _ in range(30):
        now = focused(page)
        if now["outline"] != "none" and float(str(now["width"])) >= 2:
            return now
        page.wait_for_timeout(100)
    raise AssertionError(f"focus not visible on {now}")


def tab_to(page: Page, wanted: str, limit: int = 60) -> dict[str, object]:
    """Press Tab until an element whose text is ``wanted`` has the focus; every stop must show its focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = assert_focus_visible(page)
        if now["text"] == wanted:
            return now
    raise AssertionError(f"{wanted!r} is not reachable with Tab")


def test_keyboard_only_search_open_edit_and_save(browser: Browser, server: str) -> None:
    context = new_context(browser)
    try:
        page = context.new_page()
        log_in(page, server, "clavier")
        page.goto(server + "/")
        page.keyboard.press("Tab")
        skip = assert_focus_visible(page)
        assert skip["text"] == "Aller au contenu"
        box = page.locator("a.skip").bounding_box()
        assert box is not None and box["x"] >= 0, "the skip link must show on screen when focused"
        page.keyboard.press("Enter")
        assert focused(page)["id"] == "contenu"

        page.keyboard.press("Shift+Tab")  # back up into the header, to its search box
        for _ in range(20):
            if focused(page)["id"] == "q":
                break
            page.keyboard.press("Shift+Tab")
        assert_focus_visible(page)
        assert focused(page)["id"] == "q"
        page.keyboard.type("médiation")
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"/-/search\?q="))

        tab_to(page, "Médiation familiale")
        page.keyboard.press("Enter")
        expect(page).to_have_url(server + "/guides/mediation")

        tab_to(page, "Modifier")
        page.keyboard.press("Enter")
        expect(page).to_have_url(server + "/-/edit/guides/mediation")
        for _ in range(60):
            page.keyboard.press("Tab")
            assert_focus_visible(page)
            if focused(page)["id"] == "markdown":
                break
        assert focused(page)["id"] == "markdown"
        page.keyboard.press("Control+End")
        page.keyboard.type("\nÀ noter : on peut venir à deux.\n")
        tab_to(page, "Enregistrer")
        screenshot(page, "flow-keyboard-save")
        page.keyboard.press("Enter")
        expect(page).to_have_url(server + "/guides/mediation")
        expect(page.locator("article")).to_contain_text("À noter : on peut venir à deux.")
    finally:
        context.close()
