"""Attachments: what may be uploaded next to a page, and how it is served.

A file's name decides its type (:data:`TYPES`, names checked by
:func:`commons.paths.validate_attachment_name`); its content must then look
like that type (magic bytes), so that an HTML page or a script renamed
``photo.png`` is refused. SVG is not accepted at all (it can carry script).
Only images, audio and video are shown in the browser; everything else is
served as a download. Files are written by :meth:`commons.pages.PageService.attach`
(the one write path) and read here, as the branch stands.
"""

from __future__ import annotations

from collections.abc import Callable

from commons import paths
from commons.errors import N_, BadRequest, NotFound, TooLarge
from commons.storage import GitStore

TYPES = {
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp",
    "pdf": "application/pdf",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "txt": "text/plain", "csv": "text/csv",
    "mp3": "audio/mpeg", "ogg": "audio/ogg", "mp4": "video/mp4", "webm": "video/webm",
}  # fmt: skip
_INLINE = ("image/", "audio/", "video/")
_ZIP = b"PK\x03\x04"


def _mp3(data: bytes) -> bool:
    return data.startswith(b"ID3") or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0)


def _text(data: bytes) -> bool:
    return b"\0" not in data[:65536]


_LOOKS_LIKE: dict[str, Callable[[bytes], bool]] = {
    "png": lambda d: d.startswith(b"\x89PNG\r\n\x1a\n"),
    "jpg": lambda d: d.startswith(b"\xff\xd8\xff"),
    "jpeg": lambda d: d.startswith(b"\xff\xd8\xff"),
    "gif": lambda d: d.startswith((b"GIF87a", b"GIF89a")),
    "webp": lambda d: d[:4] == b"RIFF" and d[8:12] == b"WEBP",
    "pdf": lambda d: b"%PDF-" in d[:1024],
    "odt": lambda d: d.startswith(_ZIP), "ods": lambda d: d.startswith(_ZIP),
    "docx": lambda d: d.startswith(_ZIP), "xlsx": lambda d: d.startswith(_ZIP),
    "txt": _text, "csv": _text,
    "mp3": _mp3,
    "ogg": lambda d: d.startswith(b"OggS"),
    "mp4": lambda d: d[4:8] == b"ftyp",
    "webm": lambda d: d.startswith(b"\x1a\x45\xdf\xa3"),
}  # fmt: skip


def extension(name: str) -> str:
    """The (lower-case) extension of a valid attachment name."""
    return name.rpartition(".")[2]


def content_type(name: str) -> str:
    """The ``Content-Type`` an attachment is served with, from its name."""
    return TYPES.get(extension(name), "application/octet-stream")


def shown_inline(name: str) -> bool:
    """True for images, audio and video, which browsers show safely; the rest is a download."""
    return content_type(name).startswith(_INLINE)


def check(name: str, data: object, limit: int) -> bytes:
    """Validate an upload: its name, its size (at most ``limit`` bytes) and that its content matches its type.

    Returns the bytes; raises :class:`~commons.errors.InvalidPath` (400) for a
    bad name or type, :class:`TooLarge` (413) or :class:`BadRequest` (400).
    """
    paths.validate_attachment_name(name)
    if not isinstance(data, bytes | bytearray):
        raise BadRequest(N_("Le fichier doit être envoyé tel quel (octets bruts)."))
    if len(data) > limit:
        raise TooLarge(N_("Le fichier dépasse la taille maximale (%(limit)s Mio).", limit=limit // (1024 * 1024)))
    if not data:
        raise BadRequest(N_("Le fichier est vide."))
    if not _LOOKS_LIKE[extension(name)](bytes(data[:65536])):
        raise BadRequest(N_("Le contenu du fichier ne correspond pas à son extension (.%(name)s) : renommez-le avec la "
                            "bonne extension ; les pages web et les images SVG sont refusées.", name=extension(name)))
    return bytes(data)


def read(store: GitStore, path: str, name: str) -> tuple[str, bytes]:
    """``(blob id, content)`` of attachment ``name`` of page ``path``; :class:`NotFound` when absent."""
    file = paths.attachment_file(path, name)
    head = store.head()
    blob = store.blob_id(head, file) if head else None
    if blob is None:
        raise NotFound(N_("Aucun fichier « %(name)s » n'est joint à la page « %(path)s ».", name=name, path=path))
    return blob, store.read_blob(blob)


def names(store: GitStore, path: str) -> list[str]:
    """The attachments of page ``path`` (files right under ``<path>/``), sorted."""
    head = store.head()
    if head is None:
        return []
    found = (name[len(path) + 1:] for name in store.list_files(head, paths.validate_path(path)))
    return [name for name in found if "/" not in name and paths.is_attachment_name(name)]
