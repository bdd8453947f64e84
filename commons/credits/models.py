"""What the credits of a page say: shares of the current text, contributors, contributions by kind.

Plain values built from the rows of ``credits.sqlite``; no I/O here.
Contribution kinds: ``creation`` (who created the page, once), ``edit``
(every revision of the page by that person, the creation, renames and
restores included) and ``restore`` (revisions made with the restore button).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

KINDS = ("creation", "edit", "restore")

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


def contributions(rows: list[ContributorRow]) -> list[Contribution]:
    """Counts per person and kind, people in order of first contribution, kinds in :data:`KINDS` order."""
    found: list[Contribution] = []
    for name, created, edits, restores, _, _ in rows:
        counts = {"creation": created, "edit": edits, "restore": restores}
        found += [Contribution(name, kind, counts[kind]) for kind in KINDS if counts[kind]]
    return found


def contributors(credits: PageCredits, rows: list[ContributorRow]) -> list[Contributor]:
    """Authors of the current text by share, then everyone else who contributed, by first contribution."""
    by_name = {row[0]: row for row in rows}
    people: list[Contributor] = []
    for share in credits.authors:
        row = by_name.get(share.name)
        people.append(_contributor(share.name, share.tokens, share.share, row))
    written = {a.name for a in credits.authors}
    people += [_contributor(row[0], 0, 0.0, row) for row in rows if row[0] not in written]
    return people


def _contributor(name: str, tokens: int, share: float, row: ContributorRow | None) -> Contributor:
    if row is None:
        return Contributor(name, tokens, share, 0, False, 0, None, None)
    _, created, edits, restores, first, last = row
    return Contributor(name, tokens, share, edits, bool(created), restores,
                       datetime.fromisoformat(first), datetime.fromisoformat(last))
