"""Moving pages: which files move and which texts change, as the changes of one commit.

:meth:`commons.pages.PageService.move` calls :func:`plan_move` under the
write lock and commits the plan through its one write path. A page moves
with its attachments (the files right under ``<path>/``); a folder move
takes the page at the folder's path, if any, and every file below it. Every
page that links to a moved page (found with the link graph's
``linked_from`` when given, else by reading every page) gets its links
rewritten by :func:`commons.rewrite.rewrite_links`, in the same commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from commons import paths
from commons.errors import N_, BadRequest, Conflict, NotFound
from commons.history import HistoryStore
from commons.rewrite import rewrite_links
from commons.storage import GitStore
from commons.sync import rename_trailers

log = logging.getLogger(__name__)

LinkedFrom = Callable[[str], list[str]]


@dataclass(frozen=True)
class MovePlan:
    """What a move changes: pages moved (old path -> new path) and the files of the commit."""

    moved: dict[str, str]
    changes: dict[str, bytes | None]
    rewritten: list[str] = field(default_factory=list)
    summary: str = ""
    edited_while_moved: list[str] = field(default_factory=list)

    def trailers(self) -> list[str]:
        """A ``Renamed:`` trailer for each moved page whose text changed (its own links rewritten).

        Git pairs an unchanged moved file by itself; the trailer lets history pair the others.
        """
        return rename_trailers([(paths.file_for(old), paths.file_for(self.moved[old]))
                                for old in self.edited_while_moved])


@dataclass(frozen=True)
class MoveResult:
    """What a move did: the page's new path, the commit, the pages moved and the pages whose links changed."""

    path: str
    rev: str
    moved: dict[str, str]
    rewritten: list[str]


def check_names(source: str, target: str, folder: bool) -> None:
    """Refuse a move that goes nowhere, moves the home page, or puts a folder inside itself (400)."""
    if source == target:
        raise BadRequest(N_("La page porte déjà ce nom."))
    if paths.HOME in (source, target):
        raise BadRequest(N_("La page d'accueil ne peut être ni renommée ni remplacée par un renommage."))
    if folder and target.startswith(source + "/"):
        raise BadRequest(N_("Un dossier ne peut pas être déplacé dans l'un de ses sous-dossiers."))


def files_to_move(store: GitStore, history: HistoryStore, head: str, source: str, target: str,
                  folder: bool) -> dict[str, str]:
    """Old file name -> new file name of everything that moves; :class:`NotFound` when no page would."""
    files: dict[str, str] = {}
    if history.exists(source):
        files[paths.file_for(source)] = paths.file_for(target)
    elif not folder:
        raise NotFound(N_("La page « %(source)s » n'existe pas.", source=source))
    for name in store.list_files(head, source):
        rest = name[len(source) + 1:]
        if folder or ("/" not in rest and paths.is_attachment_name(rest)):
            files[name] = f"{target}/{rest}"
    if not any(paths.path_for_file(name) for name in files):
        raise NotFound(N_("Aucune page à déplacer dans « %(source)s/ ».", source=source))
    return files


def refuse_taken(store: GitStore, head: str, files: dict[str, str], target: str) -> None:
    """:class:`Conflict` (409) when a page or file already exists where something would move."""
    existing = set(store.list_files(head, target))
    if store.blob_id(head, paths.file_for(target)) is not None:
        existing.add(paths.file_for(target))
    taken = sorted(new for new in files.values() if new in existing and new not in files)
    if not taken:
        return
    pages = [p for name in taken if (p := paths.path_for_file(name))]
    if pages:
        message = N_("Impossible de renommer : la page « %(name)s » existe déjà. Choisissez un autre nom.",
                     name=pages[0])
    else:
        message = N_("Impossible de renommer : le fichier « %(name)s » existe déjà. Choisissez un autre nom.",
                     name=taken[0])
    raise Conflict(message, taken=taken)


def _linking(history: HistoryStore, moved: dict[str, str], linked_from: LinkedFrom | None) -> set[str]:
    """Pages that may link to a moved page: from the link graph, else every page."""
    if linked_from is None:
        return {state.path for state in history.pages()}
    return {source for old in moved for source in linked_from(old)}


def _rewrite(store: GitStore, history: HistoryStore, moved: dict[str, str], changes: dict[str, bytes | None],
             linked_from: LinkedFrom | None) -> list[str]:
    """Rewrite links in moved and linking pages into ``changes``; returns the pages changed (old paths)."""
    rewritten: list[str] = []
    for old_source in sorted(set(moved) | _linking(history, moved, linked_from)):
        state = history.page(old_source)
        if state is None:
            continue
        new_source = moved.get(old_source, old_source)
        text = store.read_blob(state.blob).decode("utf-8", "replace")
        new_text = rewrite_links(text, old_source, new_source, moved)
        if new_text is not text:
            changes[paths.file_for(new_source)] = new_text.encode("utf-8")
            rewritten.append(old_source)
    return rewritten


def plan_move(store: GitStore, history: HistoryStore, head: str | None, source: str, target: str, folder: bool,
              linked_from: LinkedFrom | None = None) -> MovePlan:
    """Everything one move commits: files moved, links rewritten (caller holds the write lock, stores caught up)."""
    check_names(source, target, folder)
    if head is None:
        raise NotFound(N_("La page « %(source)s » n'existe pas.", source=source))
    files = files_to_move(store, history, head, source, target, folder)
    refuse_taken(store, head, files, target)
    changes: dict[str, bytes | None] = {old: None for old in files}
    for old, new in files.items():
        changes[new] = store.read_file(head, old)
    moved = {p: q for old, new in files.items()
             if (p := paths.path_for_file(old)) and (q := paths.path_for_file(new))}
    rewritten = _rewrite(store, history, moved, changes, linked_from)
    what = "du dossier" if folder else "de"
    log.debug("move %s -> %s: %d files, %d pages rewritten", source, target, len(files), len(rewritten))
    return MovePlan(moved, changes, [p for p in rewritten if p not in moved], f"Renommage {what} {source} en {target}",
                    [p for p in rewritten if p in moved])


def former_file(store: GitStore, history: HistoryStore, path: str, commit: str) -> str | None:
    """The file the page now at ``path`` had at ``commit`` when it was renamed since, else ``None``.

    Walks the renames back (``old_path`` chains): a commit older than the
    rename into a name saw the page under the name before.
    """
    segments = history.segments(path)
    name = None
    for segment, older in zip(segments, segments[1:], strict=False):
        moved_in = segment.moved_in
        if moved_in is None or commit == moved_in or not store.is_ancestor(commit, moved_in):
            break
        name = older.path
    return paths.file_for(name) if name else None
