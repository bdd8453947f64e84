"""WikiWho-style attribution of every token of a page revision (Flöck & Acosta, WWW 2014).

A revision's tokens take their ids, and so their origins (the revision that
first introduced them), in three passes:

1. paragraphs whose hash was seen before (in the previous revision or in any
   earlier one) take that paragraph's tokens as they were;
2. in the other paragraphs, sentences whose hash was seen before do the same;
3. the remaining sentences are diffed, token by token, against the tokens of
   the previous revision that no paragraph or sentence took, then against the
   "graveyard" of tokens removed earlier; only runs that look like the same
   text (see :func:`_accepted`) are kept, so common words of a new sentence
   are not handed to whoever happened to write ``de`` or ``la`` before.

Tokens left over are new: they belong to this revision. Every paragraph and
sentence ever seen stays known (``Seen``), so a revert, a move or a re-addition
gives each word back to its first author. The work is proportional to the
page and the change: the history is only reached through hash look-ups.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from itertools import chain, compress, count
from operator import itemgetter, not_
from typing import Protocol, Sequence, cast

from commons.credits.tokens import Paragraph, Sentence

PARAGRAPH, SENTENCE = "p", "s"
GRAVE_LIMIT = 5000
MAX_GAP = 3
DIFF_BUDGET = 2_000_000
MAX_OCCURRENCES = 32  # copies of one paragraph or sentence remembered (the first ones)

Pair = tuple[int, int]  # (token id, origin)
Occurrence = tuple[list[int], list[int]]  # token ids and their origins, in order
Buried = tuple[int, str, int]  # (token id, value, origin)


class Seen(Protocol):
    """Every paragraph and sentence of one page ever seen: hash -> occurrences (token ids with origins)."""

    def lookup(self, kind: str, hashes: set[str]) -> dict[str, list[Occurrence]]: ...

    def add(self, kind: str, hash: str, occurrence: Occurrence) -> None: ...


@dataclass
class PageTokens:
    """The attributed tokens of a page's current revision, its structure, and the graveyard of removed tokens.

    ``sentences`` and ``paragraphs`` list the revision's sentences (hash,
    token values) and paragraphs (hash, sentences) in order, so that what
    did not change is found again without looking anything up.
    """

    tids: list[int] = field(default_factory=list)
    origins: list[int] = field(default_factory=list)
    values: list[str] = field(default_factory=list)
    sentences: list[Sentence] = field(default_factory=list)
    paragraphs: list[Paragraph] = field(default_factory=list)
    grave: list[Buried] = field(default_factory=list)
    next_tid: int = 0

    def buried(self) -> PageTokens:
        """The same page deleted: no current token, every token in the graveyard."""
        removed = list(zip(self.tids, self.values, self.origins, strict=True))
        return PageTokens(grave=(self.grave + removed)[-GRAVE_LIMIT:], next_tid=self.next_tid)


class MemorySeen:
    """A :class:`Seen` kept in a dictionary (tests, benchmarks)."""

    def __init__(self) -> None:
        self.known: dict[tuple[str, str], list[Occurrence]] = {}

    def lookup(self, kind: str, hashes: set[str]) -> dict[str, list[Occurrence]]:
        return {h: self.known[(kind, h)] for h in hashes if (kind, h) in self.known}

    def add(self, kind: str, hash: str, occurrence: Occurrence) -> None:
        known = self.known.setdefault((kind, hash), [])
        if len(known) < MAX_OCCURRENCES:
            known.append(occurrence)


def _pick(candidates: list[Occurrence], used: set[int]) -> Occurrence | None:
    """The oldest occurrence none of whose tokens is already taken in this revision."""
    return next((occ for occ in candidates if occ[0] and used.isdisjoint(occ[0])), None)


class _Previous:
    """Where each paragraph and sentence of the previous revision stands in its token list."""

    def __init__(self, page: PageTokens) -> None:
        self.page = page
        self.at: dict[str, dict[str, deque[tuple[int, int]]]] = {PARAGRAPH: {}, SENTENCE: {}}
        spans: list[tuple[int, int]] = []
        token = 0
        for hash_, values in page.sentences:
            spans.append((token, token + len(values)))
            self.at[SENTENCE].setdefault(hash_, deque()).append(spans[-1])
            token += len(values)
        index = 0
        for hash_, sentences in page.paragraphs:
            count = len(sentences)
            self.at[PARAGRAPH].setdefault(hash_, deque()).append((spans[index][0], spans[index + count - 1][1]))
            index += count

    def occurrence(self, kind: str, hash_: str, used: set[int]) -> Occurrence | None:
        """The tokens of that paragraph or sentence in the previous revision, if it was there and is free.

        A text repeated many times is taken copy after copy: spans found taken
        are dropped, so the look-ups for all the copies cost one pass.
        """
        spans = self.at[kind].get(hash_)
        while spans:
            start, end = spans.popleft()
            tids = self.page.tids[start:end]
            if used.isdisjoint(tids):
                return tids, self.page.origins[start:end]
        return None


Item = tuple[int, str, int, int]  # (index of the first sentence, hash, number of tokens, number of sentences)
_NONE: Occurrence = ([], [])  # the slot of a sentence whose tokens the slot of its paragraph's first one holds


class _Revision:
    """The work of attributing one revision: the token slots of each sentence, filled pass by pass."""

    def __init__(self, previous: PageTokens, paragraphs: list[Paragraph], seen: Seen) -> None:
        self.previous = previous
        self.before = _Previous(previous)
        self.paragraphs = paragraphs
        self.seen = seen
        self.used: set[int] = set()
        self.slots: dict[int, Occurrence] = {}  # by sentence, once attributed
        self.partial: dict[int, list[Pair | None]] = {}  # by sentence, while pass 3 attributes it token by token
        self.left_over: list[Buried] | None = None  # the previous revision's tokens left to pass 3
        self.revived: set[int] = set()  # token ids taken from the seen store or the graveyard
        self.sentences = [s for p in paragraphs for s in p.sentences]
        self.next_tid = previous.next_tid

    def match(self, kind: str, items: list[Item]) -> list[Item]:
        """Give each item the tokens of an earlier occurrence of its hash; returns the items left.

        The previous revision is looked at first (no look-up needed), then every revision before it.
        """
        pending = [item for item in items if not self._take(item, self.before.occurrence(kind, item[1], self.used))]
        if not pending:
            return []
        hits = self.seen.lookup(kind, {item[1] for item in pending})
        return [item for item in pending if not self._take(item, _pick(hits.get(item[1], []), self.used), True)]

    def _take(self, item: Item, occurrence: Occurrence | None, from_seen: bool = False) -> bool:
        first, _, size, count = item
        if occurrence is None or len(occurrence[0]) != size:
            return False
        if from_seen:
            self.revived.update(occurrence[0])
        self.slots[first] = occurrence  # never changed afterwards: shared with ``seen`` as it is
        for index in range(first + 1, first + count):
            self.slots[index] = _NONE
        self.used.update(occurrence[0])
        return True

    def match_tokens(self, unmatched: list[int], origin: int) -> None:
        """Pass 3: diff against the previous revision's left-over tokens, then the graveyard."""
        for index in unmatched:
            self.partial[index] = [None] * len(self.sentences[index].values)
        previous = self.previous
        left_over = self.left_over = _without(previous, self.used)
        for pool, evidence in ((left_over, LEFT_OVER), (previous.grave, GRAVEYARD)):
            if pool and unmatched:
                self._diff(unmatched, pool, evidence)
        next_tid = previous.next_tid
        for index in unmatched:
            slots = self.partial.pop(index)
            if slots.count(None) == len(slots):  # the usual case: a sentence all new
                self.slots[index] = list(range(next_tid, next_tid + len(slots))), [origin] * len(slots)
                next_tid += len(slots)
                continue
            for position, pair in enumerate(slots):
                if pair is None:
                    slots[position] = (next_tid, origin)
                    next_tid += 1
            pairs = cast(list[Pair], slots)
            self.slots[index] = list(map(itemgetter(0), pairs)), list(map(itemgetter(1), pairs))
        self.next_tid = next_tid

    def _diff(self, unmatched: list[int], pool: list[Buried], evidence: Evidence) -> None:
        """Diff each sentence still incomplete against ``pool``, within ``DIFF_BUDGET``.

        The budget counts the places in the pool where the sentence's words
        occur (what the diff has to visit): a huge page replaced by another
        huge text costs at most that, and what it cannot afford is new text.
        """
        matcher: _Matcher | None = None
        budget = DIFF_BUDGET
        for index in unmatched:
            slots = self.partial[index]
            values = self.sentences[index].values
            if not evidence.reachable(values, slots):
                continue
            if matcher is None:  # built once per pool, only when some sentence may find something in it
                matcher = _Matcher({v for i in unmatched for v in self.sentences[i].values})
                matcher.set_seq2(list(map(itemgetter(1), pool)))
            query = [v if slots[i] is None else None for i, v in enumerate(values)]
            places = matcher.b2j
            budget -= sum(len(places.get(v, ())) for v in query if v is not None)
            if budget < 0:
                return
            if not evidence.enough(_findable(query, places), sum(1 for v in values if _is_word(v))):
                continue  # too few of its words are in the pool for any run of them to be accepted
            matcher.set_seq1(query)
            for a, b, size in _accepted(matcher, values, evidence):
                for k in range(size):
                    tid, _, tid_origin = pool[b + k]
                    if slots[a + k] is None and tid not in self.used:
                        slots[a + k] = (tid, tid_origin)
                        self.used.add(tid)
                        if pool is self.previous.grave:
                            self.revived.add(tid)

    def remember(self, paragraphs: list[Item], unmatched: list[int]) -> None:
        """Record the new paragraphs and sentences so that later revisions find them."""
        for index in unmatched:
            self.seen.add(SENTENCE, self.sentences[index].hash, self.slots[index])
        for first, hash_, _, number in paragraphs:
            self.seen.add(PARAGRAPH, hash_, self._tokens(first, first + number))

    def firsts(self) -> list[tuple[int, Paragraph]]:
        """Each paragraph with the index of its first sentence."""
        found, first = [], 0
        for paragraph in self.paragraphs:
            found.append((first, paragraph))
            first += len(paragraph.sentences)
        return found

    def _tokens(self, start: int, stop: int) -> Occurrence:
        """The token ids and origins of the sentences from ``start`` to ``stop`` (excluded)."""
        slots = [self.slots[index] for index in range(start, stop)]
        tids, origins = chain.from_iterable(map(itemgetter(0), slots)), chain.from_iterable(map(itemgetter(1), slots))
        return list(tids), list(origins)

    def result(self) -> PageTokens:
        """The attributed revision.

        Its tokens are those taken (``used``) and new ones, so the previous
        revision's tokens not taken are removed; graveyard tokens can only come
        back through the seen store or the graveyard (the graveyard never holds
        a current token, nor one not yet created).
        """
        tids, origins = self._tokens(0, len(self.sentences))
        previous, used = self.previous, self.used
        if self.left_over is None:
            removed = _without(previous, used)
        else:
            removed = [b for b in self.left_over if b[0] not in used]
        grave = previous.grave
        if self.revived and not self.revived.isdisjoint(map(itemgetter(0), grave)):
            grave = [b for b in grave if b[0] not in used]
        grave = grave + removed
        return PageTokens(tids, origins, list(chain.from_iterable(map(itemgetter(1), self.sentences))),
                          self.sentences, self.paragraphs, grave[-GRAVE_LIMIT:], self.next_tid)


def _without(page: PageTokens, tids: set[int]) -> list[Buried]:
    """The tokens of ``page`` whose ids are not in ``tids``, in order (as the graveyard holds them)."""
    if tids.issuperset(page.tids):
        return []
    left = compress(range(len(page.tids)), map(not_, map(tids.__contains__, page.tids)))
    return [(page.tids[k], page.values[k], page.origins[k]) for k in left]


class _Matcher(SequenceMatcher[str | None]):
    """A ``SequenceMatcher`` (no junk) indexing, in the second sequence, only the values the queries may hold.

    The first sequences (``set_seq1``) only hold ``wanted`` values or ``None``:
    the matching blocks are the same, and indexing a large pool costs less.
    """

    b: list[str | None]
    b2j: dict[str | None, list[int]]
    bjunk: set[str | None]
    bpopular: set[str | None]

    def __init__(self, wanted: set[str]) -> None:
        self.wanted = wanted
        super().__init__(None, [], [], autojunk=False)

    def _SequenceMatcher__chain_b(self) -> None:  # replaces SequenceMatcher's private indexing of ``b``
        b, b2j = self.b, cast(dict[str | None, list[int]], {})
        for position in compress(count(), map(self.wanted.__contains__, b)):
            b2j.setdefault(b[position], []).append(position)
        self.b2j, self.bjunk, self.bpopular = b2j, set(), set()


@dataclass(frozen=True)
class Evidence:
    """How much two token runs must share to be taken for the same text.

    A chain of matching blocks is kept when it is dense enough (matched tokens
    over its span, on the side where it is most compact) and matches ``words``
    words, or at least two words making up ``share`` of the sentence's words.
    """

    words: int
    share: float
    density: float = 0.5

    def enough(self, words: int, sentence_words: int) -> bool:
        """Whether ``words`` matched words are enough in a sentence of ``sentence_words`` words."""
        return words >= self.words or (words >= 2 and words >= self.share * sentence_words)

    def reachable(self, values: Sequence[str], slots: list[Pair | None]) -> bool:
        """Whether the words of a sentence still unattributed could be enough at all."""
        left = sum(1 for v, slot in zip(values, slots, strict=True) if slot is None and _is_word(v))
        return self.enough(left, sum(1 for v in values if _is_word(v)))


LEFT_OVER = Evidence(words=3, share=0.5)  # the text just replaced: a fix is likely
GRAVEYARD = Evidence(words=4, share=0.75)  # text removed earlier: only a clear re-addition


def _is_word(value: str) -> bool:
    return value[:1].isalnum()


def _findable(query: list[str | None], places: dict[str | None, list[int]]) -> int:
    """How many words of the query occur in the pool at all: at most that many can be matched."""
    return sum(1 for v in query if v is not None and v in places and _is_word(v))


def _chains(matcher: SequenceMatcher[str | None]) -> list[list[tuple[int, int, int]]]:
    """Matching blocks grouped into chains of blocks close to each other.

    Close: gaps of at most ``MAX_GAP`` tokens on both sides, or any number of
    words inserted between two runs that were adjacent before.
    """
    chains: list[list[tuple[int, int, int]]] = []
    for a, b, size in matcher.get_matching_blocks():
        if not size:
            continue
        if chains:
            last_a, last_b, last_size = chains[-1][-1]
            gap_a, gap_b = a - last_a - last_size, b - last_b - last_size
            if gap_b == 0 or (gap_a <= MAX_GAP and gap_b <= MAX_GAP and abs(gap_a - gap_b) <= 2):
                chains[-1].append((a, b, size))
                continue
        chains.append([(a, b, size)])
    return chains


def _accepted(matcher: SequenceMatcher[str | None], values: Sequence[str],
              evidence: Evidence) -> list[tuple[int, int, int]]:
    """The matching blocks that look like the same text rather than common words met by chance."""
    sentence_words = sum(1 for v in values if _is_word(v))
    kept: list[tuple[int, int, int]] = []
    for linked in _chains(matcher):
        matched = sum(size for _, _, size in linked)
        words = sum(1 for a, _, size in linked for k in range(size) if _is_word(values[a + k]))
        (first_a, first_b, _), (last_a, last_b, last_size) = linked[0], linked[-1]
        span = min(last_a + last_size - first_a, last_b + last_size - first_b)
        if evidence.enough(words, sentence_words) and matched >= evidence.density * span:
            kept.extend(linked)
    return kept


def attribute(previous: PageTokens, paragraphs: list[Paragraph], seen: Seen, origin: int) -> PageTokens:
    """Attribute the tokens of a new revision (``paragraphs``) given the previous one.

    ``origin`` identifies the new revision: tokens it introduced get it. ``seen``
    is read and extended with the paragraphs and sentences not seen before.
    """
    work = _Revision(previous, paragraphs, seen)
    firsts = work.firsts()
    left = work.match(PARAGRAPH, [(first, p.hash, sum(len(s.values) for s in p.sentences), len(p.sentences))
                                  for first, p in firsts])
    sentences = [(i, work.sentences[i].hash, len(work.sentences[i].values), 1)
                 for first, _, _, count in left for i in range(first, first + count)]
    unmatched = [item[0] for item in work.match(SENTENCE, sentences)]
    if unmatched:
        work.match_tokens(unmatched, origin)
    work.remember(left, unmatched)
    return work.result()
