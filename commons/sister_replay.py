"""What one commit of a sister commons changes here: the per-file rules of ``commons sync``.

For every file a sister commit touched, three texts are compared: *base* (the file in the
commit's parent, on the sister), *theirs* (the file in the commit) and *ours* (the file on our
branch now). Unchanged on their side: nothing. Already equal to ours: nothing. Unchanged on our
side: take theirs. Changed on both sides: ``git merge-file``; overlapping changes (or a deletion
against an edit) are a conflict: our file stays as it is and their text is held for a maintainer.
Pure functions over texts and readers: no lock, no commit, no database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from commons import attachments, paths
from commons.accounts import USERNAME_RE
from commons.errors import CommonsError
from commons.merging import merge_texts
from commons.pages import EMAIL_DOMAIN, identity_for
from commons.storage import CommitInfo, Identity

SYNCED_FROM = "Synced-from"
MASKED = "adresse-masquee@" + EMAIL_DOMAIN
PAGE, FILE = "page", "file"
NEW, EDITED, DELETED, MERGED, CONFLICT, IGNORED = "new", "edited", "deleted", "merged", "conflict", "ignored"
_SYNCED_RE = re.compile(rf"^{SYNCED_FROM}: (\S+) ([0-9a-f]{{40}})$", re.MULTILINE)
_TRAILER_LINE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*: \S.*$")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")

Reader = Callable[[str], "bytes | None"]


@dataclass(frozen=True)
class Held:
    """A file kept as ours because both sides changed it (their version stays in their commit)."""

    file: str
    path: str
    kind: str


@dataclass
class CommitPlan:
    """What replaying one sister commit does: the files to commit and what happened to each."""

    changes: dict[str, bytes | None] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)  # page or file -> NEW, EDITED, ...
    held: list[Held] = field(default_factory=list)


def kind_of(name: str) -> tuple[str, str] | None:
    """(``page``, page path) or (``file``, ``<page>/<name>``) for a repository file, ``None`` for anything else."""
    page = paths.path_for_file(name)
    if page is not None:
        return PAGE, page
    folder, _, leaf = name.rpartition("/")
    if folder and paths.is_valid_path(folder) and paths.is_attachment_name(leaf):
        return FILE, name
    return None


def synced_from(message: str) -> list[tuple[str, str]]:
    """The ``(sister name, commit id)`` of each ``Synced-from:`` trailer of a commit message."""
    return _SYNCED_RE.findall(message)


def sister_identity(name: str, email: str) -> Identity:
    """The pseudonymous identity of a sister's author: their username, never a real e-mail address."""
    local = email.split("@", 1)[0].strip().lower()
    if email.lower().endswith("@" + EMAIL_DOMAIN) and USERNAME_RE.fullmatch(local):
        return identity_for(local)
    for candidate in (name, local):
        slug = paths.slugify_segment(candidate)[:32].strip("-")
        if USERNAME_RE.fullmatch(slug):
            return identity_for(slug)
    return identity_for("auteur")


def replay_message(message: str, sister: str, sha: str) -> str:
    """Their message, e-mail addresses masked, with ``Synced-from: <sister> <sha>`` among its trailers."""
    def mask(match: re.Match[str]) -> str:
        return match.group(0) if match.group(0).lower().endswith("@" + EMAIL_DOMAIN) else MASKED

    text = _EMAIL.sub(mask, message.replace("\r\n", "\n").replace("\0", "")).strip() or "Synchronisation"
    trailer = f"{SYNCED_FROM}: {sister} {sha}"
    paragraphs = text.split("\n\n")
    last = paragraphs[-1].splitlines()
    if len(paragraphs) > 1 and last and all(_TRAILER_LINE.match(line) for line in last):
        return text + "\n" + trailer  # keep one trailer block: credits read only the last paragraph
    return text + "\n\n" + trailer


def _decode(data: bytes | None) -> str | None:
    return None if data is None else data.decode("utf-8", "replace")


def acceptable(kind: str, name: str, data: bytes, limits: tuple[int, int]) -> bool:
    """True when a page is UTF-8 text without NUL within size, or a file passes the upload checks."""
    if kind == FILE:
        try:
            attachments.check(name.rsplit("/", 1)[-1], data, limits[1])
        except CommonsError:
            return False
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return len(data) <= limits[0] and b"\0" not in data


def plan_commit(commit: CommitInfo, base: Reader, theirs: Reader, ours: Reader, held: set[str],
                limits: tuple[int, int]) -> CommitPlan:
    """The plan of one sister commit.

    ``held``: files with an open conflict (their changes stay held); ``limits``: the largest page and
    file, in bytes. A page or file that a save or an upload here would refuse is ignored.
    """
    plan = CommitPlan()
    for change in commit.changes:
        found = kind_of(change.name)
        if found is None:
            plan.outcomes[change.name] = IGNORED
            continue
        kind, key = found
        before, after = base(change.name), theirs(change.name)
        if before == after:
            continue
        if after is not None and not acceptable(kind, change.name, after, limits):
            plan.outcomes[key] = IGNORED
            continue
        if change.name in held:
            plan.held.append(Held(change.name, key, kind))
            plan.outcomes[key] = CONFLICT
            continue
        _plan_file(plan, change.name, kind, key, before, after, ours(change.name))
    return plan


def _plan_file(plan: CommitPlan, name: str, kind: str, key: str, before: bytes | None, after: bytes | None,
               current: bytes | None) -> None:
    if after == current:
        return
    if current == before:
        plan.changes[name] = after
        plan.outcomes[key] = DELETED if after is None else NEW if current is None else EDITED
        return
    if kind == PAGE and after is not None and current is not None:
        merged, clean = merge_texts(_decode(before) or "", _decode(current) or "", _decode(after) or "")
        if clean:
            if merged.encode("utf-8") != current:
                plan.changes[name] = merged.encode("utf-8")
                plan.outcomes[key] = MERGED
            return
    plan.held.append(Held(name, key, kind))
    plan.outcomes[key] = CONFLICT
