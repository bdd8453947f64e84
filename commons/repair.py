"""Damaged derived stores: find the SQLite files of ``<data>/cache`` that SQLite cannot use, and discard them.

The derived stores (history, credits, links, search) are rebuilt from git, so a damaged one is
simply removed and rebuilt by the next catch-up or ``commons reindex``. Only files under the
cache folder are ever touched: the accounts database is never derived and never discarded.

:func:`damaged_stores` is cheap (it reads each file's 100-byte header): a truncated file or one
that is not SQLite at all is found at start-up without opening it. ``thorough`` adds SQLite's own
``PRAGMA quick_check``, as ``commons check`` does.
"""

from __future__ import annotations

import logging
import sqlite3
import struct
from pathlib import Path

from filelock import FileLock

from commons.config import Settings

log = logging.getLogger(__name__)

_MAGIC = b"SQLite format 3\x00"
_SIDECARS = ("-wal", "-shm", "-journal")


def _header_problem(file: Path) -> str | None:
    """What is wrong with a SQLite file's header (``None`` when it looks sound or the file is empty)."""
    size = file.stat().st_size
    if size == 0:
        return None  # SQLite's empty database: the store starts afresh and catches up from git
    with file.open("rb") as handle:
        header = handle.read(100)
    if len(header) < 100 or not header.startswith(_MAGIC):
        return "ce n'est pas une base SQLite"
    page_size = struct.unpack(">H", header[16:18])[0]
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        return "en-tête SQLite invalide"
    change_counter, pages, valid_for = (struct.unpack(">I", header[i:i + 4])[0] for i in (24, 28, 92))
    wal = file.with_name(file.name + "-wal")
    if wal.exists() and wal.stat().st_size:
        return None  # a crash in the middle of a checkpoint: SQLite finishes it from the write-ahead log
    if pages and change_counter == valid_for and size < pages * page_size:
        return f"fichier tronqué ({size} octets sur {pages * page_size})"
    return None


def _quick_check(file: Path) -> str | None:
    try:
        conn = sqlite3.connect(f"file:{file}?mode=ro", uri=True, timeout=30)
        try:
            rows = conn.execute("PRAGMA quick_check(5)").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    said = "; ".join(str(row[0]) for row in rows)
    return None if said == "ok" else said


def damaged_stores(settings: Settings, thorough: bool = False) -> dict[Path, str]:
    """The derived SQLite files that cannot be used, with what is wrong with each."""
    found: dict[Path, str] = {}
    if not settings.cache_dir.is_dir():
        return found
    for file in sorted(settings.cache_dir.glob("*.sqlite")):
        try:
            problem = _header_problem(file) or (_quick_check(file) if thorough else None)
        except OSError as exc:
            problem = f"illisible : {exc.strerror or exc}"
        if problem:
            found[file] = problem
    return found


def discard_damaged(settings: Settings, thorough: bool = False) -> list[Path]:
    """Remove the damaged derived SQLite files (and their journals); the next catch-up rebuilds them.

    Takes the commons' write lock, so that workers starting together never remove a store another
    has just rebuilt: call it before this process's stores are opened, not while holding that lock.
    """
    if not damaged_stores(settings, thorough):
        return []
    settings.lock_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(settings.lock_dir / "write.lock"), timeout=600):
        damaged = damaged_stores(settings, thorough)
        for file, problem in damaged.items():
            log.warning("derived store %s is damaged (%s): discarded, it will be rebuilt from git", file, problem)
            for path in (file, *(file.with_name(file.name + suffix) for suffix in _SIDECARS)):
                path.unlink(missing_ok=True)
    return list(damaged)
