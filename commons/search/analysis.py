"""French analysis and the index schema (Whoosh), plus the text a page contributes to the index."""

from __future__ import annotations

import re
import struct
from collections import Counter
from collections.abc import Iterable, Iterator
from functools import cache, lru_cache
from typing import Any

from whoosh.analysis import Analyzer, CharsetFilter, Filter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.formats import Format, Frequency, Positions
from whoosh.support.charset import accent_map
from whoosh.system import pack_uint

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
_WORDS = re.compile(_WORD_PATTERN)
RENUMBERED = ("stemmed", "exact")  # analyzers with a StopFilter: kept words are numbered consecutively
PAIR_FIELD = "pairs"  # adjacent stemmed words of title and text: a phrase is looked up as pairs of words
_TABLE_LIMIT = 500_000  # distinct words remembered per analyzer before the table starts again


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


@cache
def _analyzer(kind: str) -> Analyzer:
    return _analyzers()[kind]


@cache
def _table(kind: str) -> dict[str, str | None]:
    """What analyzer ``kind`` makes of each word seen so far (``None``: dropped). Grows with the vocabulary."""
    return {}


class _Split(Exception):
    """An analyzer made several tokens of one word: index that text the slow way."""


def _analysed(kind: str, word: str) -> str | None:
    table = _table(kind)
    if len(table) >= _TABLE_LIMIT:
        table.clear()
    texts = [str(t.text) for t in _analyzer(kind)(word)]
    if len(texts) > 1:
        raise _Split(word)
    table[word] = texts[0] if texts else None
    return table[word]


@lru_cache(maxsize=8)
def _words(text: str) -> tuple[str, ...]:
    """The words of a text as the tokenizer cuts it (the fields of a page share one text: cut once)."""
    return tuple(_WORDS.findall(text))


@lru_cache(maxsize=8)
def _stream(kind: str, text: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The terms of ``text`` under analyzer ``kind`` in order, and their positions (as Whoosh numbers them)."""
    table, missing = _table(kind), _MISSING
    get = table.get
    terms: list[str] = []
    positions: list[int] = []
    renumber = kind in RENUMBERED
    pos = -1
    for i, word in enumerate(_words(text)):
        term = get(word, missing)
        if term is missing:
            term = _analysed(kind, word)
        if term is None:
            continue
        pos = pos + 1 if renumber and pos >= 0 else i  # StopFilter: the first kept word keeps its position
        terms.append(term)
        positions.append(pos)
    return tuple(terms), tuple(positions)


def analysed_positions(kind: str, text: str) -> dict[str, list[int]]:
    """Each index term of ``text`` under analyzer ``kind``, with its positions."""
    poses: dict[str, list[int]] = {}
    for term, pos in zip(*_stream(kind, text), strict=True):
        if term in poses:
            poses[term].append(pos)
        else:
            poses[term] = [pos]
    return poses


def word_pairs(kind: str, text: str) -> dict[str, list[int]]:
    """Each pair of terms (``"a b"``) at consecutive positions in ``text``, with the positions of its first word.

    A two-word phrase found there is one of these terms; a longer one is found where its pairs follow
    each other (pair ``i`` of the phrase at position ``p + i``).
    """
    terms, positions = _stream(kind, text)
    found: dict[str, list[int]] = {}
    for i in range(len(terms) - 1):
        if positions[i + 1] == positions[i] + 1:
            pair = f"{terms[i]} {terms[i + 1]}"
            if pair in found:
                found[pair].append(positions[i])
            else:
                found[pair] = [positions[i]]
    return found


class PairPositions(Format):  # type: ignore[misc]
    """A pair's positions in a page as little-endian 32-bit integers (frequency: how many there are).

    Whoosh's ``Positions`` pickles a list per posting; these read back as one array for many pages at once.
    """

    posting_size = -1

    def encode(self, positions: list[int]) -> bytes:
        return struct.pack(f"<{len(positions)}I", *positions)

    def decode_positions(self, value: bytes) -> list[int]:
        return list(struct.unpack(f"<{len(value) // 4}I", value))

    def decode_frequency(self, value: bytes) -> int:
        return len(value) // 4

    def decode_weight(self, value: bytes) -> float:
        return 1.0


_MISSING: Any = object()


class FastText(TEXT):  # type: ignore[misc]
    """A TEXT field that indexes with a table of analysed words instead of a chain of generators per token.

    The terms, frequencies, weights and positions are the ones the analyzer
    gives (each distinct word goes through it once); queries still use it.
    """

    def __init__(self, kind: str, **kwargs: Any) -> None:
        super().__init__(analyzer=_analyzer(kind), **kwargs)
        self.kind = kind

    def index(self, value: Any, **kwargs: Any) -> Iterator[tuple[bytes, int, float, bytes]]:
        if not isinstance(value, str) or kwargs or type(self.format) not in (Positions, Frequency):
            return super().index(value, **kwargs)  # type: ignore[no-any-return]
        try:
            return iter(self._postings(value))
        except _Split:
            return super().index(value, **kwargs)  # type: ignore[no-any-return]

    def _postings(self, value: str) -> list[tuple[bytes, int, float, bytes]]:
        boost = self.format.field_boost
        if isinstance(self.format, Positions):
            encode = self.format.encode
            return [(term.encode("utf-8"), len(poses), float(len(poses)) * boost, encode(poses))
                    for term, poses in self._positions(value).items()]
        table, missing = _table(self.kind), _MISSING
        freqs: dict[str, int] = {}
        for word, count in Counter(_words(value)).items():
            term = table.get(word, missing)
            if term is missing:
                term = _analysed(self.kind, word)
            if term is not None:
                freqs[term] = freqs.get(term, 0) + count
        return [(term.encode("utf-8"), n, float(n) * boost, pack_uint(n)) for term, n in freqs.items()]

    def _positions(self, value: str) -> dict[str, list[int]]:
        return analysed_positions(self.kind, value)


class PairText(FastText):
    """Pairs of adjacent stemmed words (``"a b"``) and where they are (``PairPositions``); not scored."""

    def __init__(self) -> None:
        super().__init__("stemmed", phrase=False)
        self.format = PairPositions()
        self.scorable = False

    def index(self, value: Any, **kwargs: Any) -> Iterator[tuple[bytes, int, float, bytes]]:
        if not isinstance(value, str):
            return iter(())
        try:
            encode = self.format.encode
            return iter([(pair.encode("utf-8"), len(where), 1.0, encode(where))
                         for pair, where in word_pairs(self.kind, value).items()])
        except _Split:
            return iter(())  # not with these analyzers (no filter splits a word): phrases would go unfound


def make_schema() -> Schema:
    """Fields: ``content`` (title and text) finds the pages; title and headings only add to the score.

    ``body`` is only stored (for snippets): searching one field instead of four
    scores each matching page once.
    """
    return Schema(
        path=ID(unique=True, stored=True),
        title=FastText("stemmed", stored=True, field_boost=3.0),
        title_exact=FastText("exact", field_boost=4.0),
        headings=FastText("stemmed", field_boost=2.0),
        content=FastText("stemmed"),
        # content's terms and frequencies again, without positions: posting blocks that unpickle ~7x faster,
        # for the array scorer (commons/search/scoring.py); content keeps positions for phrases
        freqs=FastText("stemmed", phrase=False),
        pairs=PairText(),
        body=STORED,
        spell=FastText("words", phrase=False),
        vocab=FastText("vocab", phrase=False),
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


