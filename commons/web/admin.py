"""Administration: approve accounts (maintainers), invite (maintainers), change roles and block (admins)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from commons.accounts import ROLES
from commons.errors import BadRequest, Forbidden
from commons.web import ROLE_LABELS, account, commons, page_url, requires

bp = Blueprint("admin", __name__)


def _back() -> ResponseReturnValue:
    return redirect(url_for("admin.accounts"), 303)


@bp.get("/-/admin")
@requires("maintainer")
def accounts() -> ResponseReturnValue:
    return render_template("admin.html", accounts=commons().accounts.all(), roles=ROLES, code=None,
                           mode=commons().members.mode)


@bp.post("/-/admin/invitations")
@requires("maintainer")
def invite() -> ResponseReturnValue:
    me = account()
    assert me is not None
    code = commons().members.invite(me)
    return render_template("admin.html", accounts=commons().accounts.all(), roles=ROLES, code=code,
                           mode=commons().members.mode)


@bp.post("/-/admin/accounts/<name>/approve")
@requires("maintainer")
def approve(name: str) -> ResponseReturnValue:
    changed = commons().accounts.approve(name)
    flash(_("Compte « %(name)s » validé.", name=changed.username))
    return _back()


@bp.post("/-/admin/accounts/<name>/role")
@requires("admin")
def role(name: str) -> ResponseReturnValue:
    me = account()
    assert me is not None
    if name == me.username:
        raise Forbidden(_("Vous ne pouvez pas changer votre propre rôle (demandez à un autre administrateur)."))
    changed = commons().accounts.set_role(name, request.form.get("role", ""))
    flash(_("« %(name)s » est maintenant %(role)s.", name=changed.username, role=ROLE_LABELS[changed.role]))
    return _back()


@bp.post("/-/admin/accounts/<name>/block")
@requires("admin")
def block(name: str) -> ResponseReturnValue:
    me = account()
    assert me is not None
    if name == me.username:
        raise Forbidden(_("Vous ne pouvez pas bloquer votre propre compte."))
    blocked = request.form.get("blocked") == "1"
    changed = commons().accounts.set_blocked(name, blocked)
    flash(_("« %(name)s » est bloqué : ses contributions restent.", name=changed.username) if blocked
          else _("« %(name)s » est débloqué.", name=changed.username))
    return _back()


@bp.post("/-/protect/<path:path>")
@requires("maintainer")
def protect(path: str) -> ResponseReturnValue:
    """Set who may edit a page (or its whole folder) directly; others may only suggest."""
    me = account()
    assert me is not None
    role = request.form.get("role") or None
    if role is not None and role not in ROLES:
        raise BadRequest(_("Rôle inconnu : %(role)s", role=role))
    if role is not None and not me.has_role(role):
        raise Forbidden(_("Vous ne pouvez pas réserver une page à un rôle supérieur au vôtre."))
    folder = request.form.get("folder") == "1"
    if folder and "/" not in path:
        raise BadRequest(_("Cette page est à la racine : elle n'est dans aucun dossier à protéger."))
    target = path.rsplit("/", 1)[0] if folder else path
    commons().protections.protect(target, role, me.username, folder=folder)
    flash(_("Protection enregistrée.") if role and role != "contributor" else _("Protection retirée."))
    return redirect(page_url(path), 303)
