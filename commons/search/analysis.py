"""French analysis and the index schema (Whoosh), plus the text a page contributes to the index."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from whoosh.analysis import Analyzer, CharsetFilter, Filter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.support.charset import accent_map

from commons import paths
from commons.markup import split_front_matter

ELISIONS = {"l", "d", "qu", "j", "n", "s", "c", "m", "t"}
# A short list of words that carry no meaning in a guide; phrases still match (positions are renumbered).
FRENCH_STOPS = ELISIONS | {
    "le", "la", "les", "un", "une", "des", "de", "du", "et", "ou", "à", "au", "aux", "en", "dans",
    "pour", "par", "sur", "avec", "ce", "cet", "cette", "ces", "qui", "que", "quoi", "est", "sont",
    "il", "elle", "ils", "elles", "on", "nous", "vous", "je", "ne", "pas", "se", "sa", "son", "ses",
    "leur", "leurs", "y", "a", "comment",
}  # fmt: skip
_WORD_PATTERN = r"\w+"


class _VocabularyFilter(Filter):  # type: ignore[misc]
    """Index ``folded|original`` so a suggestion found on folded text can be shown with its accents."""

    def __call__(self, tokens: Iterable[Any]) -> Iterable[Any]:
        for token in tokens:
            if len(token.text) > 2 and not token.text.isdigit():
                token.text = f"{paths.fold(token.text)}|{token.text}"
                yield token


def _analyzers() -> dict[str, Analyzer]:
    base = RegexTokenizer(_WORD_PATTERN) | LowercaseFilter()
    stop = StopFilter(stoplist=FRENCH_STOPS, minsize=1)
    fold = CharsetFilter(accent_map)
    stemmed = base | stop | fold | StemFilter(lang="fr", cachesize=50000)
    return {"stemmed": stemmed, "exact": base | stop | fold, "words": base | fold, "vocab": base | _VocabularyFilter()}


@lru_cache(maxsize=1)
def _stemmer() -> Analyzer:
    return _analyzers()["stemmed"]


@lru_cache(maxsize=200_000)
def stem_word(word: str) -> str | None:
    """A word as the ``content`` field indexes it (folded, stemmed), or ``None`` for a stop word."""
    for token in _stemmer()(word):
        return str(token.text)
    return None


def make_schema() -> Schema:
    """Fields: ``content`` (title and text) finds the pages; title and headings only add to the score.

    ``body`` is only stored (for snippets): searching one field instead of four
    scores each matching page once.
    """
    a = _analyzers()
    return Schema(
        path=ID(unique=True, stored=True),
        title=TEXT(analyzer=a["stemmed"], stored=True, field_boost=3.0),
        title_exact=TEXT(analyzer=a["exact"], field_boost=4.0),
        headings=TEXT(analyzer=a["stemmed"], field_boost=2.0),
        content=TEXT(analyzer=a["stemmed"]),
        body=STORED,
        spell=TEXT(analyzer=a["words"], phrase=False),
        vocab=TEXT(analyzer=a["vocab"], phrase=False),
        tags=KEYWORD(commas=True, lowercase=True, scorable=True, stored=True),
        folder=KEYWORD(stored=True),
        updated=DATETIME(stored=True, sortable=True),
        authors=KEYWORD(commas=True, stored=True),
        rev=STORED,
    )


_MD_NOISE = [
    (re.compile(r"```.*?```", re.S), " "),
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[\[([^\]|]+)\|([^\]]+)\]\]"), r"\2"),
    (re.compile(r"\[\[([^\]]+)\]\]"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[\^[^\]]+\]:?"), " "),
    (re.compile(r"<[^>]+>"), " "),
    (re.compile(r"^[ \t]*(#{1,6}|[-*+]|\d+\.|>|\|?[-:| ]{3,}\|?$)[ \t]*", re.M), ""),
    (re.compile(r"[*_`|]+"), " "),
]


def document_text(markdown: str) -> tuple[str, str, list[str]]:
    """(headings, plain body text, tags) of a page's Markdown, for indexing and snippets."""
    meta, body = split_front_matter(markdown)
    headings = " ".join(m.group(1) for m in re.finditer(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", body, re.M))
    for pattern, repl in _MD_NOISE:
        body = pattern.sub(repl, body)
    raw_tags = meta.get("tags", "").strip("[]")
    tags = [t.strip().strip("'\"").lower() for t in raw_tags.split(",") if t.strip()]
    return headings, re.sub(r"[ \t]+", " ", body).strip(), tags


def folders(path: str) -> str:
    parts = path.split("/")[:-1]
    return " ".join("/".join(parts[: i + 1]) for i in range(len(parts)))


