"""What a page's text says for the link graph: the pages it links to, how it names them, and its tags.

:func:`links_of` gives exactly the links :func:`commons.markup.render` finds
(``Rendered.links``) without rendering: a plain text of paragraphs, headings,
lists and tables made of wikilinks and simple ``[label](href)`` links is read
with regular expressions; a text with anything that could change how
Markdown reads a link (code, HTML, escapes, entities, reference links,
footnotes, nested brackets, a ``|`` inside a link in a table...) is rendered,
as before. ``tests/test_links.py`` checks both ways agree on every kind of text.
"""

from __future__ import annotations

import re

from commons import markup, paths
from commons.errors import InvalidPath

MAX_TAG = 50
MAX_TAGS_PER_PAGE = 50

_WIKILINK_RE = re.compile(r"\[\[([^\[\]\n]+?)\]\]")
_SIMPLE_LINK_RE = re.compile(r"(!?)\[([^\[\]\n\x01]*)\]\(([^()\s<>\"'\x01]*)\)")
# Code (backticks, tildes, indented lines), HTML and autolinks, escapes, entities, Markdown's own markers.
_NOT_PLAIN_RE = re.compile(r"[`<\\&\t\r\x02\x03]|~~~|^ {4}", re.MULTILINE)
_TABLE_RULE_RE = re.compile(r"^[ \t]*\|?[ \t]*:?-+:?[ \t]*\|[ \t:|-]*$", re.MULTILINE)
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_QUOTES = "\"'"


def links_of(text: str, path: str) -> frozenset[str]:
    """The pages a page's Markdown links to, as :func:`commons.markup.render` finds them (existing or not)."""
    if "[" not in text:  # every page link needs one
        return frozenset()
    found = _plain_links(text, path)
    return markup.render(text, current_path=path).links if found is None else found


def _plain_links(text: str, path: str) -> frozenset[str] | None:
    """The links of a plain text, or ``None`` when the text needs Markdown to tell."""
    _, body = markup.split_front_matter(_SURROGATE_RE.sub("\ufffd", text))
    if _NOT_PLAIN_RE.search(body):
        return None
    table = _TABLE_RULE_RE.search(body) is not None
    links: set[str] = set()
    wikilinks = list(_WIKILINK_RE.finditer(body))
    for match in wikilinks:
        if table and "|" in match.group(1):
            return None  # a table row would cut the link at its "|"
        if (page := _wikilink_page(match.group(1), path)) is not None:
            links.add(page)
    rest = _WIKILINK_RE.sub("\x01", body)
    for match in _SIMPLE_LINK_RE.finditer(rest):
        image, label, href = match.groups()
        if table and "|" in match.group(0):
            return None
        if not image and not paths.attachment_of(href, path):
            page = markup.page_of_href(href, path)[1]
            if page is not None:
                links.add(page)
    leftover = _SIMPLE_LINK_RE.sub("", rest)
    if "[" in leftover or "]" in leftover:
        return None  # reference links, footnotes, nested or unusual brackets: let Markdown read them
    return frozenset(links)


def _wikilink_page(inner: str, path: str) -> str | None:
    """The page a wikilink's inside (``target#section|label``) names, as the Markdown extension resolves it."""
    target = inner.partition("|")[0].partition("#")[0].strip()
    if not target:
        return None  # ``[[#section]]`` stays on the page; ``[[|x]]`` names nothing
    if not target.startswith(("./", "../")) and ".." in target.split("/"):
        return None
    try:
        return paths.resolve_link(target, path or paths.HOME)
    except InvalidPath:
        return None


def labels_of(text: str, path: str, links: frozenset[str]) -> dict[str, str]:
    """How the text names the pages it links to (``[[Chèque énergie]]``): better titles for missing pages.

    Only labels that say more than the path itself are kept.
    """
    _, body = markup.split_front_matter(text)
    labels: dict[str, str] = {}
    for match in _WIKILINK_RE.finditer(body):
        target = match.group(1).partition("|")[0].partition("#")[0].strip()
        try:
            resolved = paths.resolve_link(target, path or paths.HOME)
        except InvalidPath:
            continue
        label = " ".join(target.rsplit("/", 1)[-1].split())
        if resolved in links and label and label != resolved.rsplit("/", 1)[-1]:
            labels.setdefault(resolved, label[:200])
    return labels


def clean_tag(raw: str) -> str:
    """One tag: quotes and a leading ``#`` removed, spaces collapsed, lower case, at most ``MAX_TAG``."""
    tag = _CONTROL_RE.sub(" ", raw).strip().strip(_QUOTES).strip().lstrip("#")
    return " ".join(tag.lower().split())[:MAX_TAG].strip()


def _block_items(text: str, key: str) -> list[str]:
    """The ``- item`` lines under ``key:`` in a leading front matter block (a YAML block list)."""
    lines = text.splitlines()
    if not lines or lines[0].lstrip("\ufeff").rstrip() != "---":
        return []
    items: list[str] = []
    inside = False
    for line in lines[1:]:
        if line.rstrip() in ("---", "..."):
            break
        if line[:1] not in (" ", "\t", "-"):
            inside = line.split(":", 1)[0].strip().lower() == key
        elif inside and line.lstrip().startswith("-"):
            items.append(line.lstrip()[1:])
    return items


def tags_of(text: str) -> list[str]:
    """The tags of a page from its front matter, in order, without duplicates.

    Understands ``tags: [logement, droits]``, ``tags: logement, droits`` and a
    YAML block list (``tags:`` followed by ``- logement`` lines).
    """
    meta, _ = markup.split_front_matter(text)
    value = meta.get("tags", "").strip()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    raw = value.split(",") if value else _block_items(text, "tags") if "tags" in meta else []
    found: list[str] = []
    for item in raw:
        tag = clean_tag(item)
        if tag and tag not in found:
            found.append(tag)
    return found[:MAX_TAGS_PER_PAGE]
