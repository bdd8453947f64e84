"""What the credits of a page say: shares of the current text, contributors, contributions by kind.

Plain values built from the rows of ``credits.sqlite``; no I/O here.
Contribution kinds: ``creation`` (who created the page, once), ``edit``
(every revision of the page by that person, the creation, renames and
restores included; deletions are not edits) and ``restore`` (revisions made
with the restore button), counted from git; ``review`` and ``import`` from
the trailers of the commits (see :mod:`commons.credits.trailers`); and kinds
kept outside git, merged in by :mod:`commons.contributions`: ``thanks``
(received) and ``discussion`` (talk pages).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

KINDS = ("creation", "edit", "restore", "review", "discussion", "import", "thanks")
GIT_KINDS = KINDS[:3]

# author, created (0/1), edits, restores, first and last contribution (ISO 8601), by first contribution
ContributorRow = tuple[str, int, int, int, str, str]


@dataclass(frozen=True)
class AuthorShare:
    """One author's part of a page's current text."""

    name: str
    tokens: int
    share: float


@dataclass(frozen=True)
class PageCredits:
    """Who wrote how much of a page as it stands at revision ``rev``; shares sum to 1."""

    path: str
    rev: str
    total: int
    authors: list[AuthorShare]


@dataclass(frozen=True)
class Run:
    """A stretch of the page's Markdown and the author of its words (``None``: only syntax or spacing)."""

    text: str
    author: str | None


@dataclass(frozen=True)
class Contribution:
    """How many contributions of one kind one person made to a page."""

    name: str
    kind: str
    count: int


@dataclass(frozen=True)
class Contributor:
    """Everything a page's credits say about one person."""

    name: str
    tokens: int
    share: float
    edits: int
    created: bool
    restores: int
    first: datetime | None
    last: datetime | None
    others: dict[str, int] = field(default_factory=dict)  # kind -> count, for kinds after GIT_KINDS

    def counts(self) -> dict[str, int]:
        """Every kind of contribution this person made to the page, in :data:`KINDS` order, zeros left out."""
        known = {"creation": int(self.created), "edit": self.edits, "restore": self.restores, **self.others}
        return {kind: known[kind] for kind in sorted(known, key=_kind_order) if known[kind]}


@dataclass(frozen=True)
class PersonCredits:
    """One person's contributions across the whole commons, as the credits store knows them."""

    name: str
    created: int
    edits: int
    restores: int
    tokens: int
    first: datetime | None
    last: datetime | None
    others: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class PageSummary:
    """A page's credits, its contributors (authors of the current text by share first) and contributions."""

    credits: PageCredits
    contributors: list[Contributor]
    contributions: list[Contribution]


def shares(path: str, rev: str, rows: list[tuple[str, int]]) -> PageCredits:
    """Credits from (author, tokens) rows: largest share first, shares adding up to exactly 1.0."""
    total = sum(n for _, n in rows)
    ordered = sorted(rows, key=lambda row: (-row[1], row[0]))
    authors = [AuthorShare(name, n, n / total) for name, n in ordered]
    if authors:
        authors[0] = AuthorShare(authors[0].name, authors[0].tokens, 1.0 - sum(a.share for a in authors[1:]))
    return PageCredits(path, rev, total, authors)


def _kind_order(kind: str) -> tuple[int, str]:
    return (KINDS.index(kind) if kind in KINDS else len(KINDS), kind)


def contributions(rows: list[ContributorRow], others: dict[str, dict[str, int]] | None = None) -> list[Contribution]:
    """Counts per person and kind, people in order of first contribution, kinds in :data:`KINDS` order."""
    found: list[Contribution] = []
    for name, created, edits, restores, _, _ in rows:
        counts = {"creation": created, "edit": edits, "restore": restores, **(others or {}).get(name, {})}
        found += [Contribution(name, kind, counts[kind]) for kind in sorted(counts, key=_kind_order) if counts[kind]]
    return found


def contributors(credits: PageCredits, rows: list[ContributorRow],
                 others: dict[str, dict[str, int]] | None = None) -> list[Contributor]:
    """Authors of the current text by share, then everyone else who contributed, by first contribution."""
    by_name = {row[0]: row for row in rows}
    extra = others or {}
    people: list[Contributor] = []
    for share in credits.authors:
        row = by_name.get(share.name)
        people.append(_contributor(share.name, share.tokens, share.share, row, extra.get(share.name, {})))
    written = {a.name for a in credits.authors}
    people += [_contributor(row[0], 0, 0.0, row, extra.get(row[0], {})) for row in rows if row[0] not in written]
    return people


def _contributor(name: str, tokens: int, share: float, row: ContributorRow | None,
                 others: dict[str, int]) -> Contributor:
    if row is None:
        return Contributor(name, tokens, share, 0, False, 0, None, None, dict(others))
    _, created, edits, restores, first, last = row
    return Contributor(name, tokens, share, edits, bool(created), restores,
                       datetime.fromisoformat(first), datetime.fromisoformat(last), dict(others))


def with_kind(summary: PageSummary, kind: str, counts: dict[str, int]) -> PageSummary:
    """The summary with contributions of one more ``kind`` kept outside git (thanks, discussion) merged in.

    People the summary did not know yet come last, by name; each person's kinds stay in :data:`KINDS` order.
    """
    counts = {name: n for name, n in counts.items() if n}
    if not counts:
        return summary
    people = [replace(p, others={**p.others, kind: counts[p.name]}) if p.name in counts else p
              for p in summary.contributors]
    known = {p.name for p in people}
    people += [Contributor(name, 0, 0.0, 0, False, 0, None, None, {kind: counts[name]})
               for name in sorted(counts) if name not in known]
    grouped: dict[str, list[Contribution]] = {}
    for c in summary.contributions:
        grouped.setdefault(c.name, []).append(c)
    for name in sorted(counts):
        grouped.setdefault(name, []).append(Contribution(name, kind, counts[name]))
    merged = [c for group in grouped.values() for c in sorted(group, key=lambda c: _kind_order(c.kind))]
    return PageSummary(summary.credits, people, merged)
