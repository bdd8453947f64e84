"""Snippets: the passages of a page's text around the searched words, as escaped HTML with ``<mark>``.

Whoosh's highlighter re-analyses each hit's whole text through the analyzer's
chain of generators (about 25 ms a page). Here the text is cut into words with
one regular expression and each distinct word is analysed once (a cache), so a
page costs a dictionary look-up per word; only the pages shown are annotated.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from whoosh.query import Not, Prefix, Query

from commons import paths
from commons.search.analysis import stem_word

SCAN_CHARS = 20_000  # look for matches at the beginning of long pages only
FRAGMENT_CHARS = 240
CONTEXT_CHARS = 60
FRAGMENTS = 2
_WORD = re.compile(r"\w+")


@dataclass
class Matcher:
    """The index terms (stemmed, folded) and the prefixes (folded, unstemmed) a query looks for."""

    terms: set[str] = field(default_factory=set)
    prefixes: tuple[str, ...] = ()

    def matches(self, word: str) -> bool:
        """Whether a word of the text, analysed as the index analyses it, is one that was searched for."""
        if stem_word(word) in self.terms:
            return True
        return bool(self.prefixes) and _folded(word).startswith(self.prefixes)


@lru_cache(maxsize=100_000)
def _folded(word: str) -> str:
    return paths.fold(word)


def matcher_for(query: Query, fields: Iterable[str], prefix_fields: Iterable[str]) -> Matcher:
    """The words ``query`` looks for in ``fields``, its prefixes in ``prefix_fields`` (not those under a NOT)."""
    wanted, wanted_prefixes = set(fields), set(prefix_fields)
    found = Matcher()
    prefixes: list[str] = []

    def walk(node: Query) -> None:
        if isinstance(node, Not):
            return
        if isinstance(node, Prefix):
            if node.fieldname in wanted_prefixes:
                prefixes.append(str(node.text))
            return
        if node.is_leaf():
            for fieldname, text in node.iter_all_terms(phrases=True):
                if fieldname in wanted:
                    found.terms.add(text.decode("utf-8") if isinstance(text, bytes) else str(text))
            return
        for child in node.children():
            walk(child)

    walk(query)
    found.prefixes = tuple(prefixes)
    return found


def _matches(text: str, matcher: Matcher) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The searched words' spans, and up to ``FRAGMENTS`` windows each starting a little before one of them.

    The scan stops after the last window: a page costs what its first passages cost.
    """
    spans: list[tuple[int, int]] = []
    windows: list[tuple[int, int]] = []
    for found in _WORD.finditer(text):
        start, end = found.span()
        if len(windows) == FRAGMENTS and start >= windows[-1][1]:
            break
        if matcher.matches(found.group()):
            spans.append((start, end))
            if not windows or start >= windows[-1][1]:
                begin = max(0, start - CONTEXT_CHARS)
                windows.append((begin, min(len(text), max(end, begin + FRAGMENT_CHARS))))
    return spans, windows


def _trim(text: str, begin: int, end: int) -> tuple[int, int]:
    """Move the window's ends to word boundaries."""
    if begin > 0:
        space = text.find(" ", begin, begin + 20)
        begin = space + 1 if space >= 0 else begin
    if end < len(text):
        space = text.rfind(" ", end - 20, end)
        end = space if space > begin else end
    return begin, end


def _marked(text: str, begin: int, end: int, spans: list[tuple[int, int]]) -> str:
    out: list[str] = []
    at = begin
    for start, stop in spans:
        if start < begin or stop > end:
            continue
        out.append(html.escape(text[at:start]))
        out.append(f"<mark>{html.escape(text[start:stop])}</mark>")
        at = stop
    out.append(html.escape(text[at:end]))
    return "".join(out).strip()


def snippet(text: str, matcher: Matcher) -> str:
    """Escaped HTML: up to two passages of ``text`` with the searched words in ``<mark>``, else its beginning."""
    scanned = text[:SCAN_CHARS]
    spans, windows = _matches(scanned, matcher)
    if not spans:
        return html.escape(text[:200] + ("…" if len(text) > 200 else ""))
    parts = []
    end = 0
    for begin, end in (_trim(scanned, b, e) for b, e in windows):
        parts.append(("… " if begin > 0 else "") + _marked(scanned, begin, end, spans))
    return " ".join(parts) + (" …" if end < len(text) else "")
