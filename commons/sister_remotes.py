"""Where a sister commons is and what is known of it: its address, its name, the fetch, its record file.

A sister is a data directory, a bare repository, or the read-only clone URL ``http(s)://host/-/git`` of
another commons. Names that git would read as options (``-...``) and transport helpers (``ext::``,
``file::``, ``fd::``) are refused before git sees them, and the fetch itself allows only the ``file``,
``http`` and ``https`` protocols. What is known of each sister (address, last sync and what it brought)
lives in ``<data>/sisters/<name>.json``, next to the repository it describes.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from commons import paths
from commons.errors import N_, BadRequest, CommonsError, NotFound, Unavailable
from commons.import_sources import is_git_repository, run_git

NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*)://", re.I)
_FETCH_CONFIG = ("protocol.allow=never", "protocol.file.allow=always", "protocol.http.allow=always",
                 "protocol.https.allow=always", "http.lowSpeedLimit=1000", "http.lowSpeedTime=60")


def is_url(remote: str) -> bool:
    """True for ``scheme://...``."""
    return bool(_SCHEME.match(remote))


def redact(url: str) -> str:
    """``url`` without the password or token it may carry (``https://user:token@host``)."""
    parts = urlsplit(url)
    if parts.scheme and parts.netloc and "@" in parts.netloc:
        return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
    return url


def validate_name(name: str) -> str:
    """A sister's name: lowercase letters, digits and ``-``, 1 to 32 characters."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise BadRequest(N_("Nom de commons sœur invalide : « %(name)s » (minuscules, chiffres et « - », "
                            "32 caractères au plus).", name=str(name)[:40]))
    return name


def resolve_remote(remote: str) -> str:
    """The URL (``http(s)://``) or absolute repository path of a sister; refuses options and transport tricks."""
    if not remote or remote.startswith("-"):
        raise BadRequest(N_("Commons sœur refusée : « %(remote)s » (un nom qui commence par « - » est pris pour "
                            "une option).", remote=remote))
    if "::" in remote or any(ord(c) < 0x20 or ord(c) == 0x7F for c in remote):
        raise BadRequest(N_("Commons sœur refusée : « %(remote)s » (les transports « xxx:: » de git ne sont pas "
                            "acceptés ; donnez une URL http(s):// ou un dossier).", remote=redact(remote)))
    scheme = _SCHEME.match(remote)
    if scheme:
        if scheme.group(1).lower() not in ("http", "https"):
            raise BadRequest(N_("Protocole refusé : « %(scheme)s » ; donnez une URL http(s):// (…/-/git) ou le "
                                "chemin d'un dossier.", scheme=scheme.group(1)))
        return remote
    path = Path(remote).expanduser()
    if not path.exists():
        raise NotFound(N_("Commons sœur introuvable : %(remote)s n'existe pas.", remote=remote))
    for candidate in (path / "repo.git", path):
        if candidate.is_dir() and is_git_repository(candidate):
            return str(candidate.resolve())
    raise BadRequest(N_("%(remote)s n'est ni le dossier de données d'un commons ni un dépôt git.", remote=remote))


def default_name(remote: str) -> str:
    """A name for a sister: the host (and port) of its URL, or the name of its data directory."""
    if _SCHEME.match(remote):
        parts = urlsplit(remote)
        base = (parts.hostname or "") + (f"-{parts.port}" if parts.port else "")
    else:
        path = Path(remote).resolve()
        base = path.parent.name if path.name in ("repo.git", ".git") else path.name.removesuffix(".git")
    slug = paths.slugify_segment(base)[:32].strip("-")
    return slug if NAME_RE.fullmatch(slug) else "soeur"


def fetch(repo_dir: Path, name: str, url: str) -> str:
    """Fetch the sister's branch (its ``HEAD``) into ``refs/sisters/<name>/main``; returns its commit."""
    ref = f"refs/sisters/{validate_name(name)}/main"
    options = [arg for item in _FETCH_CONFIG for arg in ("-c", item)]
    try:
        run_git(*options, "fetch", "--no-tags", "--no-write-fetch-head", "--no-recurse-submodules", "--quiet",
                "--", url, f"+HEAD:{ref}", git_dir=repo_dir)
        return run_git("rev-parse", "--verify", ref + "^{commit}", git_dir=repo_dir).decode().strip()
    except CommonsError as exc:
        why = exc.message.split(" : ", 1)[-1]
        raise Unavailable(N_("Impossible de récupérer l'historique de « %(name)s » (%(url)s) : %(why)s",
                             name=name, url=redact(url), why=why)) from exc


def record_file(data_dir: Path, name: str) -> Path:
    """``<data>/sisters/<name>.json``."""
    return data_dir / "sisters" / f"{validate_name(name)}.json"


def read_record(data_dir: Path, name: str) -> dict[str, Any] | None:
    """What is known of sister ``name`` (``None``: not known here)."""
    try:
        data = json.loads(record_file(data_dir, name).read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise Unavailable(N_("Fiche de la commons sœur « %(name)s » illisible : %(why)s", name=name,
                             why=str(exc))) from exc
    return data if isinstance(data, dict) else None


def write_record(data_dir: Path, name: str, record: dict[str, Any]) -> None:
    """Replace the record of sister ``name`` in one step (readable by the owner only: the URL may hold a token)."""
    target = record_file(data_dir, name)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{name}-", suffix=".json", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(record, handle, ensure_ascii=False, indent=1)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def known_names(data_dir: Path) -> list[str]:
    """The names of every sister with a record, sorted."""
    folder = data_dir / "sisters"
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.json") if NAME_RE.fullmatch(p.stem))
