"""``commons import``: bring a folder of Markdown files or a git repository into the commons.

A git source keeps every commit that touched an imported file, in order,
with its author's name and date; authors are merged and given pseudonymous
e-mails (:mod:`commons.import_authors`), files are renamed to page paths
(:mod:`commons.import_names`) and links follow (:mod:`commons.import_links`).
The new history is written as ONE ``git fast-import`` stream on a temporary
ref, on top of the current head, and the branch is moved once with
``update-ref <new> <old>`` under the write lock: the commons is never
half-imported. The derived stores then catch up.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import subprocess
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit, urlunsplit

from commons.errors import CommonsError
from commons.import_links import rewrite, with_title
from commons.import_plan import Plan, Source, make_plan
from commons.import_sources import FolderSource, GitSource, SourceCommit, git_env, is_git_repository, run_git
from commons.pages import identity_for
from commons.services import Commons
from commons.storage import ZERO, Identity
from commons.sync import Progress

log = logging.getLogger(__name__)

IMPORT_AUTHOR = "import"
_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|[\w.-]+@[\w.-]+:)", re.I)


@dataclass
class ImportReport:
    """What an import did: the name mapping, the authors, and what it could not import (and why)."""

    source: str
    kind: str
    commits_read: int
    commits_imported: int
    head: str | None
    pages: dict[str, str]
    attachments: dict[str, str]
    authors: list[dict[str, object]]
    skipped: dict[str, str]
    current_pages: int = 0
    seconds: float = 0.0
    report_file: str = ""

    def to_json(self) -> dict[str, object]:
        """The report as written to ``<data>/imports/<time>.json`` (no e-mail address in it)."""
        return asdict(self)


def open_source(source: str) -> GitSource | FolderSource:
    """A folder of Markdown files, or a git repository (working tree, bare, bundle or URL)."""
    if not source or source.startswith("-"):
        raise CommonsError(f"Source refusée : « {source} » (un nom qui commence par « - » est pris pour une option).")
    path = Path(source).expanduser()
    if path.exists():
        if is_git_repository(path):
            return GitSource(str(path.resolve()))
        if path.is_dir():
            ident, now = identity_for(IMPORT_AUTHOR), datetime.now().astimezone()
            return FolderSource(path, (ident.name, ident.email), f"{int(now.timestamp())} {now.strftime('%z')}")
        raise CommonsError(f"{source} n'est ni un dossier ni un dépôt git.")
    if _URL.match(source):
        return GitSource(source)
    raise CommonsError(f"Source introuvable : {redact(source)}")


def redact(source: str) -> str:
    """``source`` without the password or token a URL may carry (``https://user:token@host``)."""
    parts = urlsplit(source)
    if parts.scheme and parts.netloc and "@" in parts.netloc:
        return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
    return source


def import_source(services: Commons, source: str, keep_emails: bool = False,
                  progress: Progress | None = None) -> ImportReport:
    """Import ``source`` into the commons atomically; returns the report (also saved under ``<data>/imports``)."""
    started = time.perf_counter()
    store = services.store
    head = store.head()
    with open_source(source) as src:
        existing = _tree_names(store.repo_dir, head)
        settings = services.settings
        plan = make_plan(src, existing, settings.max_page_bytes, settings.max_body_bytes, keep_emails)
        new_head, imported = write_history(store.repo_dir, src, plan, head, progress)
        report = _report(source, src, plan, new_head, imported)
    if new_head is None:
        raise CommonsError(f"Rien à importer depuis {report.source} : aucun fichier Markdown lisible.")
    publish(services, new_head, head)
    log.info("imported %s: %d commits, %d pages, head %s", report.source, imported, len(report.pages), new_head)
    services.pages.catch_up(progress)
    report.current_pages = services.history.count_pages()
    report.seconds = round(time.perf_counter() - started, 3)
    report.report_file = str(_save_report(services, report))
    return report


def _report(source: str, src: Source, plan: Plan, new_head: str | None, imported: int) -> ImportReport:
    return ImportReport(
        source=redact(source), kind=src.kind, commits_read=len(src.commits), commits_imported=imported,
        head=new_head, pages=dict(sorted(plan.names.pages.items())),
        attachments=dict(sorted(plan.names.files.items())),
        authors=[{"username": p.username, "names": list(p.names), "commits": p.commits} for p in plan.authors.people()],
        skipped=dict(sorted((_printable(k), v) for k, v in {**plan.skipped, **plan.names.refused}.items())))


def _printable(name: str) -> str:
    """A file name that was not UTF-8 (kept as surrogates), with U+FFFD for its bad bytes."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _tree_names(repo_dir: Path, head: str | None) -> list[str]:
    if head is None:
        return []
    out = run_git("ls-tree", "-r", "-z", "--name-only", head, git_dir=repo_dir)
    return [name.decode("utf-8", "replace") for name in out.split(b"\0") if name]


def _save_report(services: Commons, report: ImportReport) -> Path:
    folder = services.settings.data_dir / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}.json"
    report.report_file = str(target)
    target.write_text(json.dumps(report.to_json(), ensure_ascii=False, indent=2), "utf-8")
    return target


def publish(services: Commons, new_head: str, old_head: str | None) -> None:
    """Move the branch from ``old_head`` to ``new_head`` in one step, or refuse if it moved meanwhile."""
    store = services.store
    with services.pages.write_lock(timeout=120):
        if store.head() != old_head:
            raise CommonsError("Le commons a changé pendant l'import : rien n'a été importé, relancez l'import.")
        run_git("update-ref", "-m", "commons import", store.ref, new_head, old_head or ZERO, git_dir=store.repo_dir)


@dataclass
class _Writer:
    """A ``git fast-import`` stream: blobs deduplicated by content, commits on a temporary ref."""

    stream: IO[bytes]
    ref: str
    marks: dict[bytes, int] = field(default_factory=dict)
    present: dict[str, bytes] = field(default_factory=dict)
    commits: int = 0

    def blob(self, content: bytes) -> tuple[bytes, int]:
        digest = hashlib.sha1(content, usedforsecurity=False).digest()
        if digest not in self.marks:
            self.marks[digest] = len(self.marks) + 1
            self.stream.write(b"blob\nmark :%d\ndata %d\n%s\n" % (self.marks[digest], len(content), content))
        return digest, self.marks[digest]

    def commit(self, who: Identity, commit: SourceCommit, message: str, parent: str | None,
               changes: dict[str, bytes | None]) -> None:
        """One commit with ``changes`` (file -> content, ``None`` deletes); nothing if they change nothing."""
        after = dict(self.present)
        for name, content in changes.items():
            if content is None:
                after.pop(name, None)
        ops: list[bytes] = []
        for name, content in changes.items():
            if content is not None:
                digest, mark = self.blob(content)
                after[name] = digest
                if self.present.get(name) != digest:
                    ops.append(b"M 100644 :%d %s\n" % (mark, name.encode()))
        ops = [b"D %s\n" % n.encode() for n in changes if n in self.present and n not in after] + ops
        if not ops:
            return
        self.present = after
        ident = f"{_clean(who.name)} <{_clean(who.email)}>".encode()
        data = message.encode("utf-8")
        self.stream.write(b"commit %s\nauthor %s %s\ncommitter %s %s\ndata %d\n%s\n" % (
            self.ref.encode(), ident, commit.author_date.encode(), ident, commit.committer_date.encode(),
            len(data), data))
        if parent and self.commits == 0:
            self.stream.write(b"from %s\n" % parent.encode())
        self.stream.write(b"".join(ops) + b"\n")
        self.commits += 1


def _clean(value: str) -> str:
    return "".join(c for c in value if c not in "<>\n\r\0").strip() or "anonyme"


def _changes(commit: SourceCommit, source: Source, plan: Plan, cache: dict[tuple[str, str], bytes]
             ) -> dict[str, bytes | None]:
    """New file name -> new content (``None`` to delete) for one source commit; deletions first."""
    names = plan.names
    changes: dict[str, bytes | None] = {}
    for change in sorted(commit.changes, key=lambda c: c.status != "D"):
        new = names.new_name(change.name)
        if new is None:
            continue
        if change.status == "D":
            changes[new] = None
        elif change.name in names.files:
            changes[new] = source.read(change.key)
        elif change.key in plan.texts:
            if (change.key, change.name) not in cache:
                path = names.pages[change.name]
                text = rewrite(plan.texts[change.key], change.name, path, plan.resolver, names)
                cache[(change.key, change.name)] = with_title(text, change.name, path).encode("utf-8")
            changes.pop(new, None)
            changes[new] = cache[(change.key, change.name)]
    return changes


def write_history(repo_dir: Path, source: Source, plan: Plan, parent: str | None,
                  progress: Progress | None = None) -> tuple[str | None, int]:
    """Write the imported history on top of ``parent`` with one fast-import; returns (new head, commits)."""
    ref = f"refs/commons-import/{uuid.uuid4().hex}"
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            ["git", f"--git-dir={repo_dir}", "fast-import", "--quiet", "--done", "--date-format=raw-permissive"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors, env=git_env())
        assert proc.stdin is not None
        writer = _Writer(proc.stdin, ref)
        try:
            _write_commits(writer, source, plan, parent, progress)
            proc.stdin.write(b"done\n")
            proc.stdin.close()
        except BaseException:
            proc.kill()
            proc.wait()
            _drop_ref(repo_dir, ref)
            raise
        if proc.wait() != 0:
            errors.seek(0)
            said = errors.read().decode("utf-8", "replace").strip().splitlines()
            _drop_ref(repo_dir, ref)
            raise CommonsError(f"git fast-import a échoué : {said[0] if said else proc.returncode}")
    if writer.commits == 0:
        return None, 0
    new_head = run_git("rev-parse", "--verify", ref, git_dir=repo_dir).decode().strip()
    _drop_ref(repo_dir, ref)
    return new_head, writer.commits


def _write_commits(writer: _Writer, source: Source, plan: Plan, parent: str | None,
                   progress: Progress | None) -> None:
    cache: dict[tuple[str, str], bytes] = {}
    total = len(source.commits)
    for done, commit in enumerate(source.commits, 1):
        changes = _changes(commit, source, plan, cache)
        if changes:
            who = plan.authors.identity(commit.author_name, commit.author_email)
            message = plan.authors.scrub(commit.message.replace("\r\n", "\n")).replace("\0", "").strip() or "Import"
            writer.commit(who, commit, message + "\n", parent, changes)
        if progress and (done % 100 == 0 or done == total):
            progress(done, total)


def _drop_ref(repo_dir: Path, ref: str) -> None:
    subprocess.run(["git", f"--git-dir={repo_dir}", "update-ref", "-d", ref], capture_output=True, env=git_env())
