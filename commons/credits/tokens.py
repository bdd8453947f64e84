"""Markdown text -> paragraphs -> sentences -> tokens, normalised for attribution.

Only what a reader reads counts: words and punctuation. Markdown syntax
(``#``, ``*``, ``_``, ``|``, ``>``, backticks, list markers ``-``/``*``/``1.``,
table separator rows, rules, code fences, front-matter keys) yields no token,
and whitespace and line breaks inside a paragraph are ignored, so re-wrapping,
re-indenting or changing a heading level or a list marker changes no hash.

Paragraphs are blocks separated by blank lines. Sentences end after ``.``,
``!``, ``?`` or ``…`` followed by a space, and at every logical line: a
heading, a list item or a table row starts a new one (continuation lines of
a wrapped paragraph or list item do not).
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from typing import Iterator, NamedTuple

SYNTAX = "#*_|>`[]~"
TERMINATORS = ".!?…"
_TOKEN = re.compile(r"[^\W_]+|[^\w\s#*|>`\[\]~]")
_SENTENCE_END = re.compile(r"(?<=[.!?…])(?![^\W_]|[.!?…])")
_LIST = re.compile(r"(?:[-*+]|\d{1,9}[.)])(?:\s+|$)")
_HEADING = re.compile(r"#{1,6}(?:\s+|$)")
_QUOTE = re.compile(r"(?:>\s?)+")
_TABLE_RULE = re.compile(r"\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?")
_RULE = re.compile(r"(?:[-=_*]\s*)+")
_FENCE = re.compile(r"(?:`{3,}|~{3,}).*")
_FRONT_KEY = re.compile(r"[A-Za-z_][\w-]*:\s*")

Segment = tuple[int, int]  # start and end of a line's content in the text


class Token(NamedTuple):
    """One word or punctuation mark and where it stands in the raw text."""

    value: str
    start: int
    end: int


class Sentence(NamedTuple):
    """A sentence: the values of its tokens and their hash."""

    hash: str
    values: tuple[str, ...]


class Paragraph(NamedTuple):
    """A paragraph: its sentences and the hash of their hashes."""

    hash: str
    sentences: tuple[Sentence, ...]


def digest(values: tuple[str, ...] | list[str]) -> str:
    """A short stable hash of a sequence of token values."""
    return hashlib.blake2b("\x1f".join(values).encode("utf-8", "surrogatepass"), digest_size=10).hexdigest()


def _front_matter_end(lines: list[str]) -> int:
    """The number of lines of a leading ``---`` front-matter block (0 if none)."""
    if not lines or lines[0].strip() != "---":
        return 0
    for number, line in enumerate(lines[1:], 1):
        if line.strip() in ("---", "..."):
            return number + 1
    return 0


def _content(line: str, front: bool) -> tuple[int, bool, bool] | None:
    """Where a line's content starts, whether it starts a logical line, and whether it is one line alone.

    ``None`` for a line that carries no content (blank, rule, fence, table separator).
    """
    stripped = line.lstrip()
    start = len(line) - len(stripped)
    if front:
        key = _FRONT_KEY.match(stripped)
        skip = key.end() if key else 0
        return (start + skip, True, True) if stripped[skip:].strip() not in ("", "---") else None
    quote = _QUOTE.match(stripped)
    if quote:
        start += quote.end()
        stripped = stripped[quote.end():]
    bare = stripped.rstrip()
    if not bare or _FENCE.fullmatch(bare) or _RULE.fullmatch(bare) or ("-" in bare and _TABLE_RULE.fullmatch(bare)):
        return None
    heading = _HEADING.match(stripped)
    if heading:
        return start + heading.end(), True, True
    marker = _LIST.match(stripped)
    if marker:
        return start + marker.end(), True, False
    return start, stripped.startswith("|"), stripped.startswith("|")


def _blocks(text: str, front_matter: bool = True) -> Iterator[list[list[Segment]]]:
    """Each paragraph of ``text`` as its logical lines, each made of the content segments of its lines."""
    lines = text.split("\n")
    front_end = _front_matter_end(lines) if front_matter else 0
    logical: list[list[Segment]] = []
    alone, offset = False, 0
    for number, line in enumerate(lines):
        found = None if number in (0, front_end - 1) and front_end else _content(line, number < front_end)
        if found is None:
            if not line.strip() and logical:
                yield logical
                logical, alone = [], False
        else:
            start, new_line, one_line = found
            if new_line or alone or not logical:
                logical.append([])
            logical[-1].append((offset + start, offset + len(line)))
            alone = one_line
        offset += len(line) + 1
    if logical:
        yield logical


def split(text: str) -> list[Paragraph]:
    """The paragraphs of a Markdown text, down to hashed sentences of token values.

    A sentence ends after ``.``, ``!``, ``?`` or ``…`` followed by anything but
    a letter, a digit or another terminator, and at the end of a logical line.
    Paragraphs never span an empty line, so the runs of lines between two are
    cut independently: each is read once, then found again in a cache (a new
    revision changes few of them). A text with front matter is read whole.
    """
    if text.partition("\n")[0].strip() == "---":
        return list(_split_blocks(text, True))
    return [paragraph for chunk in text.split("\n\n") for paragraph in _split_blocks(chunk, False)]


@lru_cache(maxsize=1 << 16)
def _split_blocks(text: str, front_matter: bool) -> tuple[Paragraph, ...]:
    """The paragraphs of ``text``: a whole text (``front_matter``: it may start with some), or a run of lines."""
    paragraphs: list[Paragraph] = []
    for logical in _blocks(text, front_matter):
        paragraph = _paragraph(tuple("\n".join(text[start:end] for start, end in line) for line in logical))
        if paragraph is not None:
            paragraphs.append(paragraph)
    return tuple(paragraphs)


@lru_cache(maxsize=1 << 12)
def _paragraph(lines: tuple[str, ...]) -> Paragraph | None:
    """A paragraph from the content of its logical lines (cached: most paragraphs of a revision are unchanged)."""
    sentences: list[Sentence] = []
    for content in lines:
        for piece in _SENTENCE_END.split(content):
            values = tuple(_TOKEN.findall(piece))
            if values:
                sentences.append(Sentence(digest(values), values))
    return Paragraph(digest([s.hash for s in sentences]), tuple(sentences)) if sentences else None


def tokens_of(text: str) -> list[Token]:
    """Every token of ``text`` in order, with its place in the text (the flat view of :func:`split`)."""
    return [Token(m.group(), m.start(), m.end()) for logical in _blocks(text) for line in logical
            for start, end in line for m in _TOKEN.finditer(text, start, end)]
