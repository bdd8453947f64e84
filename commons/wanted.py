"""Searches that found nothing: the query text and a count, nothing about who or when beyond the day.

They are contributions from readers: they show what the commons lacks, and
feed the "wanted guides" list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Date, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from commons.accounts import Base
from commons.paths import fold

MAX_QUERY = 200


class MissRow(Base):
    __tablename__ = "search_misses"
    key: Mapped[str] = mapped_column(String(MAX_QUERY), primary_key=True)
    query: Mapped[str] = mapped_column(String(MAX_QUERY))
    count: Mapped[int] = mapped_column(Integer, default=0)
    last_day: Mapped[date] = mapped_column(Date)


@dataclass(frozen=True)
class Miss:
    query: str
    count: int
    last_day: date


def miss_key(query: str) -> str:
    """Queries that differ only by case, accents and spacing count as one."""
    return " ".join(fold(query).split())[:MAX_QUERY]


class MissLog:
    """Counts of searches that found nothing, in the accounts database."""

    def __init__(self, sessions: sessionmaker) -> None:  # type: ignore[type-arg]
        self.sessions = sessions

    def record(self, query: str) -> None:
        key = miss_key(query)
        if not key:
            return
        with self.sessions.begin() as db:
            row = db.get(MissRow, key)
            if row is None:
                db.add(MissRow(key=key, query=" ".join(query.split())[:MAX_QUERY], count=1, last_day=date.today()))
            else:
                row.count += 1
                row.last_day = date.today()

    def top(self, limit: int = 100) -> list[Miss]:
        with self.sessions() as db:
            rows = db.scalars(select(MissRow).order_by(MissRow.count.desc(), MissRow.key).limit(limit))
            return [Miss(r.query, r.count, r.last_day) for r in rows]
