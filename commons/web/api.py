"""The JSON API, ``/-/api/v1`` (see CONTRACT.md).

Authentication by session cookie (then unsafe methods need the CSRF token in
``X-CSRFToken``) or ``Authorization: Bearer <token>`` (exempt from CSRF).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from commons import paths
from commons.changes import kind_of
from commons.errors import BadRequest, NotFound, NotLoggedIn
from commons.history import Revision
from commons.pages import identity_for
from commons.web import commons, csrf, require_edit, requires
from commons.web.credits import someone
from commons.web.feeds import change_filter
from commons.web.openapi import OPENAPI

bp = Blueprint("api", __name__, url_prefix="/-/api/v1")
csrf.exempt(bp)


@bp.before_request
def authenticate() -> None:
    """Bad tokens are refused outright; cookie sessions must carry the CSRF token to write."""
    if request.headers.get("Authorization", "").startswith("Bearer "):
        if not current_user.is_authenticated or g.get("bad_token"):
            raise NotLoggedIn(_("Jeton d'API invalide, révoqué ou compte bloqué."))
        return
    if request.method not in ("GET", "HEAD", "OPTIONS") and current_user.is_authenticated:
        csrf.protect()


def _json_body() -> dict[str, Any]:
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # deeply nested arrays: the json module gives up
        body = None
    if not isinstance(body, dict):
        raise BadRequest(_("Le corps de la requête doit être un objet JSON (UTF-8)."))
    return body


def _limit(default: int, maximum: int = 500) -> tuple[int, int]:
    def number(name: str, fallback: int) -> int:
        raw = request.args.get(name, "")
        if not raw:
            return fallback
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:  # not ² nor ١
            raise BadRequest(_("Paramètre %(name)s invalide : un entier positif est attendu.", name=name))
        return int(raw)

    return min(number("limit", default), maximum), number("offset", 0)


def _revision_json(r: Revision) -> dict[str, Any]:
    return {"path": r.path, "rev": r.rev, "author": r.author, "date": r.date.isoformat(), "summary": r.summary}


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(OPENAPI)


@bp.get("/pages")
def list_pages() -> ResponseReturnValue:
    found = commons().pages.list_pages()
    return jsonify(pages=[{"path": p.path, "title": p.title, "rev": p.rev, "updated": p.updated.isoformat()}
                          for p in found])


@bp.get("/pages/<path:path>")
def get_page(path: str) -> ResponseReturnValue:
    service = commons().pages
    page = service.get(path, request.args.get("rev") or None)
    return jsonify(path=page.path, title=page.title, markdown=page.markdown, html=service.render(page).html,
                   rev=page.rev, updated=page.updated.isoformat() if page.updated else None)


@bp.put("/pages/<path:path>")
@requires("contributor")
def put_page(path: str) -> ResponseReturnValue:
    body = _json_body()
    base_rev = body.get("base_rev")
    if base_rev is not None and not isinstance(base_rev, str):
        raise BadRequest(_("base_rev doit être une chaîne ou null."))
    who = require_edit(paths.validate_path(path))
    result = commons().pages.save(path, body.get("markdown"), body.get("summary"), base_rev or None,
                                  identity_for(who.username))
    return jsonify(path=result.path, rev=result.rev, merged=result.merged), 201 if result.created else 200


@bp.delete("/pages/<path:path>")
@requires("contributor")
def delete_page(path: str) -> ResponseReturnValue:
    who = require_edit(paths.validate_path(path))
    rev = commons().pages.delete(path, request.args.get("base_rev") or None, identity_for(who.username))
    return jsonify(rev=rev)


@bp.get("/pages/<path:path>/history")
def page_history(path: str) -> ResponseReturnValue:
    limit, offset = _limit(50)
    revisions, total = commons().pages.revisions(path, max(limit, 1), offset)
    if total == 0:
        raise NotFound(_("La page « %(path)s » n'a pas d'historique.", path=path))
    return jsonify(total=total, revisions=[_revision_json(r) for r in revisions])


@bp.get("/recent")
def recent() -> ResponseReturnValue:
    """Changes newest first; ``folder``, ``author`` and ``kind`` filter them like ``/-/recent``."""
    limit, offset = _limit(50)
    changes = commons().pages.recent(max(limit, 1), offset, change_filter(request.args))
    return jsonify(changes=[{**_revision_json(r), "kind": kind_of(r.op, r.summary)} for r in changes])


@bp.get("/contributors/<name>")
def contributor(name: str) -> ResponseReturnValue:
    """``{"name", "joined", "contributions": {"pages_created", "edits", "surviving_tokens", ...}}``; 404 if unknown."""
    found = someone(name)
    return jsonify(name=found.name, joined=found.joined.isoformat() if found.joined else None,
                   contributions=found.profile.as_json())


@bp.route("/<path:anything>", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
def unknown(anything: str) -> ResponseReturnValue:
    url = "/-/api/v1/" + anything
    raise NotFound(_("Point d'accès inconnu : %(url)s", url=url))
