"""The editor's server side: the live preview (``POST /-/preview``) and the OpenSearch description.

The preview renders unsaved Markdown through the same pipeline as a page view
(:meth:`commons.pages.PageService.preview`, hence :mod:`commons.markup` and its
nh3 pass) and answers JSON for ``static/editor-preview.js``. It is CSRF-protected
(``X-CSRFToken`` header or ``csrf_token`` field), limited in size like a save
and rate-limited (see :mod:`commons.web.security`). Nothing is written.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from commons import paths
from commons.errors import CommonsError, NotLoggedIn
from commons.web import commons, translated
from commons.web.files import images_without_alt
from commons.web.suggestions import may_edit, may_suggest

bp = Blueprint("editor", __name__)

OPENSEARCH_TYPE = "application/opensearchdescription+xml"
SHORT_NAME_MAX = 16  # OpenSearch 1.1: ShortName is at most 16 characters


def _error(exc: CommonsError) -> ResponseReturnValue:
    return jsonify({"error": {"code": exc.code, "message": translated(exc.message)}}), exc.status


@bp.post("/-/preview")
def preview() -> ResponseReturnValue:
    """Form fields ``markdown`` and ``path`` -> ``{"html", "images_without_alt"}``: sanitised, never saved."""
    try:
        path = paths.validate_path(request.form.get("path", ""))
        if not may_edit(path) and not may_suggest():
            raise NotLoggedIn(_("Connectez-vous pour prévisualiser une modification."))
        markdown = request.form.get("markdown", "")
        if not markdown.strip() and "\0" not in markdown:  # an empty form previews as nothing, not an error
            return jsonify(html="", images_without_alt=[])
        rendered = commons().pages.preview(markdown, path)
    except CommonsError as exc:
        if exc.status >= 500:
            raise
        return _error(exc)
    return jsonify(html=rendered.html, images_without_alt=images_without_alt(rendered.html))


@bp.get("/-/opensearch.xml")
def opensearch() -> ResponseReturnValue:
    """The OpenSearch description, so that browsers can add the commons as a search engine."""
    root = request.host_url.rstrip("/")
    site = commons().settings.site_name
    description = _("Rechercher dans les guides de %(site)s", site=site)
    body = render_template("opensearch.xml", root=root, short_name=site[:SHORT_NAME_MAX], description=description)
    return Response(body, content_type=f"{OPENSEARCH_TYPE}; charset=utf-8")
