"""Pages on the web: view, edit, delete, history, diff, restore, all pages, recent changes."""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from commons import paths, sections
from commons.diffs import diff_texts
from commons.errors import BadRequest, CommonsError, Conflict, NotFound
from commons.pages import clean_rev, identity_for
from commons.web import commons, page_url, require_edit, requires, translated
from commons.web.feeds import change_filter
from commons.web.navigation import starting_text
from commons.web.suggestions import may_edit, may_suggest

bp = Blueprint("pages", __name__)


def _int_arg(name: str, default: int) -> int:
    value = request.args.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 9 else default


@bp.get("/")
def home() -> ResponseReturnValue:
    return view("home")


@bp.get("/<path:path>")
def view(path: str) -> ResponseReturnValue:
    """A page as it stands, at an old revision (``?rev=``), or a folder listing (``/guides/``)."""
    if path == "-" or path.startswith("-/"):  # the reserved prefix: no page may live there
        raise NotFound(_("Cette adresse ne mène nulle part."))
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
        if moved_to := service.redirect(path):  # renamed: the old address follows the page
            return redirect(page_url(moved_to), 301)
        return render_template("missing.html", path=path, message=translated(exc.message)), 404
    current = service.state(path)
    old = rev is not None and (current is None or current.rev != page.rev)
    rendered = service.render(page)
    if not old:
        rendered = replace(rendered, html=sections.add_edit_links(
            rendered.html, page.markdown, lambda n: url_for("pages.edit", path=path, section=n),
            (_("Modifier la section « %(name)s »"), _("modifier cette section"))))
    return render_template("page.html", page=page, rendered=rendered, old=old, current=current)


def folder(prefix: str) -> ResponseReturnValue:
    prefix = paths.validate_path(prefix)
    found = commons().pages.list_pages(prefix)
    if not found:
        raise NotFound(_("Aucune page dans le dossier « %(folder)s/ ».", folder=prefix))
    return render_template("pages.html", pages=found, prefix=prefix)


@bp.get("/-/pages")
def all_pages() -> ResponseReturnValue:
    return render_template("pages.html", pages=commons().pages.list_pages(), prefix="")


@bp.get("/-/recent")
def recent() -> ResponseReturnValue:
    """Changes newest first, filtered by folder, contributor and kind (``?folder=&author=&kind=``), paginated."""
    where = change_filter(request.args)
    size = max(1, min(_int_arg("limit", 100), 200))
    number = max(1, _int_arg("page", 1))
    changes = commons().pages.recent(size + 1, (number - 1) * size, where)
    params = {**where.params(), **({"limit": str(size)} if "limit" in request.args else {})}
    return render_template("recent.html", changes=changes[:size], more=len(changes) > size, number=number,
                           where=where, params=params)


@bp.get("/-/new")
def new_page() -> ResponseReturnValue:
    """Create a page from a title: ``/-/new?title=Accès aux droits`` goes to its edit form."""
    title = request.args.get("title", "").strip()
    if not title:
        return render_template("new.html")
    path = paths.slugify(title)
    return redirect(url_for("pages.edit", path=path, title=title))


@bp.route("/-/edit/<path:path>", methods=["GET", "POST"])
def edit(path: str) -> ResponseReturnValue:
    """The edit form (GET) and the save (POST). A stale base revision answers 409 with both texts.

    Who may not edit the page directly but may suggest (protected page, reader, visitor) gets the suggest form.
    """
    path = paths.validate_path(path)
    if request.method == "GET" and not may_edit(path) and may_suggest():
        return redirect(url_for("suggestions.suggest_form", path=path, title=request.args.get("title"),
                                modele=request.args.get("modele")), 303)
    editor = require_edit(path)
    service = commons().pages
    if request.method == "GET":
        return _edit_form(path)
    markdown = request.form.get("markdown", "")
    summary = request.form.get("summary", "")
    base_rev = request.form.get("base_rev") or None
    section = _section_arg(request.form.get("section"))
    form = {"path": path, "markdown": markdown, "summary": summary, "base_rev": base_rev or "",
            "creating": base_rev is None, "section": section}
    try:
        if "preview" in request.form:
            return render_template("edit.html", preview=service.preview(markdown, path), **form)
        if section is not None:  # from here on the whole page is at stake (a conflict shows all of it)
            markdown, summary = _spliced(path, base_rev, section, markdown, summary)
            form.update(markdown=markdown, section=None)
        result = service.save(path, markdown, summary, base_rev, identity_for(editor.username))
    except Conflict as exc:
        current_text = exc.extra.get("current_markdown", "")
        conflict = {"message": translated(exc.message), "current_rev": exc.extra.get("current_rev") or "",
                    "current": current_text, "diff": diff_texts(current_text, markdown)}
        form["base_rev"] = conflict["current_rev"]
        return render_template("edit.html", conflict=conflict, **form), 409
    except BadRequest as exc:
        return render_template("edit.html", error=translated(exc.message), **form), exc.status
    except CommonsError as exc:
        if exc.status >= 500:
            raise
        return render_template("edit.html", error=translated(exc.message), **form), exc.status
    if result.merged:
        flash(_("Quelqu'un avait modifié la page pendant que vous écriviez : vos changements ont été fusionnés "
                "avec les siens. Vérifiez le résultat."))
    return redirect(page_url(result.path), 303)


def _section_arg(value: str | None) -> int | None:
    """The section number of an edit (``section=N``): ``None`` for the whole page, 404 if not a number."""
    if value is None or value == "":
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 6:
        raise NotFound(_("Section introuvable : « %(section)s ».", section=value[:20]))
    return int(value)


def _edit_form(path: str) -> ResponseReturnValue:
    """The form for a new page, a whole page, or one section of it (``?section=N``, 404 when out of range)."""
    service = commons().pages
    section = _section_arg(request.args.get("section"))
    if service.state(path) is None:
        if section is not None:
            raise NotFound(_("La page « %(path)s » n'existe pas : elle n'a pas de section à modifier.", path=path))
        title = (request.args.get("title") or "").rsplit("/", 1)[-1].strip() or paths.readable_name(path)
        return render_template("edit.html", path=path, markdown=starting_text(path, title), base_rev="",
                               creating=True, title=title)
    page = service.get(path)
    if section is None:
        return render_template("edit.html", path=path, markdown=page.markdown, base_rev=page.rev, creating=False)
    return render_template("edit.html", path=path, markdown=sections.section_text(page.markdown, section),
                           base_rev=page.rev, creating=False, section=section,
                           section_title=sections.section_title(page.markdown, section))


def _spliced(path: str, base_rev: str | None, number: int, text: str, summary: str) -> tuple[str, str]:
    """The page as it was at ``base_rev`` with section ``number`` replaced by ``text``, and the summary to save.

    Splicing into the base revision (not the current text) lets the save merge
    it three-way with whatever others changed since, like a whole-page edit.
    """
    base = clean_rev(base_rev)
    if base is None:
        raise BadRequest(_("Il manque la révision de base : rechargez la section et recommencez."))
    original = commons().pages.get(path, base).markdown
    title = sections.section_title(original, number)
    default = f"Modification de la section « {title[:200]} »" if title else "Modification de l'introduction"
    return sections.splice(original, number, text), summary.strip() or default


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
    if not service.exists(path) and (moved_to := service.redirect(path)):
        return redirect(url_for("pages.history", path=moved_to), 301)
    size = service.settings.history_page_size
    number = max(1, _int_arg("page", 1))
    revisions, total = service.revisions(path, size, (number - 1) * size)
    if total == 0:
        raise NotFound(_("La page « %(path)s » n'a pas d'historique.", path=path))
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
        raise NotFound(_("La page « %(path)s » n'existe pas.", path=path))
    resolved = service.store.resolve(to)
    if resolved is None:
        raise NotFound(_("Révision inconnue : %(rev)s", rev=to[:40]))
    revision = service.history.lineage_revision(path, resolved)  # also under the page's former names
    start = request.args.get("from") or (revision.parent if revision and revision.parent else "")
    if not start:
        raise BadRequest(_("Précisez la révision de départ (from)."))
    old, new, changes = service.diff(path, start, to)
    return render_template("diff.html", path=path, old=old, new=new, diff=changes, start=start, to=to)


@bp.post("/-/restore/<path:path>")
@requires("maintainer")
def restore(path: str) -> ResponseReturnValue:
    editor = require_edit(paths.validate_path(path), at_least="maintainer")
    rev = request.form.get("rev", "")
    result = commons().pages.restore(path, rev, identity_for(editor.username))
    return redirect(page_url(result.path), 303)
