"""Sections of a page's Markdown: find headings, cut out one section, splice it back.

Pure functions, no Flask and no git. Headings are found the way the renderer
(Python-Markdown) finds them, so that heading number N in the source is the
N-th heading of the rendered page: ATX headings (``#`` at the start of a line)
and Setext headings (a block's first line underlined with ``===`` or ``---``),
outside fenced code and after the front matter.

Section numbers follow MediaWiki: section 0 is the text before the first
heading, section N (from 1) runs from the N-th heading to the next heading of
the same or a higher level (a smaller number), so it includes its subsections.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass

from commons.errors import N_, NotFound
from commons.markup import split_front_matter

# Python-Markdown's fence: at the start of a line, optional language or {attributes}, closed by the same fence.
_FENCE_OPEN_RE = re.compile(r"^(`{3,}|~{3,})[ ]*(?:\{[^\n]*\}|\.?[\w#.+-]*[ ]*(?:hl_lines=([\"']).*?\2[ ]*)?)$")
_ATX_RE = re.compile(r"^(#{1,6})")
_SETEXT_RE = re.compile(r"^(=+|-+)[ ]*$")
_RENDERED_HEADING_RE = re.compile(r"<h([1-6])\b[^>]*>(.*?)</h\1>", re.S)
_TAG_RE = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Heading:
    """One heading of a page and the lines of its section (``start`` included, ``end`` excluded)."""

    number: int
    level: int
    title: str
    start: int
    end: int


def lines_of(text: str) -> list[str]:
    """``text`` cut after each ``\\n`` only (the renderer ignores other line separators)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    return lines + [parts[-1]] if parts[-1] else lines


def _bare(line: str) -> str:
    return line.rstrip("\n").rstrip("\r")


def _fenced(lines: list[str], start: int) -> set[int]:
    """Indexes of the lines inside closed fenced code blocks (fences included), from ``start``."""
    inside: set[int] = set()
    i = start
    while i < len(lines):
        opening = _FENCE_OPEN_RE.match(_bare(lines[i]))
        if opening:
            closing = re.compile(re.escape(opening.group(1)) + r"[ ]*$")
            end = next((j for j in range(i + 1, len(lines)) if closing.match(_bare(lines[j]))), None)
            if end is not None:  # an unclosed fence is plain text for the renderer
                inside.update(range(i, end + 1))
                i = end
        i += 1
    return inside


def _plain(heading: str) -> str:
    """Heading Markdown to plain text: closing hashes, link targets, emphasis and code marks dropped."""
    text = re.sub(r"[ \t]+#+[ \t]*$", "", heading.strip())
    text = re.sub(r"\[\[([^\]|]*)\|([^\]]*)\]\]", r"\2", text)
    text = re.sub(r"\[\[([^\]]*)\]\]", r"\1", text)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\*\*|__|[*`]", "", text)
    return " ".join(text.split())


def _body_start(text: str, lines: list[str]) -> int:
    """Index of the first line after the front matter."""
    _, body = split_front_matter(text)
    offset, count = len(text) - len(body), 0
    for index, line in enumerate(lines):
        if count >= offset:
            return index
        count += len(line)
    return len(lines)


def _found(lines: list[str]) -> list[tuple[int, int, str]]:
    """``(line, level, title)`` of every heading, in document order."""
    first = _body_start("".join(lines), lines)
    code = _fenced(lines, first)
    found: list[tuple[int, int, str]] = []
    block_start, underline = True, False
    for i in range(first, len(lines)):
        line = _bare(lines[i])
        if underline or i in code:  # a Setext underline or fenced code: what follows starts a new block
            underline, block_start = False, True
            continue
        atx = _ATX_RE.match(line)
        nxt = _bare(lines[i + 1]) if i + 1 < len(lines) and i + 1 not in code else None
        if atx:
            found.append((i, len(atx.group(1)), _plain(line[len(atx.group(1)):].strip("#"))))
        elif (block_start and line.strip() and not line.startswith(("    ", "\t"))
              and nxt is not None and _SETEXT_RE.match(nxt)):
            found.append((i, 1 if nxt.startswith("=") else 2, _plain(line)))
            underline = True
            continue
        block_start = bool(atx) or not line.strip()
    return found


def headings(text: str) -> list[Heading]:
    """Every heading of ``text`` numbered from 1, with the extent of its section."""
    lines = lines_of(text)
    found = _found(lines)
    result: list[Heading] = []
    for n, (start, level, title) in enumerate(found):
        end = next((s for s, lvl, _ in found[n + 1:] if lvl <= level), len(lines))
        result.append(Heading(n + 1, level, title, start, end))
    return result


def _bounds(text: str, number: int) -> tuple[list[str], int, int, str]:
    """The lines of ``text``, the extent of section ``number`` and its title; :class:`NotFound` if none."""
    lines = lines_of(text)
    found = headings(text)
    if number == 0:
        return lines, 0, found[0].start if found else len(lines), ""
    if not 1 <= number <= len(found):
        raise NotFound(N_("Cette page n'a pas de section n°%(number)s (elle en a %(found)s).",
                          number=number, found=len(found)))
    heading = found[number - 1]
    return lines, heading.start, heading.end, heading.title


def section_text(text: str, number: int) -> str:
    """The Markdown of section ``number`` (0: before the first heading), trailing blank lines left out."""
    lines, start, end, _ = _bounds(text, number)
    body = "".join(lines[start:end]).rstrip("\n")
    return body + "\n" if body else ""


def section_title(text: str, number: int) -> str:
    """The plain-text title of section ``number`` (empty for section 0)."""
    return _bounds(text, number)[3]


def splice(text: str, number: int, new_section: str) -> str:
    """``text`` with section ``number`` replaced by ``new_section`` (an empty one removes the section).

    The blank lines that separated the section from the next one are kept, so
    that the rest of the page is unchanged line for line (three-way merges of
    other sections stay clean).
    """
    lines, start, end, _ = _bounds(text, number)
    old = lines[start:end]
    gap = 0
    if end < len(lines):
        while gap < len(old) and not old[len(old) - 1 - gap].strip():
            gap += 1
    new = new_section.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n")
    replacement = lines_of(new + "\n" + "\n" * gap) if new.strip() else []
    return "".join(lines[:start] + replacement + lines[end:])


def add_edit_links(rendered_html: str, text: str, href: Callable[[int], str],
                   labels: tuple[str, str] = ("Modifier la section « %(name)s »", "modifier cette section")) -> str:
    """Insert an "edit this section" link after each ``<h2>``..``<h6>`` of the sanitised ``rendered_html``.

    ``labels`` are the link's accessible name (with ``%(name)s``, the heading) and its text, in
    the reader's language (French by default).

    Heading N of the HTML is section N of ``text`` only when both list the same
    levels in the same order; when they do not (a heading inside a quote or a
    list, raw HTML headings), no link is added rather than a wrong one.
    """
    found = list(_RENDERED_HEADING_RE.finditer(rendered_html))
    if [int(m.group(1)) for m in found] != [h.level for h in headings(text)]:
        return rendered_html
    out: list[str] = []
    last = 0
    for number, match in enumerate(found, 1):
        out.append(rendered_html[last:match.end()])
        last = match.end()
        if int(match.group(1)) >= 2:
            name = html.escape(html.unescape(_TAG_RE.sub("", match.group(2))).strip(), quote=True)
            aria = html.escape(labels[0], quote=True) % {"name": name}
            out.append(f'<a class="edit-section" href="{html.escape(href(number), quote=True)}" '
                       f'aria-label="{aria}">{html.escape(labels[1])}</a>')
    out.append(rendered_html[last:])
    return "".join(out)
