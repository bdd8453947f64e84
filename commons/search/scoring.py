"""Every match of a query scored at once: whole posting lists read into arrays, BM25F in numpy.

Whoosh scores a query one page at a time in Python (about 5 µs per page and
word). With exact ranking every match is scored, so a common word on 100,000
pages took half a second. Here each term's postings are read block by block
into arrays and the query tree is evaluated on whole arrays, one per segment:
the same formula (Whoosh's ``bm25`` on the same quantised field lengths and
global statistics), the same sums, the same pages. Ties keep Whoosh's order
(lower document number first). A query node this module does not know raises
:class:`Unsupported` and the caller falls back to Whoosh's own matchers, which
tests compare against on many queries.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.matching import FilterMatcher, ListMatcher
from whoosh.query import And, AndMaybe, AndNot, MultiTerm, Not, NullQuery, Or, Query, Term
from whoosh.scoring import BM25F
from whoosh.util.numeric import byte_to_length

from commons.search.analysis import PAIR_FIELD
from commons.search.codec import ArrayLeafMatcher, Values
from commons.search.phrases import PHRASE_FIELD, PairPhrase

Array = Any  # numpy arrays (numpy's own typing is not worth the noise here)
_LENGTHS = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)
# Fields whose terms and frequencies are also indexed without positions (same pages, same weights): their
# postings are read there, in blocks that unpickle several times faster (analysis.make_schema)
LEAN_COPIES = {"content": "freqs"}
_ARRAY_OR_DOCS = 5000  # Whoosh's Or: a binary tree of unions above this many documents in a segment...
_TOO_MANY_CLAUSES = 1024  # ... or with 2 clauses, below this many; otherwise an array (unscored: 1 a page)


class Unsupported(Exception):
    """A query node the array scorer does not reproduce: let Whoosh score this query."""


@dataclass
class _Leaf:
    """One segment of the index, with the per-document arrays a query needs (kept while its reader lives)."""

    doccount: int  # (no reference to the reader: this is the value of a weak dictionary keyed by it)
    live: Array  # False for deleted documents
    lengths: dict[str, Array] = field(default_factory=dict)

    def field_lengths(self, reader: Any, name: str) -> Array:
        """The field's length in each document, quantised as Whoosh stores it (1 without a column)."""
        if name not in self.lengths:
            column = reader._perdoc._cached_reader(_lenfield(name), LENGTHS_COLUMN)
            if column is None:
                self.lengths[name] = np.ones(self.doccount)
            else:
                raw = column._dbfile.get(column._basepos, column._count * column._fixedlen)
                codes = np.zeros(self.doccount, dtype=np.uint8)
                codes[:len(raw)] = np.frombuffer(raw, dtype=np.uint8)
                self.lengths[name] = _LENGTHS[codes]
        return self.lengths[name]


_LEAVES: weakref.WeakKeyDictionary[Any, _Leaf] = weakref.WeakKeyDictionary()


_LEAVES_LOCK = threading.Lock()


def _leaf(reader: Any) -> _Leaf:
    """The arrays kept for a segment's reader (each searcher, lent to one query at a time, has its own)."""
    with _LEAVES_LOCK:
        leaf = _LEAVES.get(reader)
        if leaf is None:
            doccount = reader.doc_count_all()
            live = np.ones(doccount, dtype=bool)
            deleted = reader.deleted_docs_set
            if deleted:
                live[np.fromiter(deleted, dtype=np.int64)] = False
            leaf = _LEAVES[reader] = _Leaf(doccount, live)
        return leaf


def postings(reader: Any, fieldname: str, text: bytes, values: bool = False) -> tuple[Array, Array, Values | None]:
    """The documents (ascending), weights and (with ``values``) values of a term in one segment.

    Deleted documents included (the caller masks them). Blocks written by ``ArrayCodec`` are read as
    arrays; Whoosh's own blocks (other segments) and one-posting terms through Whoosh's matchers.
    """
    matcher = reader.postings(fieldname, text)
    if isinstance(matcher, FilterMatcher):
        matcher = matcher.child
    if isinstance(matcher, ListMatcher):  # a term of one page: its posting is kept in the term index
        return _as_arrays([matcher._ids], [_weights(matcher)], [tuple(matcher._values or ())] if values else None)
    if not isinstance(matcher, W3LeafMatcher):
        raise Unsupported(type(matcher).__name__)
    arrays = isinstance(matcher, ArrayLeafMatcher)
    ids: list[Array] = []
    weights: list[Array] = []
    found: list[Any] | None = [] if values else None
    while matcher.is_active():
        if matcher._data is None:
            matcher._read_data()
        gaps, weight, value = matcher._data
        count = matcher._blocklength
        ids.append(np.cumsum(gaps if arrays else np.asarray(gaps, dtype=np.int64), dtype=np.int64))
        if weight is None or isinstance(weight, float):
            weights.append(np.full(count, 1.0 if weight is None else weight))
        else:
            weights.append(weight if arrays else np.asarray(weight, dtype=np.float32))
        if found is not None:
            if not isinstance(value, Values):
                matcher._read_values()
                value = tuple(matcher._values)
            found.append(value)
        matcher._next_block()
    return _as_arrays(ids, weights, found)


def _weights(matcher: ListMatcher) -> Array:
    count = len(matcher._ids)
    if matcher._all_weights:
        return np.full(count, float(matcher._all_weights))
    return np.asarray(matcher._weights, dtype=np.float64) if matcher._weights else np.ones(count)


def _as_arrays(ids: list[Any], weights: list[Array], values: list[Any] | None) -> tuple[Array, Array, Values | None]:
    """Blocks joined: ids as int64, weights as float64, values as one ``Values``."""
    joined = None
    if values is not None:
        blocks = [v if isinstance(v, Values) else Values(np.fromiter(map(len, v), np.int64, len(v)), b"".join(v))
                  for v in values]
        joined = Values(np.concatenate([np.zeros(0, np.int64)] + [b.sizes.astype(np.int64) for b in blocks]),
                        b"".join(b.blob for b in blocks))
    if not ids:
        return np.zeros(0, dtype=np.int64), np.zeros(0), joined
    return (np.concatenate([np.asarray(i, dtype=np.int64) for i in ids]),
            np.concatenate(weights).astype(np.float64), joined)


@dataclass
class _Scorer:
    """Evaluates a query on one segment: each node gives (matched, score) arrays over its documents."""

    top: Any  # the whole index's searcher: global statistics (idf, average lengths)
    reader: Any  # the segment's reader
    leaf: _Leaf
    weighting: BM25F

    def empty(self) -> tuple[Array, Array]:
        return np.zeros(self.leaf.doccount, dtype=bool), np.zeros(self.leaf.doccount)

    def run(self, query: Query, scored: bool = True) -> tuple[Array, Array]:
        if query is NullQuery:
            return self.empty()
        method = _NODES.get(type(query))
        if method is None:
            if isinstance(query, MultiTerm) and not isinstance(query, Term):
                return self.multiterm(query, scored)
            raise Unsupported(type(query).__name__)
        return method(self, query, scored)  # type: ignore[no-any-return]

    def term(self, query: Term, scored: bool) -> tuple[Array, Array]:
        matched, score = self.empty()
        if query.fieldname not in self.top.schema:
            return matched, score
        schema_field = self.top.schema[query.fieldname]
        try:  # a prefix's words are already bytes
            text = query.text if isinstance(query.text, bytes) else schema_field.to_bytes(query.text)
        except ValueError:
            return matched, score
        if (query.fieldname, text) not in self.reader:
            return matched, score
        lean = LEAN_COPIES.get(query.fieldname)
        source = lean if lean is not None and lean in self.top.schema else query.fieldname
        ids, weights, _ = postings(self.reader, source, text)
        matched[ids] = True
        matched &= self.leaf.live
        # scored even where Whoosh's context has no weighting: its searcher then uses its own
        score[ids] = self._bm25(query.fieldname, text, ids, weights) if schema_field.scorable else weights
        if query.boost != 1.0:
            score *= query.boost
        return matched, score

    def _bm25(self, fieldname: str, text: bytes, ids: Array, tf: Array) -> Array:
        """Whoosh's ``bm25(idf, tf, fl, avgfl, B, K1)``, term by term in the same order of operations."""
        w = self.weighting
        B = w._field_B.get(fieldname, w.B)  # noqa: N806 - the formula's names
        K1 = w.K1  # noqa: N806
        idf = self.top.idf(fieldname, text)
        avgfl = self.top.avg_field_length(fieldname) or 1
        fl = self.leaf.field_lengths(self.reader, fieldname)[ids]
        return idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * fl / avgfl)))

    def conjunction(self, query: And, scored: bool) -> tuple[Array, Array]:
        matched, score = self.run(query.subqueries[0], scored)
        for sub in query.subqueries[1:]:
            m, s = self.run(sub, scored)
            matched &= m
            score += s
        return matched, self._boosted(query, score)

    def disjunction(self, query: Or, scored: bool) -> tuple[Array, Array]:
        subs = query.subqueries
        if query.scale or query.minmatch:
            raise Unsupported("Or with scale")
        if len(subs) == 1:
            return self.run(subs[0], scored)
        matched, score = self.empty()
        for sub in subs:
            m, s = self.run(sub, scored)
            matched |= m
            score += np.where(m, s, 0.0)
        if scored or _union_tree(len(subs), self.leaf.doccount):
            return matched, self._boosted(query, score)
        return matched, matched.astype(np.float64)  # Whoosh's unscored array union: 1 for each page

    def maybe(self, query: AndMaybe, scored: bool) -> tuple[Array, Array]:
        matched, score = self.run(query.a, scored)
        m, s = self.run(query.b, scored)
        return matched, score + np.where(m, s, 0.0)

    def but_not(self, query: AndNot, scored: bool) -> tuple[Array, Array]:
        matched, score = self.run(query.a, scored)
        m, _ = self.run(query.b, False)
        return matched & ~m, score

    def not_(self, query: Not, scored: bool) -> tuple[Array, Array]:
        """Pages without the child, each scoring 1 (Whoosh's inverse matcher)."""
        m, _ = self.run(query.query, False)
        matched = ~m & self.leaf.live
        return matched, matched.astype(np.float64)

    def phrase(self, query: PairPhrase, scored: bool) -> tuple[Array, Array]:
        """A phrase of ``content`` found through its word pairs; scored as the sum of its words."""
        if not query.pairable(self.top.schema):
            raise Unsupported("phrase")
        keys = query.keys(self.top.schema, self.reader)
        if keys is None:
            return self.empty()
        _, pair_texts, exact = keys
        pairs = [pair.encode() for pair in pair_texts]
        matched = self.leaf.live.copy()
        for pair in pairs:
            found = np.zeros(self.leaf.doccount, dtype=bool)
            found[postings(self.reader, PAIR_FIELD, pair)[0]] = True
            matched &= found
        if not exact:
            matched = self._in_a_row(matched, pairs)
        score = np.zeros(self.leaf.doccount)
        for word in query.words:
            m, s = self.term(Term(PHRASE_FIELD, word), scored)
            matched &= m
            score += s
        if query.boost != 1.0:
            score *= query.boost
        return matched, score

    def _in_a_row(self, candidates: Array, pairs: list[bytes]) -> Array:
        """The candidate pages where pair ``i`` of the phrase is at position ``p + i`` for some ``p``.

        Each pair's positions in the candidates are read as one array (``PairPositions``: 32-bit
        integers); a page matches where the (page, p) keys of every pair meet.
        """
        docs = np.flatnonzero(candidates)
        keys: Array | None = None
        for shift, pair in enumerate(pairs):
            ids, _, values = postings(self.reader, PAIR_FIELD, pair, values=True)
            assert values is not None  # noqa: S101 - asked for
            chosen = np.searchsorted(ids, docs)  # every candidate has every pair
            counts = values.sizes[chosen] // 4
            firsts = (np.cumsum(values.sizes) - values.sizes)[chosen] // 4
            within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
            starts = np.frombuffer(values.blob, dtype="<u4")[np.repeat(firsts, counts) + within].astype(np.int64)
            starts -= shift
            found = (np.repeat(docs, counts) << 32 | starts)[starts >= 0]
            keys = found if keys is None else np.intersect1d(keys, found, assume_unique=True)
        kept = np.zeros(self.leaf.doccount, dtype=bool)
        if keys is not None:
            kept[keys >> 32] = True
        return kept

    def multiterm(self, query: MultiTerm, scored: bool) -> tuple[Array, Array]:
        """A prefix (or pattern) as Whoosh matches it in this segment: one word is scored, several are not."""
        words = [w for w in query._btexts(self.reader) if w]
        if not words:
            return self.empty()
        fieldname = query.field()
        if len(words) == 1:
            return self.term(Term(fieldname, words[0]), scored)
        return self.disjunction(Or([Term(fieldname, w) for w in words], boost=query.boost),
                                scored and not query.constantscore)

    @staticmethod
    def _boosted(query: Query, score: Array) -> Array:
        return score * query.boost if query.boost != 1.0 else score


def _union_tree(clauses: int, doccount: int) -> bool:
    """Whether Whoosh's Or makes a tree of unions (sums) rather than an array (1 a page when unscored)."""
    return clauses < _TOO_MANY_CLAUSES and (clauses == 2 or doccount > _ARRAY_OR_DOCS)


_NODES = {Term: _Scorer.term, And: _Scorer.conjunction, Or: _Scorer.disjunction, AndMaybe: _Scorer.maybe,
          AndNot: _Scorer.but_not, Not: _Scorer.not_, PairPhrase: _Scorer.phrase}


def rank(searcher: Any, query: Query, limit: int) -> tuple[int, list[tuple[float, int]]]:
    """How many pages match ``query`` and the first ``limit`` as (score, document number), best first.

    Raises :class:`Unsupported` for a query or weighting this module does not reproduce.
    """
    if type(searcher.weighting) is not BM25F:
        raise Unsupported("weighting")
    scores: list[Array] = []
    docs: list[Array] = []
    for sub, offset in searcher.leaf_searchers():
        reader = sub.reader()
        matched, score = _Scorer(searcher, reader, _leaf(reader), searcher.weighting).run(query)
        found = np.flatnonzero(matched)
        docs.append(found + offset)
        scores.append(score[found])
    if not docs:
        return 0, []
    all_docs, all_scores = np.concatenate(docs), np.concatenate(scores)
    total = len(all_docs)
    if total > limit > 0:
        kth = np.partition(all_scores, total - limit)[total - limit]  # the limit-th best score
        keep = np.flatnonzero(all_scores >= kth)
        all_docs, all_scores = all_docs[keep], all_scores[keep]
    order = np.lexsort((all_docs, -all_scores))[:limit]
    return total, [(float(all_scores[i]), int(all_docs[i])) for i in order]
