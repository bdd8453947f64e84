"""A static, offline rendering of the commons' current pages (part of ``commons export``).

Each page ``a/b`` becomes ``a/b.html``, rendered by :func:`commons.markup.render`
(so sanitised by nh3) inside a tiny template; links between pages are
rewritten to relative ``.html`` files, links to missing pages lose their
target, and the attachments of the tree are copied next to the pages so
that relative images still show. ``index.html`` is the home page (or the list
of pages when there is none), ``_pages.html`` lists every page,
``_credits.html`` renders CREDITS.md, ``_static/`` holds the style sheets.
"""

from __future__ import annotations

import html
import posixpath
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

from commons import markup, paths
from commons.history import PageState
from commons.import_sources import git_env
from commons.services import Commons

STATIC = "_static"
STYLES = ("commons.css", "pygments.css")
_URL_ATTR = re.compile(r'\b(href|src)="([^"]*)"')
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")

_TEMPLATE = """<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · {site}</title>
{styles}
</head>
<body>
<header class="site">
  <a class="brand" href="{root}index.html">{site}</a>
  <nav aria-label="Navigation principale"><ul>
    <li><a href="{root}_pages.html">Toutes les pages</a></li>
    <li><a href="{root}_credits.html">Crédits</a></li>
  </ul></nav>
</header>
<main id="contenu">
{body}
</main>
<footer class="site"><p>Copie hors ligne de {site}, révision <code>{rev}</code>. Tout l'historique est dans
commons.bundle (<code>git clone commons.bundle</code>) ; les auteurs sont dans CREDITS.md.</p></footer>
</body>
</html>
"""


def _asset_dir(name: str) -> Path:
    """``static/`` inside the package when installed from a wheel, else the checkout's."""
    here = Path(__file__).resolve().parent
    packaged = here / name
    return packaged if packaged.is_dir() else here.parent / name


def page_file(path: str) -> str:
    """The site file of a page: ``a/b`` -> ``a/b.html``."""
    return f"{path}.html"


def _relative(target_file: str, current_file: str) -> str:
    return posixpath.relpath(target_file, posixpath.dirname(current_file) or ".")


def _document(title: str, body: str, current_file: str, site: str, rev: str) -> str:
    root = "../" * current_file.count("/")
    styles = "\n".join(f'<link rel="stylesheet" href="{root}{STATIC}/{name}">' for name in STYLES)
    return _TEMPLATE.format(title=html.escape(title), site=html.escape(site), styles=styles, root=root,
                            body=body, rev=rev[:12])


def link_target(url: str, current_path: str, exists: set[str]) -> str | None:
    """Where a rendered link should point in the offline site (``None``: nowhere, the page is missing)."""
    raw = html.unescape(url)
    if not raw or raw.startswith(("#", "//")) or _SCHEME.match(raw):
        return url
    if raw.startswith("/-/"):
        return None
    current_file = page_file(current_path)
    _href, page = markup.page_of_href(raw, current_path)
    fragment = raw[raw.index("#"):] if "#" in raw else ""
    if page is not None and page in exists:
        return html.escape(_relative(page_file(page), current_file) + fragment)
    if raw.startswith("/"):  # an attachment by absolute URL
        return html.escape(_relative(raw.lstrip("/"), current_file))
    return url


def rewrite_links(body: str, current_path: str, exists: set[str]) -> str:
    """Page links of rendered HTML made relative ``.html`` links; links to missing pages disabled."""

    def replace(match: re.Match[str]) -> str:
        target = link_target(match.group(2), current_path, exists)
        if target is None:
            return 'aria-disabled="true"' if match.group(1) == "href" else match.group(0)
        return f'{match.group(1)}="{target}"'

    return _URL_ATTR.sub(replace, body)


def _page_body(services: Commons, state: PageState, exists: set[str]) -> str:
    page = services.pages.get(state.path)
    rendered = markup.render(page.markdown, current_path=state.path, page_exists=lambda p: p in exists)
    heading = "" if rendered.title else f"<h1>{html.escape(state.title)}</h1>\n"
    toc = (f'<aside class="toc" aria-label="Sommaire"><h2>Sommaire</h2>{rendered.toc}</aside>\n'
           if rendered.toc else "")
    meta = (f'<p class="meta">Dernière modification le {state.updated.strftime("%d/%m/%Y")} par '
            f'{html.escape(state.author)} — révision <code>{state.rev[:7]}</code>.</p>')
    article = rewrite_links(heading + rendered.html, state.path, exists)
    return (f'<div class="page-layout">\n{rewrite_links(toc, state.path, exists)}<article class="content">\n'
            f"{article}\n</article>\n</div>\n{meta}")


def _listing(states: list[PageState], current_file: str) -> str:
    rows = "\n".join(
        f'<li><a href="{html.escape(_relative(page_file(s.path), current_file))}">{html.escape(s.title)}</a> '
        f"<code>{html.escape(s.path)}</code></li>" for s in states)
    return f"<h1>Toutes les pages</h1>\n<p>{len(states)} page(s).</p>\n<ul>\n{rows}\n</ul>"


def _copy_files(services: Commons, head: str, site: Path) -> int:
    """Copy the tree's attachments (everything but the pages' Markdown) next to the pages."""
    cmd = ["git", f"--git-dir={services.store.repo_dir}", "archive", "--format=tar", head]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=git_env())
    count = 0
    try:
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            for member in tar:
                if member.isfile() and not member.name.endswith(paths.SUFFIX):
                    tar.extract(member, site, filter="data")
                    count += 1
    finally:
        if proc.stdout:
            proc.stdout.close()
        proc.wait()
    return count


def write_site(services: Commons, head: str, site: Path, credits: str) -> tuple[int, int]:
    """Write the offline site into ``site``; returns (pages, attachments) written."""
    name = services.settings.site_name
    states = services.history.pages()
    exists = {s.path for s in states}
    site.mkdir(parents=True)
    files = _copy_files(services, head, site)
    (site / STATIC).mkdir(exist_ok=True)
    for style in STYLES:
        source = _asset_dir("static") / style
        if source.is_file():
            shutil.copyfile(source, site / STATIC / style)
    for state in states:
        target = site / page_file(state.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_document(state.title, _page_body(services, state, exists), page_file(state.path),
                                    name, head), "utf-8")
    home = site / page_file(paths.HOME)
    if home.is_file() and "index" not in exists:
        shutil.copyfile(home, site / "index.html")
    listing = _document("Toutes les pages", _listing(states, "_pages.html"), "_pages.html", name, head)
    (site / "_pages.html").write_text(listing, "utf-8")
    if not (site / "index.html").exists():
        (site / "index.html").write_text(listing, "utf-8")
    credits_html = rewrite_links(markup.render(credits).html, "_credits", exists)
    (site / "_credits.html").write_text(_document("Crédits", credits_html, "_credits.html", name, head), "utf-8")
    return len(states), files
