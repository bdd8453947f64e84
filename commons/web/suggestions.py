"""Suggestions on the web: propose a change (``/-/suggest/<path>``), follow it, and the review queue (``/-/review``).

Whoever may not edit a page directly (a protected page, a reader, a visitor when
anonymous suggestions are on) gets the edit form in "suggest" mode; contributors
may choose to suggest too. A visitor's suggestions are remembered in their session
so that they can follow them without an account.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from commons import paths
from commons.diffs import diff_texts
from commons.errors import BadRequest, CommonsError, Conflict, Forbidden, NotFound, NotLoggedIn
from commons.suggestions import STATUSES, Suggestion
from commons.web import account, commons, page_url, require_edit, requires, translated
from commons.web.navigation import starting_text

bp = Blueprint("suggestions", __name__)
SESSION_KEY = "suggestions"
REMEMBERED = 50  # suggestions a browser session keeps track of
QUEUE = 100  # suggestions shown on one review page
STATUS_LABELS = {"open": _l("en attente de relecture"), "accepted": _l("acceptée"), "declined": _l("refusée")}


def may_edit(path: str) -> bool:
    """True when the visitor may save ``path`` directly (what :func:`require_edit` checks)."""
    try:
        require_edit(path)
    except (NotLoggedIn, Forbidden):
        return False
    return True


def may_suggest() -> bool:
    """True when the visitor may propose changes: any account, and visitors if ``anonymous_suggestions`` is on."""
    return account() is not None or commons().settings.anonymous_suggestions


def suggester() -> str | None:
    """The suggester's username, ``None`` for a visitor; :class:`NotLoggedIn` when visitors may not suggest."""
    who = account()
    if not may_suggest():
        raise NotLoggedIn(_("Connectez-vous pour proposer une modification."))
    return who.username if who else None


def _open_count() -> int:
    return commons().suggestions.count("open")


@bp.app_context_processor
def template_helpers() -> dict[str, Any]:
    """``may_edit(path)`` and ``open_suggestions()`` for every template (the header shows the queue's length)."""
    return {"may_edit": may_edit, "open_suggestions": _open_count, "suggestion_labels": STATUS_LABELS}


def _remember(ident: str) -> None:
    kept = [i for i in session.get(SESSION_KEY, []) if isinstance(i, str) and i != ident]
    session[SESSION_KEY] = [ident, *kept][:REMEMBERED]


def _can_see(suggestion: Suggestion) -> bool:
    """Maintainers, the suggesting account, and the browser session that made it."""
    who = account()
    if who is not None and (who.has_role("maintainer") or who.username == suggestion.account):
        return True
    return suggestion.id in session.get(SESSION_KEY, [])


def _conflict_form(exc: Conflict, markdown: str) -> dict[str, Any]:
    current = exc.extra.get("current_markdown", "")
    return {"message": translated(exc.message), "current_rev": exc.extra.get("current_rev") or "", "current": current,
            "diff": diff_texts(current, markdown)}


@bp.get("/-/suggest/<path:path>")
def suggest_form(path: str) -> ResponseReturnValue:
    """The edit form in suggest mode, from the page as it stands (or a new page's first line)."""
    path = paths.validate_path(path)
    suggester()
    service = commons().pages
    form: dict[str, Any] = {"path": path, "suggesting": True, "direct": may_edit(path)}
    if service.state(path) is None:
        title = (request.args.get("title") or "").rsplit("/", 1)[-1].strip() or paths.readable_name(path)
        return render_template("edit.html", markdown=starting_text(path, title), base_rev="", creating=True,
                               title=title, **form)
    page = service.get(path)
    return render_template("edit.html", markdown=page.markdown, base_rev=page.rev, creating=False, **form)


@bp.post("/-/suggest/<path:path>")
def suggest(path: str) -> ResponseReturnValue:
    """Store the proposed text as a suggestion, then show its confirmation page."""
    path = paths.validate_path(path)
    who = suggester()
    markdown = request.form.get("markdown", "")
    base_rev = request.form.get("base_rev") or None
    form: dict[str, Any] = {"path": path, "markdown": markdown, "summary": request.form.get("summary", ""),
                            "base_rev": base_rev or "", "creating": base_rev is None, "suggesting": True,
                            "direct": may_edit(path)}
    try:
        if "preview" in request.form:
            return render_template("edit.html", preview=commons().pages.preview(markdown, path), **form)
        ident = commons().suggestions.suggest(path, markdown, form["summary"], base_rev, who)
    except Conflict as exc:
        conflict = _conflict_form(exc, markdown)
        form.update(base_rev=conflict["current_rev"], creating=not conflict["current_rev"])
        return render_template("edit.html", conflict=conflict, **form), 409
    except CommonsError as exc:
        if exc.status >= 500 or exc.status == 401:
            raise
        return render_template("edit.html", error=translated(exc.message), **form), exc.status
    _remember(ident)
    return redirect(url_for("suggestions.show", ident=ident, sent=1), 303)


@bp.get("/-/suggestions/<ident>")
def show(ident: str) -> ResponseReturnValue:
    """One suggestion, for its author and maintainers: status, decline reason, what it changes."""
    suggestion = commons().suggestions.get(ident)
    if not _can_see(suggestion):
        raise NotFound(_("Proposition inconnue : %(id)s", id=ident[:16]))
    changes = diff_texts(suggestion.base_markdown, suggestion.markdown)
    return render_template("suggestion.html", s=suggestion, diff=changes, sent=bool(request.args.get("sent")))


@bp.get("/-/suggestions/mine")
def mine() -> ResponseReturnValue:
    """The visitor's suggestions: their account's, and those made from this browser session."""
    service = commons().suggestions
    who = account()
    found = {s.id: s for s in service.list(None, account=who.username)} if who else {}
    remembered = [i for i in session.get(SESSION_KEY, []) if i not in found]
    if remembered:
        found.update((s.id, s) for s in service.list(None, ids=remembered))
    ordered = sorted(found.values(), key=lambda s: s.created, reverse=True)
    return render_template("suggestions.html", suggestions=ordered)


def _queue(status: str | None) -> list[dict[str, Any]]:
    """The review queue: each suggestion with what accepting it now would change."""
    service = commons().suggestions
    items = []
    for suggestion in service.list(status, limit=QUEUE):
        outcome = service.outcome(suggestion) if suggestion.status == "open" else None
        changes = diff_texts(outcome.current, outcome.result) if outcome else \
            diff_texts(suggestion.base_markdown, suggestion.markdown)
        items.append({"s": suggestion, "outcome": outcome, "diff": changes})
    return items


def _review_page(status: str | None = "open", error: str | None = None, code: int = 200) -> ResponseReturnValue:
    return render_template("review.html", items=_queue(status), status=status or "all", error=error,
                           statuses=STATUSES), code


@bp.get("/-/review")
@requires("maintainer")
def review() -> ResponseReturnValue:
    """The queue, newest first (``?status=accepted``, ``declined`` or ``all`` for decided ones)."""
    status = request.args.get("status", "open")
    return _review_page(None if status == "all" else status)


def _reviewer_for(ident: str) -> tuple[Suggestion, str]:
    """The suggestion and the reviewer's username, if they may edit its page directly as a maintainer."""
    suggestion = commons().suggestions.get(ident)
    who = require_edit(suggestion.path, at_least="maintainer")
    return suggestion, who.username


@bp.post("/-/review/<ident>/accept")
@requires("maintainer")
def accept(ident: str) -> ResponseReturnValue:
    """Apply the suggestion (merged like a save); a conflict leaves it open and says so."""
    suggestion, reviewer = _reviewer_for(ident)
    try:
        result = commons().suggestions.accept(ident, reviewer)
    except Conflict as exc:
        return _review_page(error=_("Proposition %(id)s non appliquée : %(reason)s Elle reste ouverte.", id=ident,
                                    reason=translated(exc.message)), code=409)
    flash(_("Proposition %(id)s acceptée (fusionnée avec les modifications faites depuis).", id=ident)
          if result.merged else _("Proposition %(id)s acceptée.", id=ident))
    return redirect(page_url(suggestion.path), 303)


@bp.post("/-/review/<ident>/decline")
@requires("maintainer")
def decline(ident: str) -> ResponseReturnValue:
    """Decline with a reason, shown to the suggester."""
    _suggestion, reviewer = _reviewer_for(ident)
    try:
        commons().suggestions.decline(ident, reviewer, request.form.get("reason", ""))
    except (BadRequest, Conflict) as exc:
        return _review_page(error=translated(exc.message), code=exc.status)
    flash(_("Proposition %(id)s refusée ; la raison sera montrée à son auteur.", id=ident))
    return redirect(url_for("suggestions.review"), 303)
