"""Deciding an import before writing anything: names, readable revisions, attachments, authors.

:func:`make_plan` reads the whole source once: which files exist when
(their "lives"), which Markdown revisions are readable, what pages link to,
and who wrote what. Nothing is written to the commons here.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from commons import paths
from commons.import_authors import Authors, trailer_identities
from commons.import_links import Resolver, permalink_of, references
from commons.import_names import (
    FOREVER,
    Life,
    NameMap,
    assign,
    file_candidates,
    is_markdown,
    page_candidates,
    page_order,
    refusal,
)
from commons.import_sources import FILE, SourceCommit

log = logging.getLogger(__name__)


class Source(Protocol):
    """What the importer reads (see :mod:`commons.import_sources`)."""

    kind: str
    commits: list[SourceCommit]
    hidden: list[str]

    def read(self, key: str) -> bytes: ...

    def sizes(self, keys: set[str]) -> dict[str, int]: ...


@dataclass
class Plan:
    """Everything decided before the history is written."""

    names: NameMap
    resolver: Resolver
    texts: dict[str, str]
    authors: Authors
    skipped: dict[str, str] = field(default_factory=dict)


def lives_of(commits: list[SourceCommit]) -> tuple[dict[str, Life], dict[str, str]]:
    """When each file exists (``[start, end)`` commit indexes) and its kind (file, link, other)."""
    lives: dict[str, Life] = {}
    since: dict[str, int] = {}
    kinds: dict[str, str] = {}
    for index, commit in enumerate(commits):
        for change in commit.changes:
            if change.status == "D":
                if change.name in since:
                    lives.setdefault(change.name, []).append((since.pop(change.name), index))
            else:
                kinds[change.name] = change.kind
                since.setdefault(change.name, index)
    for name, start in since.items():
        lives.setdefault(name, []).append((start, len(commits)))
    return lives, kinds


def _refusals(kinds: dict[str, str]) -> dict[str, str]:
    refused: dict[str, str] = {}
    for name, kind in kinds.items():
        reason = refusal(name)
        if reason is None and any("\udc80" <= c <= "\udcff" for c in name):
            reason = "nom de fichier qui n'est pas de l'UTF-8"
        if reason is None and is_markdown(name) and kind != FILE:
            reason = "lien symbolique ou sous-module, pas un fichier"
        if reason:
            refused[name] = reason
    return refused


def _decode(data: bytes, limit: int) -> tuple[str | None, str]:
    """``(text, "")`` for readable Markdown, else ``(None, why)``."""
    if len(data) > limit:
        return None, f"page trop volumineuse (plus de {limit // 1024} Kio)"
    if b"\0" in data:
        return None, "fichier binaire (octet nul), pas du Markdown"
    try:
        return data.decode("utf-8-sig"), ""
    except UnicodeDecodeError:
        return None, "texte qui n'est pas de l'UTF-8 valide"


def _read_texts(source: Source, commits: list[SourceCommit], refused: dict[str, str], limit: int,
                skipped: dict[str, str]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Readable Markdown by content key, and the readable ``(name, key)`` revisions in order."""
    texts: dict[str, str] = {}
    bad: dict[str, str] = {}
    revisions: list[tuple[str, str]] = []
    failures: Counter[str] = Counter()
    for commit in commits:
        for change in commit.changes:
            if change.status == "D" or not is_markdown(change.name) or change.name in refused:
                continue
            if change.key not in texts and change.key not in bad:
                text, why = _decode(source.read(change.key), limit)
                if text is None:
                    bad[change.key] = why
                else:
                    texts[change.key] = text
            if change.key in bad:
                failures[change.name] += 1
                skipped[change.name] = f"{failures[change.name]} révision(s) ignorée(s) : {bad[change.key]}"
            else:
                revisions.append((change.name, change.key))
    readable = {name for name, _key in revisions}
    for name in failures:
        if name not in readable:
            refused[name] = skipped.pop(name).split(" : ", 1)[1]
    return texts, revisions


def _attachments(source: Source, commits: list[SourceCommit], wanted: set[str], refused: dict[str, str],
                 limit: int) -> set[str]:
    """The linked files that can be imported (regular, not refused, not too large)."""
    keys = {c.key for commit in commits for c in commit.changes if c.name in wanted and c.status != "D"}
    sizes = source.sizes(keys)
    too_large = {c.name for commit in commits for c in commit.changes
                 if c.name in wanted and c.status != "D" and sizes.get(c.key, 0) > limit}
    for name in too_large:
        refused[name] = f"pièce jointe trop volumineuse (plus de {limit // (1024 * 1024)} Mio)"
    return {name for name in wanted if name not in refused}


def make_plan(source: Source, existing: list[str], max_page: int, max_file: int, keep_emails: bool) -> Plan:
    """Decide the whole import. ``existing`` are the file names already in the commons."""
    commits = source.commits
    lives, kinds = lives_of(commits)
    refused_any = _refusals(kinds)
    refused = {name: why for name, why in refused_any.items() if is_markdown(name)}
    skipped: dict[str, str] = {name: "dossier caché, ignoré" for name in source.hidden}
    texts, revisions = _read_texts(source, commits, refused, max_page, skipped)
    permalinks: dict[str, str] = {}
    for name, key in revisions:
        link = permalink_of(texts[key])
        if link:
            permalinks[link] = name
    resolver = Resolver(kinds, permalinks)
    linked: set[str] = set()
    for name, key in dict.fromkeys(revisions):
        found, missing = references(texts[key], name, resolver)
        linked |= {f for f in found if not is_markdown(f)}
        skipped.update((m, "lié par une page mais absent de la source") for m in missing if m not in kinds)
    for name in linked:
        if name in refused_any:
            refused[name] = refused_any[name]
        elif kinds[name] != FILE:
            refused[name] = "lien symbolique ou sous-module, pas un fichier"
    attachments = _attachments(source, commits, linked - set(refused), refused, max_file)
    taken: dict[str, Life] = {}
    for name in existing:
        taken[paths.path_for_file(name) or name] = list(FOREVER)
    pages = {name for name, _key in revisions}
    names = NameMap(refused=refused)
    names.pages = assign(page_order(pages, lives, len(commits)), lives, page_candidates, taken, refused)
    first_seen = {name: min(start for start, _ in lives.get(name, FOREVER)) for name in attachments}
    names.files = assign(sorted(attachments, key=lambda n: (first_seen[n], n)), lives, file_candidates, taken,
                         refused)
    return Plan(names, resolver, texts, _authors(commits, names, keep_emails), skipped)


def _authors(commits: list[SourceCommit], names: NameMap, keep_emails: bool) -> Authors:
    """The people behind the commits that bring at least one imported file."""
    counts: Counter[tuple[str, str]] = Counter()
    others: list[tuple[str, str]] = []
    for commit in commits:
        if any(names.new_name(c.name) for c in commit.changes):
            counts[(commit.author_name, commit.author_email)] += 1
            others += trailer_identities(commit.message)
    return Authors(counts, others, keep_emails)
