"""PageService: reading pages and the one write path.

Every change to the repository goes through :meth:`PageService.save`, ``delete``,
``restore``, ``move`` or ``attach``: under the write
lock (threads and processes), it checks the base revision, commits through
git plumbing, then updates the derived stores, which record the commit they
reflect so that :meth:`PageService.catch_up` can bring them up to date after
a crash or a commit made outside the app.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Iterator, Sequence

from filelock import FileLock

from commons import attachments, markup, moves, paths
from commons.changes import ChangeFilter
from commons.config import Settings
from commons.diffs import Diff, diff_texts
from commons.errors import N_, BadRequest, Conflict, NotFound, TooLarge, Unavailable
from commons.history import HistoryStore, PageState, Revision
from commons.locks import held
from commons.merging import merge_texts
from commons.storage import GitStore, Identity, StaleHead
from commons.sync import DerivedStore, Progress, follow, pending_commits, sync_history

log = logging.getLogger(__name__)

EMAIL_DOMAIN = "users.noreply.commons"
MAX_SUMMARY = 300


def identity_for(username: str) -> Identity:
    """The pseudonymous commit identity of an account: no real e-mail ever enters git."""
    return Identity(username, f"{username}@{EMAIL_DOMAIN}")


@dataclass(frozen=True)
class Page:
    """A page's text at one revision."""

    path: str
    title: str
    markdown: str
    rev: str
    blob: str
    updated: datetime | None
    author: str | None


@dataclass(frozen=True)
class SaveResult:
    """What a save did: ``created`` for a new page, ``changed`` False when nothing differed."""

    path: str
    rev: str
    created: bool
    changed: bool
    merged: bool = False


def clean_text(markdown: object, limit: int) -> str:
    """Validate and normalise submitted Markdown (line endings, final newline, NUL, size)."""
    if not isinstance(markdown, str):
        raise BadRequest(N_("Le texte de la page doit être une chaîne de caractères."))
    if "\0" in markdown:
        raise BadRequest(N_("Le texte contient un caractère nul (NUL), refusé."))
    text = markdown.replace("\r\n", "\n").replace("\r", "\n")
    if len(text.encode("utf-8", "surrogatepass")) > limit:
        raise TooLarge(N_("La page dépasse la taille maximale (%(limit)s Kio).", limit=limit // 1024))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadRequest(N_("Le texte n'est pas de l'UTF-8 valide.")) from exc
    if not text.strip():
        raise BadRequest(N_("La page est vide. Pour la supprimer, utilisez « Supprimer »."))
    return text.rstrip("\n") + "\n"


def clean_rev(rev: object) -> str | None:
    """A base revision as sent by a client: ``None``/empty, or 7 to 40 hexadecimal digits."""
    if rev is None or rev == "":
        return None
    if not isinstance(rev, str) or not 7 <= len(rev) <= 40 or any(c not in "0123456789abcdef" for c in rev):
        raise BadRequest(N_("Révision de base (base_rev) invalide : un identifiant de commit est attendu."))
    return rev


def clean_summary(summary: object, default: str) -> str:
    """One line of at most ``MAX_SUMMARY`` characters, or ``default``."""
    if summary is None:
        return default
    if not isinstance(summary, str) or "\0" in summary:
        raise BadRequest(N_("Le résumé de modification est invalide."))
    line = " ".join(summary.split())
    if len(line) > MAX_SUMMARY:
        raise BadRequest(N_("Le résumé dépasse %(max_summary)s caractères.", max_summary=MAX_SUMMARY))
    return line or default


class PageService:
    """Pages of one commons: read, render, save, delete, restore, history, diff."""

    def __init__(self, settings: Settings, store: GitStore, history: HistoryStore,
                 followers: Sequence[DerivedStore] = (), linked_from: moves.LinkedFrom | None = None) -> None:
        self.settings = settings
        self.store = store
        self.history = history
        self.followers = list(followers)
        self._linked_from = linked_from  # the link graph's "what links here", for moves (else pages are scanned)
        settings.lock_dir.mkdir(parents=True, exist_ok=True)
        self._file_lock = FileLock(str(settings.lock_dir / "write.lock"), thread_local=False)
        self._thread_lock = threading.Lock()
        self._render_cache: OrderedDict[str, tuple[markup.Rendered, dict[str, bool]]] = OrderedDict()
        self._cache_lock = threading.Lock()

    # -- the write lock ---------------------------------------------------------------

    @contextmanager
    def write_lock(self, timeout: float = 30) -> Iterator[None]:
        """Hold the lock shared by every thread and process writing to this commons."""
        busy = N_("Le wiki est très sollicité ; réessayez dans un instant.")
        if not self._thread_lock.acquire(timeout=timeout):
            raise Unavailable(busy)
        try:
            with held(self._file_lock, timeout, busy):
                yield
        finally:
            self._thread_lock.release()

    # -- reading ----------------------------------------------------------------------

    def exists(self, path: str) -> bool:
        return self.history.exists(path)

    def state(self, path: str) -> PageState | None:
        """The current state of a page from the derived table (no git access)."""
        return self.history.page(paths.validate_path(path))

    def get(self, path: str, rev: str | None = None) -> Page:
        """A page as it stands, or at commit ``rev``; :class:`NotFound` if absent."""
        path = paths.validate_path(path)
        if rev:
            return self._get_at(path, rev)
        state = self.history.page(path)
        if state is None:
            raise NotFound(N_("La page « %(path)s » n'existe pas encore.", path=path))
        text = self.store.read_blob(state.blob).decode("utf-8", "replace")
        return Page(path, state.title, text, state.rev, state.blob, state.updated, state.author)

    def _get_at(self, path: str, rev: str) -> Page:
        commit = self.store.resolve(rev)
        if commit is None:
            raise NotFound(N_("Révision inconnue : %(rev)s", rev=rev[:40]))
        name = paths.file_for(path)
        blob = self.store.blob_id(commit, name)
        if blob is None and (former := moves.former_file(self.store, self.history, path, commit)):
            name, blob = former, self.store.blob_id(commit, former)  # the page had another name then
        if blob is None:
            raise NotFound(N_("La page « %(path)s » n'existait pas à la révision %(commit)s.",
                              path=path, commit=commit[:7]))
        text = self.store.read_blob(blob).decode("utf-8", "replace")
        where = paths.path_for_file(name) or path
        last = self.history.revision_at(where, commit)
        if last is None:  # ``commit`` changed no page (or is not in the derived table yet): ask git
            changed = self.store.last_change(commit, name)
            last = self.history.revision(where, changed) if changed else None
        return Page(path, markup.title_of(text, path), text, last.rev if last else commit, blob,
                    last.date if last else None, last.author if last else None)

    def render(self, page: Page) -> markup.Rendered:
        """The page's safe HTML, cached by blob id while the pages it links to keep existing."""
        key = f"{page.path}\0{page.blob}"
        with self._cache_lock:
            hit = self._render_cache.get(key)
            if hit is not None:
                self._render_cache.move_to_end(key)
        if hit is not None and all(self.exists(p) == e for p, e in hit[1].items()):
            return hit[0]
        rendered = markup.render(page.markdown, current_path=page.path, page_exists=self.exists)
        existence = {p: self.exists(p) for p in rendered.links}
        with self._cache_lock:
            self._render_cache[key] = (rendered, existence)
            while len(self._render_cache) > self.settings.render_cache_size:
                self._render_cache.popitem(last=False)
        return rendered

    def preview(self, markdown: str, path: str) -> markup.Rendered:
        """Render unsaved text through the same sanitising pipeline."""
        text = clean_text(markdown, self.settings.max_page_bytes)
        return markup.render(text, current_path=paths.validate_path(path), page_exists=self.exists)

    def list_pages(self, prefix: str = "") -> list[PageState]:
        return self.history.pages(prefix)

    def revisions(self, path: str, limit: int = 50, offset: int = 0) -> tuple[list[Revision], int]:
        """A page of revisions, newest first (with those made under its former names), and the total count."""
        path = paths.validate_path(path)
        limit = max(1, min(int(limit), 500))
        offset = max(0, int(offset))
        return self.history.page_revisions(path, limit, offset), self.history.count_page_revisions(path)

    def redirect(self, path: str) -> str | None:
        """The page's new path when it was renamed away from ``path`` and nothing took its name since."""
        return self.history.redirect(paths.validate_path(path))

    def recent(self, limit: int = 50, offset: int = 0, where: ChangeFilter | None = None) -> list[Revision]:
        """Changes across the commons, newest first, filtered by ``where`` (folder, author, kind...)."""
        return self.history.recent(max(1, min(int(limit), 500)), max(0, int(offset)), where)

    def diff(self, path: str, old_rev: str, new_rev: str) -> tuple[Page | None, Page | None, Diff]:
        """The difference of a page between two commits (either side may lack the page)."""
        path = paths.validate_path(path)
        sides: list[Page | None] = []
        for rev in (old_rev, new_rev):
            if self.store.resolve(rev) is None:
                raise NotFound(N_("Révision inconnue : %(rev)s", rev=rev[:40]))
            try:
                sides.append(self._get_at(path, rev))
            except NotFound:
                sides.append(None)
        old, new = sides
        if old is None and new is None:
            raise NotFound(N_("La page « %(path)s » n'existe à aucune de ces deux révisions.", path=path))
        return old, new, diff_texts(old.markdown if old else "", new.markdown if new else "")

    # -- writing ----------------------------------------------------------------------

    def save(self, path: str, markdown: object, summary: object, base_rev: object,
             author: Identity, trailers: Sequence[str] = ()) -> SaveResult:
        """Save a page from the revision ``base_rev`` the writer started from.

        If the page changed since, the changes are merged line by line (three-way,
        like MediaWiki); overlapping changes raise :class:`Conflict` with the current text.
        ``trailers`` (``Reviewed-by: bob <bob@…>``) end the commit message, after a blank line.
        """
        path = paths.validate_path(path)
        text = clean_text(markdown, self.settings.max_page_bytes)
        base = clean_rev(base_rev)
        with self.write_lock():
            head = self._caught_up_head()
            current = self.history.page(path)
            text, merged = self._rebase(path, current, base, text)
            if current is not None and self.store.read_blob(current.blob).decode("utf-8", "replace") == text:
                return SaveResult(path, current.rev, created=False, changed=False, merged=merged)
            default = f"Modification de {path}" if current else f"Création de {path}"
            message = clean_summary(summary, default)
            rev = self._commit(head, {paths.file_for(path): text.encode()}, author, message, trailers)
        log.info("saved page=%s rev=%s author=%s merged=%s", path, rev, author.name, merged)
        return SaveResult(path, rev, created=current is None, changed=True, merged=merged)

    def delete(self, path: str, base_rev: str | None, author: Identity, summary: object = None) -> str:
        """Delete a page; returns the new commit id."""
        path = paths.validate_path(path)
        with self.write_lock():
            head = self._caught_up_head()
            current = self.history.page(path)
            if current is None:
                raise NotFound(N_("La page « %(path)s » n'existe pas.", path=path))
            if base_rev is not None:
                self._check_base(path, current, base_rev)
            message = clean_summary(summary, f"Suppression de {path}")
            rev = self._commit(head, {paths.file_for(path): None}, author, message)
        log.info("deleted page=%s rev=%s author=%s", path, rev, author.name)
        return rev

    def move(self, path: str, to: str, base_rev: object, author: Identity, summary: object = None,
             folder: bool = False) -> moves.MoveResult:
        """Rename a page with its attachments (with ``folder``, all under ``path/`` too) in one commit.

        Links to moved pages are rewritten in it; a page at the new name is a :class:`Conflict`.
        """
        source, target = paths.validate_path(path), paths.validate_path(to)
        moves.check_names(source, target, folder)
        base = clean_rev(base_rev)
        with self.write_lock():
            head = self._caught_up_head()
            current = self.history.page(source)
            if base is not None and current is not None:
                self._check_base(source, current, base)
            plan = moves.plan_move(self.store, self.history, head, source, target, folder, self._linked_from)
            rev = self._commit(head, plan.changes, author, clean_summary(summary, plan.summary), plan.trailers())
        log.info("moved page=%s to=%s rev=%s author=%s pages=%d", source, target, rev, author.name, len(plan.moved))
        return moves.MoveResult(target, rev, plan.moved, plan.rewritten)

    def attach(self, path: str, name: str, data: object, author: Identity, summary: object = None) -> str:
        """Commit file ``name`` next to page ``path`` (``<path>/<name>``, checked by ``attachments.check``)."""
        path = paths.validate_path(path)
        content = attachments.check(name, data, self.settings.max_attachment_bytes)
        with self.write_lock():
            head = self._caught_up_head()
            if not self.history.exists(path):
                raise NotFound(N_("La page « %(path)s » n'existe pas : créez-la avant d'y joindre un fichier.",
                                  path=path))
            message = clean_summary(summary, f"Fichier joint à {path} : {name}")
            rev = self._commit(head, {paths.attachment_file(path, name): content}, author, message)
        log.info("attached file=%s page=%s rev=%s author=%s", name, path, rev, author.name)
        return rev

    def restore(self, path: str, rev: str, author: Identity) -> SaveResult:
        """Make the text of revision ``rev`` the current text again (a new commit)."""
        old = self._get_at(paths.validate_path(path), rev)
        current = self.history.page(path)
        summary = f"Restauration de la révision {old.rev[:7]}"
        return self.save(path, old.markdown, summary, current.rev if current else None, author)

    def _rebase(self, path: str, current: PageState | None, base_rev: str | None, text: str) -> tuple[str, bool]:
        """The text to commit and whether it was merged with changes made since ``base_rev``."""
        if (current is None and not base_rev) or (current is not None and base_rev == current.rev):
            return text, False
        self._check_base(path, current, base_rev, allow_merge=True)
        assert current is not None and base_rev is not None
        current_text = self.store.read_blob(current.blob).decode("utf-8", "replace")
        base_text = self.store.read_file(base_rev, paths.file_for(path))
        if base_text is not None:
            merged, clean = merge_texts(base_text.decode("utf-8", "replace"), current_text, text)
            if clean:
                return merged, True
        raise Conflict(N_("La page « %(path)s » a été modifiée depuis que vous l'avez ouverte, aux mêmes endroits que "
                          "vous.", path=path), current_rev=current.rev, current_markdown=current_text)

    def _check_base(self, path: str, current: PageState | None, base_rev: str | None,
                    allow_merge: bool = False) -> None:
        """Refuse a stale base: the page was deleted, created meanwhile, or (unless merging) changed."""
        if current is None and not base_rev:
            return
        if current is not None and base_rev == current.rev:
            return
        if current is None:
            raise Conflict(N_("La page « %(path)s » a été supprimée depuis que vous l'avez ouverte.", path=path),
                           current_rev=None, current_markdown="")
        if allow_merge and base_rev:
            return
        text = self.store.read_blob(current.blob).decode("utf-8", "replace")
        message = (N_("La page « %(path)s » existe déjà.", path=path) if not base_rev
                   else N_("La page « %(path)s » a été modifiée depuis que vous l'avez ouverte.", path=path))
        raise Conflict(message, current_rev=current.rev, current_markdown=text)

    def _commit(self, head: str | None, changes: dict[str, bytes | None], author: Identity, message: str,
                trailers: Sequence[str] = ()) -> str:
        lines = [" ".join(t.split()) for t in trailers if t.strip()]  # one line each: a newline would forge more
        if lines:
            message = message.rstrip() + "\n\n" + "\n".join(lines)
        try:
            rev = self.store.commit(changes, author, message, head)
        except StaleHead as exc:  # someone wrote to git without taking our lock
            raise Conflict(N_("Le dépôt a changé pendant l'enregistrement ; réessayez.")) from exc
        self._sync(head=rev)  # the branch is at ``rev``: the lock is held and the ref moved from ``head``
        return rev

    def _caught_up_head(self) -> str | None:
        """HEAD, after bringing the derived stores up to it (caller holds the lock)."""
        self._sync()
        return self.history.reflected()

    # -- derived stores -----------------------------------------------------------------

    def is_current(self) -> bool:
        """True when every derived store reflects the branch's head."""
        head = self.store.head()
        return self.history.reflected() == head and all(f.reflected() == head for f in self.followers)

    def catch_up(self, progress: Progress | None = None) -> int:
        """Bring the derived stores up to the branch's head; returns commits applied."""
        if self.is_current():
            return 0
        with self.write_lock(timeout=600):
            return self._sync(progress)

    def rebuild(self, progress: Progress | None = None) -> int:
        """Rebuild every derived store from the whole git history."""
        with self.write_lock(timeout=600):
            return self._sync(progress, rebuild=True)

    def _sync(self, progress: Progress | None = None, rebuild: bool = False, head: str | None = None) -> int:
        """Bring the history, then every follower, up to HEAD; git's log is read once for all of them."""
        head = head or self.store.head()
        if head is None:
            return 0
        since = None if rebuild else self.history.reflected()
        pending = None if since == head else pending_commits(self.store, since, head)
        applied = sync_history(self.store, self.history, head, progress, rebuild, pending)
        for follower in self.followers:
            follow(follower, self.store, head, progress, rebuild, pending)
        return applied
