"""The JSON API of suggestions and talk pages, under ``/-/api/v1`` (see CONTRACT.md).

Same rules as :mod:`commons.web.api` (its authentication and CSRF check run
first): ``POST /pages/<path>/suggestions``, ``GET /suggestions``,
``POST /suggestions/<id>/accept`` and ``/decline``, ``GET``/``POST /pages/<path>/talk``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from commons import paths
from commons.errors import BadRequest, NotLoggedIn
from commons.suggestions import Suggestion
from commons.web import account, commons, csrf, require_edit, requires
from commons.web.api import _json_body, authenticate
from commons.web.suggestions import suggester

bp = Blueprint("collab_api", __name__, url_prefix="/-/api/v1")
csrf.exempt(bp)
bp.before_request(authenticate)


def _suggestion_json(s: Suggestion) -> dict[str, Any]:
    return {"id": s.id, "path": s.path, "author": s.author, "summary": s.summary, "status": s.status,
            "base_rev": s.base_rev, "created": s.created.isoformat(), "reviewer": s.reviewer,
            "reason": s.reason, "rev": s.rev}


@bp.post("/pages/<path:path>/suggestions")
def create_suggestion(path: str) -> ResponseReturnValue:
    """Propose a change (or a new page, ``base_rev`` null) for review: 201 ``{"id"}``."""
    path = paths.validate_path(path)
    who = suggester()
    body = _json_body()
    base_rev = body.get("base_rev")
    if base_rev is not None and not isinstance(base_rev, str):
        raise BadRequest(_("base_rev doit être une chaîne ou null."))
    ident = commons().suggestions.suggest(path, body.get("markdown"), body.get("summary"), base_rev or None, who)
    return jsonify(id=ident), 201


@bp.get("/suggestions")
def list_suggestions() -> ResponseReturnValue:
    """Suggestions of one ``status`` (``open`` by default, ``all``): every one for maintainers, else one's own."""
    who = account()
    if who is None:
        raise NotLoggedIn(_("Connectez-vous pour voir des propositions."))
    status = request.args.get("status") or "open"
    mine = None if who.has_role("maintainer") else who.username
    found = commons().suggestions.list(None if status == "all" else status, account=mine)
    return jsonify(suggestions=[_suggestion_json(s) for s in found])


@bp.post("/suggestions/<ident>/accept")
@requires("maintainer")
def accept_suggestion(ident: str) -> ResponseReturnValue:
    """Apply a suggestion: ``{"status": "accepted", "rev", "merged"}``; 409 when it conflicts (it stays open)."""
    suggestion = commons().suggestions.get(ident)
    reviewer = require_edit(suggestion.path, at_least="maintainer")
    result = commons().suggestions.accept(ident, reviewer.username)
    return jsonify(status="accepted", rev=result.rev, merged=result.merged)


@bp.post("/suggestions/<ident>/decline")
@requires("maintainer")
def decline_suggestion(ident: str) -> ResponseReturnValue:
    """Decline a suggestion with ``{"reason"}`` (required): ``{"status": "declined", "rev": null}``."""
    suggestion = commons().suggestions.get(ident)
    reviewer = require_edit(suggestion.path, at_least="maintainer")
    declined = commons().suggestions.decline(ident, reviewer.username, _json_body().get("reason"))
    return jsonify(status=declined.status, rev=None)


def _talk_json(path: str) -> dict[str, Any]:
    talk = commons().talk
    return {"path": path, "messages": [{"author": m.author, "date": m.date.isoformat(), "html": talk.render(path, m)}
                                       for m in talk.messages(path)]}


@bp.get("/pages/<path:path>/talk")
def get_talk(path: str) -> ResponseReturnValue:
    """The discussion of a page, oldest message first."""
    return jsonify(_talk_json(paths.validate_path(path)))


@bp.post("/pages/<path:path>/talk")
@requires("reader")
def post_talk(path: str) -> ResponseReturnValue:
    """Add a message ``{"markdown"}`` signed by the account: 201 with the whole discussion."""
    path = paths.validate_path(path)
    who = account()
    assert who is not None
    rev = commons().talk.post(path, _json_body().get("markdown"), who.username)
    return jsonify(rev=rev, **_talk_json(path)), 201
