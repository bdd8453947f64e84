"""Credits on the web and in the API: a page's credits, the whole commons' contributors, thanks.

``/-/credits/<path>`` and ``/-/api/v1/pages/<path>/credits`` (a page),
``/-/credits`` (everyone, by name), ``POST /-/thanks/<path>?rev=`` (thank
the author of a revision), and the contributor profile shared by
``/-/contributors/<name>`` and ``/-/api/v1/contributors/<name>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from babel import Locale
from babel.numbers import format_decimal
from babel.numbers import format_percent as babel_percent
from flask import Blueprint, flash, g, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user

from commons import paths
from commons.accounts import Account
from commons.contributions import Profile
from commons.credits import KINDS, Contributor, Run
from commons.credits.follow import RESTORE_PREFIX
from commons.errors import Conflict, NotFound, NotLoggedIn
from commons.history import PageState, Revision
from commons.web import account, commons, csrf, page_url, person, requires, safe_next, translated
from commons.web.i18n import format_day

bp = Blueprint("credits", __name__)
api_bp = Blueprint("api", __name__, url_prefix="/-/api/v1")
csrf.exempt(api_bp)

LICENCE = "CC BY-SA 4.0"
LICENCE_URL = "https://creativecommons.org/licenses/by-sa/4.0/deed.fr"
_BIBTEX_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%", "$": r"\$",
                   "#": r"\#", "_": r"\_", "^": r"\^{}", "~": r"\~{}"}


@dataclass(frozen=True)
class Passage:
    """A run of the page's text with the number of its author in the legend (0: syntax and spacing)."""

    text: str
    author: str | None
    number: int
    title: str = ""  # "écrit par <name>", shown on hover
    spoken: str = ""  # "<name> :", read by screen readers before the passage


@api_bp.before_request
def refuse_bad_tokens() -> None:
    """As everywhere in the API: a bad, revoked or blocked token is refused, not treated as anonymous."""
    if request.headers.get("Authorization", "").startswith("Bearer ") and (
            not current_user.is_authenticated or g.get("bad_token")):
        raise NotLoggedIn(_("Jeton d'API invalide, révoqué ou compte bloqué."))


def _state(path: str) -> PageState:
    path = paths.validate_path(path)
    state = commons().pages.state(path)
    if state is None:
        raise NotFound(_("La page « %(path)s » n'existe pas.", path=path))
    return state


def percent(share: float) -> str:
    """A share as a percentage with one decimal, in the reader's language: ``42,6 %``, ``42.6%``."""
    locale = get_locale()
    return _percent(str(locale) if locale else "", round(share, 9))


@lru_cache(maxsize=4096)
def _percent(locale: str, share: float) -> str:
    """Babel's percentage with one decimal, remembered (a credits page shows one per contributor, twice)."""
    if not locale:
        return format_decimal(share * 100, "#,##0.0") + " %"
    pattern = Locale.parse(locale).percent_formats[None].pattern
    return babel_percent(share, pattern.replace("0", "0.0", 1) if "0.0" not in pattern else pattern, locale=locale)


def width_class(share: float) -> str:
    """The CSS class of a bar of that share, in steps of 5 % (``w-0`` … ``w-100``)."""
    return f"w-{max(0, min(100, round(share * 20) * 5))}"


def _bibtex_escape(text: str) -> str:
    return "".join(_BIBTEX_SPECIAL.get(c, c) for c in text)


def citations(state: PageState, names: list[str], url: str, site: str) -> tuple[str, str]:
    """The "cite this page" block: plain text and BibTeX."""
    date: datetime = state.updated
    people = ", ".join(names) or _("Contributeurs anonymes")
    link = f"{url}?rev={state.rev}"
    plain = _("%(people)s. « %(title)s ». %(site)s, révision %(rev)s du %(date)s. %(link)s. Licence %(licence)s.",
              people=people, title=state.title, site=site, rev=state.rev[:7], date=format_day(date),
              link=link, licence=LICENCE)
    key = "commons-" + state.path.replace("/", "-")
    bibtex = "\n".join([
        f"@misc{{{key},",
        f"  title = {{{_bibtex_escape(state.title)}}},",
        f"  author = {{{' and '.join('{' + _bibtex_escape(n) + '}' for n in names)}}},",
        f"  year = {{{date.year}}},",
        f"  howpublished = {{{_bibtex_escape(site)}}},",
        f"  url = {{{link}}},",
        f"  note = {{Révision {state.rev}, {date.date().isoformat()}, licence {LICENCE}}}",
        "}",
    ])
    return plain, bibtex


def passages(runs: list[Run], people: list[Contributor]) -> list[Passage]:
    numbers = {someone.name: index for index, someone in enumerate(people, 1)}
    shown = {name: person(name) for name in {run.author for run in runs if run.author}}
    labels = {name: (_("écrit par %(name)s", name=who), _("%(name)s :", name=who))
              for name, who in shown.items()}  # once per author, not once per passage
    return [Passage(run.text, run.author, numbers.get(run.author, 0), *labels[run.author]) if run.author
            else Passage(run.text, None, 0) for run in runs]


def describe(counts: dict[str, int]) -> str:
    """The contributions other than edits, in words: ``a créé la page, 2 remerciement(s) reçu(s)``."""
    parts = [_kind_phrase(kind, n) for kind, n in counts.items() if n and kind in _PHRASED]
    parts += [f"{n} {kind}" for kind, n in counts.items() if n and kind not in KINDS]
    return ", ".join(parts)


_PHRASED = ("creation", "restore", "review", "discussion", "import", "thanks")


def _kind_phrase(kind: str, n: int) -> str:
    """How a kind of contribution reads in a sentence, with its count ("edit" has its own column)."""
    if kind == "creation":
        return _("a créé la page")
    if kind == "restore":
        return ngettext("%(num)s restauration(s)", "%(num)s restauration(s)", n)
    if kind == "review":
        return ngettext("%(num)s relecture(s)", "%(num)s relecture(s)", n)
    if kind == "discussion":
        return ngettext("%(num)s message(s) de discussion", "%(num)s message(s) de discussion", n)
    if kind == "import":
        return ngettext("%(num)s import(s)", "%(num)s import(s)", n)
    return ngettext("%(num)s remerciement(s) reçu(s)", "%(num)s remerciement(s) reçu(s)", n)


def revision_kind(revision: Revision) -> str:
    """What a revision did, in a word: création, modification, restauration, renommage or suppression."""
    if revision.op == "D":
        return _("suppression")
    if revision.summary.startswith(RESTORE_PREFIX):
        return _("restauration")
    if revision.op == "A":
        return _("création")
    return _("renommage") if revision.op == "R" else _("modification")


@dataclass(frozen=True)
class Someone:
    """A contributor as their profile shows them: the account if any, and every contribution."""

    name: str
    account: Account | None
    profile: Profile
    joined: datetime | None


def someone(name: str) -> Someone:
    """The contributor called ``name`` (an account, case-insensitive, or an imported author); else :class:`NotFound`."""
    services = commons()
    found = services.accounts.by_name(name)
    name = found.username if found else name  # /-/contributors/Alice is alice
    profile = services.contributions.person(name)
    if profile is None:
        latest = services.history.by_author(name, 1)  # deleting a page is a change, not an edit
        if found is None and not latest:
            raise NotFound(_("Aucun contributeur nommé « %(name)s ».", name=name))
        profile = Profile(name, first=latest[0].date if latest else None)
    return Someone(name, found, profile, found.created if found else profile.first)


@bp.get("/-/credits/<path:path>")
def page_credits(path: str) -> ResponseReturnValue:
    """Who wrote how much of the page, who else contributed, who wrote which passage, how to cite it."""
    services = commons()
    state = _state(path)
    summary = services.contributions.page(state.path)
    credits, people = summary.credits, summary.contributors
    writers = [p for p in people if p.tokens]
    url = request.url_root.rstrip("/") + page_url(state.path)
    plain, bibtex = citations(state, [p.name for p in writers], url, services.settings.site_name)
    return render_template(
        "credits.html", state=state, credits=credits, people=people, url=url, plain=plain, bibtex=bibtex,
        passages=passages(services.credits.attribution(state.path), writers), percent=percent,
        width_class=width_class, licence=LICENCE, licence_url=LICENCE_URL, describe=describe)


@bp.get("/-/credits")
def commons_credits() -> ResponseReturnValue:
    """Everyone who contributed to the commons, by name (like an All Contributors table; no ranking)."""
    services = commons()
    people = sorted(services.contributions.everyone(), key=lambda p: (paths.fold(person(p.name)), p.name))
    return render_template("commons_credits.html", people=people, total=services.credits.total_tokens(),
                           percent=percent)


@bp.post("/-/thanks/<path:path>")
@requires("reader")
def thank(path: str) -> ResponseReturnValue:
    """Thank the author of revision ``rev`` of the page, then go back where the button was (303)."""
    me = account()
    assert me is not None
    path = paths.validate_path(path)
    rev = request.args.get("rev") or request.form.get("rev", "")
    back = safe_next(request.form.get("next")) if request.form.get("next") else url_for("pages.history", path=path)
    try:
        done = commons().thanks.thank(me, path, rev)
    except Conflict as exc:  # thanked already: nothing changes, and the reader is told so
        flash(translated(exc.message))
        return redirect(back, 303)
    flash(_("Merci transmis à %(name)s pour sa révision %(rev)s.", name=person(done.author), rev=done.rev[:7]))
    return redirect(back, 303)


@bp.app_template_global()
def thanked(path: str) -> set[str]:
    """The revisions of page ``path`` the logged-in reader already thanked (read once per request)."""
    me = account()
    if me is None:
        return set()
    cache: dict[str, set[str]] = g.setdefault("thanked", {})
    if path not in cache:
        cache[path] = commons().thanks.given(me.id, path)
    return cache[path]


@api_bp.get("/pages/<path:path>/credits")
def page_credits_api(path: str) -> ResponseReturnValue:
    """``{"rev", "authors": [{"name", "share", "tokens"}], "contributions": [{"name", "kind", "count"}]}``."""
    summary = commons().contributions.page(_state(path).path)
    credits = summary.credits
    body: dict[str, Any] = {
        "path": credits.path,
        "rev": credits.rev,
        "tokens": credits.total,
        "authors": [{"name": a.name, "share": a.share, "tokens": a.tokens} for a in credits.authors],
        "contributions": [{"name": c.name, "kind": c.kind, "count": c.count} for c in summary.contributions],
    }
    return jsonify(body)


bp.register_blueprint(api_bp)
