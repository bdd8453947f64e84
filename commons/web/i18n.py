"""Interface languages (Flask-Babel): French by default, English on request.

The language comes from the account's choice, else the visitor's choice kept
in the session, else the browser's ``Accept-Language``, else French. Content
pages stay in the language they were written in: only the interface changes.
Message ids are the French strings (French is the commons' first language);
``commons/translations/<lang>/LC_MESSAGES/messages.po`` holds the catalogues.
"""

from __future__ import annotations

from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path

from babel.dates import format_date as babel_format_date
from babel.dates import format_time as babel_format_time
from babel.dates import get_datetime_format
from flask import Blueprint, Flask, redirect, request, session
from flask.typing import ResponseReturnValue
from flask_babel import Babel, format_number, get_locale, to_user_timezone

from commons.web import account, commons, safe_next

LANGUAGES = {"fr": "Français", "en": "English"}
DEFAULT_LANGUAGE = "fr"
DEFAULT_TIMEZONE = "Europe/Paris"
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"

bp = Blueprint("i18n", __name__)
babel = Babel()


def select_language() -> str:
    """The interface language of this request."""
    who = account()
    if who is not None and who.locale in LANGUAGES:
        return who.locale
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    return request.accept_languages.best_match(list(LANGUAGES), default=DEFAULT_LANGUAGE) or DEFAULT_LANGUAGE


def current_language() -> str:
    """The language code used to render this request (``fr`` or ``en``)."""
    return str(get_locale() or DEFAULT_LANGUAGE)


def format_day(value: date | datetime) -> str:
    """A date in the reader's language: ``29 nov. 2026``, ``Nov 29, 2026`` (Paris time for a datetime)."""
    if isinstance(value, datetime):
        value = to_user_timezone(value).date()
    return _medium_date(str(get_locale() or DEFAULT_LANGUAGE), value)


@lru_cache(maxsize=8192)
def _medium_date(locale: str, day: date) -> str:
    """Babel's medium date, remembered: a history or credits page shows a hundred dates, mostly the same days."""
    return str(babel_format_date(day, "medium", locale=locale))


def format_when(value: datetime) -> str:
    """A date and time to the minute in the reader's language and Paris time: ``29 nov. 2026, 15:04``."""
    local, locale = to_user_timezone(value), str(get_locale() or DEFAULT_LANGUAGE)
    return _when(locale, local.date(), local.hour, local.minute)


@lru_cache(maxsize=8192)
def _when(locale: str, day: date, hour: int, minute: int) -> str:
    """Babel's medium date and short time joined by the language's pattern, remembered per minute."""
    pattern = str(get_datetime_format("medium", locale=locale))
    clock = str(babel_format_time(time(hour, minute), "short", locale=locale))
    return pattern.replace("{1}", _medium_date(locale, day)).replace("{0}", clock)


def format_count(value: int) -> str:
    """A count with the reader's digit grouping: ``12 345``, ``12,345``."""
    return str(format_number(value))


@bp.post("/-/lang")
def choose_language() -> ResponseReturnValue:
    """The footer's language switch: remembered in the session, and on the account when logged in."""
    lang = request.form.get("lang", "")
    chosen = lang if lang in LANGUAGES else None
    if chosen is None:
        session.pop("lang", None)
    else:
        session["lang"] = chosen
    who = account()
    if who is not None:
        commons().accounts.set_locale(who.username, chosen)
    return redirect(safe_next(request.form.get("next")))


def register_i18n(app: Flask) -> None:
    """Attach Flask-Babel and the language switch to ``app``."""
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    app.config["BABEL_DEFAULT_LOCALE"] = DEFAULT_LANGUAGE
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", DEFAULT_TIMEZONE)
    babel.init_app(app, locale_selector=select_language)
    app.jinja_env.globals.update(languages=LANGUAGES, current_language=current_language)
    app.jinja_env.filters.update(day=format_day, when=format_when, number=format_count)
    app.register_blueprint(bp)
