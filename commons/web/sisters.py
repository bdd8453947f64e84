"""``/-/sync``: the sister commons known here, what their last sync brought, and the conflicts left (maintainers).

A sync runs only for a sister already known (added with ``commons sync REMOTE`` on the server): the web
never fetches an address typed into a form.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from commons.diffs import diff_texts
from commons.errors import BadRequest, NotFound
from commons.sister_replay import CONFLICT, DELETED, EDITED, IGNORED, MERGED, NEW
from commons.web import account, commons, requires

bp = Blueprint("sisters", __name__)

OUTCOMES = (NEW, EDITED, MERGED, DELETED, CONFLICT, IGNORED)


@bp.get("/-/sync")
@requires("maintainer")
def overview() -> ResponseReturnValue:
    """Known sisters with their last sync, and every open conflict with both texts and their difference."""
    service = commons().sisters
    conflicts = service.conflicts()
    diffs = {c.id: diff_texts(c.our_text or "", c.their_text or "") for c in conflicts if c.kind == "page"}
    return render_template("sync.html", sisters=service.sisters(), conflicts=conflicts, diffs=diffs,
                           outcomes=OUTCOMES)


@bp.post("/-/sync")
@requires("maintainer")
def run() -> ResponseReturnValue:
    """Sync one known sister now (``dry_run=1``: only say what it would bring)."""
    name = request.form.get("sister", "")
    if not name:
        raise BadRequest(_("Choisissez la commons sœur à synchroniser."))
    service = commons().sisters
    if service.get(name) is None:
        raise NotFound(_("Commons sœur inconnue : « %(name)s ». Ajoutez-la avec « commons sync ADRESSE --name "
                         "NOM » sur le serveur.", name=name[:40]))
    report = service.sync(name, dry_run=request.form.get("dry_run") == "1")
    if report.dry_run:
        flash(_("Simulation avec « %(name)s » : %(n)s commits liraient %(pages)s pages ; rien n'a été appliqué.",
                name=report.sister, n=report.commits_seen, pages=len(report.pages)))
    elif not report.pages:
        flash(_("« %(name)s » : rien de nouveau depuis la dernière synchronisation.", name=report.sister))
    else:
        flash(_("« %(name)s » : %(applied)s modifications appliquées, %(conflicts)s conflits.", name=report.sister,
                applied=report.commits_applied, conflicts=len(report.paths(CONFLICT))))
    return redirect(url_for("sisters.overview"), 303)


@bp.post("/-/sync/conflicts/<name>/<key>")
@requires("maintainer")
def resolve(name: str, key: str) -> ResponseReturnValue:
    """Close a conflict: ``action=theirs`` takes the sister's text, ``action=dismiss`` keeps ours."""
    me = account()
    assert me is not None
    action = request.form.get("action", "")
    service = commons().sisters
    if action == "theirs":
        done = service.take_theirs(f"{name}/{key}", me.username)
        flash(_("La page « %(path)s » a maintenant le texte de « %(name)s ».", path=done.path, name=done.sister))
    elif action == "dismiss":
        done = service.dismiss(f"{name}/{key}")
        flash(_("Conflit sur « %(path)s » classé : notre texte reste.", path=done.path))
    else:
        raise BadRequest(_("Action inconnue : choisissez « prendre leur texte » ou « garder le nôtre »."))
    return redirect(url_for("sisters.overview"), 303)
