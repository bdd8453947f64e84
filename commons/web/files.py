"""Attachments on the web: served at ``/-/files/<path>/<name>``, uploaded from the edit page or the API.

Served with the type their name says, ``X-Content-Type-Options: nosniff``,
a ``Content-Security-Policy`` of ``default-src 'none'`` and, unless they are
images, audio or video, ``Content-Disposition: attachment``. Uploads may be
larger than other requests (setting ``max_attachment_bytes``).
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, flash, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from commons import attachments, paths
from commons.errors import BadRequest, NotFound
from commons.markup import FILES_PREFIX
from commons.pages import identity_for
from commons.web import api, commons, csrf, require_edit, requires
from commons.web.api import authenticate

bp = Blueprint("files", __name__)
api_bp = Blueprint("files_api", __name__, url_prefix="/-/api/v1")
csrf.exempt(api_bp)
api_bp.before_request(authenticate)

UPLOAD_ENDPOINTS = frozenset({"files.upload", "files_api.put_file"})
FILE_CSP = "default-src 'none'"
_MULTIPART_SLACK = 64 * 1024  # the form's other fields and boundaries around the file
_IMG_RE = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_ALT_RE = re.compile(r"""\balt\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_SRC_RE = re.compile(r"""\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)


def allow_uploads() -> None:
    """Before the form or body is read: let uploads be as large as ``max_attachment_bytes`` (then 413)."""
    if request.endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = commons().settings.max_attachment_bytes + _MULTIPART_SLACK


def file_url(path: str, name: str) -> str:
    """Where attachment ``name`` of page ``path`` is served."""
    return f"{FILES_PREFIX}{path}/{name}"


@bp.app_template_global("attachments_of")
def attachments_of(path: str) -> list[str]:
    """The files attached to a page, for its edit form."""
    return attachments.names(commons().store, path)


@bp.app_template_global("images_without_alt")
def images_without_alt(html: str) -> list[str]:
    """The sources of the images of rendered HTML that have no text alternative (accessibility)."""
    missing = []
    for tag in _IMG_RE.findall(html):
        alt = _ALT_RE.search(tag)
        if alt is None or not (alt.group(1) or alt.group(2) or "").strip():
            src = _SRC_RE.search(tag)
            missing.append((src.group(1) or src.group(2) or "") if src else "")
    return missing


@bp.get("/-/files/<path:filepath>")
def serve(filepath: str) -> ResponseReturnValue:
    """An attachment, with its type, never sniffed, never scripted; downloaded unless image, audio or video."""
    path, _slash, name = filepath.rpartition("/")
    if not paths.is_valid_path(path) or not paths.is_attachment_name(name):
        raise NotFound(_("Aucun fichier à cette adresse."))
    blob, data = attachments.read(commons().store, path, name)
    response = Response(data, mimetype=attachments.content_type(name))
    disposition = "inline" if attachments.shown_inline(name) else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = FILE_CSP
    response.headers["Cache-Control"] = "no-cache"
    response.set_etag(blob)
    return response.make_conditional(request, accept_ranges=True, complete_length=len(data))  # seeking in videos


@bp.post("/-/upload/<path:path>")
@requires("contributor")
def upload(path: str) -> ResponseReturnValue:
    """The edit page's upload form (multipart): the file is committed next to the page, then back to the form."""
    path = paths.validate_path(path)
    editor = require_edit(path)
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        raise BadRequest(_("Choisissez un fichier à joindre."))
    name = paths.attachment_name_for(request.form.get("name") or sent.filename)
    data = sent.stream.read(commons().settings.max_attachment_bytes + 1)
    commons().pages.attach(path, name, data, identity_for(editor.username), request.form.get("summary") or None)
    flash(_("Fichier « %(name)s » joint à la page. Pour l'insérer : ![description](%(name)s)", name=name))
    return redirect(url_for("pages.edit", path=path), 303)


@api_bp.put("/pages/<path:path>/files/<name>")
@requires("contributor")
def put_file(path: str, name: str) -> ResponseReturnValue:
    """Raw bytes in the body -> 201 ``{"url"}``; the name says the type (checked against the content)."""
    if "." not in name:  # no file name: a page under a folder called "files" (``PUT /pages/a/files/b``)
        return api.put_page(f"{path}/files/{name}")
    path = paths.validate_path(path)
    paths.validate_attachment_name(name)
    editor = require_edit(path)
    data = request.get_data(cache=False)
    commons().pages.attach(path, name, data, identity_for(editor.username), request.args.get("summary") or None)
    return jsonify(url=file_url(path, name), path=path, name=name), 201
