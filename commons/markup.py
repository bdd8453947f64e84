"""Markdown -> safe HTML: Python-Markdown, wikilinks, then one nh3 pass.

Everything here is a pure function of its arguments. Each :func:`render`
builds its own ``markdown.Markdown`` (instances are not thread-safe), and
every piece of HTML it returns has gone through :func:`sanitise`.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import unquote
from xml.etree.ElementTree import Element

import markdown
import nh3
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import AtomicString
from pygments.formatters import HtmlFormatter
from pygments.token import STANDARD_TYPES

from commons import paths
from commons.errors import N_, InvalidPath

logger = logging.getLogger(__name__)

EDIT_PREFIX = "/-/edit/"
FILES_PREFIX = "/-/files/"

_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "dl", "dt", "dd",
    "blockquote", "pre", "code", "span", "div", "em", "strong", "b", "i", "s", "u", "small",
    "q", "cite", "var", "samp", "del", "ins", "sub", "sup", "kbd", "mark", "a", "img",
    "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "abbr", "details",
    "summary", "figure", "figcaption",
}  # fmt: skip
# Dropped together with their content (must not overlap _TAGS).
_CLEAN_CONTENT_TAGS = {
    "script", "style", "template", "noscript", "iframe", "object", "embed", "svg", "math",
    "textarea", "title", "xmp", "noembed", "noframes",
}  # fmt: skip
_HEADING_ATTRS = {f"h{level}": {"id"} for level in range(1, 7)}
_ATTRIBUTES = {
    "a": {"href", "title", "id"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
    "li": {"id"},
    "sup": {"id"},
    "ol": {"start"},
    "abbr": {"title"},
    "details": {"open"},
    **_HEADING_ATTRS,
}
_ALIGN = {"align": {"left", "center", "right"}}
# Only the classes this module emits survive: users cannot dress their text as the UI.
_PYGMENTS_CLASSES = {name for name in STANDARD_TYPES.values() if name} | {"hll"}
_CLASSES = {
    "a": {"wikilink", "new", "footnote-ref", "footnote-backref"},
    "span": _PYGMENTS_CLASSES | {"wikilink", "invalid", "normal", "special", "linenos"},
    "div": {"highlight", "toc", "footnote", "linenodiv"},
    "table": {"highlighttable"},
    "td": {"linenos", "code"},
}
_URL_SCHEMES = {"http", "https", "mailto"}
_LINK_REL = "nofollow noopener"

_WIKILINK_RE = r"\[\[([^\[\]\n]+?)\]\]"
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_FRONT_KEY_RE = re.compile(r"^([A-Za-z_][\w-]*)[ \t]*:[ \t]*(.*?)[ \t]*$")
_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX_H1_RE = re.compile(r"^#(?!#)[ \t]*(.*?)(?:[ \t]+#+|#+)?[ \t]*$")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_BLOCK_SCALAR = {"|", ">", "|-", ">-", "|+", ">+"}


@dataclass(frozen=True)
class Rendered:
    """The result of :func:`render`: sanitised HTML and what was learnt on the way."""

    html: str
    toc: str
    title: str | None
    links: frozenset[str]


@lru_cache(maxsize=1)
def _cleaner() -> nh3.Cleaner:
    """The one nh3 configuration (built on first use, immutable afterwards)."""
    return nh3.Cleaner(
        tags=_TAGS,
        clean_content_tags=_CLEAN_CONTENT_TAGS,
        attributes=_ATTRIBUTES,
        tag_attribute_values={"th": _ALIGN, "td": _ALIGN},
        allowed_classes=_CLASSES,
        url_schemes=_URL_SCHEMES,
        link_rel=_LINK_REL,
        strip_comments=True,
    )


def sanitise(html_text: str) -> str:
    """Clean ``html_text`` with the allow-list: the pass for everything shown as HTML.

    Keeps formatting tags and relative, ``http(s):`` and ``mailto:`` URLs;
    drops scripts, styles, event handlers, ``style`` attributes, embedded
    documents and every other URL scheme.
    """
    return _cleaner().clean(_SURROGATE_RE.sub("\ufffd", html_text))


def _slug(value: str, separator: str = "-") -> str:
    """Anchor id of a heading: ``Pièces à fournir`` -> ``pieces-a-fournir``."""
    return paths.slugify_segment(value) or "section"


class _WikilinkProcessor(InlineProcessor):
    """``[[Target]]``, ``[[Target|label]]``, ``[[Target#section|label]]``."""

    def __init__(self, pattern: str, ext: _CommonsExtension) -> None:
        super().__init__(pattern)
        self.ext = ext

    def handleMatch(  # type: ignore[override]
        self, m: re.Match[str], data: str
    ) -> tuple[Element, int, int]:
        """Turn one wikilink into a link, a red link or plain text."""
        inner = m.group(1)
        target, _, label = inner.partition("|")
        label = html.unescape(label.strip() or target.strip())
        target, _, section = target.partition("#")
        fragment = "#" + _slug(section) if section.strip() else ""
        if not target.strip() and fragment:
            return _anchor(label, fragment, "wikilink"), m.start(0), m.end(0)
        try:
            path = self.ext.resolve(target)
        except InvalidPath:
            span = Element("span", {"class": "wikilink invalid"})
            span.text = AtomicString(label)
            return span, m.start(0), m.end(0)
        self.ext.links.add(path)
        if self.ext.exists(path):
            href = ("/" if path == paths.HOME else "/" + path) + fragment
            return _anchor(label, href, "wikilink"), m.start(0), m.end(0)
        link = _anchor(label, EDIT_PREFIX + path, "wikilink new")
        link.set("title", f"Page à créer : {path}")
        return link, m.start(0), m.end(0)


def _anchor(label: str, href: str, css_class: str) -> Element:
    """An ``<a>`` whose text is ``label`` taken literally."""
    link = Element("a", {"class": css_class, "href": href})
    link.text = AtomicString(label)
    return link


class _RelativeLinkProcessor(Treeprocessor):
    """Record Markdown links to pages and drop their ``.md`` suffix."""

    def __init__(self, md: markdown.Markdown, ext: _CommonsExtension) -> None:
        super().__init__(md)
        self.ext = ext

    def run(self, root: Element) -> None:
        """Visit every ``<a href>`` not made by the wikilink processor, and point attachments at their URL."""
        for image in root.iter("img"):  # ``![alt](plan.png)``: an attachment of the page
            if found := paths.attachment_of(image.get("src", ""), self.ext.current_path):
                image.set("src", FILES_PREFIX + found)
        for link in root.iter("a"):
            href = link.get("href")
            if href is None or "wikilink" in link.get("class", ""):
                continue
            if found := paths.attachment_of(href, self.ext.current_path):
                link.set("href", FILES_PREFIX + found)
                continue
            new_href, page = page_of_href(href, self.ext.current_path)
            link.set("href", new_href)
            if page is not None:
                self.ext.links.add(page)


def page_of_href(href: str, current_path: str = "") -> tuple[str, str | None]:
    """Return ``(href without .md, page path or None)`` for a Markdown link.

    Absolute URLs (with a scheme, or ``//host``) and fragment-only links are
    returned unchanged with no page. Relative hrefs are resolved against the
    folder of ``current_path``; ``/...`` against the root.
    """
    stripped = href.strip()
    if not stripped or stripped.startswith(("#", "//")) or _SCHEME_RE.match(stripped):
        return href, None
    cut = min((i for i in (stripped.find("?"), stripped.find("#")) if i >= 0), default=len(stripped))
    target, rest = stripped[:cut], stripped[cut:]
    target = target.removesuffix(paths.SUFFIX)
    return target + rest, _resolve_href_path(unquote(target), current_path)


def _resolve_href_path(target: str, current_path: str) -> str | None:
    """The page path a relative URL path points to, or None."""
    if target == "/":
        return paths.HOME
    folder = [] if target.startswith("/") else current_path.split("/")[:-1]
    for part in target.split("/"):
        if part == "..":
            if not folder:
                return None
            folder.pop()
        elif part not in ("", "."):
            folder.append(part)
    page = "/".join(folder)
    return page if paths.is_valid_path(page) else None


class _CommonsExtension(Extension):
    """Wikilinks and page links for one render call (holds that call's state)."""

    def __init__(self, current_path: str, page_exists: Callable[[str], bool]) -> None:
        super().__init__()
        self.current_path = current_path
        self.page_exists = page_exists
        self.links: set[str] = set()
        self._known: dict[str, bool] = {}

    def resolve(self, target: str) -> str:
        """Map a wikilink target to a page path; raise InvalidPath if there is none."""
        target = target.strip()
        relative = target.startswith(("./", "../"))
        if not relative and ".." in target.split("/"):
            raise InvalidPath(N_("Lien invalide."))
        # A page with no path yet is at the root: "../x" leaves the wiki.
        return paths.resolve_link(target, self.current_path or paths.HOME)

    def exists(self, path: str) -> bool:
        """``page_exists(path)``, asked once per path and render."""
        if path not in self._known:
            self._known[path] = bool(self.page_exists(path))
        return self._known[path]

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        """Register the wikilink pattern before links and the page-link pass after inline."""
        md.inlinePatterns.register(_WikilinkProcessor(_WIKILINK_RE, self), "wikilink", 175)
        md.treeprocessors.register(_RelativeLinkProcessor(md, self), "commons_links", 1)


def _markdown(ext: _CommonsExtension) -> markdown.Markdown:
    """A fresh Markdown converter (one per call: instances are not thread-safe)."""
    configs: dict[str, dict[str, Any]] = {
        "codehilite": {"css_class": "highlight", "guess_lang": False, "use_pygments": True},
        "tables": {"use_align_attribute": True},
        "toc": {"permalink": False, "slugify": _slug},
        "footnotes": {"BACKLINK_TITLE": "Revenir à l\u2019appel de note {}"},
    }
    extensions: list[str | Extension] = [
        "tables", "fenced_code", "codehilite", "toc", "footnotes", "sane_lists", ext,
    ]  # fmt: skip
    return markdown.Markdown(extensions=extensions, extension_configs=configs, output_format="html")


def _walk(tokens: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Heading tokens of the toc extension, in document order."""
    for token in tokens:
        yield token
        yield from _walk(token.get("children", []))


def render(text: str, *, current_path: str = "", page_exists: Callable[[str], bool] = lambda p: True) -> Rendered:
    """Render a page's Markdown (front matter removed) to sanitised HTML.

    ``current_path`` is the page being rendered (relative links are resolved
    from its folder); ``page_exists`` tells existing pages from red links.
    """
    _, body = split_front_matter(_SURROGATE_RE.sub("\ufffd", text))
    ext = _CommonsExtension(current_path, page_exists)
    md = _markdown(ext)
    try:
        body_html = md.convert(body)
    except RecursionError:  # pathological nesting (e.g. thousands of nested lists)
        logger.warning("page %r nests too deeply to render; shown as plain text", current_path)
        return Rendered(sanitise(f"<pre>{html.escape(body)}</pre>"), "", None, frozenset())
    headings = list(_walk(getattr(md, "toc_tokens", [])))
    title = next((html.unescape(t["name"]) for t in headings if t["level"] == 1), None)
    toc = sanitise(getattr(md, "toc", "")) if len(headings) >= 2 else ""
    return Rendered(sanitise(body_html), toc, title, frozenset(ext.links))


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """Split a leading ``---`` block of ``key: value`` lines from the body.

    Returns ``(metadata, body)`` with lower-cased keys, or ``({}, text)`` when
    the text has no such block (a ``---`` rule followed by prose is not one).
    Only simple scalars are understood; never raises.
    """
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].lstrip("\ufeff").rstrip() != "---":
        return {}, text
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "...")), None)
    if end is None:
        return {}, text
    meta = _parse_front_matter([line.rstrip("\r\n") for line in lines[1:end]])
    if meta is None:
        return {}, text
    return meta, "".join(lines[end + 1 :])


def _parse_front_matter(lines: list[str]) -> dict[str, str] | None:
    """``key: value`` lines to a dict; None if the block does not look like front matter."""
    meta: dict[str, str] = {}
    key: str | None = None
    for line in lines:
        match = _FRONT_KEY_RE.match(line)
        if match:
            key = match.group(1).lower()
            meta[key] = _scalar(match.group(2) or "")
        elif not line.strip() or line.lstrip().startswith("#"):
            continue
        elif key is not None and line[:1] in (" ", "\t", "-"):
            if meta[key] in _BLOCK_SCALAR or not meta[key]:
                meta[key] = ""
            if not line.lstrip().startswith("-"):
                meta[key] = f"{meta[key]} {line.strip()}".strip()
        else:
            return None
    return meta if key is not None else None


def _scalar(value: str) -> str:
    """A YAML-ish scalar: surrounding quotes removed, simple escapes undone."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    return value


def title_of(text: str, path: str) -> str:
    """A page's title: front matter ``title``, else its first ``#`` heading, else its path.

    Headings inside fenced code blocks do not count.
    """
    meta, body = split_front_matter(text)
    title = meta.get("title", "").strip()
    if title:
        return title
    heading = _first_heading(body)
    return heading or paths.readable_name(path)


def _first_heading(body: str) -> str | None:
    """Plain text of the first level-1 ATX heading outside fenced code, or None."""
    fence: str | None = None
    for line in body.splitlines():
        opening = _FENCE_RE.match(line)
        if fence is not None:
            if opening and len(opening.group(1)) >= len(fence) and not line.strip().strip(fence[0]):
                fence = None
            continue
        if opening:
            fence = opening.group(1)
            continue
        match = _ATX_H1_RE.match(line)
        if match and _plain(match.group(1)):
            return _plain(match.group(1))
    return None


def _plain(heading: str) -> str:
    """Heading Markdown to plain text: link labels kept, emphasis and code marks dropped."""
    text = re.sub(r"\[\[([^\]|]*)\|([^\]]*)\]\]", r"\2", heading)
    text = re.sub(r"\[\[([^\]]*)\]\]", r"\1", text)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\*\*|__|[*`]", "", text)
    return " ".join(text.split())


def _dark_rules(css: str) -> str:
    """Indent a style sheet's rules for use inside a media query."""
    return "\n".join("  " + line if line.strip() else line for line in css.splitlines())


def pygments_css() -> str:
    """Style sheet for highlighted code: light by default, monokai in dark mode."""
    light = HtmlFormatter(style="default").get_style_defs(".highlight")  # type: ignore[no-untyped-call]
    dark = HtmlFormatter(style="monokai").get_style_defs(".highlight")  # type: ignore[no-untyped-call]
    # Reset what the light style sets and monokai may not override.
    reset = ".highlight [class] { font-style: normal; font-weight: normal; border: 0; }"
    return (
        "/* Generated by commons.markup.pygments_css(); do not edit. */\n"
        f"{light}\n\n@media (prefers-color-scheme: dark) {{\n"
        f"{_dark_rules(reset)}\n{_dark_rules(dark)}\n}}\n"
    )
