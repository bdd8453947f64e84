"""Finding one's way: what links here, orphans, wanted pages, tags, the page tree.

Web pages ``/-/links/<path>``, ``/-/orphans``, ``/-/wanted``, ``/-/tags`` and
``/-/tags/<tag>``; API ``/-/api/v1/pages/<path>/links`` and ``/-/api/v1/wanted``;
and two template helpers: ``page_tags(markdown)`` (the tags shown on a page)
and ``page_tree(pages, prefix)`` (``/-/pages`` and folder listings as a tree).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from commons import paths
from commons.errors import NotFound, NotLoggedIn
from commons.history import PageState
from commons.links import Wanted, clean_tag, tags_of
from commons.web import commons

bp = Blueprint("links", __name__)

MAX_MISSES = 1000


@dataclass(frozen=True)
class Link:
    """A page as a list shows it: its path, and its title when it exists (``None``: a page to create)."""

    path: str
    title: str | None


@dataclass
class Folder:
    """A folder of the page tree: its pages (by title) and its sub-folders (by name)."""

    name: str
    path: str
    pages: list[PageState] = field(default_factory=list)
    folders: list[Folder] = field(default_factory=list)

    def count(self) -> int:
        """Pages in this folder and below."""
        return len(self.pages) + sum(sub.count() for sub in self.folders)


@bp.app_template_global("page_tree")
def page_tree(pages: list[PageState], prefix: str = "") -> Folder:
    """The pages under ``prefix`` (all pages when empty) as nested folders."""
    root = Folder(prefix.rsplit("/", 1)[-1], prefix)
    known = {prefix: root}
    for state in pages:
        relative = state.path[len(prefix) + 1:] if prefix else state.path
        parent = root
        for segment in relative.split("/")[:-1]:
            folder_path = f"{parent.path}/{segment}" if parent.path else segment
            if folder_path not in known:
                known[folder_path] = Folder(segment, folder_path)
                parent.folders.append(known[folder_path])
            parent = known[folder_path]
        parent.pages.append(state)
    for folder in known.values():
        folder.pages.sort(key=lambda s: (paths.fold(s.title), s.path))
        folder.folders.sort(key=lambda f: f.name)
    return root


@bp.app_template_global("page_tags")
def page_tags(markdown: str) -> list[str]:
    """The tags a page's text declares in its front matter."""
    return tags_of(markdown)


def _links(pages: list[str]) -> list[Link]:
    titles = commons().links.titles(pages)
    return [Link(p, titles.get(p)) for p in pages]


def _graph(path: str) -> tuple[str, list[str], list[str]]:
    """``(path, links_to, linked_from)``; NotFound when the page neither exists nor is linked to."""
    path = paths.validate_path(path)
    services = commons()
    links_to, linked_from = services.links.links_to(path), services.links.linked_from(path)
    if not linked_from and not services.pages.exists(path):
        raise NotFound(_("La page « %(path)s » n'existe pas et aucune page n'y mène.", path=path))
    return path, links_to, linked_from


def _wanted() -> list[Wanted]:
    services = commons()
    return services.links.wanted(services.misses.top(MAX_MISSES))


def _refuse_bad_token() -> None:
    """As everywhere in the API: a bad, revoked or blocked token is refused, not treated as anonymous."""
    if request.headers.get("Authorization", "").startswith("Bearer ") and (
            not current_user.is_authenticated or g.get("bad_token")):
        raise NotLoggedIn(_("Jeton d'API invalide, révoqué ou compte bloqué."))


@bp.get("/-/links/<path:path>")
def links_here(path: str) -> ResponseReturnValue:
    """Pages that link here, and pages this one links to (red when missing)."""
    path, links_to, linked_from = _graph(path)
    state = commons().pages.state(path)
    name = state.title if state else paths.readable_name(path)
    return render_template("links.html", path=path, state=state, name=name, linked_from=_links(linked_from),
                           links_to=_links(links_to))


@bp.get("/-/orphans")
def orphans() -> ResponseReturnValue:
    """Pages that no other page links to."""
    return render_template("orphans.html", orphans=_links(commons().links.orphans()))


@bp.get("/-/wanted")
def wanted() -> ResponseReturnValue:
    """Missing pages, most wanted first: red links and searches that found nothing."""
    return render_template("wanted.html", wanted=_wanted())


@bp.get("/-/tags")
def tags() -> ResponseReturnValue:
    """Every tag, with its number of pages."""
    return render_template("tags.html", tags=commons().links.tags())


@bp.get("/-/tags/<path:tag>")
def tag(tag: str) -> ResponseReturnValue:
    """The pages carrying one tag."""
    found = commons().links.pages_with_tag(tag)
    if not found:
        raise NotFound(_("Aucune page n'a l'étiquette « %(tag)s ».", tag=tag[:60]))
    return render_template("tag.html", tag=clean_tag(tag), pages=_links(found))


@bp.get("/-/api/v1/pages/<path:path>/links")
def links_api(path: str) -> ResponseReturnValue:
    """``{"links_to": [path], "linked_from": [path]}``."""
    _refuse_bad_token()
    path, links_to, linked_from = _graph(path)
    return jsonify(path=path, links_to=links_to, linked_from=linked_from)


@bp.get("/-/api/v1/wanted")
def wanted_api() -> ResponseReturnValue:
    """``{"wanted": [{"path", "title", "links", "searches"}]}``, most wanted first."""
    _refuse_bad_token()
    return jsonify(wanted=[{"path": w.path, "title": w.title, "links": w.links, "searches": w.searches}
                           for w in _wanted()])
