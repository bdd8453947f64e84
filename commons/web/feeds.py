"""Atom feeds and watchlists.

Feeds (Atom 1.0, built with ``feedgen``): ``/-/recent.atom`` (with the same
``folder``, ``author`` and ``kind`` filters as ``/-/recent``),
``/-/history/<path>.atom``, ``/-/contributors/<name>.atom`` and the private
``/-/watchlist/<token>.atom``. Watching: ``POST /-/watch`` from the page and
folder views, ``/-/watchlist`` with the feed URL (made, remade or revoked
there). Also the recent-changes filter parser shared with ``/-/recent`` and the
API, and the template helpers ``change_kind``, ``kind_labels`` and ``watching``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from feedgen.feed import FeedGenerator
from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from commons import paths
from commons.changes import KIND_LABELS, KINDS, ChangeFilter, kind_of
from commons.errors import BadRequest, NotFound
from commons.history import Revision
from commons.web import account, commons, page_url, person, requires, translated
from commons.web.i18n import current_language

bp = Blueprint("feeds", __name__)

FEED_SIZE = 50
WATCHLIST_PAGE = 50
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


# -- filters and template helpers ----------------------------------------------------------


def change_filter(args: Any) -> ChangeFilter:
    """``folder``, ``author`` and ``kind`` from query parameters; 400 for a bad folder or kind."""
    folder = (args.get("folder") or "").strip().strip("/")
    if folder:
        folder = paths.validate_path(folder)
    author = (args.get("author") or "").strip()
    if len(author) > 200 or "\0" in author:
        raise BadRequest(_("Nom de contributeur invalide."))
    if author:
        found = commons().accounts.by_name(author)
        author = found.username if found else author  # author=Alice is alice; imported names stay as written
    kind = args.get("kind") or ""
    if kind not in ("", *KINDS):
        raise BadRequest(_("Type de modification inconnu : « %(kind)s » (%(kinds)s).", kind=kind[:40],
                           kinds=", ".join(KINDS)))
    return ChangeFilter(folder=folder, author=author, kind=kind)


@bp.app_template_filter("change_kind")
def change_kind(revision: Revision) -> str:
    """The kind of a change (``new``, ``edit``, ``delete``, ``restore``, ``rename``)."""
    return kind_of(revision.op, revision.summary)


@bp.app_template_global("watching")
def watching(target: str, folder: bool = False) -> bool | None:
    """Whether the logged-in account watches ``target``; ``None`` for a visitor."""
    who = account()
    return None if who is None else commons().watches.is_watching(who.id, target, folder)


@bp.app_context_processor
def labels() -> dict[str, Any]:
    return {"kind_labels": {code: translated(label) for code, label in KIND_LABELS.items()}}


# -- Atom --------------------------------------------------------------------------------


def _text(value: str) -> str:
    """``value`` without the characters XML 1.0 cannot carry (control characters from imported history)."""
    return _NOT_XML.sub("\ufffd", value)


def _authority() -> str:
    """The host name of this commons, for tag URIs (RFC 4151)."""
    return (urlsplit(request.host_url).hostname or "localhost").lower()


def entry_id(revision: Revision) -> str:
    """A permanent id for one change: a tag URI with the commit id and the page path."""
    return f"tag:{_authority()},{revision.date:%Y-%m-%d}:{revision.rev}/{revision.path}"


def _change_url(revision: Revision) -> str:
    """The diff of the change, or the page as it was when the commit has no parent."""
    if revision.parent:
        return url_for("pages.diff", path=revision.path, to=revision.rev, _external=True)
    return request.host_url.rstrip("/") + page_url(revision.path) + f"?rev={revision.rev}"


def _entry_title(title: str, revision: Revision) -> str:
    label = translated(KIND_LABELS[kind_of(revision.op, revision.summary)])
    return f"{title} — {revision.summary}" if revision.summary else f"{title} — {label}"


def atom(title: str, feed_id: str, alternate: str, revisions: Iterable[Revision]) -> Response:
    """An Atom 1.0 document listing ``revisions`` in the given order (newest first)."""
    changes = list(revisions)
    titles = commons().history.titles(r.path for r in changes)
    feed = FeedGenerator()
    feed.id(feed_id)
    feed.title(_text(title))
    feed.author({"name": _text(commons().settings.site_name)})
    feed.link(href=request.url, rel="self", type="application/atom+xml")
    feed.link(href=alternate, rel="alternate", type="text/html")
    feed.language(current_language())
    if changes:
        feed.updated(changes[0].date)
    for revision in changes:
        entry = feed.add_entry(order="append")
        entry.id(entry_id(revision))
        entry.title(_text(_entry_title(titles.get(revision.path, revision.path), revision)))
        entry.link(href=_change_url(revision), rel="alternate", type="text/html")
        entry.author({"name": _text(person(revision.author)) or "?",
                      "uri": url_for("accounts.contributor", name=revision.author, _external=True)})
        entry.updated(revision.date)
        label = translated(KIND_LABELS[kind_of(revision.op, revision.summary)])
        entry.summary(_text(_("%(kind)s de %(path)s : %(summary)s", kind=label.capitalize(), path=revision.path,
                              summary=revision.summary)))
    return Response(feed.atom_str(pretty=True), mimetype="application/atom+xml")


def _describe(where: ChangeFilter) -> str:
    parts = [_("dossier %(folder)s/", folder=where.folder)] if where.folder else []
    if where.author:
        parts.append(_("par %(name)s", name=person(where.author)))
    if where.kind:
        parts.append(translated(KIND_LABELS[where.kind]))
    return f" ({', '.join(parts)})" if parts else ""


@bp.get("/-/recent.atom")
def recent_atom() -> ResponseReturnValue:
    """Recent changes across the commons, filtered like ``/-/recent`` (also one folder's feed)."""
    where = change_filter(request.args)
    site = commons().settings.site_name
    self_url = url_for("feeds.recent_atom", _external=True, **where.params())
    return atom(_("%(site)s : modifications récentes", site=site) + _describe(where), self_url,
                url_for("pages.recent", _external=True, **where.params()),
                commons().pages.recent(FEED_SIZE, 0, where))


@bp.get("/-/history/<path:path>.atom")
def history_atom(path: str) -> ResponseReturnValue:
    """The revisions of one page."""
    service = commons().pages
    path = paths.validate_path(path)
    revisions, total = service.revisions(path, FEED_SIZE, 0)
    if total == 0:
        raise NotFound(_("La page « %(path)s » n'a pas d'historique.", path=path))
    state = service.state(path)
    title = state.title if state else path
    return atom(_("%(site)s : historique de « %(title)s »", site=commons().settings.site_name, title=title),
                url_for("feeds.history_atom", path=path, _external=True),
                url_for("pages.history", path=path, _external=True), revisions)


@bp.get("/-/contributors/<name>.atom")
def contributor_atom(name: str) -> ResponseReturnValue:
    """The latest changes made by one contributor."""
    services = commons()
    found = services.accounts.by_name(name)
    name = found.username if found else name
    changes = services.pages.recent(FEED_SIZE, 0, ChangeFilter(author=name))
    if found is None and not changes:
        raise NotFound(_("Aucun contributeur nommé « %(name)s ».", name=name))
    return atom(_("%(site)s : contributions de %(name)s", site=services.settings.site_name, name=person(name)),
                url_for("feeds.contributor_atom", name=name, _external=True),
                url_for("accounts.contributor", name=name, _external=True), changes)


@bp.get("/-/watchlist/<token>.atom")
def watchlist_atom(token: str) -> ResponseReturnValue:
    """The private feed of a watchlist: the token in the URL is the only credential."""
    services = commons()
    who = services.watches.account_for_feed_token(token)
    if who is None:
        raise NotFound(_("Adresse de flux inconnue ou révoquée."))
    feed_id = f"tag:{_authority()},{who.created:%Y-%m-%d}:watchlist/{who.username}"
    title = _("%(site)s : pages suivies par %(name)s", site=services.settings.site_name, name=person(who.username))
    response = atom(title, feed_id,
                    url_for("feeds.watchlist", _external=True), services.watches.changes(who.id, FEED_SIZE))
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


# -- watching ----------------------------------------------------------------------------


def _back_to(target: str, folder: bool) -> str:
    return f"/{target}/" if folder else page_url(target)


@bp.post("/-/watch")
@requires("reader")
def watch() -> ResponseReturnValue:
    """Follow or stop following a page or a folder (form fields ``target``, ``folder``, ``action``)."""
    who = account()
    assert who is not None
    target = paths.validate_path(request.form.get("target", ""))
    folder = request.form.get("folder") == "1"
    watches = commons().watches
    if request.form.get("action") == "unwatch":
        watches.unwatch(who.id, target, folder)
        flash(_("Vous ne suivez plus le dossier « %(target)s ».", target=target) if folder
              else _("Vous ne suivez plus la page « %(target)s ».", target=target))
    else:
        watches.watch(who.id, target, folder)
        flash(_("Vous suivez le dossier « %(target)s » : ses modifications apparaissent dans votre liste de suivi.",
                target=target) if folder else
              _("Vous suivez la page « %(target)s » : ses modifications apparaissent dans votre liste de suivi.",
                target=target))
    if request.form.get("next") == "watchlist":
        return redirect(url_for("feeds.watchlist"), 303)
    return redirect(_back_to(target, folder), 303)


def _watchlist_page(feed_url: str | None = None) -> ResponseReturnValue:
    who = account()
    assert who is not None
    watches = commons().watches
    number = request.args.get("page", "1")
    number_int = int(number) if number.isascii() and number.isdigit() and len(number) < 7 and int(number) > 0 else 1
    changes = watches.changes(who.id, WATCHLIST_PAGE + 1, (number_int - 1) * WATCHLIST_PAGE)
    return render_template("watchlist.html", watched=watches.watched(who.id), changes=changes[:WATCHLIST_PAGE],
                           more=len(changes) > WATCHLIST_PAGE, number=number_int, feed_url=feed_url,
                           feed_created=watches.feed_created(who.id))


@bp.get("/-/watchlist")
@requires("reader")
def watchlist() -> ResponseReturnValue:
    """Changes to what the account watches, newest first, and its private feed."""
    return _watchlist_page()


@bp.post("/-/watchlist/feed")
@requires("reader")
def new_feed() -> ResponseReturnValue:
    """Make (or remake) the private feed URL; it is shown this once, the previous one stops working."""
    who = account()
    assert who is not None
    token = commons().watches.new_feed_token(who.id)
    return _watchlist_page(url_for("feeds.watchlist_atom", token=token, _external=True))


@bp.post("/-/watchlist/feed/revoke")
@requires("reader")
def revoke_feed() -> ResponseReturnValue:
    who = account()
    assert who is not None
    commons().watches.revoke_feed_token(who.id)
    flash(_("L'adresse du flux privé est révoquée : elle ne donne plus rien."))
    return redirect(url_for("feeds.watchlist"), 303)
