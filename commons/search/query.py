"""The query side of search: parsing, ranking, snippets and "did you mean"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from whoosh import qparser
from whoosh.collectors import TopCollector
from whoosh.query import AndMaybe, NullQuery, Or, Prefix, Query, Term
from whoosh.searching import Searcher

from commons import paths
from commons.search import scoring
from commons.search.analysis import ELISIONS, FRENCH_STOPS
from commons.search.phrases import with_pairs
from commons.search.snippets import Matcher, matcher_for, snippet

FIELDS = ["content"]  # title and text: one field to match; title and headings are added to the score (_ranked)
RANKING_FIELDS = ("title", "headings")  # stemmed like content (title_exact is analysed apart)
PREFIX_FIELD = "spell"  # unstemmed: « logem* » must find « logement », whose stem is « log »
_ALIASES = {"tags": ["tag", "étiquette"], "folder": ["dossier"], "title": ["titre"]}
_WORD = re.compile(r"(?<![\w:*\"-])(\w{3,})(?![\w:*])")
MAX_QUERY = 500
_PREFIX = re.compile(r"(?<![\w:])(\w+)\*")  # a prefix searched on the unstemmed words (not « titre:mot* »)
_NOT_PLAIN = re.compile(r"(?:^|(?<=\s))(?:-\S*|\S*[:*?]\S*)")
_STOP = re.compile(
    r"(?<![\w:*-])(?:(?:" + "|".join(sorted(FRENCH_STOPS - ELISIONS, key=len, reverse=True)) + r")(?![\w:*'’])"
    r"|(?:" + "|".join(sorted(ELISIONS)) + r")['’])", re.IGNORECASE)


@dataclass(frozen=True)
class Hit:
    """One result: ``snippet`` is escaped HTML with ``<mark>`` around matched words."""

    path: str
    title: str
    snippet: str
    score: float
    updated: datetime | None


@dataclass(frozen=True)
class Results:
    query: str
    total: int
    hits: list[Hit]
    suggestion: str | None


def naive_utc(when: datetime) -> datetime:
    """What the index stores (Whoosh keeps naive datetimes): the moment in UTC, without its offset."""
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when


def aware_utc(when: datetime | None) -> datetime | None:
    """A datetime read back from the index, in UTC with its offset again."""
    return when.replace(tzinfo=UTC) if when is not None and when.tzinfo is None else when


def _parser(schema: Any, plain: bool = False) -> qparser.QueryParser:
    parser = qparser.MultifieldParser(FIELDS, schema, group=qparser.AndGroup)
    if plain:
        parser.remove_plugin_class(qparser.WildcardPlugin)
        parser.remove_plugin_class(qparser.FieldsPlugin)
        parser.remove_plugin_class(qparser.PhrasePlugin)
        parser.remove_plugin_class(qparser.RangePlugin)
        parser.remove_plugin_class(qparser.OperatorsPlugin)
    else:
        parser.add_plugin(qparser.PlusMinusPlugin())
        parser.add_plugin(qparser.FieldAliasPlugin(_ALIASES))
    parser.remove_plugin_class(qparser.EveryPlugin)
    parser.remove_plugin_class(qparser.BoostPlugin)
    return parser


def _drop_stop_words(text: str) -> str:
    """Outside quotes (inside, the phrase analyzer handles them): remove stop words, elisions; unstem prefixes."""
    parts = text.split('"')
    for i in range(0, len(parts), 2):
        parts[i] = _PREFIX.sub(lambda m: f"{PREFIX_FIELD}:{paths.fold(m.group(1))}*", _STOP.sub(" ", parts[i]))
    return '"'.join(parts)


def parse(schema: Any, text: str) -> Query | None:
    """A Whoosh query for ``text``; malformed syntax falls back to its plain words."""
    text = _drop_stop_words(text[:MAX_QUERY])
    try:
        query = _parser(schema).parse(text)
    except Exception:  # noqa: BLE001 - any parser failure means: read the words plainly
        query = None
    if query is None or query is NullQuery or not _has_words(query):
        words = " ".join(re.findall(r"\w+", text))
        query = _parser(schema, plain=True).parse(words) if words else None
    return None if query is None or query is NullQuery else query


def _has_words(query: Query) -> bool:
    return bool(list(query.all_terms())) or any(isinstance(leaf, Prefix) for leaf in query.leaves())


def _ranked(schema: Any, query: Query, text: str, wanted: Matcher) -> Query:
    """``query``, plus a score for the searched words found in a page's title and headings."""
    extra: list[Query] = [Term(name, term) for term in sorted(wanted.terms) for name in RANKING_FIELDS]
    plain = _NOT_PLAIN.sub(" ", _drop_stop_words(text[:MAX_QUERY]))  # no « -word », « field:word », « word* »
    extra += [Term("title_exact", word) for word in sorted(set(schema["title_exact"].process_text(plain)))]
    return AndMaybe(query, Or(extra)) if extra else query


def _accented(searcher: Searcher, folded: str) -> str:
    """The most frequent written form of a folded word (``mediation`` -> ``médiation``)."""
    reader = searcher.reader()
    forms = list(reader.expand_prefix("vocab", folded + "|"))
    if not forms:
        return folded
    best = max(forms, key=lambda t: reader.doc_frequency("vocab", t))
    best = best.decode("utf-8") if isinstance(best, bytes) else best
    return best.split("|", 1)[1]


def suggest(searcher: Searcher, text: str) -> str | None:
    """A corrected query built from the index's own words, or ``None`` when nothing is misspelt."""
    reader = searcher.reader()
    corrector = searcher.corrector("spell")
    changed = False

    def fix(match: re.Match[str]) -> str:
        nonlocal changed
        word = match.group(1)
        folded = paths.fold(word)
        if word in ("AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"):
            return word
        if reader.doc_frequency("spell", folded) > 0:
            return word
        found = corrector.suggest(folded, limit=1, maxdist=2, prefix=1)  # prefix: 1 ms instead of 300
        if not found:
            return word
        changed = True
        return _accented(searcher, found[0])

    corrected = _WORD.sub(fix, text[:MAX_QUERY])
    return corrected if changed else None


def whoosh_rank(searcher: Searcher, query: Query, limit: int) -> tuple[int, list[tuple[float, int]]]:
    """Whoosh's own matchers scoring every match: the reference the array scorer reproduces."""
    # Every match is scored: Whoosh's shortcuts (skipping blocks of postings, replacing matchers as the
    # top N's lowest score rises) are wrong with the optional title/heading part (AndMaybe): on 10,000
    # pages they showed pages scoring 20 and left out pages scoring 56. Scoring all also counts exactly.
    collector = TopCollector(limit=limit, usequality=False, replace=0)
    searcher.search_with_collector(query, collector)
    results = collector.results()
    return len(results), [(float(hit.score or 0), hit.docnum) for hit in results]


def rank(searcher: Searcher, query: Query, limit: int) -> tuple[int, list[tuple[float, int]]]:
    """How many pages match and the best ``limit`` as (score, document), by arrays when possible."""
    try:
        return scoring.rank(searcher, query, limit)
    except scoring.Unsupported:
        return whoosh_rank(searcher, query, limit)


def run_query(searcher: Searcher, text: str, limit: int, offset: int) -> Results:
    """Search, rank (BM25F, title and heading hits first), page and annotate the results."""
    query = parse(searcher.schema, text)
    if query is None:
        return Results(text, 0, [], None)
    wanted = matcher_for(query, FIELDS, [PREFIX_FIELD])
    total, ranked = rank(searcher, _ranked(searcher.schema, with_pairs(query), text, wanted), offset + limit)
    hits = []
    for score, docnum in ranked[offset:]:
        stored = searcher.stored_fields(docnum)
        hits.append(Hit(stored["path"], stored["title"], snippet(stored.get("body") or "", wanted), score,
                        aware_utc(stored.get("updated"))))
    suggestion = suggest(searcher, text) if total < 3 else None
    return Results(text, total, hits, suggestion)
