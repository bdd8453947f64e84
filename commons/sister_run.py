"""Replaying a sister's commits on our branch: in batches under the write lock, then one branch move per batch.

Each batch holds :meth:`commons.pages.PageService.write_lock` for at most ``BATCH_COMMITS`` commits or
``BATCH_SECONDS``, so that edits on the web wait little. Inside it, every sister commit that changes
something here becomes a commit written on top of the previous one without moving the branch
(:meth:`commons.gitrefs.DetachedWrites.commit_detached`); the branch then moves once, with
``update-ref <new> <old>``, and ``refs/sisters/<name>/synced`` follows. Replaying a commit twice (after a
crash between the two) changes nothing: their text is then ours already. The derived stores catch up
after the run (and before any web save, which catches up first under the same lock).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Sequence

from commons import sister_replay as replay
from commons.config import Settings
from commons.errors import N_, CommonsError, Conflict
from commons.import_sources import run_git
from commons.pages import PageService
from commons.storage import ZERO, CommitInfo, GitStore
from commons.sync import Progress

log = logging.getLogger(__name__)

BATCH_COMMITS = 200
BATCH_SECONDS = 1.0


_LABELS = ((replay.NEW, "Nouvelles pages"), (replay.EDITED, "Pages modifiées"),
           (replay.MERGED, "Pages fusionnées avec nos modifications"), (replay.DELETED, "Pages supprimées"),
           (replay.CONFLICT, "Conflits"), (replay.IGNORED, "Fichiers ignorés"))


@dataclass
class SyncReport:
    """What a sync brought: pages by outcome, authors, commits read, replayed and skipped."""

    sister: str
    url: str
    fetched: str | None = None
    since: str | None = None
    commits_seen: int = 0
    commits_applied: int = 0
    own_skipped: int = 0
    pages: dict[str, str] = field(default_factory=dict)  # path -> new, edited, deleted, merged, conflict, ignored
    authors: list[str] = field(default_factory=list)
    dry_run: bool = False
    when: str = ""
    seconds: float = 0.0

    def paths(self, outcome: str) -> list[str]:
        """The pages (and files) with ``outcome``, sorted."""
        return sorted(p for p, o in self.pages.items() if o == outcome)

    def summary(self) -> list[str]:
        """What the sync brought, in a few lines of French (for the command line)."""
        lines = [f"Commons sœur « {self.sister} » ({self.url}) : {self.commits_seen} commits lus, "
                 f"{self.commits_applied} appliqués, {self.own_skipped} des nôtres revenus (ignorés) ; "
                 f"{self.seconds:.1f} s."]
        if self.dry_run:
            lines.append("Simulation (--dry-run) : rien n'a été appliqué.")
        for outcome, label in _LABELS:
            found = self.paths(outcome)
            if found:
                more = f" … et {len(found) - 10} autres" if len(found) > 10 else ""
                lines.append(f"  {label} ({len(found)}) : {', '.join(found[:10])}{more}")
        if self.authors:
            lines.append(f"  Auteurs : {', '.join(self.authors)}")
        if not self.pages:
            lines.append("Rien de nouveau depuis la dernière synchronisation.")
        elif self.paths(replay.CONFLICT):
            lines.append("Conflits : notre texte est gardé ; leur texte attend un mainteneur sur /-/sync.")
        return lines

    def note(self, path: str, outcome: str) -> None:
        """Remember ``outcome`` for ``path``: a conflict stays one; a page created in this sync stays new."""
        before = self.pages.get(path)
        if before == replay.CONFLICT or (before == replay.NEW and outcome != replay.DELETED):
            return
        if before == replay.NEW and outcome == replay.DELETED:
            del self.pages[path]
            return
        self.pages[path] = outcome


class SyncRun:
    """One sync's replay of sister commits (``report.dry_run``: only fill the report)."""

    def __init__(self, settings: Settings, pages: PageService, store: GitStore, report: SyncReport,
                 held: set[str]) -> None:
        self.settings = settings
        self.pages = pages
        self.store = store
        self.report = report
        self.name = report.sister
        self.held = held  # files with an open conflict: their changes stay held
        self.overlay: dict[str, bytes | None] = {}  # dry run: files as they would be
        self._origins: set[str] | None = None
        self._ours: set[str] | None = None

    def apply(self, commits: Sequence[CommitInfo], progress: Progress | None = None) -> None:
        """Replay ``commits`` (oldest first), batch by batch."""
        done = 0
        while done < len(commits):
            with self.pages.write_lock(timeout=120):
                done = self._batch(commits, done)
            if progress:
                progress(done, len(commits))

    def _batch(self, commits: Sequence[CommitInfo], start: int) -> int:
        head = self.store.head()
        tip, index = head, start
        deadline, end = time.monotonic() + BATCH_SECONDS, min(len(commits), start + BATCH_COMMITS)
        while index < end and (index == start or time.monotonic() < deadline):
            tip = self._one(commits[index], tip)
            index += 1
        if not self.report.dry_run:
            if tip != head:
                self._publish(tip, head)
            ref = f"refs/sisters/{self.name}/synced"
            self.store.set_ref(ref, commits[index - 1].sha, self.store.refs(ref).get(ref))
        return index

    def _publish(self, tip: str | None, head: str | None) -> None:
        try:
            run_git("update-ref", "-m", f"commons sync {self.name}", self.store.ref, tip or ZERO, head or ZERO,
                    git_dir=self.store.repo_dir)
        except CommonsError as exc:  # someone wrote to git without taking the lock
            raise Conflict(N_("Le dépôt a changé pendant la synchronisation : relancez-la.")) from exc

    def _one(self, commit: CommitInfo, tip: str | None) -> str | None:
        """Replay one sister commit on ``tip``; returns the new tip."""
        report = self.report
        report.commits_seen += 1
        if self._known_here(commit, tip):
            report.own_skipped += 1
            plan = replay.CommitPlan()
        else:
            plan = self._plan(commit, tip)
            author = replay.sister_identity(commit.author_name, commit.author_email)
            if plan.outcomes and author.name not in report.authors:
                report.authors.append(author.name)
            if plan.changes:
                report.commits_applied += 1
                if report.dry_run:
                    self.overlay.update(plan.changes)
                else:
                    message = replay.replay_message(commit.message, self.name, commit.sha)
                    tip = self.store.commit_detached(plan.changes, author, message, tip, when=commit.date)
                    log.info("replayed sister=%s commit=%s as rev=%s author=%s files=%d", self.name, commit.sha,
                             tip, author.name, len(plan.changes))
        if not report.dry_run:
            for item in plan.held:
                ref = f"refs/sisters/{self.name}/conflicts/{item.file.encode('utf-8').hex()}"
                self.store.set_ref(ref, commit.sha, self.store.refs(ref).get(ref))
        self.held.update(item.file for item in plan.held)
        self.origins(tip).add(commit.sha)
        for path, outcome in plan.outcomes.items():
            report.note(path, outcome)
        return tip

    def origins(self, head: str | None) -> set[str]:
        """Commits of other commons already replayed here (named by the ``Synced-from`` trailers of our branch)."""
        if self._origins is None:
            out = run_git("log", "--first-parent", "--format=%B", f"--grep=^{replay.SYNCED_FROM}: ", head,
                          git_dir=self.store.repo_dir).decode("utf-8", "replace") if head else ""
            self._origins = {sha for _, sha in replay.synced_from(out)}
        return self._origins

    def _known_here(self, commit: CommitInfo, tip: str | None) -> bool:
        """True when the commit, or the one it replays, came here already (ours, or through another sister)."""
        named = [sha for _, sha in replay.synced_from(commit.message)]
        origins = self.origins(tip)
        if commit.sha in origins or any(sha in origins for sha in named):
            return True
        if not named or tip is None:
            return False
        if self._ours is None:  # our branch's commits, read once
            self._ours = set(run_git("rev-list", tip, git_dir=self.store.repo_dir).decode().split())
        return any(sha in self._ours for sha in named)

    def _plan(self, commit: CommitInfo, tip: str | None) -> replay.CommitPlan:
        read = self.store.read_file

        def ours(file: str) -> bytes | None:
            if file in self.overlay:
                return self.overlay[file]
            return read(tip, file) if tip else None

        def base(file: str) -> bytes | None:
            return read(commit.parent, file) if commit.parent else None

        limits = (self.settings.max_page_bytes, self.settings.max_attachment_bytes)
        return replay.plan_commit(commit, base, lambda file: read(commit.sha, file), ours, self.held, limits)
