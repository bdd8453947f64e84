"""Commons: a git-backed wiki of practical guides, written together.

:func:`create_app` builds the Flask application around a :class:`commons.services.Commons`.
Nothing happens at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from flask import Flask

__all__ = ["create_app"]


def _asset_dir(name: str) -> str:
    """``templates/`` or ``static/``: inside the package when installed from a wheel, else the checkout's."""
    here = Path(__file__).resolve().parent
    packaged = here / name
    return str(packaged if packaged.is_dir() else here.parent / name)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the web application.

    ``test_config`` may hold ``data_dir`` and any setting name (see
    :class:`commons.config.Settings`) to override; the rest comes from the
    data directory's ``config.toml`` and ``COMMONS_*`` variables. The commons
    must have been initialised (``commons init``); its derived stores are
    caught up from git here, at start-up.
    """
    from commons.config import ensure_secret_key, load_settings
    from commons.services import open_commons
    from commons.web import register

    overrides = dict(test_config or {})
    data_dir = overrides.pop("data_dir", None)
    settings = ensure_secret_key(load_settings(data_dir, overrides))
    commons = open_commons(settings)
    app = Flask(
        __name__,
        template_folder=_asset_dir("templates"),
        static_folder=_asset_dir("static"),
        static_url_path="/-/static",
    )
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
        JSON_SORT_KEYS=False,
    )
    app.extensions["commons"] = commons
    if commons.initialised():
        commons.accounts.create_schema()
        commons.pages.catch_up()
    register(app, commons)
    return app
