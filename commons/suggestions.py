"""Suggestions: changes proposed for review instead of saved, by anyone who may not (or would rather not) edit.

A suggestion is a commit kept outside the branch, under ``refs/suggestions/<id>``:
its parent is the page's base revision (the branch head for a new page), its
author the suggester (``anonyme`` for a visitor without an account), its message
the summary, its tree the page with the proposed text. What git does not hold
(status, reviewer, decline reason, dates) is a row of the ``suggestions`` table.

Accepting applies the text through :meth:`PageService.save` with the suggester as
author, a ``Reviewed-by:`` trailer for the reviewer and the usual three-way merge
from the base revision; a conflict leaves the suggestion open. Accepting or
declining deletes the ref. No Flask here.
"""

from __future__ import annotations

import logging
import secrets
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Sequence

from filelock import FileLock
from sqlalchemy import DateTime, String, Text, func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from commons import paths
from commons.accounts import Base
from commons.errors import N_, BadRequest, Conflict, NotFound, NotLoggedIn, Unavailable
from commons.locks import held
from commons.merging import merge_texts
from commons.pages import EMAIL_DOMAIN, PageService, SaveResult, clean_rev, clean_summary, clean_text, identity_for
from commons.storage import GitStore

log = logging.getLogger(__name__)

REF_PREFIX = "refs/suggestions/"
ANONYMOUS = "anonyme"
STATUSES = ("open", "accepted", "declined")
MAX_REASON = 2000
LIST_LIMIT = 200
_ID_BYTES = 4  # eight hexadecimal digits


class SuggestionRow(Base):
    __tablename__ = "suggestions"
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    path: Mapped[str] = mapped_column(String(210), index=True)
    author: Mapped[str] = mapped_column(String(32))  # the commit's author name: a username or "anonyme"
    account: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)  # None: no account
    summary: Mapped[str] = mapped_column(String(300))
    base_rev: Mapped[str | None] = mapped_column(String(40), nullable=True)  # None: a new page
    commit: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    reviewer: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    reviewed: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    rev: Mapped[str | None] = mapped_column(String(40), nullable=True)  # the commit that applied it


@dataclass(frozen=True)
class Suggestion:
    """A proposed change with its texts: ``base_markdown`` (empty for a new page) and the proposed ``markdown``."""

    id: str
    path: str
    author: str
    account: str | None
    summary: str
    status: str
    base_rev: str | None
    commit: str
    created: datetime
    markdown: str
    base_markdown: str
    reviewer: str | None = None
    reviewed: datetime | None = None
    reason: str | None = None
    rev: str | None = None

    @property
    def creating(self) -> bool:
        return self.base_rev is None


@dataclass(frozen=True)
class Outcome:
    """What accepting a suggestion now would do: the page's ``current`` text and the ``result`` (merged).

    ``clean`` is False when the page changed since the base at the same places (accepting would conflict);
    ``result`` is then the proposed text as it was written.
    """

    current: str
    result: str
    clean: bool
    exists: bool


def valid_id(ident: object) -> bool:
    """True for a suggestion id as this module makes them (hexadecimal digits)."""
    return isinstance(ident, str) and 4 <= len(ident) <= 16 and all(c in "0123456789abcdef" for c in ident)


def clean_reason(reason: object) -> str:
    """A decline reason: required, at most ``MAX_REASON`` characters, no NUL."""
    text = reason.replace("\r\n", "\n").strip() if isinstance(reason, str) else ""
    if not text or "\0" in text:
        raise BadRequest(N_("Indiquez la raison du refus : elle sera montrée à la personne qui a proposé."))
    if len(text) > MAX_REASON:
        raise BadRequest(N_("La raison dépasse %(max_reason)s caractères.", max_reason=MAX_REASON))
    return text


def _utc(when: datetime | None) -> datetime | None:
    """SQLite gives back naive datetimes: they were stored in UTC."""
    return when.replace(tzinfo=UTC) if when is not None and when.tzinfo is None else when


class SuggestionService:
    """Propose, list, accept and decline suggestions."""

    def __init__(self, pages: PageService, store: GitStore, sessions: sessionmaker) -> None:  # type: ignore[type-arg]
        self.pages = pages
        self.store = store
        self.sessions = sessions
        self._lock = FileLock(str(pages.settings.lock_dir / "suggestions.lock"), thread_local=False)

    def _reviewing(self) -> AbstractContextManager[None]:
        """One review at a time, across threads and processes (taken before the pages' write lock)."""
        return held(self._lock, 30, N_("La relecture est très sollicitée ; réessayez dans un instant."))

    # -- proposing ------------------------------------------------------------------------

    def suggest(self, path: str, markdown: object, summary: object, base_rev: object, author: str | None) -> str:
        """Store a proposed text for ``path`` (``base_rev`` None: a new page); returns the suggestion's id.

        ``author`` is the suggester's username, ``None`` for a visitor without an account
        (refused with :class:`NotLoggedIn` unless ``anonymous_suggestions`` is on).
        """
        path = paths.validate_path(path)
        settings = self.pages.settings
        if author is None and not settings.anonymous_suggestions:
            raise NotLoggedIn(N_("Connectez-vous pour proposer une modification."))
        text = clean_text(markdown, settings.max_page_bytes)
        base = self._check_base(path, clean_rev(base_rev))
        name = author or ANONYMOUS
        message = clean_summary(summary, f"Proposition pour {path}" if base else f"Proposition de créer {path}")
        parent = base or self.store.head()
        commit = self.store.commit_detached({paths.file_for(path): text.encode()}, identity_for(name), message, parent)
        ident = self._keep(commit)
        row = SuggestionRow(id=ident, path=path, author=name, account=author, summary=message, base_rev=base,
                            commit=commit, status="open", created=datetime.now(UTC))
        try:
            with self.sessions.begin() as db:
                db.add(row)
        except SQLAlchemyError as exc:
            self.store.delete_ref(REF_PREFIX + ident)
            raise Unavailable(N_("La proposition n'a pas pu être enregistrée ; réessayez.")) from exc
        log.info("suggestion id=%s page=%s commit=%s author=%s", ident, path, commit, name)
        return ident

    def _keep(self, commit: str) -> str:
        """Point a new ``refs/suggestions/<id>`` at ``commit``; returns the id."""
        for _ in range(5):
            ident = secrets.token_hex(_ID_BYTES)
            try:
                self.store.set_ref(REF_PREFIX + ident, commit, None)
            except Conflict:
                continue  # that id is taken
            return ident
        raise Unavailable(N_("Impossible de réserver un numéro de proposition ; réessayez."))

    def _check_base(self, path: str, base: str | None) -> str | None:
        """The full id of the base revision, checked against the page as it stands (as a save would)."""
        current = self.pages.state(path)
        if base is None:
            if current is not None:
                text = self.store.read_blob(current.blob).decode("utf-8", "replace")
                raise Conflict(N_("La page « %(path)s » existe déjà : proposez une modification de son texte actuel.",
                                  path=path),
                               current_rev=current.rev, current_markdown=text)
            return None
        head = self.store.head()
        full = self.store.resolve(base)
        if full is None or head is None or not self.store.is_ancestor(full, head):
            raise BadRequest(N_("Révision de base (base_rev) inconnue dans l'historique du commons."))
        if self.store.blob_id(full, paths.file_for(path)) is None:
            raise BadRequest(N_("La page « %(path)s » n'existait pas à la révision %(full)s.",
                                path=path, full=full[:7]))
        if current is None:
            raise Conflict(N_("La page « %(path)s » a été supprimée depuis.",
                              path=path), current_rev=None, current_markdown="")
        return full

    # -- reading --------------------------------------------------------------------------

    def get(self, ident: str) -> Suggestion:
        """One suggestion with its texts; :class:`NotFound` if unknown."""
        row = None
        if valid_id(ident):
            with self.sessions() as db:
                row = db.get(SuggestionRow, ident)
        if row is None:
            raise NotFound(N_("Proposition inconnue : %(ident)s", ident=str(ident)[:16]))
        return self._suggestion(row)

    def list(self, status: str | None = "open", account: str | None = None,
             ids: Sequence[str] | None = None, limit: int = LIST_LIMIT) -> list[Suggestion]:
        """Suggestions, newest first: of one ``status`` (``None``: all), of one ``account``, or among ``ids``."""
        if status is not None and status not in STATUSES:
            raise BadRequest(N_("Statut inconnu : %(status)s. Statuts possibles : %(statuses)s.",
                                status=status, statuses=', '.join(STATUSES)))
        query = select(SuggestionRow).order_by(SuggestionRow.created.desc(), SuggestionRow.id).limit(limit)
        if status is not None:
            query = query.where(SuggestionRow.status == status)
        if account is not None:
            query = query.where(SuggestionRow.account == account)
        if ids is not None:
            query = query.where(SuggestionRow.id.in_([i for i in ids if valid_id(i)][:LIST_LIMIT]))
        with self.sessions() as db:
            rows = list(db.scalars(query))
        return [self._suggestion(row) for row in rows]

    def count(self, status: str = "open") -> int:
        """How many suggestions have ``status`` (the review queue's length for ``open``)."""
        with self.sessions() as db:
            query = select(func.count()).select_from(SuggestionRow).where(SuggestionRow.status == status)
            return int(db.scalar(query) or 0)

    def outcome(self, suggestion: Suggestion) -> Outcome:
        """What accepting ``suggestion`` now would make of the page (for the review's diff)."""
        current = self.pages.state(suggestion.path)
        if current is None:
            return Outcome("", suggestion.markdown, suggestion.creating, False)
        text = self.store.read_blob(current.blob).decode("utf-8", "replace")
        if suggestion.base_rev is None:
            return Outcome(text, suggestion.markdown, False, True)
        if suggestion.base_rev == current.rev:
            return Outcome(text, suggestion.markdown, True, True)
        merged, clean = merge_texts(suggestion.base_markdown, text, suggestion.markdown)
        return Outcome(text, merged if clean else suggestion.markdown, clean, True)

    def _suggestion(self, row: SuggestionRow) -> Suggestion:
        name = paths.file_for(row.path)
        proposed = self.store.read_file(row.commit, name)
        base = self.store.read_file(row.base_rev, name) if row.base_rev else None
        created = _utc(row.created)
        assert created is not None
        return Suggestion(row.id, row.path, row.author, row.account, row.summary, row.status, row.base_rev,
                          row.commit, created, (proposed or b"").decode("utf-8", "replace"),
                          (base or b"").decode("utf-8", "replace"), row.reviewer, _utc(row.reviewed), row.reason,
                          row.rev)

    # -- reviewing ------------------------------------------------------------------------

    def accept(self, ident: str, reviewer: str) -> SaveResult:
        """Apply the suggestion (suggester as author, ``Reviewed-by: reviewer``); :class:`Conflict` leaves it open."""
        with self._reviewing():
            suggestion = self._open(ident)
            if not self.store.read_file(suggestion.commit, paths.file_for(suggestion.path)):
                raise Unavailable(N_("Le texte de la proposition %(ident)s est introuvable dans le dépôt.",
                                     ident=ident))
            trailer = f"Reviewed-by: {reviewer} <{reviewer}@{EMAIL_DOMAIN}>"
            result = self.pages.save(suggestion.path, suggestion.markdown, suggestion.summary, suggestion.base_rev,
                                     identity_for(suggestion.author), trailers=[trailer])
            self._close(suggestion, "accepted", reviewer, rev=result.rev)
        log.info("suggestion id=%s accepted by=%s rev=%s merged=%s", ident, reviewer, result.rev, result.merged)
        return result

    def decline(self, ident: str, reviewer: str, reason: object) -> Suggestion:
        """Decline the suggestion with a ``reason`` shown to the suggester; returns it as it now stands."""
        text = clean_reason(reason)
        with self._reviewing():
            suggestion = self._open(ident)
            self._close(suggestion, "declined", reviewer, reason=text)
        log.info("suggestion id=%s declined by=%s", ident, reviewer)
        return self.get(ident)

    def _open(self, ident: str) -> Suggestion:
        suggestion = self.get(ident)
        if suggestion.status != "open":
            if suggestion.status == "accepted":
                raise Conflict(N_("La proposition %(id)s a déjà été acceptée.", id=ident))
            raise Conflict(N_("La proposition %(id)s a déjà été refusée.", id=ident))
        return suggestion

    def _close(self, suggestion: Suggestion, status: str, reviewer: str, reason: str | None = None,
               rev: str | None = None) -> None:
        """Record the decision, then drop the ref (an accepted text lives on in the branch)."""
        with self.sessions.begin() as db:
            db.execute(update(SuggestionRow).where(SuggestionRow.id == suggestion.id).values(
                status=status, reviewer=reviewer, reason=reason, rev=rev, reviewed=datetime.now(UTC)))
        self.store.delete_ref(REF_PREFIX + suggestion.id)
