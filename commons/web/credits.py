"""Credits on the web (``/-/credits/<path>``) and in the API (``/-/api/v1/pages/<path>/credits``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from commons import paths
from commons.credits import Contributor, Run
from commons.errors import NotFound, NotLoggedIn
from commons.history import PageState
from commons.web import commons, csrf, page_url

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


@api_bp.before_request
def refuse_bad_tokens() -> None:
    """As everywhere in the API: a bad, revoked or blocked token is refused, not treated as anonymous."""
    if request.headers.get("Authorization", "").startswith("Bearer ") and (
            not current_user.is_authenticated or g.get("bad_token")):
        raise NotLoggedIn("Jeton d'API invalide, révoqué ou compte bloqué.")


def _state(path: str) -> PageState:
    path = paths.validate_path(path)
    state = commons().pages.state(path)
    if state is None:
        raise NotFound(f"La page « {path} » n'existe pas.")
    return state


def percent(share: float) -> str:
    """A share as a French percentage with one decimal: ``0.4257`` -> ``42,6 %``."""
    return f"{share * 100:.1f}".replace(".", ",") + "\u00a0%"


def width_class(share: float) -> str:
    """The CSS class of a bar of that share, in steps of 5 % (``w-0`` … ``w-100``)."""
    return f"w-{max(0, min(100, round(share * 20) * 5))}"


def _bibtex_escape(text: str) -> str:
    return "".join(_BIBTEX_SPECIAL.get(c, c) for c in text)


def citations(state: PageState, names: list[str], url: str, site: str) -> tuple[str, str]:
    """The "cite this page" block: plain text and BibTeX."""
    date: datetime = state.updated
    people = ", ".join(names) or "Contributeurs anonymes"
    link = f"{url}?rev={state.rev}"
    plain = (f"{people}. « {state.title} ». {site}, révision {state.rev[:7]} du {date.strftime('%d/%m/%Y')}. "
             f"{link}. Licence {LICENCE}.")
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
    numbers = {person.name: index for index, person in enumerate(people, 1)}
    return [Passage(run.text, run.author, numbers.get(run.author, 0) if run.author else 0) for run in runs]


@bp.get("/-/credits/<path:path>")
def page_credits(path: str) -> ResponseReturnValue:
    """Who wrote how much of the page, who else contributed, who wrote which passage, how to cite it."""
    services = commons()
    state = _state(path)
    summary = services.credits.summary(state.path)
    credits, people = summary.credits, summary.contributors
    writers = [p for p in people if p.tokens]
    url = request.url_root.rstrip("/") + page_url(state.path)
    plain, bibtex = citations(state, [p.name for p in writers], url, services.settings.site_name)
    return render_template(
        "credits.html", state=state, credits=credits, people=people, url=url, plain=plain, bibtex=bibtex,
        passages=passages(services.credits.attribution(state.path), writers), percent=percent,
        width_class=width_class, licence=LICENCE, licence_url=LICENCE_URL)


@api_bp.get("/pages/<path:path>/credits")
def page_credits_api(path: str) -> ResponseReturnValue:
    """``{"rev", "authors": [{"name", "share", "tokens"}], "contributions": [{"name", "kind", "count"}]}``."""
    summary = commons().credits.summary(_state(path).path)
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
