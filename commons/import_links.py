"""Links in imported Markdown: find them, resolve them to source files, rewrite them.

A link is rewritten only when it no longer leads where it led in the source
(the page moved, a ``README.md`` became its folder's page, a VuePress
permalink, a ``.html`` or ``/folder/`` link): the fewer changes, the fewer
revisions that differ only by a link and would vanish. A new link keeps the
style of the old one: an absolute link becomes the page's URL in the
commons (``/guide/page``), a relative one a relative file name that keeps
``.md`` (``../guide/page.md``, which works in the commons, in a clone on a
forge, and offline) unless it had no extension (wiki style: ``../guide/page``). Links inside
code are left alone, and so are external URLs.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from collections.abc import Iterable, Iterator
from urllib.parse import quote, unquote

from commons import markup, paths
from commons.errors import CommonsError
from commons.import_names import FOLDER_PAGES, NameMap, is_markdown, markdown_stem

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})", re.M)
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)((?:(?!\n[ \t]*\n).)+?)(?<!`)\1(?!`)", re.S)
_INLINE = re.compile(r"\]\(\s*(<[^<>\n]*>|[^\s()<>]+(?:\([^\s()]*\)[^\s()<>]*)*)"
                     r"(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'))?\s*\)")
_REFERENCE = re.compile(r"^ {0,3}\[[^\]\n]+\]:[ \t]*(<[^<>\n]*>|\S+)", re.M)
_HTML = re.compile(r"<(?:a|img)\b[^>]*?\s(?:href|src)\s*=\s*([\"'])(.*?)\1", re.I | re.S)
_WIKILINK = re.compile(r"\[\[([^\[\]\n]+?)\]\]")
_TOC = re.compile(r"^\[\[\s*toc\s*\]\][ \t]*$", re.I | re.M)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def _key(name: str) -> str:
    """Loose comparison key: NFC, case-folded."""
    return unicodedata.normalize("NFC", name).casefold()


def _word_key(name: str) -> str:
    """Gollum-style key: spaces, ``-`` and ``_`` are the same (``Page Name`` ~ ``Page-Name``)."""
    return re.sub(r"[\s_-]+", "-", _key(name)).strip("-")


def code_ranges(text: str) -> list[tuple[int, int]]:
    """Spans of fenced code blocks and inline code, where links are not links."""
    ranges: list[tuple[int, int]] = []
    opened: re.Match[str] | None = None
    for match in _FENCE.finditer(text):
        if opened is None:
            opened = match
        elif match.group(1)[0] == opened.group(1)[0] and len(match.group(1)) >= len(opened.group(1)):
            ranges.append((opened.start(), match.end()))
            opened = None
    if opened is not None:
        ranges.append((opened.start(), len(text)))
    ranges.extend(m.span() for m in _CODE_SPAN.finditer(text) if not _inside(m.start(), ranges))
    return ranges


def _inside(position: int, ranges: list[tuple[int, int]]) -> bool:
    return any(start <= position < end for start, end in ranges)


def hrefs(text: str) -> Iterator[tuple[int, int, str]]:
    """``(start, end, href)`` of every link and image destination outside code."""
    code = code_ranges(text)
    found: list[tuple[int, int]] = []
    for pattern, group in ((_INLINE, 1), (_REFERENCE, 1), (_HTML, 2)):
        for match in pattern.finditer(text):
            start, end = match.span(group)
            if text[start] == "<" and pattern is not _HTML:
                start, end = start + 1, end - 1
            if not _inside(match.start(), code):
                found.append((start, end))
    for start, end in sorted(set(found)):
        yield start, end, text[start:end]


def permalink_of(text: str) -> str | None:
    """The VuePress/Jekyll ``permalink`` of a page, normalised (``/a/b``), if any."""
    meta, _ = markup.split_front_matter(text)
    link = meta.get("permalink", "").strip()
    return _normal_url(link) if link.startswith("/") else None


def _normal_url(path: str) -> str:
    path = path.rstrip("/")
    return path[:-5] if path.endswith(".html") else path


class Resolver:
    """Resolves a link found in one source file to the source file it points to."""

    def __init__(self, names: Iterable[str], permalinks: dict[str, str]) -> None:
        self.names = set(names)
        self.loose = {_key(name): name for name in sorted(self.names, reverse=True)}
        self.permalinks = permalinks
        self.pages_by_word: dict[str, list[str]] = {}
        for name in sorted(self.names):
            if is_markdown(name):
                stem = markdown_stem(name)
                for key in {_word_key(stem), _word_key(posixpath.basename(stem))}:
                    self.pages_by_word.setdefault(key, []).append(name)

    def lookup(self, candidate: str) -> str | None:
        """The source name matching ``candidate`` exactly, else loosely (case, NFC)."""
        if candidate in self.names:
            return candidate
        return self.loose.get(_key(candidate))

    def resolve(self, href: str, source: str) -> tuple[str | None, str, str]:
        """``(target source name or None, normalised wanted name, suffix)`` for ``href`` in ``source``."""
        stripped = href.strip()
        if not stripped or stripped.startswith(("#", "//")) or _SCHEME.match(stripped):
            return None, "", ""
        cut = min((i for i in (stripped.find("?"), stripped.find("#")) if i >= 0), default=len(stripped))
        target, suffix = unquote(stripped[:cut]), stripped[cut:]
        if target.startswith("/") and _normal_url(target) in self.permalinks:
            return self.permalinks[_normal_url(target)], target, suffix
        base = target.lstrip("/") if target.startswith("/") else posixpath.join(posixpath.dirname(source), target)
        base = posixpath.normpath(base) if base else "."
        if base.startswith("../") or base == "..":
            return None, "", ""
        base = "" if base == "." else base
        for candidate in _candidates(base, target.endswith("/")):
            found = self.lookup(candidate)
            if found:
                return found, base, suffix
        return None, base, suffix

    def wiki_target(self, text: str, source: str) -> str | None:
        """The source page a wikilink target names: by path from the source's folder or root, else by name."""
        text = text.strip().removesuffix(".md")
        if not text:
            return None
        for base in (posixpath.join(posixpath.dirname(source), text), text):
            found = self.lookup(base + ".md")
            if found:
                return found
        matches = self.pages_by_word.get(_word_key(text), [])
        return matches[0] if len(matches) == 1 else None


def _candidates(base: str, folder: bool) -> list[str]:
    if not base:
        return [f"{page}{suffix}" for page in ("index", "README") for suffix in (".md", ".markdown")]
    found = [] if folder else [base, base + ".md", base + ".markdown"]
    if not folder and base.endswith(".html"):
        found.insert(0, base[:-5] + ".md")
    found += [f"{base}/{page}.md" for page in ("index", "README")]
    return found


def _joined(current_file: str, path: str) -> str:
    return posixpath.normpath(posixpath.join(posixpath.dirname(current_file), path))


def _relative(target_file: str, current_file: str) -> str:
    """A relative URL from the folder of ``current_file`` to ``target_file``."""
    folder = posixpath.dirname(current_file) or "."
    return quote(posixpath.relpath(target_file, folder), safe="/.-_~")


def rewrite(text: str, source: str, new_path: str, resolver: Resolver, names: NameMap) -> str:
    """``text`` (revision of source file ``source``, imported as page ``new_path``) with links updated."""
    current_file = paths.file_for(new_path)
    pieces: list[str] = []
    last = 0
    for start, end, href in hrefs(text):
        if start < last:  # overlapping matches (a link inside an HTML attribute): keep the first
            continue
        replacement = _new_href(href, source, new_path, current_file, resolver, names)
        if replacement is not None:
            pieces += [text[last:start], replacement]
            last = end
    pieces.append(text[last:])
    text = "".join(pieces)
    text = _TOC.sub("[TOC]", text)
    code = code_ranges(text)
    return _WIKILINK.sub(lambda m: m.group(0) if _inside(m.start(), code)
                         else _new_wikilink(m.group(1), source, new_path, resolver, names), text)


def _new_href(href: str, source: str, new_path: str, current_file: str, resolver: Resolver,
              names: NameMap) -> str | None:
    """The rewritten href, or ``None`` when ``href`` already leads to the right place."""
    target, _wanted, suffix = resolver.resolve(href, source)
    new_target = names.new_name(target) if target else None
    if target is None or new_target is None:
        return None
    path = unquote(href.strip().split("#")[0].split("?")[0])
    if target in names.pages:
        # "/guide/" lists the folder in the commons: only a link without the final "/" leads to the page.
        if not path.endswith("/") and markup.page_of_href(href, new_path)[1] == names.pages[target]:
            return None
    elif not path.startswith("/") and _joined(current_file, path) == new_target:
        return None
    if path.startswith("/") and target in names.pages:  # keep the link's style: absolute stays absolute
        page = names.pages[target]
        return ("/" if page == paths.HOME else f"/{page}") + suffix
    relative = _relative(new_target, current_file)
    if target in names.pages and "." not in posixpath.basename(path) and not path.endswith("/"):
        relative = relative.removesuffix(paths.SUFFIX)  # "[x](page)" (wiki style) stays without ".md"
    return relative + suffix


def _new_wikilink(inner: str, source: str, new_path: str, resolver: Resolver, names: NameMap) -> str:
    """``[[Target|label]]`` (commons order) for a wikilink, in commons or Gollum (``[[label|Target]]``) order."""
    first, bar, second = inner.partition("|")
    options = [(first, second)] + ([(second, first)] if bar else [])
    for index, (target_text, label) in enumerate(options):
        target_text, _, section = target_text.partition("#")
        found = resolver.wiki_target(target_text, source)
        if found is None or found not in names.pages:
            continue
        page = names.pages[found]
        if index == 0 and _resolves_to(target_text, new_path, page):
            return f"[[{inner}]]"
        fragment = f"#{section}" if section else ""
        return f"[[{page}{fragment}|{(label or target_text).strip()}]]"
    return f"[[{inner}]]"


def _resolves_to(target: str, current: str, page: str) -> bool:
    """True when the commons reads wikilink ``target`` on page ``current`` as ``page``."""
    try:
        return paths.resolve_link(target, current) == page
    except CommonsError:
        return False


def references(text: str, source: str, resolver: Resolver) -> tuple[set[str], set[str]]:
    """Non-page files a revision links to: ``(found in the source, missing from it)``."""
    found: set[str] = set()
    missing: set[str] = set()
    for _start, _end, href in hrefs(text):
        target, wanted, _suffix = resolver.resolve(href, source)
        if target is not None and not is_markdown(target):
            found.add(target)
        elif target is None and wanted and "." in posixpath.basename(wanted) and not is_markdown(wanted) \
                and not wanted.endswith(".html"):
            missing.add(wanted)
    return found, missing


def with_title(text: str, source: str, new_path: str) -> str:
    """Keep the source file's name as the page's title when nothing else gives one.

    A page with no front matter ``title`` and no ``#`` heading would be
    titled from its slug (``Preparer le jeu de donnees``); when the file
    name said more (``préparer le jeu de données.md``), it goes into the
    front matter as ``title``.
    """
    readable = paths.readable_name(new_path)
    if markup.title_of(text, new_path) != readable:
        return text
    stem = markdown_stem(source)
    folder, _, last = stem.rpartition("/")
    if last.lower() in FOLDER_PAGES:
        last = posixpath.basename(folder)
    title = " ".join(re.sub(r"[-_]+", " ", unicodedata.normalize("NFC", last)).split())
    if not title or title.lower() == readable.lower():
        return text
    line = 'title: "' + title.replace("\\", "\\\\").replace('"', '\\"') + '"\n'
    meta, _body = markup.split_front_matter(text)
    if meta:
        first, _, rest = text.partition("\n")
        return f"{first}\n{line}{rest}"
    if text.lstrip("\ufeff").startswith("---"):
        return text
    return f"---\n{line}---\n\n{text}"
