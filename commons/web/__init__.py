"""The web front end: blueprints, login, CSRF and the one error handler.

Thin by design: views parse the request, call the services of
:class:`commons.services.Commons` and render a template or JSON.
"""

from __future__ import annotations

import logging
from functools import wraps
from typing import Any, Callable, TypeVar, cast
from urllib.parse import unquote_to_bytes, urlsplit

from flask import Flask, current_app, g, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, UserMixin, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from commons.accounts import Account
from commons.errors import BadRequest, CommonsError, Forbidden, NotLoggedIn, Text
from commons.protection import stricter
from commons.services import Commons
from commons.web.security import add_security_headers, register_limits

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
csrf = CSRFProtect()

ROLE_LABELS = {"reader": _l("lecteur"), "contributor": _l("contributeur"), "maintainer": _l("mainteneur"),
               "admin": _l("administrateur")}


class WebUser(UserMixin):  # type: ignore[misc]
    """The flask-login wrapper of an :class:`Account`."""

    def __init__(self, account: Account, via_token: bool = False) -> None:
        self.account = account
        self.via_token = via_token

    def get_id(self) -> str:
        """The session's user id carries the account's session epoch: logging out bumps it."""
        return f"{self.account.id}.{self.account.session_epoch}"


def commons() -> Commons:
    """The services of the running app."""
    return cast(Commons, current_app.extensions["commons"])


def account() -> Account | None:
    """The logged-in account, or ``None`` for an anonymous visitor."""
    return current_user.account if current_user.is_authenticated else None


def is_api() -> bool:
    return request.path.startswith("/-/api/")


def requires(role: str) -> Callable[[F], F]:
    """Refuse the view unless the visitor is logged in with ``role`` or above (401 / 403)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            who = account()
            if who is None:
                raise NotLoggedIn(_("Connectez-vous pour faire cela."))
            if not who.has_role(role):
                raise Forbidden(_("Il faut être %(role)s pour faire cela.", role=ROLE_LABELS[role]))
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorate


def require_edit(path: str, at_least: str = "contributor") -> Account:
    """The account, if it may edit ``path`` directly given the page's or folder's protection (401 / 403)."""
    who = account()
    if who is None:
        raise NotLoggedIn(_("Connectez-vous pour modifier cette page."))
    level = stricter(commons().protections.level(path), at_least)
    if not who.has_role(level):
        raise Forbidden(_("Page protégée : seul un %(role)s peut la modifier directement.", role=ROLE_LABELS[level]))
    return who


def page_url(path: str) -> str:
    """The URL of a page: ``/`` for the home page, ``/<path>`` otherwise."""
    return "/" if path == "home" else f"/{path}"


def person(username: str | None) -> str:
    """The name to show for a username: its display name, an erased account's pseudonym, or itself."""
    if not username:
        return ""
    names = g.get("display_names")
    if names is None:
        names = g.display_names = commons().members.display_names()
    return str(names.get(username, username))


def safe_next(target: str | None) -> str:
    """A local path to go to after login; anything else (``//evil``, ``https://``, control characters) gives ``/``."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):  # CR/LF would split the Location header
        return "/"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else "/"


def _pending_edit() -> dict[str, str] | None:
    """The text of an edit form whose save was refused for an expired session or token, to give back."""
    if request.method != "POST" or request.endpoint != "pages.edit" or "markdown" not in request.form:
        return None
    return {"path": str((request.view_args or {}).get("path", "")), "markdown": request.form.get("markdown", ""),
            "summary": request.form.get("summary", ""), "base_rev": request.form.get("base_rev", "")}


def _keep_typed_text(pending: dict[str, str]) -> ResponseReturnValue:
    """Nothing typed is lost: log in again (the text rides along) or, if logged in, the form comes back."""
    if current_user.is_authenticated:
        return render_template("edit.html", path=pending["path"], markdown=pending["markdown"],
                               summary=pending["summary"], base_rev=pending["base_rev"],
                               creating=not pending["base_rev"],
                               error=_("Le formulaire avait expiré (jeton CSRF) : votre texte est conservé, "
                                       "enregistrez à nouveau.")), 400
    return render_template("login.html", next=f"/-/edit/{pending['path']}", pending=pending,
                           error=_("Connectez-vous pour enregistrer (votre session a peut-être expiré) : "
                                   "votre texte est conservé.")), 401


def translated(message: str) -> str:
    """``message`` in the reader's language: a service's :class:`Text` through its French template."""
    if isinstance(message, Text):
        return _(message.template, **message.params)
    return _(message) if message else message


def _error_response(status: int, code: str, message: str, extra: dict[str, Any] | None = None) -> ResponseReturnValue:
    message = translated(message)
    if is_api():
        body: dict[str, Any] = {"error": {"code": code, "message": message}}
        body.update(extra or {})
        return jsonify(body), status
    return render_template("error.html", status=status, message=message), status


def _register_errors(app: Flask) -> None:
    @app.errorhandler(CommonsError)
    def domain_error(exc: CommonsError) -> ResponseReturnValue:
        pending = _pending_edit() if isinstance(exc, NotLoggedIn) else None
        if pending is not None:
            return _keep_typed_text(pending)
        if isinstance(exc, NotLoggedIn) and not is_api() and request.method == "GET":
            return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
        if exc.status >= 500:
            log.error("error %s on %s: %s", exc.status, request.path, exc.message)
        return _error_response(exc.status, exc.code, exc.message, exc.extra)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> ResponseReturnValue:
        pending = _pending_edit()
        if pending is not None:
            return _keep_typed_text(pending)
        return _error_response(400, "csrf", _("Formulaire expiré ou invalide (jeton CSRF) : rechargez la page "
                                               "et réessayez ; rien n'a été modifié."))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        messages = {404: _("Cette adresse ne mène nulle part."), 405: _("Méthode non permise ici."),
                    413: _("Requête trop volumineuse."), 400: _("Requête invalide.")}
        code = exc.code or 500
        name = "too_large" if code == 413 else (exc.name or "error").lower().replace(" ", "_")
        return _error_response(code, name, messages.get(code, exc.description or exc.name))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> ResponseReturnValue:
        log.exception("unexpected error on %s", request.path)
        return _error_response(500, "internal", _("Erreur interne : elle a été journalisée."))


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_BINARY_FORMS = frozenset({"files.upload"})


def _refuse_invalid_utf8_forms() -> None:
    """Refuse a form whose bytes are not UTF-8 (Werkzeug would keep ``%E9`` or put U+FFFD in the text)."""
    if request.method not in ("POST", "PUT", "PATCH") or request.mimetype not in _FORM_TYPES or is_api():
        return
    if request.endpoint in _BINARY_FORMS:  # a file upload: the file's bytes are not text
        return
    raw = request.get_data()  # cached: the form is parsed from it afterwards
    if request.mimetype == _FORM_TYPES[0]:
        raw = unquote_to_bytes(raw.replace(b"+", b" "))
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(_("Le formulaire n'est pas de l'UTF-8 valide : rien n'a été modifié.")) from None


def _register_login(app: Flask, services: Commons) -> None:
    manager = LoginManager()
    manager.init_app(app)
    manager.session_protection = "basic"

    @manager.user_loader
    def load_user(user_id: str) -> WebUser | None:
        if request.headers.get("Authorization", "").startswith("Bearer "):
            return load_from_token(request)  # a request with a token is authenticated by the token alone
        number, _, epoch = user_id.partition(".")
        if not (number.isascii() and number.isdigit() and epoch.isascii() and epoch.isdigit()):
            return None
        found = services.accounts.get(int(number))
        if found is None or not found.active or found.session_epoch != int(epoch):
            return None  # blocked, erased, or logged out since this cookie was issued
        return WebUser(found)

    @manager.request_loader
    def load_from_token(req: Any) -> WebUser | None:
        header = req.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        found = services.accounts.account_for_token(header[7:].strip())
        if found is None:
            g.bad_token = True
            return None
        return WebUser(found, via_token=True)

    @manager.unauthorized_handler
    def unauthorized() -> ResponseReturnValue:
        raise NotLoggedIn(_("Connectez-vous pour faire cela."))


def register(app: Flask, services: Commons) -> None:
    """Attach extensions, error handlers, template helpers and every blueprint to ``app``."""
    from commons.web import accounts, admin, api, credits, feeds, files, git, links, moves, navigation, pages, search
    from commons.web.collab_api import bp as collab_api_bp
    from commons.web.editor import bp as editor_bp
    from commons.web.sisters import bp as sisters_bp
    from commons.web.suggestions import bp as suggestions_bp
    from commons.web.talk import bp as talk_bp

    app.before_request(files.allow_uploads)  # before anything reads the body
    app.before_request(_refuse_invalid_utf8_forms)  # before the CSRF check, which parses the form
    csrf.init_app(app)
    _register_login(app, services)
    _register_errors(app)
    from commons.web.i18n import register_i18n

    register_i18n(app)
    app.jinja_env.globals.update(page_url=page_url, current_account=account, site_name=services.settings.site_name,
                                 role_labels=ROLE_LABELS)
    app.jinja_env.filters["person"] = person
    app.jinja_env.globals["protection_of"] = lambda path: services.protections.protection(path)
    app.register_blueprint(accounts.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(search.bp)
    app.register_blueprint(credits.bp)
    app.register_blueprint(links.bp)
    app.register_blueprint(feeds.bp)
    for blueprint in (files.bp, files.api_bp, moves.bp, moves.api_bp, navigation.bp):
        app.register_blueprint(blueprint)
    for blueprint in (suggestions_bp, talk_bp, collab_api_bp, sisters_bp):
        app.register_blueprint(blueprint)
    git.register(app)
    app.register_blueprint(editor_bp)  # before pages: /-/preview is not a page
    app.register_blueprint(pages.bp)
    app.after_request(add_security_headers)
    register_limits(app, services.settings.redis_url, services.settings.rate_limits)

