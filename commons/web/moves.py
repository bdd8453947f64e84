"""Renaming pages and folders: the "Renommer" form ``/-/move/<path>`` and ``POST /-/api/v1/pages/<path>/move``.

The old address then answers 301 to the new one (see :func:`commons.web.pages.view`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext

from commons import paths
from commons.accounts import Account
from commons.errors import BadRequest, CommonsError, NotFound
from commons.pages import identity_for
from commons.web import commons, csrf, page_url, require_edit, requires, translated
from commons.web.api import authenticate

bp = Blueprint("moves", __name__)
api_bp = Blueprint("moves_api", __name__, url_prefix="/-/api/v1")
csrf.exempt(api_bp)
api_bp.before_request(authenticate)


def _editor(source: str, target: str | None, folder: bool) -> Account:
    """The account, if it may edit the page (every page of the folder) and write at the new name."""
    who = require_edit(source)
    if folder:
        for state in commons().pages.list_pages(source):
            require_edit(state.path)
    if target is not None:
        require_edit(target)
    return who


def _move_form(path: str) -> dict[str, Any]:
    """What the form shows: the page (if any), the pages of the folder, and the base revision."""
    service = commons().pages
    state = service.state(path)
    below = service.list_pages(path)
    if state is None and not below:
        raise NotFound(_("La page « %(path)s » n'existe pas.", path=path))
    return {"path": path, "state": state, "below": below, "base_rev": state.rev if state else ""}


@bp.route("/-/move/<path:path>", methods=["GET", "POST"])
@requires("contributor")
def move(path: str) -> ResponseReturnValue:
    """The "Renommer" form (GET) and the move (POST): a new name, optionally with the whole folder."""
    path = paths.validate_path(path)
    form = _move_form(path)
    folder = request.form.get("folder") == "1" or (request.method == "GET" and form["state"] is None)
    _editor(path, None, folder)
    if request.method == "GET":
        return render_template("move.html", to=path, folder=folder, summary="", **form)
    to_text = request.form.get("to", "")
    summary = request.form.get("summary") or None
    values = {**form, "to": to_text, "folder": folder, "summary": summary or ""}
    try:
        target = paths.slugify(to_text.strip().strip("/"))
        editor = _editor(path, target, folder)
        result = commons().move(path, target, request.form.get("base_rev") or None,
                                identity_for(editor.username), summary, folder=folder)
    except CommonsError as exc:
        if exc.status >= 500 or exc.status in (401, 403):
            raise
        return render_template("move.html", error=translated(exc.message), **values), exc.status
    others = len(result.rewritten)
    flash(ngettext("Page renommée : « %(old)s » est devenue « %(new)s » ; liens corrigés dans %(num)s page(s).",
                   "Page renommée : « %(old)s » est devenue « %(new)s » ; liens corrigés dans %(num)s page(s).",
                   others, old=path, new=result.path) if others
          else _("Page renommée : « %(old)s » est devenue « %(new)s ».", old=path, new=result.path))
    return redirect(page_url(result.path), 303)


@api_bp.post("/pages/<path:path>/move")
@requires("contributor")
def move_api(path: str) -> ResponseReturnValue:
    """``{"to", "base_rev", "summary"?, "folder"?}`` -> ``{"path", "rev"}`` (and the pages moved and rewritten)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest(_("Le corps de la requête doit être un objet JSON (UTF-8)."))
    to, base_rev, folder = body.get("to"), body.get("base_rev"), body.get("folder", False)
    if not isinstance(to, str):
        raise BadRequest(_("« to » (le nouveau chemin de la page) est obligatoire."))
    if base_rev is not None and not isinstance(base_rev, str):
        raise BadRequest(_("base_rev doit être une chaîne ou null."))
    if not isinstance(folder, bool):
        raise BadRequest(_("folder doit être un booléen."))
    path, target = paths.validate_path(path), paths.validate_path(to)
    editor = _editor(path, target, folder)
    result = commons().move(path, target, base_rev or None, identity_for(editor.username),
                            body.get("summary"), folder=folder)
    return jsonify(path=result.path, rev=result.rev, moved=result.moved, rewritten=result.rewritten)
