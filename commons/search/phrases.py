"""Phrases found through pairs of adjacent words, scored the way Whoosh scores a phrase.

Whoosh matches a phrase by intersecting its words and reading their positions
in every page that has them all: a phrase of common words checks thousands of
pages. The ``pairs`` field indexes each pair of adjacent words (stemmed, stop
words left out and positions renumbered, exactly as ``content`` numbers them)
with its positions, so a two-word phrase is one term and a longer one is looked
for only in the pages that have all its pairs. A page matches if and only if it
matches the phrase on ``content``; its score is still the sum of the words'
scores in ``content``, as Whoosh gives it to a phrase.
"""

from __future__ import annotations

from typing import Any

from whoosh.matching import IntersectionMatcher, NullMatcher, WrappingMatcher
from whoosh.query import Phrase, Query, Term
from whoosh.util import make_binary_tree

from commons.search.analysis import PAIR_FIELD

PHRASE_FIELD = "content"  # the field whose phrases ``pairs`` mirrors


def phrase_keys(words: list[str]) -> tuple[list[str], bool]:
    """The ``pairs`` terms a page must have to hold the phrase ``words``; and whether they are enough."""
    return [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)], len(words) == 2


def _adjacent(words: list[Any]) -> bool:
    """Whether the words' matchers, all on one page, have the words at consecutive positions there."""
    starts = set(words[0].value_as("positions"))
    for i, word in enumerate(words[1:], 1):
        starts.intersection_update(p - i for p in word.value_as("positions"))
        if not starts:
            return False
    return True


class _PairFiltered(WrappingMatcher):  # type: ignore[misc]
    """The pages of ``child`` (the phrase's words, which give the score) that ``pairs`` also matches.

    Scores and block qualities are the words', as for Whoosh's phrase matcher
    (which wraps the same intersection of words); after a skip for quality the
    matcher moves on to the next page that has the pairs too. With three words
    or more, ``words`` (the leaves of ``child``) are checked for positions on
    the pages that have every pair.
    """

    def __init__(self, child: Any, pairs: Any, boost: float = 1.0, words: list[Any] | None = None) -> None:
        super().__init__(child, boost)
        self.pairs = pairs
        self.words = words
        self._align()

    def _align(self) -> bool:
        child, pairs = self.child, self.pairs
        moved = False
        while child.is_active() and pairs.is_active():
            found, wanted = pairs.id(), child.id()
            if found == wanted:
                if self.words is None or _adjacent(self.words):
                    break
                moved = bool(child.next()) or moved
            elif found < wanted:
                pairs.skip_to(wanted)
            else:
                moved = bool(child.skip_to(found)) or moved
        return moved

    def copy(self) -> _PairFiltered:
        return _PairFiltered(self.child.copy(), self.pairs.copy(), self.boost, self.words)

    def _replacement(self, newchild: Any) -> _PairFiltered:
        return _PairFiltered(newchild, self.pairs, self.boost, self.words)

    def is_active(self) -> bool:
        return bool(self.child.is_active() and self.pairs.is_active())

    def next(self) -> bool:
        moved = bool(self.child.next())
        return self._align() or moved

    def skip_to(self, id: int) -> bool:  # noqa: A002 - Whoosh's name
        moved = bool(self.child.skip_to(id))
        return self._align() or moved

    def skip_to_quality(self, minquality: float) -> int:
        skipped = int(self.child.skip_to_quality(minquality / self.boost))
        self._align()
        return skipped

    def replace(self, minquality: float = 0) -> Any:
        if not self.is_active():
            return NullMatcher()
        child = self.child.replace(minquality / self.boost)
        return self if child is self.child else _PairFiltered(child, self.pairs, self.boost, self.words)

    def all_ids(self) -> Any:
        while self.is_active():
            yield self.id()
            self.next()


class PairPhrase(Phrase):  # type: ignore[misc]
    """A phrase of ``content`` matched through the ``pairs`` field (same pages, same scores)."""

    def pairable(self, schema: Any) -> bool:
        """Whether the pairs can find this phrase (else Whoosh's own phrase matching is used)."""
        return bool(self.fieldname == PHRASE_FIELD and self.slop == 1 and len(self.words) >= 2
                    and PAIR_FIELD in schema and all(isinstance(w, str) for w in self.words))

    def keys(self, schema: Any, reader: Any) -> tuple[list[bytes], list[str], bool] | None:
        """(the words as index terms, the pairs a page must have, whether the pairs are enough), or
        ``None`` when ``reader`` lacks one of them (no page of that segment holds the phrase)."""
        field = schema[self.fieldname]
        terms = [field.to_bytes(word) for word in self.words]
        pairs, exact = phrase_keys(list(self.words))
        if any((self.fieldname, t) not in reader for t in terms) or any((PAIR_FIELD, p) not in reader for p in pairs):
            return None
        return terms, pairs, exact

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        if not self.pairable(searcher.schema):
            return super().matcher(searcher, context)
        keys = self.keys(searcher.schema, searcher.reader())
        if keys is None:
            return NullMatcher()
        terms, pairs, exact = keys
        found = make_binary_tree(IntersectionMatcher, [Term(PAIR_FIELD, p).matcher(searcher, context) for p in pairs])
        leaves = [Term(self.fieldname, t).matcher(searcher, context) for t in terms]
        scored = make_binary_tree(IntersectionMatcher, leaves)
        return _PairFiltered(scored, found, self.boost, None if exact else leaves)


def with_pairs(query: Query) -> Query:
    """``query`` with its phrases on ``content`` matched through word pairs."""

    def swap(node: Query) -> Query:
        if type(node) is Phrase and node.fieldname == PHRASE_FIELD:
            return PairPhrase(node.fieldname, list(node.words), slop=node.slop, boost=node.boost,
                              char_ranges=node.char_ranges)
        return node

    return query.accept(swap)  # type: ignore[no-any-return]
