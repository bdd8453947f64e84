"""What ``commons import`` reads: a git repository's history, or a folder of Markdown files.

Both are seen as a list of :class:`SourceCommit` (oldest first) whose file
changes point at contents the source can read. A git source is cloned bare
into a temporary folder and read with plumbing only: one ``git log --raw``
for the changes, one ``git cat-file --batch`` process for commits and blobs.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO

from commons.errors import CommonsError

log = logging.getLogger(__name__)

_META = re.compile(r":(\d{6}) (\d{6}) ([0-9a-f]{40,64}) ([0-9a-f]{40,64}) ([A-Z])\d*")
_IDENT = re.compile(r"^(.*?) ?<([^<>]*)> (-?\d+) ([+-]?\d{1,4})$")
_GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "SSH_ASKPASS": "true", "LC_ALL": "C"}
FILE, LINK, OTHER = "file", "link", "other"


@dataclass(frozen=True)
class SourceChange:
    """One file changed by a source commit: ``A``/``M`` (``key`` reads the content) or ``D``."""

    status: str
    name: str
    key: str
    kind: str = FILE


@dataclass
class SourceCommit:
    """A commit of the source, with raw git dates (``<seconds> <±hhmm>``)."""

    author_name: str
    author_email: str
    author_date: str
    committer_date: str
    message: str
    changes: list[SourceChange] = field(default_factory=list)


def git_env() -> dict[str, str]:
    """The environment for git commands run on behalf of an import: never prompts."""
    return {**os.environ, **_GIT_ENV}


def run_git(*args: str, git_dir: Path | None = None, input: bytes | None = None) -> bytes:
    """Run git; a failure becomes a :class:`CommonsError` with git's own message."""
    cmd = ["git", *([f"--git-dir={git_dir}"] if git_dir else []), *args]
    try:
        done = subprocess.run(cmd, input=input, capture_output=True, check=True, env=git_env(), timeout=3600)
    except subprocess.CalledProcessError as exc:
        message = exc.stderr.decode("utf-8", "replace").strip().splitlines()
        name = next((a for a in args if not a.startswith("-") and "=" not in a), "")
        raise CommonsError(f"git {name} a échoué : {message[-1] if message else exc.returncode}") from exc
    return done.stdout


class BlobReader:
    """One ``git cat-file --batch`` process, read one object at a time (no pipe deadlock)."""

    def __init__(self, git_dir: Path) -> None:
        self._proc = subprocess.Popen(["git", f"--git-dir={git_dir}", "cat-file", "--batch"], env=git_env(),
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def read(self, sha: str) -> bytes:
        stdin, stdout = self._streams()
        stdin.write(sha.encode() + b"\n")
        stdin.flush()
        header = stdout.readline().split()
        if len(header) != 3:
            raise CommonsError(f"Objet git illisible dans la source : {sha}")
        data = stdout.read(int(header[2]))
        stdout.read(1)
        return data

    def _streams(self) -> tuple[IO[bytes], IO[bytes]]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        return self._proc.stdin, self._proc.stdout

    def close(self) -> None:
        stdin, stdout = self._streams()
        stdin.close()
        stdout.close()
        self._proc.wait()


class GitSource:
    """A git repository (local path, bundle or URL), cloned bare into a temporary folder."""

    kind = "git"

    def __init__(self, location: str) -> None:
        if location.startswith("-"):
            raise CommonsError(f"Source refusée (commence par « - ») : {location}")
        self._tmp = Path(tempfile.mkdtemp(prefix="commons-import-"))
        self.git_dir = self._tmp / "source.git"
        try:
            run_git("-c", "protocol.ext.allow=never", "clone", "--bare", "--quiet", "--", location, str(self.git_dir))
        except CommonsError:
            shutil.rmtree(self._tmp, ignore_errors=True)
            raise
        self.hidden: list[str] = []
        self._reader = BlobReader(self.git_dir)
        try:
            self.commits = self._read_commits()
        except BaseException:
            self.close()
            raise

    def _branch(self) -> str:
        """The commit to import: the source's HEAD, else its ``main``, ``master`` or first branch."""
        out = run_git("for-each-ref", "--format=%(refname)", "refs/heads/", git_dir=self.git_dir).decode()
        branches = out.split()
        for candidate in ["HEAD", "refs/heads/main", "refs/heads/master", *branches]:
            try:
                return run_git("rev-parse", "--verify", "-q", f"{candidate}^{{commit}}",
                               git_dir=self.git_dir).decode().strip()
            except CommonsError:
                continue
        raise CommonsError("Le dépôt source n'a aucun commit.")

    def _read_commits(self) -> list[SourceCommit]:
        tip = self._branch()
        out = run_git("log", "--reverse", "--first-parent", "--diff-merges=first-parent", "--raw", "-z",
                      "--no-renames", "--no-abbrev", "--format=%x1e%H", tip, "--", git_dir=self.git_dir)
        commits: list[SourceCommit] = []
        tokens = out.split(b"\0")
        i = 0
        while i < len(tokens):
            token = tokens[i].lstrip(b"\n").decode("ascii", "replace")
            i += 1
            if token.startswith("\x1e"):
                commits.append(self._commit(token[1:]))
            elif (meta := _META.fullmatch(token)) and commits and i < len(tokens):
                commits[-1].changes.append(_change(meta, tokens[i]))
                i += 1
        return commits

    def _commit(self, sha: str) -> SourceCommit:
        raw = self.read(sha)
        head, _, body = raw.partition(b"\n\n")
        fields: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").splitlines():
            key, _, value = line.partition(" ")
            fields.setdefault(key, value)
        encoding = fields.get("encoding", "utf-8")
        try:
            message = body.decode(encoding, "replace")
        except LookupError:
            message = body.decode("utf-8", "replace")
        author = _IDENT.match(fields.get("author", "")) or _IDENT.match("anonyme <> 0 +0000")
        committer = _IDENT.match(fields.get("committer", "")) or author
        assert author is not None and committer is not None
        return SourceCommit(author.group(1), author.group(2), _date(author), _date(committer), message)

    def read(self, key: str) -> bytes:
        return self._reader.read(key)

    def sizes(self, keys: set[str]) -> dict[str, int]:
        """Sizes of many blobs at once."""
        if not keys:
            return {}
        out = run_git("cat-file", "--batch-check=%(objectname) %(objectsize)", git_dir=self.git_dir,
                      input="".join(f"{k}\n" for k in sorted(keys)).encode()).decode()
        return {sha: int(size) for sha, _, size in (line.partition(" ") for line in out.splitlines())
                if size.isdigit()}

    def close(self) -> None:
        self._reader.close()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> GitSource:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def _date(ident: re.Match[str]) -> str:
    """``<seconds> <±hhmm>`` from a parsed identity line (a missing sign or digits are added)."""
    zone = ident.group(4)
    sign, digits = (zone[0], zone[1:]) if zone[:1] in "+-" else ("+", zone)
    return f"{ident.group(3)} {sign}{digits.zfill(4)}"


def _change(meta: re.Match[str], raw_name: bytes) -> SourceChange:
    old_mode, new_mode, old_blob, new_blob, status = meta.groups()
    mode = old_mode if status == "D" else new_mode
    kind = FILE if mode.startswith("100") else LINK if mode == "120000" else OTHER
    name = raw_name.decode("utf-8", "surrogateescape")
    return SourceChange("D" if status == "D" else ("A" if status == "A" else "M"), name,
                        old_blob if status == "D" else new_blob, kind)


class FolderSource:
    """A folder of Markdown files (not a git repository): one commit with every file."""

    kind = "folder"

    def __init__(self, folder: Path, author: tuple[str, str], date: str) -> None:
        self.root = folder.resolve()
        self.hidden: list[str] = []
        commit = SourceCommit(author[0], author[1], date, date, f"Import du dossier {self.root.name}")
        for name, kind in sorted(self._walk()):
            commit.changes.append(SourceChange("A", name, name, kind))
        if not commit.changes:
            raise CommonsError(f"Aucun fichier à importer dans {self.root}.")
        self.commits = [commit]

    def _walk(self) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for folder, dirs, files in os.walk(self.root, followlinks=False):
            relative = Path(folder).relative_to(self.root).as_posix()
            prefix = "" if relative == "." else relative + "/"
            self.hidden += [prefix + d for d in dirs if d.startswith(".")]
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not os.path.islink(os.path.join(folder, d)))
            for name in files:
                full = os.path.join(folder, name)
                kind = LINK if os.path.islink(full) else FILE if os.path.isfile(full) else OTHER
                found.append((prefix + name, kind))
        return found

    def read(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    def sizes(self, keys: set[str]) -> dict[str, int]:
        return {key: (self.root / key).stat().st_size for key in keys}

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> FolderSource:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def is_git_repository(path: Path) -> bool:
    """True for a working tree's root (``.git``), a bare repository or a bundle file."""
    if path.is_file():
        with path.open("rb") as handle:
            return handle.read(16) in (b"# v2 git bundle\n", b"# v3 git bundle\n")
    return (path / ".git").exists() or ((path / "HEAD").is_file() and (path / "objects").is_dir())
