"""The link graph's cheap extraction agrees with the links a render finds, on every kind of text."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commons import markup
from commons.linktext import _plain_links, links_of
from commons.services import demo_pages

PAGE = "guides/logement/aides"

TRICKY = [
    "Voir [[Chèque énergie]] et [[../rsa|le RSA]] puis [[#section]] et [[|rien]].",
    "Lien [relatif](../rsa.md), [absolu](/droits/caf), [externe](https://exemple.fr), [ancre](#haut).",
    "![image](plan.png) et [fichier](plan.pdf) et [page](plan) et ![[image]].",
    "`[[dans du code]]` mais [[hors du code]].",
    "```\n[[dans un bloc]]\n```\n\n[[apres]]",
    "~~~\n[[tilde]]\n~~~\n",
    "    [[indenté, donc du code]]\n\n[[normal]]",
    "<div>[[html]]</div>\n\n<https://exemple.fr>",
    "\\[[échappé]] et [[pas échappé]]",
    "[réf][x] et [x]\n\n[x]: ../cible.md",
    "Note[^1].\n\n[^1]: Voir [[dans une note]].",
    "| A | B |\n|---|---|\n| [[x|y]] | [[z]] |",
    "| A | B |\n|---|---|\n| [a](b) | [[c]] |",
    "| pas un tableau | [[x|y]] |",
    "[[[triple]]] et [[a]]]",
    "[voir [[imbriqué]]](cible)",
    "[lien](cible \"titre\") et [espace] (pas un lien)",
    "---\ntitle: T\ntags: [a, b]\n---\n# [[titre]]\n\n- [[liste]]\n> [[citation]]",
    "[[../../../../hors]] et [[a/../b]] et [[./ici]] et [[ ]] et [[ # |x]]",
    "AT&amp;T [[a&b]] [x](y&z)",
    "[[Accueil]] [[home]] [accueil](/) [[guides/rsa#conditions|RSA]]",
    "* [[étoile]]\n+ [lien](x.md?a=1#b)\n1. [[un]]",
    "[vide]() et [[x\ny]] et [a](b)(c)",
]


@pytest.mark.parametrize("text", TRICKY)
@pytest.mark.parametrize("path", [PAGE, "home", ""])
def test_tricky_texts_give_the_links_a_render_gives(text: str, path: str) -> None:
    assert links_of(text, path) == markup.render(text, current_path=path).links


def test_demo_pages_give_the_links_a_render_gives() -> None:
    pages = demo_pages()
    assert len(pages) >= 5
    for path, text in pages.items():
        assert links_of(text, path) == markup.render(text, current_path=path).links, path


def test_plain_pages_are_read_without_rendering() -> None:
    text = ("# Titre\n\nVoir [[guides/rsa]] et [la CAF](../caf.md).\n\n- [[liste]]\n\n"
            "| A | B |\n|---|---|\n| [[x]] | y |\n")
    assert _plain_links(text, PAGE) == frozenset({"guides/rsa", "guides/caf", "liste", "x"})
    assert _plain_links("`[[code]]`", PAGE) is None


FRAGMENTS = st.sampled_from([
    "[[a]]", "[[b/c|C]]", "[[../d]]", "[[#s]]", "[e](f.md)", "[g](/h)", "[i](https://j)", "![k](l.png)",
    "[m]", "]", "[", "(", ")", "|", "---", "|---|---|", "`", "```", "~~~", "    ", "\t", "<b>", "\\", "&amp;",
    "# ", "- ", "> ", "1. ", "\n", "\n\n", " ", "mot", "é", "[^1]", "[^1]: n", "[x]: /y", "[[x|", "]]",
])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(FRAGMENTS, max_size=30).map("".join))
def test_any_mix_gives_the_links_a_render_gives(text: str) -> None:
    assert links_of(text, PAGE) == markup.render(text, current_path=PAGE).links


PLAIN = st.sampled_from([
    "[[a]]", "[[b/c|C]]", "[[../d]]", "[[Été]]", "[e](f.md)", "[g](/h)", "![k](l.png)", "[m](n.pdf)", "|",
    "|---|---|", "# ", "- ", "> ", "\n", "\n\n", " ", "mot", "[[x|", "]]", "[", "]", "(", ")",
])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(PLAIN, max_size=30).map("".join))
def test_plain_mixes_give_the_links_a_render_gives(text: str) -> None:
    assert links_of(text, PAGE) == markup.render(text, current_path=PAGE).links
