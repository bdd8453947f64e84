"""Accounts on the web: register, login, logout, profile with personal API tokens, contributors."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_user, logout_user

from commons import paths
from commons.errors import BadRequest, CommonsError
from commons.web import WebUser, account, commons, requires, safe_next, translated
from commons.web.credits import percent, revision_kind, someone

bp = Blueprint("accounts", __name__)
RECENT = 50  # recent contributions on a profile


@bp.route("/-/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("login.html", next=next_url)
    username = request.form.get("username", "")
    found = commons().accounts.authenticate(username, request.form.get("password", ""))
    if found is None:
        return render_template("login.html", next=next_url, username=username,
                               error=_("Nom d'utilisateur ou mot de passe incorrect (ou compte bloqué).")), 401
    session.clear()  # a fresh session on login
    login_user(WebUser(found), remember=bool(request.form.get("remember")))
    if "pending_markdown" in request.form and next_url.startswith("/-/edit/"):
        return _resume_edit(next_url[len("/-/edit/"):])
    return redirect(next_url, 303)


def _resume_edit(path: str) -> ResponseReturnValue:
    """After a login that interrupted a save, show the edit form again with the text that was typed."""
    base_rev = request.form.get("pending_base_rev", "")
    flash(_("Vous êtes reconnecté·e : votre texte est revenu, vérifiez-le puis enregistrez."))
    return render_template("edit.html", path=paths.validate_path(path),
                           markdown=request.form.get("pending_markdown", ""),
                           summary=request.form.get("pending_summary", ""), base_rev=base_rev,
                           creating=not base_rev)


@bp.post("/-/logout")
def logout() -> ResponseReturnValue:
    """Log out, and end every other session of the account (a copied cookie stops working)."""
    me = account()
    if me is not None:
        commons().accounts.end_sessions(me.id)
    logout_user()
    session.clear()
    return redirect("/", 303)


@bp.route("/-/register", methods=["GET", "POST"])
def register() -> ResponseReturnValue:
    """Registration as the commons' mode allows; the first account becomes its administrator."""
    members = commons().members
    first = commons().accounts.count() == 0
    context = {"first": first, "mode": members.mode}
    if request.method == "GET":
        return render_template("register.html", **context)
    username = request.form.get("username", "")
    password = request.form.get("password", "")
    try:
        if password != request.form.get("password2", ""):
            raise BadRequest(_("Les deux mots de passe ne sont pas identiques."))
        created = members.register(username, password, request.form.get("display_name"),
                                   request.form.get("invitation"))
    except CommonsError as exc:
        if exc.status >= 500:
            raise
        return render_template("register.html", error=translated(exc.message), username=username,
                               display_name=request.form.get("display_name", ""), **context), exc.status
    if not created.approved:
        return render_template("register.html", pending=created.username, **context), 202
    session.clear()
    login_user(WebUser(created))
    return redirect(url_for("accounts.profile"), 303)


@bp.get("/-/profile/export")
@requires("reader")
def export_data() -> ResponseReturnValue:
    """RGPD art. 20: my data as a zip of JSON and Markdown."""
    me = account()
    assert me is not None
    data = commons().members.export(me)
    return Response(data, mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="commons-{me.username}.zip"'})


@bp.post("/-/profile/erase")
@requires("reader")
def erase() -> ResponseReturnValue:
    """RGPD art. 17: erase my account; my contributions stay under a neutral pseudonym."""
    me = account()
    assert me is not None
    if commons().accounts.authenticate(me.username, request.form.get("password", "")) is None:
        return render_template("profile.html", me=me, tokens=commons().accounts.tokens(me.id), new_token=None,
                               error=_("Mot de passe incorrect : le compte n'a pas été effacé.")), 400
    alias = commons().members.erase(me)
    logout_user()
    session.clear()
    flash(_("Votre compte est effacé. Vos contributions restent, au nom de « %(alias)s ».", alias=alias))
    return redirect("/", 303)


@bp.post("/-/profile/name")
@requires("reader")
def rename() -> ResponseReturnValue:
    """Change my display name: shown everywhere at once, history untouched."""
    me = account()
    assert me is not None
    commons().accounts.rename(me.username, request.form.get("display_name"))
    flash(_("Nom affiché modifié."))
    return redirect(url_for("accounts.profile"), 303)


@bp.get("/-/privacy")
def privacy() -> ResponseReturnValue:
    return render_template("privacy.html")


@bp.get("/-/profile")
@requires("reader")
def profile() -> ResponseReturnValue:
    me = account()
    assert me is not None
    return render_template("profile.html", me=me, tokens=commons().accounts.tokens(me.id), new_token=None)


@bp.post("/-/profile/tokens")
@requires("reader")
def create_token() -> ResponseReturnValue:
    me = account()
    assert me is not None
    token = commons().accounts.new_token(me.username, request.form.get("name", "").strip() or "jeton")
    return render_template("profile.html", me=me, tokens=commons().accounts.tokens(me.id), new_token=token)


@bp.post("/-/profile/tokens/<int:token_id>/revoke")
@requires("reader")
def revoke_token(token_id: int) -> ResponseReturnValue:
    me = account()
    assert me is not None
    commons().accounts.revoke_token(me.id, token_id)
    return redirect(url_for("accounts.profile"), 303)


@bp.get("/-/contributors/<name>")
def contributor(name: str) -> ResponseReturnValue:
    """A contributor's profile: pages created, surviving words, edits, thanks, reviews, recent contributions."""
    found = someone(name)
    changes = commons().history.by_author(found.name, RECENT)
    return render_template("contributor.html", name=found.name, person=found.account, profile=found.profile,
                           joined=found.joined, changes=changes, percent=percent, revision_kind=revision_kind)
