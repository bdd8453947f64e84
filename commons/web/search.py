"""Search on the web (``/-/search``) and in the API (``/-/api/v1/search``)."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from commons.errors import BadRequest
from commons.search import Results
from commons.web import commons
from commons.web.api import authenticate

bp = Blueprint("search", __name__)
PAGE_SIZE = 20


def _number(name: str, default: int, maximum: int) -> int:
    raw = request.args.get(name, "")
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6:  # not ² nor ١
        raise BadRequest(_("Paramètre %(name)s invalide : un entier positif est attendu.", name=name))
    return min(int(raw), maximum)


def _search(query: str, limit: int, offset: int) -> Results:
    """Run a search; a first page that finds nothing is counted for the wanted-guides list."""
    services = commons()
    results = services.search.search(query, limit, offset)
    if results.total == 0 and offset == 0 and query.strip():
        services.misses.record(query)
    return results


@bp.get("/-/search")
def search_page() -> ResponseReturnValue:
    query = request.args.get("q", "").strip()[:500]
    number = max(1, _number("page", 1, 10_000))
    results = _search(query, PAGE_SIZE, (number - 1) * PAGE_SIZE) if query else None
    pages_count = (results.total + PAGE_SIZE - 1) // PAGE_SIZE if results else 0
    return render_template("search.html", query=query, results=results, number=number, pages_count=pages_count)


@bp.get("/-/api/v1/search")
def search_api() -> ResponseReturnValue:
    authenticate()  # as everywhere in the API: a bad, revoked or blocked token is refused (401)
    query = request.args.get("q", "").strip()[:500]
    if not query:
        raise BadRequest(_("Paramètre q manquant : que cherchez-vous ?"))
    results = _search(query, max(1, _number("limit", 20, 100)), _number("offset", 0, 100_000))
    return jsonify(query=results.query, total=results.total, suggestion=results.suggestion,
                   results=[{"path": h.path, "title": h.title, "snippet": h.snippet, "score": round(h.score, 4),
                             "updated": h.updated.isoformat() if h.updated else None} for h in results.hits])
