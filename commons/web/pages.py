"""Pages on the web: view, edit, delete, history, diff, restore, all pages, recent changes."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from commons import paths
from commons.diffs import diff_texts
from commons.errors import BadRequest, CommonsError, Conflict, NotFound
from commons.pages import identity_for
from commons.web import commons, page_url, require_edit, requires

bp = Blueprint("pages", __name__)


def _int_arg(name: str, default: int) -> int:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) < 9 else default


@bp.get("/")
def home() -> ResponseReturnValue:
    return view("home")


@bp.get("/<path:path>")
def view(path: str) -> ResponseReturnValue:
    """A page as it stands, at an old revision (``?rev=``), or a folder listing (``/guides/``)."""
    if path == "-" or path.startswith("-/"):  # the reserved prefix: no page may live there
        raise NotFound("Cette adresse ne mène nulle part.")
    if path.endswith("/"):
        return folder(path.rstrip("/"))
    path = paths.validate_path(path)
    if path == "home" and request.path != "/":
        return redirect("/", 301)
    rev = request.args.get("rev") or None
    service = commons().pages
    try:
        page = service.get(path, rev)
    except NotFound as exc:
        if rev:
            raise
        return render_template("missing.html", path=path, message=exc.message), 404
    current = service.state(path)
    old = rev is not None and (current is None or current.rev != page.rev)
    return render_template("page.html", page=page, rendered=service.render(page), old=old, current=current)


def folder(prefix: str) -> ResponseReturnValue:
    prefix = paths.validate_path(prefix)
    found = commons().pages.list_pages(prefix)
    if not found:
        raise NotFound(f"Aucune page dans le dossier « {prefix}/ ».")
    return render_template("pages.html", pages=found, prefix=prefix)


@bp.get("/-/pages")
def all_pages() -> ResponseReturnValue:
    return render_template("pages.html", pages=commons().pages.list_pages(), prefix="")


@bp.get("/-/recent")
def recent() -> ResponseReturnValue:
    limit = min(_int_arg("limit", 100), 500)
    return render_template("recent.html", changes=commons().pages.recent(limit))


@bp.get("/-/new")
def new_page() -> ResponseReturnValue:
    """Create a page from a title: ``/-/new?title=Accès aux droits`` goes to its edit form."""
    title = request.args.get("title", "").strip()
    if not title:
        return render_template("new.html")
    path = paths.slugify(title)
    return redirect(url_for("pages.edit", path=path, title=title))


@bp.route("/-/edit/<path:path>", methods=["GET", "POST"])
@requires("contributor")
def edit(path: str) -> ResponseReturnValue:
    """The edit form (GET) and the save (POST). A stale base revision answers 409 with both texts."""
    path = paths.validate_path(path)
    editor = require_edit(path)
    service = commons().pages
    if request.method == "GET":
        state = service.state(path)
        if state is None:
            title = (request.args.get("title") or "").rsplit("/", 1)[-1].strip() or paths.readable_name(path)
            return render_template("edit.html", path=path, markdown=f"# {title}\n\n", base_rev="", creating=True)
        page = service.get(path)
        return render_template("edit.html", path=path, markdown=page.markdown, base_rev=page.rev, creating=False)
    markdown = request.form.get("markdown", "")
    summary = request.form.get("summary", "")
    base_rev = request.form.get("base_rev") or None
    form = {"path": path, "markdown": markdown, "summary": summary, "base_rev": base_rev or "",
            "creating": base_rev is None}
    try:
        if "preview" in request.form:
            return render_template("edit.html", preview=service.preview(markdown, path), **form)
        result = service.save(path, markdown, summary, base_rev, identity_for(editor.username))
    except Conflict as exc:
        current_text = exc.extra.get("current_markdown", "")
        conflict = {"message": exc.message, "current_rev": exc.extra.get("current_rev") or "",
                    "current": current_text, "diff": diff_texts(current_text, markdown)}
        form["base_rev"] = conflict["current_rev"]
        return render_template("edit.html", conflict=conflict, **form), 409
    except BadRequest as exc:
        return render_template("edit.html", error=exc.message, **form), exc.status
    except CommonsError as exc:
        if exc.status >= 500:
            raise
        return render_template("edit.html", error=exc.message, **form), exc.status
    if result.merged:
        flash("Quelqu'un avait modifié la page pendant que vous écriviez : vos changements ont été fusionnés "
              "avec les siens. Vérifiez le résultat.")
    return redirect(page_url(result.path), 303)


@bp.route("/-/delete/<path:path>", methods=["GET", "POST"])
@requires("contributor")
def delete(path: str) -> ResponseReturnValue:
    """Ask for confirmation (GET), then delete the page (POST)."""
    path = paths.validate_path(path)
    editor = require_edit(path)
    service = commons().pages
    if request.method == "GET":
        return render_template("delete.html", page=service.get(path))
    service.delete(path, request.form.get("base_rev") or None, identity_for(editor.username),
                   request.form.get("summary") or None)
    return redirect(url_for("pages.history", path=path), 303)


@bp.get("/-/history/<path:path>")
def history(path: str) -> ResponseReturnValue:
    service = commons().pages
    size = service.settings.history_page_size
    number = max(1, _int_arg("page", 1))
    revisions, total = service.revisions(path, size, (number - 1) * size)
    if total == 0:
        raise NotFound(f"La page « {path} » n'a pas d'historique.")
    pages_count = (total + size - 1) // size
    return render_template("history.html", path=path, revisions=revisions, total=total, number=number,
                           pages_count=pages_count, current=service.state(path))


@bp.get("/-/diff/<path:path>")
def diff(path: str) -> ResponseReturnValue:
    """The difference between two revisions; without ``from``, the change made by ``to``."""
    service = commons().pages
    path = paths.validate_path(path)
    state = service.state(path)
    to = request.args.get("to") or (state.rev if state else "")
    if not to:
        raise NotFound(f"La page « {path} » n'existe pas.")
    resolved = service.store.resolve(to)
    if resolved is None:
        raise NotFound(f"Révision inconnue : {to[:40]}")
    revision = service.history.revision(path, resolved)
    start = request.args.get("from") or (revision.parent if revision and revision.parent else "")
    if not start:
        raise BadRequest("Précisez la révision de départ (from).")
    old, new, changes = service.diff(path, start, to)
    return render_template("diff.html", path=path, old=old, new=new, diff=changes, start=start, to=to)


@bp.post("/-/restore/<path:path>")
@requires("maintainer")
def restore(path: str) -> ResponseReturnValue:
    editor = require_edit(paths.validate_path(path), at_least="maintainer")
    rev = request.form.get("rev", "")
    result = commons().pages.restore(path, rev, identity_for(editor.username))
    return redirect(page_url(result.path), 303)
