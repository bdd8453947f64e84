"""Page names, slugs and file names: the one place that accepts or rejects them.

A page path is made of lowercase segments of ``a-z``, ``0-9`` and ``-``
separated by ``/`` (``guides/acces-aux-droits``); a segment never starts
with ``-`` (git option injection) and the whole path is at most
``MAX_PATH_LENGTH`` characters. The page's file in git is ``<path>.md``.
"""

from __future__ import annotations

import re
import unicodedata

from commons.errors import N_, InvalidPath

MAX_PATH_LENGTH = 200
HOME = "home"
SUFFIX = ".md"
# Page templates live in this folder of the commons ("templates" is the app's own folder name).
TEMPLATES = "modeles"
MAX_ATTACHMENT_NAME = 100
ATTACHMENT_EXTENSIONS = frozenset({
    "png", "jpg", "jpeg", "gif", "webp", "pdf", "odt", "ods", "docx", "xlsx", "txt", "csv", "mp3", "ogg", "mp4", "webm",
})

_SEGMENT = r"[a-z0-9][a-z0-9-]*"
_PATH_RE = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*")
_ATTACHMENT_RE = re.compile(r"[a-z0-9][a-z0-9_-]*\.([a-z0-9]+)")
# Letters that NFKD does not split into base letter + accent.
_SPECIAL_LETTERS = str.maketrans(
    {"ß": "ss", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ø": "o", "Ø": "o", "đ": "d", "ł": "l"}
)


def fold(text: str) -> str:
    """Lower-case ``text`` and remove accents (``Écrire`` -> ``ecrire``)."""
    text = text.translate(_SPECIAL_LETTERS)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def slugify_segment(title: str) -> str:
    """Map one title to one path segment: ``Accès aux droits`` -> ``acces-aux-droits``.

    Apostrophes are dropped with the letters around them kept apart
    (``L'accès`` -> ``l-acces``). Returns ``""`` when nothing usable remains.
    """
    folded = fold(title)
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")


def slugify(title: str) -> str:
    """Map a title or a loose path (``Guides/Accès aux droits``) to a page path.

    Each ``/``-separated part is slugified; empty parts are dropped.
    The result is validated: a title that yields nothing usable raises
    :class:`InvalidPath`.
    """
    parts = [slugify_segment(part) for part in title.split("/")]
    return validate_path("/".join(p for p in parts if p))


def validate_path(path: str) -> str:
    """Return ``path`` if it is a valid page path, else raise :class:`InvalidPath`.

    Rejects (among others) ``..``, absolute paths, empty segments, a leading
    ``-``, ``.git``, NUL and control characters, upper case and over-long names.
    """
    if not isinstance(path, str) or not path:
        raise InvalidPath(N_("Le nom de page est vide."))
    if len(path) > MAX_PATH_LENGTH:
        raise InvalidPath(N_("Le nom de page dépasse %(max_path_length)s caractères.", max_path_length=MAX_PATH_LENGTH))
    if not _PATH_RE.fullmatch(path):
        raise InvalidPath(
            N_("Nom de page invalide : utilisez des minuscules sans accent, des chiffres et des tirets, séparés par « "
               "/ » (ex. « guides/acces-aux-droits »).")
        )
    return path


def is_valid_path(path: str) -> bool:
    """True when :func:`validate_path` would accept ``path``."""
    try:
        validate_path(path)
    except InvalidPath:
        return False
    return True


def file_for(path: str) -> str:
    """The repository file name of a (valid) page path."""
    return validate_path(path) + SUFFIX


def path_for_file(name: str) -> str | None:
    """The page path of a repository file name, or ``None`` if it is not a page."""
    if not name.endswith(SUFFIX):
        return None
    path = name[: -len(SUFFIX)]
    return path if is_valid_path(path) else None


def readable_name(path: str) -> str:
    """A title made from the last segment of a path: ``acces-aux-droits`` -> ``Acces aux droits``."""
    last = path.rsplit("/", 1)[-1].replace("-", " ").strip()
    return last[:1].upper() + last[1:] if last else path


def resolve_link(target: str, current: str = "") -> str:
    """Resolve a wikilink target to a page path.

    ``[[Accès aux droits]]`` -> ``acces-aux-droits``; ``[[guides/rsa]]`` stays
    as it is; a target starting with ``./`` or ``../`` is relative to the
    folder of ``current``. Raises :class:`InvalidPath` for targets that map
    to no valid path.
    """
    target = target.strip()
    if target.startswith(("./", "../")) and current:
        folder = current.split("/")[:-1]
        for part in target.split("/"):
            if part == "..":
                if not folder:
                    raise InvalidPath(N_("Le lien remonte au-delà de la racine."))
                folder.pop()
            elif part not in ("", "."):
                folder.append(part)
        target = "/".join(folder)
    return slugify(target.lstrip("/"))


def validate_attachment_name(name: str) -> str:
    """Return ``name`` if it is a valid attachment file name, else raise :class:`InvalidPath`.

    Lowercase ``a-z``, ``0-9``, ``-`` and ``_`` (never first), one dot and an
    extension from :data:`ATTACHMENT_EXTENSIONS` (``plan-d-acces.png``).
    """
    match = _ATTACHMENT_RE.fullmatch(name) if isinstance(name, str) else None
    if match is None or len(name) > MAX_ATTACHMENT_NAME:
        raise InvalidPath(
            N_("Nom de fichier invalide : minuscules sans accent, chiffres, « - » ou « _ », puis une extension (ex. « "
               "plan-d-acces.png »), au plus %(max_attachment_name)s caractères.",
               max_attachment_name=MAX_ATTACHMENT_NAME)
        )
    if match.group(1) not in ATTACHMENT_EXTENSIONS:
        allowed = ", ".join(sorted(ATTACHMENT_EXTENSIONS))
        raise InvalidPath(N_("Type de fichier non accepté (.%(match)s). Extensions acceptées : %(allowed)s.",
                             match=match.group(1), allowed=allowed))
    return name


def is_attachment_name(name: str) -> bool:
    """True when :func:`validate_attachment_name` would accept ``name``."""
    try:
        validate_attachment_name(name)
    except InvalidPath:
        return False
    return True


def attachment_file(path: str, name: str) -> str:
    """The repository file of attachment ``name`` of page ``path``: ``<path>/<name>``, next to the page."""
    return f"{validate_path(path)}/{validate_attachment_name(name)}"


def attachment_of(href: str, page: str) -> str | None:
    """The repository file a link or image source names when it is a bare attachment name, else ``None``.

    ``plan.png`` (or ``./plan.png``) in page ``guides/rsa`` is ``guides/rsa/plan.png``.
    """
    name = href.strip().removeprefix("./")
    return f"{page}/{name}" if page and is_valid_path(page) and is_attachment_name(name) else None


def attachment_name_for(filename: str) -> str:
    """A valid attachment name made from an uploaded file's name: ``Plan d'accès.PNG`` -> ``plan-d-acces.png``."""
    stem, dot, extension = filename.replace("\\", "/").rsplit("/", 1)[-1].rpartition(".")
    if not dot:
        stem, extension = extension, ""
    return validate_attachment_name(f"{slugify_segment(stem)}.{extension.lower()}")
