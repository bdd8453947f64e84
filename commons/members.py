"""Membership: registration modes, invitations, and the RGPD rights (export, erasure).

Erasure keeps the contributions (git history is not rewritten) but the
account's personal data go: display name, password, tokens. The username stays
as a tombstone key so that its commits are shown under a neutral pseudonym
("ancien contributeur n°12") wherever names are displayed.
"""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import zipfile
from dataclasses import asdict
from datetime import UTC, datetime

from sqlalchemy import DateTime, Integer, String, delete, select, update
from sqlalchemy.orm import Mapped, mapped_column

from commons.accounts import Account, AccountService, Base, TokenRow, UserRow
from commons.errors import N_, BadRequest, Forbidden
from commons.history import HistoryStore
from commons.watch import WatchFeedRow, WatchRow

REGISTRATION_MODES = ("open", "approval", "invitation", "closed")
INVITATION_PREFIX = "inv_"
NO_PASSWORD = "!"  # matches no argon2 hash: an erased account can never log in  # noqa: S105


class InvitationRow(Base):
    __tablename__ = "invitations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created_by: Mapped[int] = mapped_column(Integer)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_by: Mapped[int | None] = mapped_column(Integer, nullable=True)


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8", "replace")).hexdigest()


def pseudonym(account_id: int) -> str:
    """The neutral name an erased account's contributions are shown under."""
    return f"ancien contributeur n°{account_id}"


class Members:
    """Registration, invitations and personal data of the accounts."""

    def __init__(self, accounts: AccountService, history: HistoryStore, mode: str = "open") -> None:
        if mode not in REGISTRATION_MODES:
            raise BadRequest(N_("Mode d'inscription inconnu : %(mode)s (%(registration_modes)s).",
                                mode=mode, registration_modes=', '.join(REGISTRATION_MODES)))
        self.accounts = accounts
        self.history = history
        self.mode = mode

    def register(self, username: str, password: str, display_name: str | None = None,
                 invitation: str | None = None) -> Account:
        """Create an account as the registration mode allows; under "approval" it waits for a maintainer."""
        first = self.accounts.count() == 0
        if self.mode == "closed" and not first:
            raise Forbidden(N_("Les inscriptions sont fermées sur ce commons."))
        if self.mode == "invitation" and not first:
            return self._register_invited(username, password, display_name, invitation or "")
        return self.accounts.add(username, password, display_name=display_name,
                                 approved=self.mode != "approval")

    def _register_invited(self, username: str, password: str, display_name: str | None, code: str) -> Account:
        digest = _digest(code.strip())
        with self.accounts.sessions.begin() as db:  # claim the invitation first: it can serve only once
            claimed = db.execute(update(InvitationRow).where(InvitationRow.digest == digest,
                                                             InvitationRow.used_by.is_(None)).values(used_by=0))
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                raise Forbidden(N_("Invitation inconnue ou déjà utilisée."))
        try:
            created = self.accounts.add(username, password, display_name=display_name)
        except BaseException:
            with self.accounts.sessions.begin() as db:
                db.execute(update(InvitationRow).where(InvitationRow.digest == digest).values(used_by=None))
            raise
        with self.accounts.sessions.begin() as db:
            db.execute(update(InvitationRow).where(InvitationRow.digest == digest).values(used_by=created.id))
        return created

    def invite(self, by: Account) -> str:
        """A new single-use invitation code (shown once, stored hashed)."""
        code = INVITATION_PREFIX + secrets.token_urlsafe(18)
        with self.accounts.sessions.begin() as db:
            db.add(InvitationRow(digest=_digest(code), created_by=by.id, created=datetime.now(UTC), used_by=None))
        return code

    def display_names(self) -> dict[str, str]:
        """username -> name to show: the display name, or the pseudonym of an erased account."""
        with self.accounts.sessions() as db:
            rows = db.execute(select(UserRow.id, UserRow.username, UserRow.display_name, UserRow.erased))
            return {name: pseudonym(id_) if erased else shown for id_, name, shown, erased in rows}

    def erase(self, account: Account) -> str:
        """RGPD art. 17: remove the account's personal data; contributions stay under a pseudonym."""
        alias = pseudonym(account.id)
        with self.accounts.sessions.begin() as db:
            db.execute(delete(TokenRow).where(TokenRow.user_id == account.id))
            db.execute(delete(WatchRow).where(WatchRow.user_id == account.id))  # what they read is theirs alone
            db.execute(delete(WatchFeedRow).where(WatchFeedRow.user_id == account.id))
            db.execute(update(UserRow).where(UserRow.id == account.id).values(
                display_name=alias, password_hash=NO_PASSWORD, erased=True, blocked=True))
        return alias

    def export(self, account: Account) -> bytes:
        """RGPD art. 20: everything the commons holds about the account, as a zip of JSON and Markdown."""
        revisions = self.history.by_author(account.username, 1_000_000)
        tokens = self.accounts.tokens(account.id)
        contributions = [{"path": r.path, "rev": r.rev, "date": r.date.isoformat(), "summary": r.summary,
                          "kind": {"A": "creation", "D": "deletion"}.get(r.op, "edit")} for r in revisions]
        profile = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(account).items()}
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("compte.json", json.dumps(profile, ensure_ascii=False, indent=2))
            archive.writestr("jetons.json", json.dumps(
                [{"name": t.name, "created": t.created.isoformat(),
                  "last_used": t.last_used.isoformat() if t.last_used else None} for t in tokens],
                ensure_ascii=False, indent=2))
            archive.writestr("contributions.json", json.dumps(contributions, ensure_ascii=False, indent=2))
            archive.writestr("LISEZMOI.md", _readme(account, len(contributions)))
        return buffer.getvalue()


def _readme(account: Account, count: int) -> str:
    return (f"# Vos données sur Commons\n\nCompte « {account.username} » ({account.display_name}).\n\n"
            f"- `compte.json` : votre compte (aucun mot de passe : il n'est stocké que sous forme d'empreinte).\n"
            f"- `jetons.json` : vos jetons d'API (noms et dates ; les jetons eux-mêmes ne sont jamais stockés).\n"
            f"- `contributions.json` : vos {count} modifications ; leur texte est dans l'historique git public.\n\n"
            "Aucune adresse e-mail n'est demandée ni stockée ; rien n'est pisté.\n")
