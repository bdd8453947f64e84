"""Accounts: users, roles, personal API tokens and password hashing (SQLAlchemy).

SQLite in the data directory by default (WAL mode), any SQLAlchemy URL
(PostgreSQL) through ``COMMONS_DATABASE_URL``. Passwords are hashed with
argon2id; API tokens are shown once and stored as SHA-256 digests.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from filelock import Timeout
from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, create_engine, event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from commons.errors import N_, BadRequest, ConfigError, Conflict, NotFound, Unavailable

ROLES = ("reader", "contributor", "maintainer", "admin")
USERNAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{1,31}")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
TOKEN_PREFIX = "cmn_"  # noqa: S105 - a prefix, not a secret


class Base(DeclarativeBase):
    pass


class UserRow(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(32), unique=True, index=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    approved: Mapped[bool] = mapped_column(Boolean, default=True)
    erased: Mapped[bool] = mapped_column(Boolean, default=False)
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    locale: Mapped[str | None] = mapped_column(String(8), nullable=True)  # interface language chosen


class TokenRow(Base):
    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    digest: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


@dataclass(frozen=True)
class Account:
    """An account as the rest of the app sees it (no password hash)."""

    id: int
    username: str
    display_name: str
    role: str
    blocked: bool
    created: datetime
    approved: bool = True
    erased: bool = False
    session_epoch: int = 0
    locale: str | None = None

    @property
    def active(self) -> bool:
        """May log in and act: approved, not blocked, not erased."""
        return self.approved and not self.blocked and not self.erased

    def has_role(self, role: str) -> bool:
        """True when this account's role is ``role`` or above, and it is active."""
        return self.active and ROLES.index(self.role) >= ROLES.index(role)


@dataclass(frozen=True)
class TokenInfo:
    id: int
    name: str
    created: datetime
    last_used: datetime | None


def _account(row: UserRow) -> Account:
    return Account(row.id, row.username, row.display_name, row.role, bool(row.blocked), _utc(row.created),
                   bool(row.approved), bool(row.erased), int(row.session_epoch or 0), row.locale)


def _utc(when: datetime) -> datetime:
    """SQLite gives back naive datetimes: they were stored in UTC."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def validate_username(username: object) -> str:
    """Lower-cased username of 2-32 letters, digits, ``-`` and ``_``, or :class:`BadRequest`."""
    name = username.strip().lower() if isinstance(username, str) else ""
    if not USERNAME_RE.fullmatch(name):
        raise BadRequest(N_("Nom d'utilisateur invalide : 2 à 32 caractères a-z, 0-9, « - » ou « _ », commençant par "
                            "une lettre ou un chiffre."))
    return name


def clean_display_name(name: object, fallback: str) -> str:
    """A display name of at most 100 printable characters (``fallback`` when empty)."""
    text = " ".join(name.split()) if isinstance(name, str) else ""
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise BadRequest(N_("Le nom affiché contient des caractères de contrôle."))
    if len(text) > 100:
        raise BadRequest(N_("Le nom affiché dépasse 100 caractères."))
    return text or fallback


def validate_role(role: str) -> str:
    if role not in ROLES:
        raise BadRequest(N_("Rôle inconnu : %(role)s. Rôles possibles : %(roles)s.", role=role, roles=', '.join(ROLES)))
    return role


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class AccountService:
    """Accounts and tokens of one commons."""

    def __init__(self, database_url: str, hasher: PasswordHasher | None = None) -> None:
        try:
            self.engine: Engine = create_engine(database_url, pool_pre_ping=True)
        except (SQLAlchemyError, ImportError) as exc:  # a malformed URL, or its driver is not installed
            raise ConfigError(f"Adresse de base de comptes inutilisable : {exc.__class__.__name__}: {exc}") from exc
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.hasher = hasher or PasswordHasher()

    def create_schema(self) -> list[str]:
        """Bring the database to the newest migration (creating it, or adopting one made before migrations).

        Returns the revisions applied by this call (empty when the database was already current).
        """
        from commons import migrations  # imports the other rooms' models: not at module import time

        try:
            return migrations.upgrade(self.engine)
        except (SQLAlchemyError, Timeout) as exc:
            raise Unavailable(N_("Base de comptes inaccessible : %(name)s", name=exc.__class__.__name__)) from exc

    def schema_problems(self) -> list[str]:
        """What ``commons check`` says about the database's migrations (empty when it is at the newest)."""
        from commons import migrations

        current = migrations.current_revision(self.engine)
        head = migrations.head_revision()
        return [] if current == head else [f"base de comptes en retard : migration {current or 'aucune'}, "
                                           f"attendue {head} (le prochain démarrage la mettra à jour)"]

    def close(self) -> None:
        self.engine.dispose()

    # -- accounts ---------------------------------------------------------------------

    def add(self, username: str, password: str, role: str | None = None, display_name: str | None = None,
            approved: bool = True) -> Account:
        """Create an account. Without ``role``, the first account is admin, later ones contributors.

        The first account is always approved (someone must be able to approve the others).
        """
        name = validate_username(username)
        self._check_password(password)
        with self.sessions.begin() as db:
            if role is None:
                role = "admin" if db.scalar(select(func.count()).select_from(UserRow)) == 0 else "contributor"
            first = db.scalar(select(func.count()).select_from(UserRow)) == 0
            row = UserRow(username=name, display_name=clean_display_name(display_name, name),
                          password_hash=self.hasher.hash(password), role=validate_role(role),
                          blocked=False, approved=approved or first, erased=False, session_epoch=0,
                          created=_now())
            db.add(row)
            try:
                db.flush()
            except IntegrityError as exc:
                raise Conflict(N_("Le nom d'utilisateur « %(name)s » est déjà pris.", name=name)) from exc
            return _account(row)

    def _check_password(self, password: object) -> None:
        if not isinstance(password, str) or len(password) < MIN_PASSWORD:
            raise BadRequest(N_("Le mot de passe doit faire au moins %(min_password)s caractères.",
                                min_password=MIN_PASSWORD))
        if len(password) > MAX_PASSWORD or "\0" in password:
            raise BadRequest(N_("Mot de passe refusé (trop long ou caractère nul)."))

    def get(self, user_id: int) -> Account | None:
        with self.sessions() as db:
            row = db.get(UserRow, user_id)
            return _account(row) if row else None

    def by_name(self, username: str) -> Account | None:
        with self.sessions() as db:
            row = db.scalar(select(UserRow).where(UserRow.username == username.strip().lower()))
            return _account(row) if row else None

    def require(self, username: str) -> Account:
        account = self.by_name(username)
        if account is None:
            raise NotFound(N_("Compte inconnu : %(username)s", username=username))
        return account

    def count(self) -> int:
        with self.sessions() as db:
            return int(db.scalar(select(func.count()).select_from(UserRow)) or 0)

    def authenticate(self, username: str, password: str) -> Account | None:
        """The account if the password matches and the account is not blocked, else ``None``."""
        with self.sessions.begin() as db:
            row = db.scalar(select(UserRow).where(UserRow.username == str(username).strip().lower()))
            if row is None:
                self.hasher.hash("timing-equaliser")  # same cost whether or not the name exists
                return None
            try:
                self.hasher.verify(row.password_hash, str(password))
            except (VerificationError, InvalidHashError):
                return None
            if self.hasher.check_needs_rehash(row.password_hash):
                row.password_hash = self.hasher.hash(str(password))
            account = _account(row)
            return account if account.active else None

    def set_role(self, username: str, role: str) -> Account:
        return self._update(username, role=validate_role(role))

    def set_blocked(self, username: str, blocked: bool = True) -> Account:
        return self._update(username, blocked=blocked)

    def rename(self, username: str, display_name: object) -> Account:
        """Change the name shown for an account (commits keep the username: no history is rewritten)."""
        return self._update(username, display_name=clean_display_name(display_name, username))

    def set_locale(self, username: str, locale: str | None) -> Account:
        """Remember the interface language an account chose (``None``: follow the browser)."""
        return self._update(username, locale=locale)

    def end_sessions(self, user_id: int) -> None:
        """Invalidate every session cookie of the account (logout ends them everywhere)."""
        with self.sessions.begin() as db:
            row = db.get(UserRow, user_id)
            if row is not None:
                row.session_epoch = int(row.session_epoch or 0) + 1

    def approve(self, username: str) -> Account:
        return self._update(username, approved=True)

    def all(self) -> list[Account]:
        """Every account, pending approval first, then by name."""
        with self.sessions() as db:
            rows = db.scalars(select(UserRow).order_by(UserRow.approved, UserRow.username))
            return [_account(row) for row in rows]

    def _update(self, username: str, **values: Any) -> Account:
        with self.sessions.begin() as db:
            row = db.scalar(select(UserRow).where(UserRow.username == username.strip().lower()))
            if row is None:
                raise NotFound(N_("Compte inconnu : %(username)s", username=username))
            for key, value in values.items():
                setattr(row, key, value)
            return _account(row)

    # -- tokens -----------------------------------------------------------------------

    def new_token(self, username: str, name: str = "jeton") -> str:
        """Create a personal API token; the clear value is returned once and never stored."""
        account = self.require(username)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.sessions.begin() as db:
            db.add(TokenRow(user_id=account.id, name=(name or "jeton")[:100], digest=_digest(token),
                            created=_now(), last_used=None))
        return token

    def tokens(self, user_id: int) -> list[TokenInfo]:
        with self.sessions() as db:
            rows = db.scalars(select(TokenRow).where(TokenRow.user_id == user_id).order_by(TokenRow.id))
            return [TokenInfo(r.id, r.name, _utc(r.created), _utc(r.last_used) if r.last_used else None) for r in rows]

    def revoke_token(self, user_id: int, token_id: int) -> None:
        with self.sessions.begin() as db:
            row = db.get(TokenRow, token_id)
            if row is None or row.user_id != user_id:
                raise NotFound(N_("Jeton inconnu."))
            db.delete(row)

    def account_for_token(self, token: str) -> Account | None:
        """The (unblocked) account owning ``token``, recording its last use; else ``None``."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        with self.sessions.begin() as db:
            row = db.scalar(select(TokenRow).where(TokenRow.digest == _digest(token)))
            if row is None:
                return None
            user = db.get(UserRow, row.user_id)
            if user is None or not _account(user).active:
                return None
            row.last_used = _now()
            return _account(user)
