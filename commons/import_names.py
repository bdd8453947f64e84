"""File names of an imported wiki -> page paths and attachment names of the commons.

Every source file name is mapped once, for the whole imported history, with
:func:`commons.paths.slugify` (accents, capitals, spaces and dots folded:
``criteres/1.6/annexe.md`` -> ``criteres/1-6/annexe``). ``index.md`` and
``README.md`` stand for their folder's page (``home`` at the root). Two
source files that would share a name *while they both exist* get numbered
suffixes (``-2``, ``-3``); two that never coexist (``Foo.md`` renamed
``foo.md``) share the page, so its history continues.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from commons import paths
from commons.errors import InvalidPath

MARKDOWN_SUFFIXES = (".md", ".markdown")
FOLDER_PAGES = ("index", "readme")
MAX_SUFFIX = 1000
# [start, end) commit indexes during which a file exists.
Life = list[tuple[int, int]]
FOREVER: Life = [(-1, 1 << 62)]


def is_markdown(name: str) -> bool:
    """True for a Markdown file name (``.md`` or ``.markdown``, any case)."""
    return name.lower().endswith(MARKDOWN_SUFFIXES)


def markdown_stem(name: str) -> str:
    """``a/B.md`` -> ``a/B`` (the name without its Markdown suffix)."""
    lower = name.lower()
    for suffix in MARKDOWN_SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return name


def refusal(name: str) -> str | None:
    """Why a source file name is not imported at all, or ``None`` when it may be.

    Hidden files and folders (``.git``, ``.github``), names starting with
    ``-`` (read as options by tools) and control characters are refused.
    """
    parts = name.split("/")
    if any(not part for part in parts) or any(part in (".", "..") for part in parts):
        return "chemin invalide (segment vide, « . » ou « .. »)"
    if any(part.startswith(".") for part in parts):
        return "fichier ou dossier caché (nom commençant par « . »)"
    if any(part.startswith("-") for part in parts):
        return "nom commençant par « - » (pris pour une option par les outils)"
    if re.search(r"[\x00-\x1f\x7f\\]", name):
        return "caractère de contrôle ou barre oblique inverse dans le nom"
    return None


def page_candidates(name: str) -> Iterator[str]:
    """Page paths for a Markdown file name, best first (raises InvalidPath if none)."""
    stem = markdown_stem(name)
    folder, _, last = stem.rpartition("/")
    bases: list[str] = []
    if last.lower() in FOLDER_PAGES:
        bases.append(paths.slugify(folder) if folder and _has_slug(folder) else paths.HOME)
    bases.append(paths.slugify(stem))
    yield from _numbered(bases)


def file_candidates(name: str) -> Iterator[str]:
    """Repository names for an attachment, best first (raises InvalidPath if none)."""
    folder, _, last = name.rpartition("/")
    stem, dot, ext = last.rpartition(".")
    if not dot or not stem:
        stem, ext = last, ""
    ext = re.sub(r"[^a-z0-9]", "", paths.fold(ext))[:10]
    stem_slug = paths.slugify_segment(stem) or "fichier"
    base = f"{paths.slugify(folder)}/{stem_slug}" if folder and _has_slug(folder) else stem_slug
    paths.validate_path(base)
    for candidate in _numbered([base]):
        yield f"{candidate}.{ext}" if ext else candidate


def _has_slug(folder: str) -> bool:
    return any(paths.slugify_segment(part) for part in folder.split("/"))


def _numbered(bases: list[str]) -> Iterator[str]:
    valid = [base for base in dict.fromkeys(bases) if paths.is_valid_path(base)]
    if not valid:
        raise InvalidPath("nom trop long ou sans lettre ni chiffre")
    yield from valid
    for number in range(2, MAX_SUFFIX):
        candidate = f"{valid[-1]}-{number}"
        if paths.is_valid_path(candidate):
            yield candidate
    raise InvalidPath("trop de fichiers portent ce nom")


def overlaps(first: Life, second: Life) -> bool:
    """True when two lives share at least one commit."""
    return any(a < d and c < b for a, b in first for c, d in second)


@dataclass
class NameMap:
    """The mapping decided for one import: source name -> new name, and what was refused."""

    pages: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)

    def new_name(self, name: str) -> str | None:
        """The repository file name a source file is imported as, or ``None``."""
        if name in self.pages:
            return paths.file_for(self.pages[name])
        return self.files.get(name)


def assign(names: Iterable[str], lives: dict[str, Life], candidates: Callable[[str], Iterator[str]],
           taken: dict[str, Life], refused: dict[str, str]) -> dict[str, str]:
    """Give each name (in the given order) its first candidate not in use during its life.

    ``taken`` (new name -> lives already using it) is updated; names with
    no usable candidate go to ``refused`` with the reason.
    """
    mapping: dict[str, str] = {}
    for name in names:
        life = lives.get(name, FOREVER)
        try:
            for candidate in candidates(name):
                used = taken.setdefault(candidate, [])
                if not overlaps(used, life):
                    used.extend(life)
                    mapping[name] = candidate
                    break
        except InvalidPath as exc:
            refused[name] = f"aucun nom de page utilisable ({exc.message})"
    return mapping


def page_order(names: Iterable[str], lives: dict[str, Life], tip: int) -> list[str]:
    """Who gets a contested page path first: files alive at the tip, ``index`` before
    ``README``, then by first appearance."""

    def key(name: str) -> tuple[int, int, int, str]:
        life = lives.get(name, FOREVER)
        alive = any(end >= tip for _start, end in life)
        readme = posixpath.basename(markdown_stem(name)).lower() == "readme"
        return (0 if alive else 1, 1 if readme else 0, min(start for start, _ in life), name)

    return sorted(names, key=key)
