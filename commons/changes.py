"""Kinds of changes and the filters of recent changes, as SQL over the derived ``revisions`` table.

A change's kind comes from the git status of the file in its commit (``A``
added, ``M`` modified, ``D`` deleted, ``R`` renamed) and, for restores, from
the summary :meth:`commons.pages.PageService.restore` writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from commons.errors import N_

KINDS = ("edit", "new", "delete", "restore", "rename")
KIND_LABELS = {"edit": N_("modification"), "new": N_("nouvelle page"), "delete": N_("suppression"),
               "restore": N_("restauration"), "rename": N_("renommage")}
RESTORE_PREFIX = "Restauration de la révision "
MAX_WATCHED = 500  # pages plus folders one filter may list (SQLite allows 32,766 parameters)

_RESTORE_SQL = "summary GLOB 'Restauration de la révision *'"
_KIND_SQL = {
    "delete": "op = 'D'",
    "rename": "op = 'R'",
    "restore": f"op IN ('A', 'M') AND {_RESTORE_SQL}",
    "new": f"op = 'A' AND NOT {_RESTORE_SQL}",
    "edit": f"op NOT IN ('A', 'D', 'R') AND NOT {_RESTORE_SQL}",
}


def kind_of(op: str, summary: str) -> str:
    """The kind of a change: ``new``, ``edit``, ``delete``, ``restore`` or ``rename``."""
    if op == "D":
        return "delete"
    if op == "R":
        return "rename"
    if summary.startswith(RESTORE_PREFIX):
        return "restore"
    return "new" if op == "A" else "edit"


def _under(folder: str) -> tuple[str, list[str]]:
    """Paths strictly under ``folder/`` as an index-friendly range (``0`` sorts right after ``/``)."""
    return "(path >= ? AND path < ?)", [folder + "/", folder + "0"]


@dataclass(frozen=True)
class ChangeFilter:
    """Which changes to list; empty fields do not filter.

    ``pages`` and ``folders`` (a watchlist) keep only changes to one of those
    pages or under one of those folders, when either is non-empty.
    """

    folder: str = ""
    author: str = ""
    kind: str = ""
    pages: tuple[str, ...] = ()
    folders: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind and self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}")
        if len(self.pages) + len(self.folders) > MAX_WATCHED:
            raise ValueError("too many pages and folders in one filter")

    def params(self) -> dict[str, str]:
        """The filter as query parameters (``folder``, ``author``, ``kind``), empty ones left out."""
        return {k: v for k, v in (("folder", self.folder), ("author", self.author), ("kind", self.kind)) if v}

    def sql(self) -> tuple[str, list[str]]:
        """A ``WHERE`` clause (empty when nothing filters) and its parameters. Only placeholders vary."""
        clauses: list[str] = []
        args: list[str] = []
        if self.folder:
            clause, values = _under(self.folder)
            clauses.append(clause)
            args += values
        if self.author:
            clauses.append("author = ?")
            args.append(self.author)
        if self.kind:
            clauses.append(f"({_KIND_SQL[self.kind]})")
        if self.pages or self.folders:
            within = [f"path IN ({', '.join('?' * len(self.pages))})"] if self.pages else []
            args += self.pages
            for folder in self.folders:
                clause, values = _under(folder)
                within.append(clause)
                args += values
            clauses.append(f"({' OR '.join(within)})")
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args
