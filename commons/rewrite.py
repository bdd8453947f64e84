"""Rewrite the links of a page's Markdown after pages moved: pure functions on text.

When pages move (``moved``: old path -> new path), every link that pointed
to a moved page is pointed at its new path, and a moved page's own links
keep pointing where they pointed from its old place. Labels are kept:
``[[Ancien titre]]`` becomes ``[[nouveau/chemin|Ancien titre]]``, and a
Markdown link keeps its text, title, ``.md`` suffix, query and fragment.

Wikilinks, inline Markdown links and images, and reference definitions
(``[ref]: url``) are rewritten; code (fenced blocks and inline code spans)
and the front matter are left as they are. Links are resolved with the same
rules as :mod:`commons.markup`.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Mapping
from urllib.parse import unquote

from commons import markup, paths
from commons.errors import N_, InvalidPath

_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_INLINE_RE = re.compile(
    r"(?P<code>(?P<ticks>`+).*?(?<!`)(?P=ticks)(?!`))"
    r"|\[\[(?P<wiki>[^\[\]\n]+?)\]\]"
    r"|(?P<md>!?\[(?:[^\[\]\n]|\[[^\[\]\n]*\])*\]\()(?P<href><[^<>\n]*>|[^\s()<>]+)(?P<after>(?:\s+\"[^\"\n]*\")?\s*\))"
)
_DEFINITION_RE = re.compile(r"^(?P<head> {0,3}\[[^\]\n]+\]:[ \t]*)(?P<href><[^<>\n]*>|\S+)(?P<after>.*)$")


class _Move:
    """One page's text being rewritten: where it was, where it goes, and what else moved."""

    def __init__(self, old_source: str, new_source: str, moved: Mapping[str, str]) -> None:
        self.old_source = old_source
        self.new_source = new_source
        self.moved = moved

    def wikilink(self, inner: str) -> str | None:
        """The new inside of ``[[...]]``, or ``None`` to keep it."""
        target_part, bar, label = inner.partition("|")
        target, hash_, section = target_part.partition("#")
        if not target.strip():
            return None
        try:
            old = _resolve_wikilink(target, self.old_source)
        except InvalidPath:
            return None
        new = self.moved.get(old, old)
        if _same(lambda: _resolve_wikilink(target, self.new_source), new):
            return None
        shown = (label.strip() if bar else "") or target_part.strip()
        return f"{new}{'#' + section if hash_ else ''}|{shown}"

    def href(self, href: str) -> str | None:
        """The new URL of a Markdown link or image, or ``None`` to keep it."""
        bracketed = href.startswith("<") and href.endswith(">")
        raw = href[1:-1] if bracketed else href
        new = self._files_url(raw) or self._page_url(raw)
        if new is None:
            return None
        return f"<{new}>" if bracketed else new

    def _files_url(self, raw: str) -> str | None:
        """``/-/files/<page>/<name>`` of a moved page: its attachments moved with it."""
        if not raw.startswith(markup.FILES_PREFIX):
            return None
        page, _, name = raw[len(markup.FILES_PREFIX):].rpartition("/")
        return f"{markup.FILES_PREFIX}{self.moved[page]}/{name}" if page in self.moved else None

    def _page_url(self, raw: str) -> str | None:
        """A relative or absolute link to a page, pointed again at the same (possibly moved) page.

        Attachments named bare (``plan.png``) name no page: they move with their page and stay.
        """
        _, old = markup.page_of_href(raw, self.old_source)
        if old is None:
            return None
        new = self.moved.get(old, old)
        if _same(lambda: markup.page_of_href(raw, self.new_source)[1], new):
            return None
        cut = min((i for i in (raw.find("?"), raw.find("#")) if i >= 0), default=len(raw))
        target, rest = raw[:cut], raw[cut:]
        suffix = paths.SUFFIX if unquote(target).endswith(paths.SUFFIX) else ""
        if target.startswith("/"):
            return ("/" if new == paths.HOME and not suffix else f"/{new}{suffix}") + rest
        folder = posixpath.dirname(self.new_source)
        return posixpath.relpath(new, folder or ".") + suffix + rest


def _same(resolve: Callable[[], str | None], expected: str) -> bool:
    """True when calling ``resolve`` gives ``expected`` (an invalid link never does)."""
    try:
        return resolve() == expected
    except InvalidPath:
        return False


def _resolve_wikilink(target: str, current: str) -> str:
    """The page a wikilink target names from page ``current`` (the rule of ``markup``'s wikilinks)."""
    target = target.strip()
    if not target.startswith(("./", "../")) and ".." in target.split("/"):
        raise InvalidPath(N_("Lien invalide."))
    return paths.resolve_link(target, current or paths.HOME)


def _rewrite_line(line: str, move: _Move) -> str:
    """One line outside fenced code: its wikilinks, links and images (inline code kept)."""
    definition = _DEFINITION_RE.match(line)
    if definition:
        new = move.href(definition.group("href"))
        return line if new is None else definition.group("head") + new + definition.group("after")

    def replace(match: re.Match[str]) -> str:
        if match.group("wiki") is not None:
            inner = move.wikilink(match.group("wiki"))
            return match.group(0) if inner is None else f"[[{inner}]]"
        if match.group("md") is not None:
            new = move.href(match.group("href"))
            return match.group(0) if new is None else match.group("md") + new + match.group("after")
        return match.group(0)

    return _INLINE_RE.sub(replace, line)


def rewrite_links(text: str, old_source: str, new_source: str, moved: Mapping[str, str]) -> str:
    """The Markdown ``text`` of the page moving from ``old_source`` to ``new_source`` with its links fixed.

    ``moved`` maps every moved page's old path to its new path. Returns
    ``text`` itself when no link needs to change.
    """
    meta, body = markup.split_front_matter(text)
    head = text[: len(text) - len(body)] if meta else ""
    move = _Move(old_source, new_source, moved)
    out: list[str] = []
    fence: str | None = None
    for line in (body if meta else text).splitlines(keepends=True):
        opening = _FENCE_RE.match(line)
        if fence is not None:
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
                fence = None
            out.append(line)
        elif opening:
            fence = opening.group(1)
            out.append(line)
        else:
            out.append(_rewrite_line(line, move))
    rewritten = head + "".join(out)
    return text if rewritten == text else rewritten
