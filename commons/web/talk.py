"""Talk pages on the web: ``/-/talk/<path>`` (read, and post when logged in) and ``/-/talk?q=`` (search them)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from commons import paths
from commons.errors import BadRequest, NotLoggedIn, TooLarge
from commons.web import account, commons, requires, translated

bp = Blueprint("talk", __name__)


def _page(path: str, markdown: str = "", error: str | None = None, code: int = 200) -> ResponseReturnValue:
    talk = commons().talk
    messages = [(m, talk.render(path, m)) for m in talk.messages(path)]
    state = commons().pages.state(path)
    return render_template("talk.html", path=path, title=state.title if state else path, messages=messages,
                           markdown=markdown, error=error, exists=state is not None), code


@bp.get("/-/talk/<path:path>")
def talk(path: str) -> ResponseReturnValue:
    """The discussion of a page, oldest message first, with a form to add one."""
    return _page(paths.validate_path(path))


@bp.post("/-/talk/<path:path>")
@requires("reader")
def post(path: str) -> ResponseReturnValue:
    """Add a message signed with the account's name; the text comes back intact if it is refused."""
    path = paths.validate_path(path)
    who = account()
    if who is None:
        raise NotLoggedIn(_("Connectez-vous pour participer à la discussion."))
    markdown = request.form.get("markdown", "")
    try:
        commons().talk.post(path, markdown, who.username)
    except (BadRequest, TooLarge) as exc:
        return _page(path, markdown, translated(exc.message), exc.status)
    count = len(commons().talk.messages(path))
    return redirect(url_for("talk.talk", path=path, _anchor=f"message-{count}"), 303)


@bp.get("/-/talk")
def search() -> ResponseReturnValue:
    """Messages of every discussion that hold all the words searched for, newest first."""
    query = request.args.get("q", "").strip()[:500]
    hits = commons().talk.search(query) if query else []
    return render_template("talks.html", query=query, hits=hits, render=commons().talk.render)
