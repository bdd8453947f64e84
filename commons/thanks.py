"""Thanks: a reader thanks the author of one revision of a page, once per revision.

Thanks are not commits, so they live in the accounts database: who thanked
(account id), which revision of which page, whose revision it was, and the
day only (no time of day). They count in the author's credits; there are no
likes and nothing ranks people by the thanks they received.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from commons import paths
from commons.accounts import Account, Base
from commons.errors import N_, BadRequest, Conflict, Forbidden, NotFound
from commons.history import HistoryStore

log = logging.getLogger(__name__)

REV_RE = re.compile(r"[0-9a-f]{40}")


class ThanksRow(Base):
    __tablename__ = "thanks"
    __table_args__ = (UniqueConstraint("user_id", "rev", name="thanks_once_per_revision"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    rev: Mapped[str] = mapped_column(String(40))
    path: Mapped[str] = mapped_column(String(paths.MAX_PATH_LENGTH), index=True)
    author: Mapped[str] = mapped_column(String(255), index=True)
    day: Mapped[date] = mapped_column(Date)


@dataclass(frozen=True)
class Thanks:
    """One thanks: from an account, for a revision of a page, to the revision's author."""

    user_id: int
    rev: str
    path: str
    author: str
    day: date


class ThanksService:
    """Thanks given and received, in the accounts database; revisions are checked against the history."""

    def __init__(self, sessions: sessionmaker, history: HistoryStore) -> None:  # type: ignore[type-arg]
        self.sessions = sessions
        self.history = history

    def thank(self, account: Account, path: str, rev: str) -> Thanks:
        """``account`` thanks the author of revision ``rev`` of page ``path``.

        :class:`BadRequest` for a malformed revision or one's own revision,
        :class:`NotFound` when ``rev`` is not a revision of that page,
        :class:`Conflict` when this account already thanked that revision.
        """
        path = paths.validate_path(path)
        rev = (rev or "").strip().lower()
        if not REV_RE.fullmatch(rev):
            raise BadRequest(N_("Révision invalide : l'identifiant complet (40 caractères hexadécimaux) est attendu."))
        if not account.active:
            raise Forbidden(N_("Ce compte ne peut pas remercier."))
        revision = self.history.revision(path, rev)
        if revision is None:
            raise NotFound(N_("La page « %(path)s » n'a pas de révision %(rev)s.", path=path, rev=rev[:7]))
        if revision.author == account.username:
            raise BadRequest(N_("On ne peut pas se remercier soi-même."))
        row = ThanksRow(user_id=account.id, rev=rev, path=path, author=revision.author[:255], day=date.today())
        try:
            with self.sessions.begin() as db:
                if db.scalar(select(ThanksRow.id).where(ThanksRow.user_id == account.id, ThanksRow.rev == rev)):
                    raise Conflict(N_("Vous avez déjà remercié %(author)s pour la révision %(rev)s.",
                                      author=revision.author, rev=rev[:7]))
                db.add(row)
        except IntegrityError as exc:  # the same thanks sent twice at once
            raise Conflict(N_("Vous avez déjà remercié %(author)s pour la révision %(rev)s.",
                              author=revision.author, rev=rev[:7])) from exc
        log.info("thanks from user %s for %s on %s", account.id, rev, path)
        return Thanks(account.id, rev, path, row.author, row.day)

    def count_for(self, username: str) -> int:
        """How many thanks ``username`` received, for all their revisions."""
        with self.sessions() as db:
            return int(db.scalar(select(func.count()).select_from(ThanksRow).where(ThanksRow.author == username))
                       or 0)

    def for_page(self, path: str) -> dict[str, int]:
        """Thanks received for revisions of page ``path``: username -> count."""
        with self.sessions() as db:
            rows = db.execute(select(ThanksRow.author, func.count()).where(ThanksRow.path == path)
                              .group_by(ThanksRow.author))
            return {author: int(count) for author, count in rows}

    def totals(self) -> dict[str, int]:
        """Thanks received by everyone: username -> count."""
        with self.sessions() as db:
            rows = db.execute(select(ThanksRow.author, func.count()).group_by(ThanksRow.author))
            return {author: int(count) for author, count in rows}

    def given(self, user_id: int, path: str) -> set[str]:
        """The revisions of page ``path`` that account ``user_id`` already thanked."""
        with self.sessions() as db:
            return set(db.scalars(select(ThanksRow.rev).where(ThanksRow.user_id == user_id, ThanksRow.path == path)))
