"""Security headers on every response, and rate limits (Flask-Limiter).

Limits are attached per application (one ``Limiter`` each, in memory by
default, Redis through ``COMMONS_REDIS_URL`` so that several processes share
the counts). Failed logins count per address and per account name.
"""

from __future__ import annotations

from typing import Any, Callable

from flask import Flask, Response, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user

from commons.errors import N_

CSP = ("default-src 'self'; img-src 'self'; media-src 'self'; object-src 'none'; frame-ancestors 'none'; "
       "base-uri 'none'; form-action 'self'")


def add_security_headers(response: Response) -> Response:
    """CSP without inline script, nosniff, no framing, a strict referrer; private pages are not cached."""
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
    if current_user and current_user.is_authenticated or request.path.startswith(("/-/login", "/-/register")):
        response.headers["Cache-Control"] = "private, no-store"
        response.vary.add("Cookie")
    return response


def _who() -> str:
    """The rate-limit key of the requester: the account when logged in, else the address."""
    if current_user and current_user.is_authenticated:
        return f"user:{current_user.account.id}"
    return f"addr:{get_remote_address()}"


def _login_name() -> str:
    return "login:" + request.form.get("username", "").strip().lower()[:64]


def _failed(response: Response) -> bool:
    return response.status_code == 401


def register_limits(app: Flask, storage_uri: str, enabled: bool) -> Limiter:
    """Create this app's limiter and attach the limits to the views that need them."""
    limiter = Limiter(get_remote_address, app=app, storage_uri=storage_uri or "memory://", headers_enabled=True,
                      enabled=enabled, swallow_errors=True, key_prefix="commons")
    app.extensions["commons_limiter"] = limiter  # Flask-Limiter's decorators only hold a weak reference

    def limit(endpoint: str, value: str, **options: Any) -> None:
        view: Callable[..., Any] | None = app.view_functions.get(endpoint)
        if view is not None:
            app.view_functions[endpoint] = limiter.limit(value, **options)(view)

    limit("accounts.login", "10 per 5 minutes", methods=["POST"], deduct_when=_failed,
          error_message=N_("Trop d'échecs de connexion depuis cette adresse : réessayez dans quelques minutes."))
    limit("accounts.login", "10 per 5 minutes", methods=["POST"], deduct_when=_failed, key_func=_login_name,
          error_message=N_("Trop d'échecs de connexion pour ce compte : réessayez dans quelques minutes."))
    limit("accounts.register", "10 per hour", methods=["POST"],
          error_message=N_("Trop de créations de compte depuis cette adresse : réessayez plus tard."))
    for endpoint in ("pages.edit", "pages.delete", "pages.restore", "moves.move", "files.upload",
                     "suggestions.suggest", "suggestions.accept", "suggestions.decline", "talk.post"):
        limit(endpoint, "30 per minute; 600 per day", methods=["POST"], key_func=_who,
              error_message=N_("Trop d'enregistrements d'affilée : attendez un instant."))
    # The editor's live preview asks after each pause in typing (~400 ms): more often than saves, still bounded.
    limit("editor.preview", "120 per minute; 5000 per day", methods=["POST"], key_func=_who,
          error_message=N_("Trop d'aperçus d'affilée : attendez un instant."))
    for endpoint in ("api.put_page", "api.delete_page", "moves_api.move_api", "files_api.put_file",
                     "collab_api.create_suggestion", "collab_api.accept_suggestion", "collab_api.decline_suggestion",
                     "collab_api.post_talk"):
        limit(endpoint, "120 per minute", key_func=_who,
              error_message=N_("Trop de requêtes d'écriture avec ce compte : attendez un instant."))
    return limiter
