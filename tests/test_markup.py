"""Unit tests for commons.markup: Markdown -> safe HTML, titles, front matter."""

from __future__ import annotations

import re
import threading
from html.parser import HTMLParser
from pathlib import Path

import pytest

from commons.markup import (
    Rendered,
    page_of_href,
    pygments_css,
    render,
    sanitise,
    split_front_matter,
    title_of,
)

STATIC_CSS = Path(__file__).resolve().parent.parent / "static" / "pygments.css"


class _Collector(HTMLParser):
    """Every start tag of a document with its (unescaped) attributes, and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    handle_startendtag = handle_starttag

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def tags_of(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Collector()
    parser.feed(html)
    parser.close()
    return parser.tags


def links_of(html: str) -> list[dict[str, str]]:
    return [attrs for tag, attrs in tags_of(html) if tag == "a"]


def text_of(html: str) -> str:
    parser = _Collector()
    parser.feed(html)
    parser.close()
    return "".join(parser.text)


FORBIDDEN_TAGS = {
    "script", "iframe", "object", "embed", "svg", "math", "base", "meta", "style", "form",
    "input", "link", "frame", "frameset", "applet", "textarea", "button", "select", "template",
}  # fmt: skip
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "background", "poster", "data"}


def as_browser_url(value: str) -> str:
    """What a browser's URL parser sees: outer C0/space stripped, tabs and newlines removed."""
    outer = "".join(chr(c) for c in range(0x21))
    return re.sub(r"[\t\n\r]", "", value.strip(outer)).lower()


def assert_safe(html: str) -> None:
    assert "<script" not in html.lower()
    for tag, attrs in tags_of(html):
        assert tag not in FORBIDDEN_TAGS, (tag, html)
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name, html)
            assert name != "style", (tag, html)
            if name in URL_ATTRIBUTES:
                url = as_browser_url(value)
                assert not url.startswith(("javascript:", "vbscript:", "data:")), (tag, value)


HOSTILE = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](java&#x73;cript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x]( javascript:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "![x](javascript:alert(1))",
    "![x](data:image/svg+xml;base64,PHN2Zz4=)",
    "[x](data:text/html,<script>alert(1)</script>)",
    "<iframe src=//evil></iframe>",
    "<svg onload=alert(1)>",
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="&#x6A;avascript:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="' + "".join(f"&#{ord(c):07d}" for c in "javascript:") + 'alert(1)">x</a>',
    '<a href=" &#14;  javascript:alert(1)">x</a>',
    '<base href="//evil/">',
    '<meta http-equiv="refresh" content="0;url=//evil">',
    '<link rel="stylesheet" href="//evil/x.css">',
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<div style="background:expression(alert(1))">x</div>',
    "<form action=//evil><input name=q><button formaction=javascript:alert(1)>b</button></form>",
    "<object data=x></object>",
    "<embed src=x>",
    '[x](/a "\\"><script>alert(1)</script>")',
    "[[x|<img src=x onerror=alert(1)>]]",
    "[[<script>alert(1)</script>]]",
    "[x][r]\n\n[r]: javascript:alert(1)",
    "![x][r]\n\n[r]: JAVASCRIPT:alert(1)",
    "<javascript:alert(1)>",
    "<details open ontoggle=alert(1)><summary>s</summary>x</details>",
    '| a |\n|---|\n| <img src="x" onerror="alert(1)"> |',
    '<img alt="[x](javascript:alert(1))" src="*x*">',
    '<a title="[x](javascript:alert(1))" href="/ok">x</a>',
    '<a href="[x](javascript:alert(1))">x</a>',
    "<p onmouseover=alert(1)>hover</p>",
    '<a href="x" ONCLICK="alert(1)">x</a>',
    '<img src="x`onerror=alert(1)`">',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "<!--><script>alert(1)</script>-->",
    '<table background="javascript:alert(1)"><tr><td>x</td></tr></table>',
    "<video poster=javascript:alert(1)></video>",
    "```html\n</code></pre><script>alert(1)</script>\n```",
    "`</code><script>alert(1)</script>`",
    "# <img src=x onerror=alert(1)>\n## second",
    "[^1]\n\n[^1]: <script>alert(1)</script>",
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<img src="data:image/png;base64,iVBORw0KGgo=">',
    "<template><script>alert(1)</script></template>",
    "<isindex action=javascript:alert(1) type=image>",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_input_is_neutralised(text: str) -> None:
    result = render(text, current_path="guides/rsa")
    assert_safe(result.html)
    assert_safe(result.toc)
    assert_safe(sanitise(text))


def test_hostile_table_is_large_enough() -> None:
    assert len(HOSTILE) >= 30


def test_sanitise_keeps_safe_html() -> None:
    out = sanitise('<p><strong>gras</strong> <a href="https://exemple.fr/a">lien</a></p>')
    assert "<strong>gras</strong>" in out
    assert links_of(out)[0]["href"] == "https://exemple.fr/a"


def test_style_and_classes_of_the_ui_are_dropped() -> None:
    out = render('<span class="admin-banner" style="color:red">x</span>').html
    tag, attrs = tags_of(out)[1]
    assert tag == "span"
    assert "style" not in attrs
    assert attrs.get("class", "") == ""


# --- legitimate content survives -------------------------------------------------------


def test_http_https_and_mailto_links_survive() -> None:
    out = render("[a](http://exemple.fr) [b](https://exemple.fr/x?y=1&z=2) [c](mailto:contact@exemple.fr)").html
    assert [a["href"] for a in links_of(out)] == [
        "http://exemple.fr",
        "https://exemple.fr/x?y=1&z=2",
        "mailto:contact@exemple.fr",
    ]


def test_autolinks_survive() -> None:
    out = render("<https://exemple.fr/a> et <contact@exemple.fr>").html
    assert [a["href"] for a in links_of(out)] == ["https://exemple.fr/a", "mailto:contact@exemple.fr"]


def test_relative_links_and_images_survive() -> None:
    out = render('[doc](/files/guide.pdf) [ici](#section) ![plan](images/plan.png "Plan")').html
    assert [a["href"] for a in links_of(out)] == ["/files/guide.pdf", "#section"]
    imgs = [attrs for tag, attrs in tags_of(out) if tag == "img"]
    assert imgs == [{"alt": "plan", "src": "images/plan.png", "title": "Plan"}]


def test_code_block_with_script_is_shown_as_text() -> None:
    out = render("```html\n<script>alert(1)</script>\n```\n\nEt `<b>inline</b>`.").html
    assert "<script" not in out
    assert "&lt;" in out
    assert "<script>alert(1)</script>" in text_of(out)
    assert "<b>inline</b>" in text_of(out)


def test_simple_inline_html_is_kept() -> None:
    out = render("Appuyez sur <kbd>Entrée</kbd>, <mark>important</mark>, H<sub>2</sub>O.").html
    assert "<kbd>Entrée</kbd>" in out
    assert "<mark>important</mark>" in out
    assert "<sub>2</sub>" in out


# --- Markdown features ---------------------------------------------------------------


def test_table_with_alignment() -> None:
    out = render("| Aide | Montant |\n|:-----|--------:|\n| RSA | 607 € |\n").html
    cells = [(tag, attrs) for tag, attrs in tags_of(out) if tag in ("th", "td")]
    assert [tag for tag, _ in cells] == ["th", "th", "td", "td"]
    assert cells[1][1] == {"align": "right"}
    assert "607 €" in text_of(out)
    assert "style" not in out


def test_fenced_code_is_highlighted() -> None:
    out = render("```python\ndef aide(montant):\n    return montant\n```").html
    assert '<div class="highlight">' in out
    assert '<span class="k">def</span>' in out
    assert "def aide(montant):" in text_of(out)


def test_fenced_code_in_unknown_language_is_plain_text() -> None:
    out = render("```inconnu\n<x> & y\n```").html
    assert '<div class="highlight">' in out
    assert "<x> & y" in text_of(out)


def test_footnotes_reference_and_definition_link_to_each_other() -> None:
    out = render("Le délai est de deux mois[^1].\n\n[^1]: Article R. 262-1.").html
    ids = {attrs["id"] for _, attrs in tags_of(out) if "id" in attrs}
    hrefs = [a["href"] for a in links_of(out)]
    assert {"fnref:1", "fn:1"} <= ids
    assert "#fn:1" in hrefs and "#fnref:1" in hrefs
    assert "Article R. 262-1." in text_of(out)


def test_toc_with_french_headings() -> None:
    result = render("# Le RSA\n\n## Pièces à fournir\n\n## Délais\n\n## Délais\n")
    heading_ids = [attrs.get("id") for tag, attrs in tags_of(result.html) if tag in ("h1", "h2")]
    assert heading_ids == ["le-rsa", "pieces-a-fournir", "delais", "delais_1"]
    toc_hrefs = [a["href"] for a in links_of(result.toc)]
    assert toc_hrefs == ["#le-rsa", "#pieces-a-fournir", "#delais", "#delais_1"]
    assert "Pièces à fournir" in text_of(result.toc)


def test_toc_is_empty_with_fewer_than_two_headings() -> None:
    assert render("# Seul titre\n\nTexte.").toc == ""
    assert render("Pas de titre.").toc == ""


def test_render_title_is_first_level_one_heading() -> None:
    assert render("## Avant\n\n# Le **RSA** & moi\n\n# Autre").title == "Le RSA & moi"
    assert render("## Pas de niveau un").title is None


def test_front_matter_is_not_rendered() -> None:
    result = render("---\ntitle: Caché\nauthor: x\n---\nCorps visible.")
    assert text_of(result.html).strip() == "Corps visible."


def test_sane_lists_keep_start_number() -> None:
    out = render("3. trois\n4. quatre\n").html
    assert '<ol start="3">' in out


def test_rendered_is_frozen() -> None:
    result = render("x")
    assert isinstance(result, Rendered)
    with pytest.raises(AttributeError):
        result.html = "y"  # type: ignore[misc]


# --- wikilinks --------------------------------------------------------------------------


def test_wikilink_to_existing_page() -> None:
    result = render("Voir [[Accès aux droits]].")
    (link,) = links_of(result.html)
    assert link["href"] == "/acces-aux-droits"
    assert "wikilink" in link["class"].split()
    assert "Accès aux droits" in text_of(result.html)
    assert result.links == frozenset({"acces-aux-droits"})


def test_wikilink_with_label() -> None:
    out = render("[[guides/rsa|le RSA]]").html
    (link,) = links_of(out)
    assert link["href"] == "/guides/rsa"
    assert text_of(out) == "le RSA"


def test_wikilink_with_section() -> None:
    (link,) = links_of(render("[[guides/rsa#Pièces à fournir|pièces]]").html)
    assert link["href"] == "/guides/rsa#pieces-a-fournir"


def test_wikilink_to_home_goes_to_root() -> None:
    (link,) = links_of(render("[[Home]]").html)
    assert link["href"] == "/"


def test_wikilink_to_missing_page_is_a_red_link() -> None:
    result = render("[[Aide au logement]]", page_exists=lambda path: path != "aide-au-logement")
    (link,) = links_of(result.html)
    assert "new" in link["class"].split()
    assert link["href"] == "/-/edit/aide-au-logement"
    assert "aide-au-logement" in link["title"]
    assert result.links == frozenset({"aide-au-logement"})


def test_page_exists_is_given_the_resolved_path() -> None:
    asked: list[str] = []

    def exists(path: str) -> bool:
        asked.append(path)
        return True

    render("[[Accès aux droits]] [[Accès aux droits|encore]]", page_exists=exists)
    assert asked == ["acces-aux-droits"]


def test_relative_wikilink_resolves_from_current_folder() -> None:
    result = render("[[../aides/apl]] [[./rsa]]", current_path="guides/social/page")
    assert [a["href"] for a in links_of(result.html)] == ["/guides/aides/apl", "/guides/social/rsa"]


@pytest.mark.parametrize("current", ["", "home", "guides/rsa"])
@pytest.mark.parametrize("target", ["../../etc/passwd", "../../../x", "guides/../../x", "!!!", "   "])
def test_invalid_wikilink_is_not_a_link(target: str, current: str) -> None:
    out = render(f"[[{target}]]", current_path=current).html
    assert links_of(out) == []
    spans = [attrs for tag, attrs in tags_of(out) if tag == "span"]
    if target.strip():
        assert spans == [{"class": "wikilink invalid"}]
        assert target in text_of(out)


def test_wikilink_never_points_at_an_option_like_path() -> None:
    # paths.slugify drops the leading dash: the link goes to the page "rf", never "-rf".
    result = render("[[-rf]] [[--help|aide]]")
    for link in links_of(result.html):
        assert not any(seg.startswith("-") for seg in link["href"].split("/") if seg and seg != "-")
    assert not any(p.startswith("-") for p in result.links)


def test_wikilink_label_is_escaped_text() -> None:
    out = render("[[x|<b>y</b>]]").html
    assert "<b>" not in out
    assert text_of(out) == "<b>y</b>"


def test_wikilink_inside_code_is_left_alone() -> None:
    result = render("`[[Accès aux droits]]`\n\n```\n[[Autre]]\n```")
    assert links_of(result.html) == []
    assert result.links == frozenset()


def test_links_collects_every_linked_page() -> None:
    text = "[[Accès aux droits]] [[guides/rsa|RSA]] [[Manquante]] [[../../x]] [a](autre) [b](https://x.fr/p)"
    result = render(text, current_path="guides/intro", page_exists=lambda p: p != "manquante")
    assert result.links == frozenset({"acces-aux-droits", "guides/rsa", "manquante", "guides/autre"})


# --- relative Markdown links -------------------------------------------------------------


def test_relative_markdown_links_are_recorded_and_lose_md() -> None:
    result = render("[x](autre-page) [y](../guides/rsa.md#delais) [z](/aides/apl.md)", current_path="guides/intro")
    assert [a["href"] for a in links_of(result.html)] == ["autre-page", "../guides/rsa#delais", "/aides/apl"]
    assert result.links == frozenset({"guides/autre-page", "guides/rsa", "aides/apl"})


def test_absolute_urls_are_not_rewritten_nor_recorded() -> None:
    result = render("[x](https://exemple.fr/page.md) [y](//cdn.exemple.fr/a.md)")
    assert [a["href"] for a in links_of(result.html)] == ["https://exemple.fr/page.md", "//cdn.exemple.fr/a.md"]
    assert result.links == frozenset()


def test_links_to_files_and_outside_the_wiki_are_not_pages() -> None:
    result = render("[a](guide.pdf) [b](../../../x) [c](/-/edit/x)", current_path="guides/rsa")
    assert result.links == frozenset()


@pytest.mark.parametrize(
    ("href", "current", "expected"),
    [
        ("autre-page", "guides/rsa", ("autre-page", "guides/autre-page")),
        ("../aides/apl.md?x=1#y", "guides/rsa", ("../aides/apl?x=1#y", "aides/apl")),
        ("/", "guides/rsa", ("/", "home")),
        ("mailto:a@b.fr", "", ("mailto:a@b.fr", None)),
        ("#local", "", ("#local", None)),
        ("Mon%20Fichier.md", "", ("Mon%20Fichier", None)),
    ],
)
def test_page_of_href(href: str, current: str, expected: tuple[str, str | None]) -> None:
    assert page_of_href(href, current) == expected


# --- titles and front matter ----------------------------------------------------------


def test_title_from_front_matter() -> None:
    text = '---\ntitle: "Accès aux droits : le guide"\n---\n# Autre titre\n'
    assert title_of(text, "guides/acces") == "Accès aux droits : le guide"


def test_title_from_first_heading() -> None:
    assert title_of("Intro\n\n# Le **RSA** en bref #\n\n# Second", "guides/rsa") == "Le RSA en bref"


def test_title_from_path() -> None:
    assert title_of("Pas de titre ici.\n\n## Sous-titre", "guides/acces-aux-droits") == "Acces aux droits"


def test_heading_inside_fenced_code_is_not_a_title() -> None:
    text = "```bash\n# installer\napt install x\n```\n\n~~~\n# encore du code\n~~~\n"
    assert title_of(text, "guides/installation") == "Installation"
    assert title_of(text + "# Le vrai titre\n", "x") == "Le vrai titre"
    assert render(text).title is None


def test_empty_front_matter_title_falls_back() -> None:
    assert title_of("---\ntitle:\n---\n# Titre du texte", "x") == "Titre du texte"


def test_split_front_matter() -> None:
    meta, body = split_front_matter("---\nTitle: 'L''été'\ntags:\n  - a\n  - b\nauteur: Anne\n---\nCorps\n")
    assert meta == {"title": "L'été", "tags": "", "auteur": "Anne"}
    assert body == "Corps\n"


def test_split_front_matter_crlf_and_folded_value() -> None:
    meta, body = split_front_matter("---\r\ntitle: >\r\n  Un long\r\n  titre\r\n---\r\nCorps")
    assert meta == {"title": "Un long titre"}
    assert body == "Corps"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Pas de front matter",
        "---\n",
        "---\ntitle: jamais fermé\n",
        "---\nUne ligne de prose\n---\nsuite",
        "--- \n\n---\nx",
        "----\ntitle: x\n----\n",
        "\n---\ntitle: x\n---\n",
        "---\n: sans clé\n---\n",
        "---\n\x00\x01: \ud800\n---\n",
    ],
)
def test_split_front_matter_without_front_matter(text: str) -> None:
    assert split_front_matter(text) == ({}, text)


def test_rendering_is_thread_safe() -> None:
    texts = [f"# Page {i}\n\n[[Page {i}]] et [lien](p{i})\n\n## Section {i}" for i in range(40)]
    results: dict[int, Rendered] = {}

    def work(i: int) -> None:
        results[i] = render(texts[i], current_path=f"dossier/page-{i}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(texts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, result in results.items():
        assert result.title == f"Page {i}"
        assert result.links == frozenset({f"page-{i}", f"dossier/p{i}"})


# --- code highlighting style sheet ----------------------------------------------------


def test_pygments_css_has_light_and_dark_styles() -> None:
    css = pygments_css()
    assert ".highlight .k " in css
    _, dark = css.split("@media (prefers-color-scheme: dark)")
    assert ".highlight .k " in dark
    assert css.count("{") == css.count("}")


def test_static_pygments_css_is_generated() -> None:
    css = STATIC_CSS.read_text(encoding="utf-8")
    assert "@media (prefers-color-scheme: dark)" in css
    assert ".highlight .k " in css


# --- odd input never breaks a page -----------------------------------------------------


def test_lone_surrogate_from_json_is_replaced() -> None:
    result = render("Texte \ud800 [[Page]]")
    assert "\ufffd" in text_of(result.html)
    assert result.links == frozenset({"page"})
    assert sanitise("<p>\udfff</p>") == "<p>\ufffd</p>"


def test_pathological_nesting_is_shown_as_text() -> None:
    text = "- " * 3000 + "fin <script>x</script>"
    result = render(text)
    assert_safe(result.html)
    assert "fin <script>x</script>" in text_of(result.html)
    assert result.title is None
