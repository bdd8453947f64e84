"""Section editing: finding headings like the renderer, cutting and splicing sections, and the web flow."""

from __future__ import annotations

import html
import re

import pytest
from conftest import csrf_token, logged_in
from flask import Flask
from flask.testing import FlaskClient

from commons import markup
from commons.errors import NotFound
from commons.pages import identity_for
from commons.sections import add_edit_links, headings, section_text, section_title, splice

PAGE = "# Titre\n\nIntro.\n\n## Un\n\ntexte un\n\n### Détail\n\ndétail\n\n## Deux\n\ntexte deux\n"

# Documents whose headings the renderer and the section finder must count alike.
SAMPLES = [
    PAGE,
    "Titre\n=====\n\nSous-titre\n----------\n\ntexte\n\n```\n# pas un titre\n```\n\n## Après\n",
    "---\ntitle: X\n---\n\n## A\n\n~~~python\n## non plus\n~~~\n\npara\nligne\n---\n\n### Profond\n",
    "```\n# fence jamais fermée\n\n## réel\n",
    "# a\n\npara\n# b collé\ntexte\nSetext?\n---\n",
    "####### sept dièses\n\n## fin ##\n",
    '```python hl_lines="1"\n# code\n```\n## après le code\n',
    "Texte.\n\n    # code indenté\n\n## Vrai\n",
]


def levels_rendered(text: str) -> list[int]:
    return [int(m) for m in re.findall(r"<h([1-6])\b", markup.render(text).html)]


# -- finding headings ------------------------------------------------------------------


@pytest.mark.parametrize("text", SAMPLES)
def test_headings_are_those_the_renderer_makes(text: str) -> None:
    assert [h.level for h in headings(text)] == levels_rendered(text)


def test_headings_number_titles_and_extents() -> None:
    found = headings(PAGE)
    assert [(h.number, h.level, h.title) for h in found] == [
        (1, 1, "Titre"), (2, 2, "Un"), (3, 3, "Détail"), (4, 2, "Deux")]
    lines = PAGE.split("\n")
    assert lines[found[1].start] == "## Un" and lines[found[1].end] == "## Deux"  # "Un" includes "Détail"
    assert found[0].end == len(PAGE.splitlines())  # the title section runs to the end


def test_headings_in_fenced_code_do_not_count() -> None:
    text = "## A\n\n```markdown\n## pas une section\nTitre\n===\n```\n\n~~~~\n# non\n~~~~\n\n## B\n"
    assert [h.title for h in headings(text)] == ["A", "B"]
    assert "## pas une section" in section_text(text, 1)


def test_an_unclosed_fence_is_text() -> None:
    assert [h.title for h in headings("```\n## vrai titre\n")] == ["vrai titre"]


def test_front_matter_is_not_a_heading() -> None:
    text = "---\ntitle: Guide\n---\nTexte\n---\n"
    assert [(h.level, h.title) for h in headings(text)] == [(2, "Texte")]
    assert section_text(text, 0) == "---\ntitle: Guide\n---\n"


def test_titles_are_plain_text() -> None:
    text = "## Les **aides** et [[guides/rsa|le RSA]] ##\n\n## `code` et [lien](http://x)\n"
    assert [h.title for h in headings(text)] == ["Les aides et le RSA", "code et lien"]


# -- cutting and splicing --------------------------------------------------------------


def test_section_text() -> None:
    assert section_text(PAGE, 0) == ""
    assert section_text(PAGE, 2) == "## Un\n\ntexte un\n\n### Détail\n\ndétail\n"
    assert section_text(PAGE, 3) == "### Détail\n\ndétail\n"
    assert section_text(PAGE, 4) == "## Deux\n\ntexte deux\n"
    assert section_title(PAGE, 4) == "Deux"
    assert section_text("Intro.\n\n## A\n", 0) == "Intro.\n"


@pytest.mark.parametrize("number", [5, 99])
def test_section_out_of_range(number: int) -> None:
    with pytest.raises(NotFound):
        section_text(PAGE, number)
    with pytest.raises(NotFound):
        splice(PAGE, number, "## X\n")


@pytest.mark.parametrize("text", SAMPLES)
def test_splicing_a_section_back_unchanged_changes_nothing(text: str) -> None:
    for number in range(1, len(headings(text)) + 1):
        assert splice(text, number, section_text(text, number)) == text


def test_splice_keeps_the_rest_line_for_line() -> None:
    new = splice(PAGE, 2, "## Un\n\ntexte un, revu\n")  # no trailing blank line sent: the gap is kept
    assert new == PAGE.replace("texte un\n\n### Détail\n\ndétail\n", "texte un, revu\n")
    last = splice(PAGE, 4, "## Deux\r\n\r\ntexte deux, revu\r\n\r\n\r\n")
    assert last.endswith("## Deux\n\ntexte deux, revu\n") and last.startswith(PAGE[:PAGE.index("## Deux")])


def test_splice_can_add_and_remove_sections() -> None:
    added = splice(PAGE, 4, "## Deux\n\ntexte deux\n\n## Trois\n\ntexte trois\n")
    assert [h.title for h in headings(added)][-2:] == ["Deux", "Trois"]
    removed = splice(PAGE, 3, "")
    assert "Détail" not in removed and "## Deux" in removed and "texte un\n\n## Deux" in removed


def test_splice_a_section_holding_a_fence() -> None:
    text = "## A\n\n```\n## dans le code\n```\n\n## B\n\nb\n"
    new = splice(text, 1, "## A\n\n```\n## encore du code\n```\n")
    assert new == "## A\n\n```\n## encore du code\n```\n\n## B\n\nb\n"


# -- links in the rendered page --------------------------------------------------------


def test_edit_links_follow_h2_to_h6() -> None:
    rendered = markup.render(PAGE).html
    linked = add_edit_links(rendered, PAGE, lambda n: f"/-/edit/p?section={n}&x=1")
    hrefs = re.findall(r'<a class="edit-section" href="([^"]+)"', linked)
    assert hrefs == ["/-/edit/p?section=2&amp;x=1", "/-/edit/p?section=3&amp;x=1", "/-/edit/p?section=4&amp;x=1"]
    assert re.search(r'</h2><a class="edit-section"[^>]*aria-label="Modifier la section « Un »"', linked)
    assert "</h1><a" not in linked  # no link for the page title


def test_edit_link_labels_are_escaped() -> None:
    text = '## Un "titre" & <b>gras</b>\n'
    linked = add_edit_links(markup.render(text).html, text, lambda n: f"/e?section={n}")
    label = re.search(r'aria-label="([^"]*)"', linked)
    assert label and html.unescape(label.group(1)) == 'Modifier la section « Un "titre" & gras »'


def test_no_links_when_source_and_rendering_disagree() -> None:
    text = "> ## Citée\n\n## Vraie\n\n<h2>brute</h2>\n"
    rendered = markup.render(text).html
    assert add_edit_links(rendered, text, lambda n: f"/e?section={n}") == rendered


# -- the web flow ----------------------------------------------------------------------


def post_section(client: FlaskClient, path: str, number: int, markdown: str, base_rev: str,
                 summary: str = "") -> object:
    token = csrf_token(client, f"/-/edit/{path}?section={number}")
    return client.post(f"/-/edit/{path}", data={"markdown": markdown, "summary": summary, "base_rev": base_rev,
                                                 "section": str(number), "csrf_token": token})


def textarea(page: str) -> str:
    found = re.search(r'<textarea id="markdown"[^>]*>(.*?)</textarea>', page, re.S)
    assert found
    return html.unescape(found.group(1))


TWO = "## Un\n\ntexte un\n\n## Deux\n\ntexte deux\n"


@pytest.fixture
def two_sections(app: Flask) -> str:
    services = app.extensions["commons"]
    return str(services.pages.save("guide", TWO, "départ", None, identity_for("carol")).rev)


def test_page_view_links_each_section(app: Flask, client: FlaskClient, two_sections: str) -> None:
    page = client.get("/guide").get_data(as_text=True)
    assert re.findall(r'class="edit-section" href="([^"]+)"', page) == [
        "/-/edit/guide?section=1", "/-/edit/guide?section=2"]
    old = client.get(f"/guide?rev={two_sections}").get_data(as_text=True)
    assert "edit-section" in old  # still the current revision
    app.extensions["commons"].pages.save("guide", TWO + "\nfin\n", "suite", two_sections, identity_for("carol"))
    assert "edit-section" not in client.get(f"/guide?rev={two_sections}").get_data(as_text=True)


def test_section_form_shows_only_that_section(app: Flask, two_sections: str) -> None:
    alice = logged_in(app, "alice")
    page = alice.get("/-/edit/guide?section=2").get_data(as_text=True)
    assert textarea(page) == "## Deux\n\ntexte deux\n"
    assert 'name="section" value="2"' in page and f'name="base_rev" value="{two_sections}"' in page
    assert "la section « Deux »" in page


@pytest.mark.parametrize("query", ["section=3", "section=99", "section=x", "section=-1"])
def test_section_out_of_range_is_404(app: Flask, two_sections: str, query: str) -> None:
    alice = logged_in(app, "alice")
    assert alice.get(f"/-/edit/guide?{query}").status_code == 404
    assert alice.get(f"/-/edit/nouvelle?{query}").status_code == 404


def test_posting_an_out_of_range_section_keeps_the_text(app: Flask, two_sections: str) -> None:
    alice = logged_in(app, "alice")
    token = csrf_token(alice, "/-/edit/guide")
    response = alice.post("/-/edit/guide", data={"markdown": "## Cinq\n\nmon texte\n", "base_rev": two_sections,
                                                 "section": "5", "csrf_token": token})
    assert response.status_code == 404
    assert textarea(response.get_data(as_text=True)) == "## Cinq\n\nmon texte\n"
    assert app.extensions["commons"].pages.get("guide").markdown == TWO


def test_section_edit_saves_the_whole_page(app: Flask, two_sections: str) -> None:
    alice = logged_in(app, "alice")
    response = post_section(alice, "guide", 2, "## Deux\n\ntexte deux, précisé\n", two_sections)
    assert response.status_code == 303  # type: ignore[attr-defined]
    services = app.extensions["commons"]
    assert services.pages.get("guide").markdown == "## Un\n\ntexte un\n\n## Deux\n\ntexte deux, précisé\n"
    latest = services.history.revisions("guide", 1)[0]
    assert latest.author == "alice" and latest.summary == "Modification de la section « Deux »"


def test_concurrent_edits_of_two_sections_are_both_kept(app: Flask, two_sections: str) -> None:
    alice, bob = logged_in(app, "alice"), logged_in(app, "bob")
    form = alice.get("/-/edit/guide?section=2").get_data(as_text=True)  # alice opens section 2
    assert f'name="base_rev" value="{two_sections}"' in form
    assert post_section(bob, "guide", 1, "## Un\n\ntexte un, par bob\n", two_sections).status_code == 303  # type: ignore[attr-defined]
    response = post_section(alice, "guide", 2, "## Deux\n\ntexte deux, par alice\n", two_sections, "ma part")
    assert response.status_code == 303  # type: ignore[attr-defined]
    final = app.extensions["commons"].pages.get("guide").markdown
    assert final == "## Un\n\ntexte un, par bob\n\n## Deux\n\ntexte deux, par alice\n"
    assert "fusionnés" in alice.get("/guide").get_data(as_text=True)


def test_concurrent_edits_of_the_same_lines_conflict_and_keep_the_text(app: Flask, two_sections: str) -> None:
    alice, bob = logged_in(app, "alice"), logged_in(app, "bob")
    assert post_section(bob, "guide", 2, "## Deux\n\ntexte de bob\n", two_sections).status_code == 303  # type: ignore[attr-defined]
    response = post_section(alice, "guide", 2, "## Deux\n\ntexte d'alice\n", two_sections)
    assert response.status_code == 409  # type: ignore[attr-defined]
    page = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert textarea(page) == "## Un\n\ntexte un\n\n## Deux\n\ntexte d'alice\n"  # the whole page, her words in it
    assert 'name="section"' not in page  # resolving the conflict is a whole-page edit
    assert "texte de bob" in app.extensions["commons"].pages.get("guide").markdown
