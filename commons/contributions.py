"""Every kind of contribution, per page and per person: from git and from the database.

The credits store counts what git records (creations, edits, restores, and
the reviews and imports named in commit trailers) and the surviving words of
each author. Contributions that are not commits live in the database: thanks
received (:class:`commons.thanks.ThanksService`) and, later, talk messages.
Each such store is a :class:`CountSource` registered under its kind; this
module merges them. No Flask here, and no ranking: people come by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping, Protocol

from commons.credits import CreditStore, PageSummary, PersonCredits, with_kind


class CountSource(Protocol):
    """A store of contributions of one kind kept outside git: counts per username."""

    def count_for(self, username: str) -> int:
        """How many contributions of this kind ``username`` has (received, for thanks)."""

    def for_page(self, path: str) -> dict[str, int]:
        """username -> count, for the page at ``path``."""

    def totals(self) -> dict[str, int]:
        """username -> count, across the commons."""


@dataclass(frozen=True)
class Profile:
    """One person's contributions across the commons."""

    name: str
    pages_created: int = 0
    edits: int = 0
    restores: int = 0
    surviving_tokens: int = 0
    share: float = 0.0  # of every surviving token of the commons
    first: datetime | None = None
    last: datetime | None = None
    others: dict[str, int] = field(default_factory=dict)  # review, import, discussion, thanks

    @property
    def thanks_received(self) -> int:
        return self.others.get("thanks", 0)

    @property
    def reviews(self) -> int:
        return self.others.get("review", 0)

    @property
    def imports(self) -> int:
        return self.others.get("import", 0)

    @property
    def discussions(self) -> int:
        return self.others.get("discussion", 0)

    def as_json(self) -> dict[str, int]:
        """The ``contributions`` object of ``GET /-/api/v1/contributors/<name>``."""
        return {"pages_created": self.pages_created, "edits": self.edits, "restores": self.restores,
                "surviving_tokens": self.surviving_tokens, "thanks_received": self.thanks_received,
                "reviews": self.reviews, "imports": self.imports, "discussions": self.discussions}


class Contributions:
    """The credits store and the stores of contributions kept outside git, read together."""

    def __init__(self, credits: CreditStore, sources: Mapping[str, CountSource]) -> None:
        self.credits = credits
        self.sources = dict(sources)

    def page(self, path: str) -> PageSummary:
        """The page's credits with every kind of contribution; :class:`NotFound` if no such page.

        Contributions kept outside git follow the page across renames (its former paths count too).
        """
        summary = self.credits.summary(path)
        former = [old for old, _ in self.credits.former_paths(path)]
        for kind, source in self.sources.items():
            counts: dict[str, int] = {}
            for each in [path, *former]:
                for name, n in source.for_page(each).items():
                    counts[name] = counts.get(name, 0) + n
            summary = with_kind(summary, kind, counts)
        return summary

    def person(self, name: str) -> Profile | None:
        """What ``name`` contributed across the commons, or ``None`` if nothing at all."""
        found = self.credits.person(name)
        others = {kind: n for kind, source in self.sources.items() if (n := source.count_for(name))}
        if found is None and not others:
            return None
        return _profile(found or PersonCredits(name, 0, 0, 0, 0, None, None), others,
                        self.credits.total_tokens())

    def everyone(self) -> list[Profile]:
        """Every contributor of the commons, by name (no ranking)."""
        found = {p.name: p for p in self.credits.people()}
        others: dict[str, dict[str, int]] = {}
        for kind, source in self.sources.items():
            for name, n in source.totals().items():
                if n:
                    others.setdefault(name, {})[kind] = n
        total = self.credits.total_tokens()
        names = sorted(set(found) | set(others))
        return [_profile(found.get(name) or PersonCredits(name, 0, 0, 0, 0, None, None), others.get(name, {}), total)
                for name in names]


def _profile(credits: PersonCredits, others: dict[str, int], total: int) -> Profile:
    return Profile(credits.name, credits.created, credits.edits, credits.restores, credits.tokens,
                   credits.tokens / total if total else 0.0, credits.first, credits.last,
                   {**credits.others, **others})
