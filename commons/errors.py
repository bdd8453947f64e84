"""Domain errors. Each carries the HTTP status and a stable code for the API.

Services raise these; one handler in the web layer turns them into an HTML
page or the API's JSON error, and the CLI prints their message on one line.
"""

from __future__ import annotations

from typing import Any


class Text(str):
    """A French message that keeps its untranslated template and values.

    It *is* the French text (``str``), so code, logs and the CLI read it as
    before; the web layer translates ``template`` with ``params`` into the
    reader's language. Services stay free of Flask.
    """

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, **params: Any) -> Text:
        text = super().__new__(cls, template % params if params else template)
        text.template = template
        text.params = params
        return text


def N_(template: str, **params: Any) -> Text:  # noqa: N802 - the usual gettext marker name
    """Mark ``template`` for extraction (``pybabel extract -k N_``) without translating it here."""
    return Text(template, **params)


class CommonsError(Exception):
    """Base class of every error a user may see."""

    status: int = 500
    code: str = "internal"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra: dict[str, Any] = extra

    def to_json(self) -> dict[str, Any]:
        """The API's error body: ``{"error": {...}}`` plus any extra fields."""
        body: dict[str, Any] = {"error": {"code": self.code, "message": self.message}}
        body.update(self.extra)
        return body


class BadRequest(CommonsError):
    status = 400
    code = "bad_request"


class InvalidPath(BadRequest):
    code = "invalid_path"


class NotLoggedIn(CommonsError):
    status = 401
    code = "not_logged_in"


class Forbidden(CommonsError):
    status = 403
    code = "forbidden"


class NotFound(CommonsError):
    status = 404
    code = "not_found"


class Conflict(CommonsError):
    """The page changed since the base revision the writer started from."""

    status = 409
    code = "conflict"


class TooLarge(CommonsError):
    status = 413
    code = "too_large"


class Unavailable(CommonsError):
    status = 503
    code = "unavailable"


class ConfigError(CommonsError):
    code = "config"
