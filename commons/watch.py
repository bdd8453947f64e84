"""Watchlists: the pages and folders an account follows, and its private Atom feed token.

Watches and feed tokens live in the accounts database (SQLAlchemy, on
:class:`commons.accounts.Base`). A feed token is shown once and stored as a
SHA-256 digest, like API tokens; making a new one revokes the old one. The
changes of a watchlist come from the derived history table, newest first:
no ranking.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from commons import paths
from commons.accounts import Account, AccountService, Base
from commons.changes import MAX_WATCHED, ChangeFilter
from commons.errors import N_, BadRequest
from commons.history import HistoryStore, Revision

log = logging.getLogger(__name__)

FEED_TOKEN_PREFIX = "wl_"  # noqa: S105 - a prefix, not a secret


class WatchRow(Base):
    __tablename__ = "watches"
    __table_args__ = (UniqueConstraint("user_id", "target", "folder", name="watches_unique"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    target: Mapped[str] = mapped_column(String(paths.MAX_PATH_LENGTH))
    folder: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WatchFeedRow(Base):
    __tablename__ = "watch_feeds"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class Watched:
    """What one account watches: page paths and folder paths, each sorted."""

    pages: tuple[str, ...] = ()
    folders: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.pages or self.folders)

    def covers(self, path: str) -> bool:
        """True when a change to ``path`` shows in this watchlist."""
        return path in self.pages or any(path.startswith(folder + "/") for folder in self.folders)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


class WatchService:
    """Watches and private feed tokens of the accounts of one commons."""

    def __init__(self, accounts: AccountService, history: HistoryStore) -> None:
        self.accounts = accounts
        self.sessions = accounts.sessions
        self.history = history

    # -- watching ---------------------------------------------------------------------

    def watch(self, user_id: int, target: str, folder: bool = False) -> None:
        """Follow a page (or every page under a folder); watching twice is the same as once."""
        target = paths.validate_path(target)
        try:
            with self.sessions.begin() as db:
                if self._find(db, user_id, target, folder) is not None:
                    return
                count = db.scalar(select(func.count()).select_from(WatchRow).where(WatchRow.user_id == user_id))
                if (count or 0) >= MAX_WATCHED:
                    raise BadRequest(N_("Vous suivez déjà %(max_watched)s pages et dossiers : retirez-en avant d'en "
                                        "ajouter.", max_watched=MAX_WATCHED))
                db.add(WatchRow(user_id=user_id, target=target, folder=folder, created=_now()))
        except IntegrityError:  # the same watch added at the same moment: already done
            log.debug("watch of %s by user=%s already recorded", target, user_id)

    def unwatch(self, user_id: int, target: str, folder: bool = False) -> None:
        """Stop following a page or folder (nothing happens if it was not followed)."""
        with self.sessions.begin() as db:
            db.execute(delete(WatchRow).where(WatchRow.user_id == user_id, WatchRow.target == target,
                                              WatchRow.folder == folder))

    def follow_moves(self, moved: dict[str, str], folder: tuple[str, str] | None = None) -> None:
        """Watches of moved pages (``old -> new``), and of a moved folder and its subfolders, follow them."""
        with self.sessions.begin() as db:
            rows = list(db.scalars(select(WatchRow).where(WatchRow.folder.is_(False),
                                                          WatchRow.target.in_(list(moved)))))
            if folder is not None:
                source, target = folder
                rows += db.scalars(select(WatchRow).where(WatchRow.folder.is_(True), (WatchRow.target == source)
                                                          | WatchRow.target.like(f"{source}/%")))
            for row in rows:
                if row.folder and folder is not None:
                    new = folder[1] + row.target[len(folder[0]):]
                else:
                    new = moved[row.target]
                if self._find(db, row.user_id, new, row.folder) is None:
                    db.add(WatchRow(user_id=row.user_id, target=new, folder=row.folder, created=row.created))
                db.delete(row)

    def _find(self, db: Session, user_id: int, target: str, folder: bool) -> WatchRow | None:
        return db.scalar(select(WatchRow).where(WatchRow.user_id == user_id, WatchRow.target == target,
                                                WatchRow.folder == folder))

    def is_watching(self, user_id: int, target: str, folder: bool = False) -> bool:
        with self.sessions() as db:
            return self._find(db, user_id, target, folder) is not None

    def watched(self, user_id: int) -> Watched:
        """The pages and folders ``user_id`` follows."""
        with self.sessions() as db:
            rows = db.execute(select(WatchRow.target, WatchRow.folder).where(WatchRow.user_id == user_id)
                              .order_by(WatchRow.target)).all()
        return Watched(tuple(t for t, f in rows if not f), tuple(t for t, f in rows if f))

    def changes(self, user_id: int, limit: int = 50, offset: int = 0) -> list[Revision]:
        """Changes to the watched pages and folders, newest first."""
        watched = self.watched(user_id)
        if not watched:
            return []
        where = ChangeFilter(pages=watched.pages, folders=watched.folders)
        return self.history.recent(max(1, min(limit, 500)), max(0, offset), where)

    def forget(self, user_id: int) -> None:
        """Drop every watch and the feed token of an account (erasure of its personal data)."""
        with self.sessions.begin() as db:
            db.execute(delete(WatchRow).where(WatchRow.user_id == user_id))
            db.execute(delete(WatchFeedRow).where(WatchFeedRow.user_id == user_id))

    # -- the private feed -------------------------------------------------------------

    def new_feed_token(self, user_id: int) -> str:
        """A new secret for the account's private feed URL (returned once; the previous one stops working)."""
        token = FEED_TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.sessions.begin() as db:
            db.execute(delete(WatchFeedRow).where(WatchFeedRow.user_id == user_id))
            db.add(WatchFeedRow(user_id=user_id, digest=_digest(token), created=_now()))
        log.info("new watchlist feed token for user=%s", user_id)
        return token

    def revoke_feed_token(self, user_id: int) -> None:
        """Make the private feed URL stop working."""
        with self.sessions.begin() as db:
            db.execute(delete(WatchFeedRow).where(WatchFeedRow.user_id == user_id))
        log.info("watchlist feed token revoked for user=%s", user_id)

    def feed_created(self, user_id: int) -> datetime | None:
        """When the current feed token was made, or ``None`` if there is none."""
        with self.sessions() as db:
            row = db.get(WatchFeedRow, user_id)
            if row is None:
                return None
            return row.created.replace(tzinfo=UTC) if row.created.tzinfo is None else row.created

    def account_for_feed_token(self, token: str) -> Account | None:
        """The active account whose private feed ``token`` is, else ``None``."""
        if not token.startswith(FEED_TOKEN_PREFIX) or len(token) > 200:
            return None
        with self.sessions() as db:
            user_id = db.scalar(select(WatchFeedRow.user_id).where(WatchFeedRow.digest == _digest(token)))
        if user_id is None:
            return None
        account = self.accounts.get(user_id)
        return account if account is not None and account.active else None
