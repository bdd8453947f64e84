"""Finding one's place: breadcrumbs, and the page templates (``modeles/``) offered when creating a page.

Template helpers only: ``breadcrumbs(path)`` and ``page_templates()``; the
edit form calls :func:`starting_text` for a new page (``?modele=<name>``).
The commons' templates live under ``modeles/`` (``templates`` is the name of
the application's own folder of Jinja templates).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Blueprint, request
from flask_babel import gettext as _

from commons import markup, paths
from commons.errors import NotFound
from commons.web import commons

bp = Blueprint("navigation", __name__)

_H1_RE = re.compile(r"^#(?!#)[ \t]*.*$", re.MULTILINE)
_TITLE_LINE_RE = re.compile(r"^title[ \t]*:.*\n?", re.MULTILINE | re.IGNORECASE)


@dataclass(frozen=True)
class Crumb:
    """One step of the breadcrumbs: a label and where it leads (``None`` for the page itself)."""

    label: str
    url: str | None


@dataclass(frozen=True)
class Template:
    """A page template: its name under ``modeles/`` (``guide-pratique``) and its title."""

    name: str
    title: str


@bp.app_template_global("breadcrumbs")
def breadcrumbs(path: str, title: str | None = None) -> list[Crumb]:
    """Home, then each folder of ``path`` (linking to its listing ``/folder/``), then the page itself."""
    if path == paths.HOME:
        return []
    parts = path.split("/")
    crumbs = [Crumb(_("Accueil"), "/")]
    crumbs += [Crumb(paths.readable_name(part), "/" + "/".join(parts[: i + 1]) + "/") for i, part in
               enumerate(parts[:-1])]
    return crumbs + [Crumb(title or paths.readable_name(path), None)]


@bp.app_template_global("page_templates")
def page_templates() -> list[Template]:
    """The pages under ``modeles/``, offered when creating a page."""
    found = commons().pages.list_pages(paths.TEMPLATES)
    return [Template(s.path[len(paths.TEMPLATES) + 1:], s.title) for s in found]


def fill_template(text: str, title: str) -> str:
    """A template's text for a new page called ``title``: its first ``#`` heading (and ``title:``) replaced."""
    meta, body = markup.split_front_matter(text)
    head = text[: len(text) - len(body)] if meta else ""
    head = _TITLE_LINE_RE.sub("", head)
    if _H1_RE.search(body):
        return head + _H1_RE.sub(lambda _: f"# {title}", body, count=1)
    return f"{head}# {title}\n\n{body}"


def starting_text(path: str, title: str) -> str:
    """What the form of a page to create starts with: a ``# title`` line, or the template ``?modele=`` names."""
    name = request.args.get("modele", "").strip()
    if not name:
        return f"# {title}\n\n"
    try:
        template = commons().pages.get(f"{paths.TEMPLATES}/{name}")
    except NotFound:
        raise NotFound(_("Aucun modèle nommé « %(name)s ».", name=name[:60])) from None
    return fill_template(template.markdown, title)
