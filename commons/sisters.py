"""Sister commons: fetch another commons' history and merge what it brings (``commons sync``, ``/-/sync``).

A sister's branch is fetched into ``refs/sisters/<name>/main`` (private: ``/-/git`` advertises
branches only). ``refs/sisters/<name>/synced`` marks the last sister commit replayed here. Each sister
commit after it (first parents) that changes something here is replayed as one commit on our branch,
under the write lock of :class:`commons.pages.PageService` (:mod:`commons.sister_run`), authored by its
own author at its own date, with a ``Synced-from: <name> <sha>`` trailer (rules per file in
:mod:`commons.sister_replay`). A sister commit that names in its ``Synced-from`` a commit of ours, or
one we replayed already (through another sister), is our own change coming back: skipped.
A conflict is a ref ``refs/sisters/<name>/conflicts/<hex of the file name>`` on their latest commit of
that file (their text stays in git), until a maintainer takes their text or dismisses it.
"""

from __future__ import annotations

import logging
import time
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock

from commons import sister_remotes as remotes
from commons import sister_replay as replay
from commons.config import Settings
from commons.errors import N_, BadRequest, CommonsError, NotFound
from commons.import_sources import run_git
from commons.locks import held
from commons.pages import EMAIL_DOMAIN, PageService
from commons.sister_run import SyncReport, SyncRun
from commons.storage import GitStore
from commons.sync import Progress

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SisterConflict:
    """A page (or file) both sides changed: ours kept, theirs (at ``their_commit``) held for a maintainer."""

    id: str  # "<sister>/<hex of the file name>"
    sister: str
    path: str  # the page path, or the attachment's file name
    kind: str
    file: str
    their_commit: str
    their_author: str
    their_date: datetime | None
    their_text: str | None  # None: they deleted it (or, for a file, not shown)
    our_text: str | None  # None: we deleted it

    @property
    def reason(self) -> str:
        """Why it is a conflict: ``deleted-there``, ``deleted-here`` or ``both-changed``."""
        if self.their_text is None and self.kind == replay.PAGE:
            return "deleted-there"
        if self.our_text is None:
            return "deleted-here"
        return "both-changed"


@dataclass(frozen=True)
class Sister:
    """A sister commons known here, with its last sync."""

    name: str
    url: str
    added: datetime | None
    last_sync: datetime | None
    report: SyncReport | None
    synced: str | None


class SisterService:
    """Known sisters, their syncs and the conflicts they left."""

    def __init__(self, settings: Settings, pages: PageService, store: GitStore) -> None:
        self.settings = settings
        self.pages = pages
        self.store = store

    # -- reading --------------------------------------------------------------------------

    def sisters(self) -> list[Sister]:
        """Every known sister, by name."""
        found = [self.get(name) for name in remotes.known_names(self.settings.data_dir)]
        return [sister for sister in found if sister is not None]

    def get(self, name: str) -> Sister | None:
        """A known sister (its URL without any password), or ``None``."""
        record = remotes.read_record(self.settings.data_dir, name)
        if record is None:
            return None
        data = record.get("report")
        report = SyncReport(**{k: v for k, v in data.items() if k in SyncReport.__dataclass_fields__}) \
            if isinstance(data, dict) else None
        return Sister(name, remotes.redact(str(record.get("url", ""))), _date(record.get("added")),
                      _date(record.get("last_sync")), report, self.synced(name))

    def synced(self, name: str) -> str | None:
        """The last sister commit replayed here."""
        ref = f"refs/sisters/{name}/synced"
        return self.store.refs(ref).get(ref)

    def conflicts(self, sister: str | None = None) -> list[SisterConflict]:
        """Open conflicts (of one sister), by sister and page."""
        prefix = f"refs/sisters/{sister}/conflicts/" if sister else "refs/sisters/"
        found = []
        for ref, sha in sorted(self.store.refs(prefix).items()):
            name, _, rest = ref.removeprefix("refs/sisters/").partition("/conflicts/")
            if rest and name and "/" not in name:
                found.append(self._conflict(name, rest, sha))
        return sorted(found, key=lambda c: (c.sister, c.path))

    def conflict(self, conflict_id: str) -> SisterConflict:
        """One open conflict by its id ``<sister>/<hex of the file name>``; :class:`NotFound` otherwise."""
        name, _, key = conflict_id.partition("/")
        if remotes.NAME_RE.fullmatch(name) and key and all(c in "0123456789abcdef" for c in key):
            ref = f"refs/sisters/{name}/conflicts/{key}"
            sha = self.store.refs(ref).get(ref)
            if sha is not None:
                return self._conflict(name, key, sha)
        raise NotFound(N_("Ce conflit de synchronisation n'existe pas (ou plus)."))

    def _conflict(self, name: str, key: str, sha: str) -> SisterConflict:
        file = bytes.fromhex(key).decode("utf-8", "replace")
        found = replay.kind_of(file)
        kind, path = found if found else (replay.FILE, file)
        author, date = self._author(sha)
        head = self.store.head()
        theirs = self.store.read_file(sha, file) if kind == replay.PAGE else None
        if kind == replay.PAGE:
            ours = self.store.read_file(head, file) if head else None
        else:  # a file is not shown: only whether we still have it
            ours = b"" if head and self.store.blob_id(head, file) else None
        return SisterConflict(f"{name}/{key}", name, path, kind, file, sha, author, date,
                              theirs.decode("utf-8", "replace") if theirs is not None else None,
                              ours.decode("utf-8", "replace") if ours is not None else None)

    def _author(self, sha: str) -> tuple[str, datetime | None]:
        out = run_git("show", "-s", "--format=%an%x00%ae%x00%aI", sha, git_dir=self.store.repo_dir).decode()
        name, email, date = (out.strip().split("\0") + ["", "", ""])[:3]
        return replay.sister_identity(name, email).name, _date(date)

    # -- syncing --------------------------------------------------------------------------

    def target(self, remote: str, name: str | None = None) -> tuple[str, str]:
        """(name, URL or path) of a sync: a known sister's name, or a new remote (named ``name`` or after it)."""
        if name is None and remotes.NAME_RE.fullmatch(remote):  # a known sister's name wins over a folder
            record = remotes.read_record(self.settings.data_dir, remote)
            if record is not None and record.get("url"):
                return remote, str(record["url"])
        url = remotes.resolve_remote(remote)
        if not remotes.is_url(url) and Path(url).resolve() == self.store.repo_dir.resolve():
            raise BadRequest(N_("C'est le dépôt de ce commons lui-même : rien à synchroniser."))
        if name is not None:  # a name given on purpose may also give a known sister its new address
            return remotes.validate_name(name), url
        name = remotes.default_name(url)
        record = remotes.read_record(self.settings.data_dir, name)
        if record is not None and record.get("url") != url:
            raise BadRequest(N_("Une commons sœur s'appelle déjà « %(name)s », à une autre adresse : donnez un autre "
                                "nom avec --name.", name=name))
        return name, url

    def sync(self, remote: str, name: str | None = None, dry_run: bool = False,
             progress: Progress | None = None) -> SyncReport:
        """Fetch a sister and replay what it changed since the last sync (``dry_run``: only say what)."""
        name, url = self.target(remote, name)
        started = time.perf_counter()
        with self._sister_lock(name):
            fetched = remotes.fetch(self.store.repo_dir, name, url)
            report = SyncReport(name, remotes.redact(url), fetched, dry_run=dry_run,
                                when=datetime.now(UTC).isoformat(timespec="seconds"))
            if not dry_run:
                self._remember(name, url, None)
            report.since = self._start(self.synced(name), fetched, self.store.head())
            commits = [] if report.since == fetched else list(self.store.log(report.since, fetched))
            if commits:
                run = SyncRun(self.settings, self.pages, self.store, report, {c.file for c in self.conflicts(name)})
                run.apply(commits, progress)
            if report.commits_applied and not dry_run:
                self.pages.catch_up()
            report.seconds = round(time.perf_counter() - started, 3)
            if not dry_run:
                self._remember(name, url, report)
        log.info("synced sister=%s fetched=%s seen=%d applied=%d own=%d conflicts=%d dry_run=%s", name, fetched,
                 report.commits_seen, report.commits_applied, report.own_skipped,
                 len(report.paths(replay.CONFLICT)), dry_run)
        return report

    def _sister_lock(self, name: str) -> AbstractContextManager[None]:
        self.settings.lock_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.settings.lock_dir / f"sister-{name}.lock"), thread_local=False)
        return held(lock, 0, N_("Une synchronisation avec « %(name)s » est déjà en cours.", name=name))

    def _start(self, synced: str | None, fetched: str, head: str | None) -> str | None:
        """The sister commit to replay from: the last one synced, or the history shared with ours if newer."""
        if synced and not self.store.is_ancestor(synced, fetched):  # the sister rewrote its history
            synced = self._merge_base(synced, fetched)
        shared = self._merge_base(head, fetched) if head else None
        if shared and (synced is None or self.store.is_ancestor(synced, shared)):
            return shared
        return synced

    def _merge_base(self, first: str, second: str) -> str | None:
        try:
            return run_git("merge-base", first, second, git_dir=self.store.repo_dir).decode().strip() or None
        except CommonsError:
            return None

    def _remember(self, name: str, url: str, report: SyncReport | None) -> None:
        record = remotes.read_record(self.settings.data_dir, name) or {}
        now = datetime.now(UTC).isoformat(timespec="seconds")
        record.update(url=url, added=record.get("added") or now)
        if report is not None:
            record.update(last_sync=now, report=asdict(report))
        remotes.write_record(self.settings.data_dir, name, record)

    # -- resolving ------------------------------------------------------------------------

    def dismiss(self, conflict_id: str) -> SisterConflict:
        """Forget a conflict: our page stays as it is; later sister changes to it merge again."""
        found = self.conflict(conflict_id)
        name, _, key = found.id.partition("/")
        self.store.delete_ref(f"refs/sisters/{name}/conflicts/{key}", found.their_commit)
        log.info("dismissed sister conflict sister=%s file=%s", found.sister, found.file)
        return found

    def take_theirs(self, conflict_id: str, reviewer: str) -> SisterConflict:
        """Make the sister's text the page's text (their author, ``Reviewed-by`` the maintainer); closes it."""
        found = self.conflict(conflict_id)
        if found.kind != replay.PAGE:
            raise BadRequest(N_("Un fichier joint ne se fusionne pas : gardez le vôtre ou joignez le leur."))
        current = self.pages.state(found.path)
        author = replay.sister_identity(found.their_author, f"{found.their_author}@{EMAIL_DOMAIN}")
        summary = f"Version de la commons sœur {found.sister}"
        if found.their_text is None:
            if current is not None:
                self.pages.delete(found.path, current.rev, author, summary)
        else:
            trailers = [f"{replay.SYNCED_FROM}: {found.sister} {found.their_commit}",
                        f"Reviewed-by: {reviewer} <{reviewer}@{EMAIL_DOMAIN}>"]
            self.pages.save(found.path, found.their_text, summary, current.rev if current else None, author,
                            trailers=trailers)
        return self.dismiss(conflict_id)


def _date(value: object) -> datetime | None:
    """An ISO 8601 date and time, or ``None`` when absent or unreadable."""
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
