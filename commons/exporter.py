"""``commons export``: a portable archive of the commons.

DEST/ holds ``commons.bundle`` (a git bundle of the published branch: ``git
clone commons.bundle`` gives the whole history), ``CREDITS.md`` (every
contributor, by name, with their surviving words and share of the commons'
current text, edits, pages created and thanks received, then who wrote each
page) and ``html/``, a static rendering of the current pages with their
attachments that works offline (see :mod:`commons.export_html`). The archive is built in
a temporary folder next to DEST and moved into place at the end: an
interrupted export leaves nothing half-written.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from commons.contributions import Profile
from commons.errors import CommonsError, NotFound
from commons.export_html import write_site
from commons.history import PageState, Revision
from commons.import_sources import run_git
from commons.services import Commons

log = logging.getLogger(__name__)

BUNDLE = "commons.bundle"
CREDITS = "CREDITS.md"


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote."""

    dest: Path
    head: str
    pages: int
    contributors: int
    files: int


def export(services: Commons, dest: Path) -> ExportReport:
    """Write the archive of ``services``' commons into ``dest`` (absent or empty)."""
    dest = Path(dest).expanduser().resolve()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise CommonsError(f"{dest} existe déjà et n'est pas un dossier vide : choisissez une autre destination.")
    head = services.store.head()
    if head is None:
        raise CommonsError("Le commons est vide : rien à exporter.")
    services.pages.catch_up()
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        run_git("bundle", "create", "--quiet", str(work / BUNDLE), "HEAD", services.store.ref,
                git_dir=services.store.repo_dir)
        revisions = services.history.recent(1 << 62)
        credits = credits_markdown(services, revisions, head)
        (work / CREDITS).write_text(credits, "utf-8")
        pages, files = write_site(services, head, work / "html", credits)
        if dest.exists():
            dest.rmdir()
        os.replace(work, dest)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    contributors = len({r.author for r in revisions})
    log.info("exported %s to %s: %d pages, %d contributors", head, dest, pages, contributors)
    return ExportReport(dest, head, pages, contributors, files)


def _counts(revisions: list[Revision]) -> tuple[Counter[str], Counter[str]]:
    """Edits (creations and changes) and pages created, per contributor."""
    edits: Counter[str] = Counter()
    created: Counter[str] = Counter()
    for revision in revisions:
        if revision.op != "D":
            edits[revision.author] += 1
        if revision.op == "A":
            created[revision.author] += 1
    return edits, created


def credits_markdown(services: Commons, revisions: list[Revision], head: str) -> str:
    """CREDITS.md: every contributor with their counts, then the authors of each current page."""
    when = datetime.now().astimezone().strftime("%d/%m/%Y")
    lines = [
        f"# Crédits — {services.settings.site_name}", "",
        f"Export du {when}, révision `{head}`. Les contributeurs sont nommés par leur nom d'utilisateur "
        "(pour l'historique importé, le nom de l'auteur d'origine) ; aucune adresse e-mail n'est publiée.", "",
    ]
    lines += _contributors(services, revisions)
    lines += ["", "## Auteurs de chaque page", ""]
    by_page: dict[str, Counter[str]] = {}
    for revision in revisions:
        if revision.op != "D":
            by_page.setdefault(revision.path, Counter())[revision.author] += 1
    for state in services.history.pages():
        lines += _page_credits(services, state, by_page.get(state.path, Counter()))
    return "\n".join(lines).rstrip() + "\n"


def _contributors(services: Commons, revisions: list[Revision]) -> list[str]:
    """The table of every contributor, by name (no ranking): surviving words from the credits store if any."""
    edits, created = _counts(revisions)
    book = getattr(services, "contributions", None)
    profiles: dict[str, Profile] = {p.name: p for p in book.everyone()} if book is not None else {}
    names = sorted({r.author for r in revisions} | set(profiles))
    lines = [f"## Contributeurs ({len(names)})", ""]
    if not profiles:  # no credits store: what the history says
        lines += ["| Contributeur | Modifications | Pages créées |", "|---|---:|---:|"]
        return lines + [f"| {_cell(name)} | {edits[name]} | {created[name]} |" for name in names]
    lines += ["Les mots et signes conservés sont ceux que chacun a écrits et qui sont encore dans le texte actuel "
              "des pages ; la part est celle de tout le texte actuel du commons.", "",
              "| Contributeur | Mots et signes conservés | Part du texte actuel | Modifications | Pages créées "
              "| Remerciements reçus |", "|---|---:|---:|---:|---:|---:|"]
    for name in names:
        p = profiles.get(name) or Profile(name, edits=edits[name], pages_created=created[name])
        share = f"{p.share * 100:.1f}".replace(".", ",")
        lines.append(f"| {_cell(name)} | {p.surviving_tokens} | {share} % | {p.edits} | {p.pages_created} "
                     f"| {p.thanks_received} |")
    return lines


def _page_credits(services: Commons, state: PageState, page_edits: Counter[str]) -> list[str]:
    """The lines of one page: shares of the current text when the credits store knows them."""
    lines = [f"### {_cell(state.title)} (`{state.path}`)", ""]
    shares = _shares(services, state.path)
    for name, share in shares:
        lines.append(f"- {_cell(name)} : {round(share * 100)} % du texte actuel, {page_edits[name]} modification(s)")
    rest = [name for name, _count in page_edits.most_common() if name not in dict(shares)]
    lines += [f"- {_cell(name)} : {page_edits[name]} modification(s)" for name in rest]
    return lines + [""]


def _shares(services: Commons, path: str) -> list[tuple[str, float]]:
    """``(author, share)`` of a page's current text from ``services.credits``, if the commons has one."""
    store = getattr(services, "credits", None)
    if store is None or not hasattr(store, "credits"):
        return []
    try:
        found = store.credits(path)
    except NotFound:
        return []
    return [(author.name, float(author.share)) for author in found.authors]


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell or heading."""
    return " ".join(text.replace("|", "\\|").split())
