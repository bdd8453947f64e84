"""One page's attribution state as stored in ``credits.sqlite``, and its seen paragraphs and sentences.

A *lineage* is a page across its life: it keeps its id when the page is
deleted (no current token, but everything seen stays, and its last text for
comparison) and when it is renamed (the path moves), so that a re-created or
renamed page finds its authors again.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass, field

from commons.credits.attribution import MAX_OCCURRENCES, Occurrence, PageTokens
from commons.credits.tokens import split

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS commits (
    id INTEGER PRIMARY KEY, sha TEXT NOT NULL, author TEXT NOT NULL, date TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS lineages (
    id INTEGER PRIMARY KEY,
    path TEXT UNIQUE,
    live INTEGER NOT NULL,
    rev TEXT NOT NULL,
    text TEXT NOT NULL,
    state TEXT NOT NULL,
    former TEXT NOT NULL,
    dead_since INTEGER
);
CREATE INDEX IF NOT EXISTS lineages_dead ON lineages (dead_since) WHERE live = 0;
CREATE TABLE IF NOT EXISTS seen (
    lineage INTEGER NOT NULL, kind TEXT NOT NULL, hash TEXT NOT NULL, occ TEXT NOT NULL,
    PRIMARY KEY (lineage, kind, hash)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS contributors (
    lineage INTEGER NOT NULL, author TEXT NOT NULL, since INTEGER NOT NULL, created INTEGER NOT NULL,
    edits INTEGER NOT NULL, restores INTEGER NOT NULL, first TEXT NOT NULL, last TEXT NOT NULL,
    PRIMARY KEY (lineage, author)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS shares (
    lineage INTEGER NOT NULL, author TEXT NOT NULL, tokens INTEGER NOT NULL,
    PRIMARY KEY (lineage, author)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS others (
    lineage INTEGER NOT NULL, author TEXT NOT NULL, kind TEXT NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (lineage, author, kind)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS contributors_by_author ON contributors (author);
CREATE INDEX IF NOT EXISTS shares_by_author ON shares (author, tokens);
CREATE INDEX IF NOT EXISTS others_by_author ON others (author, kind);
"""

_CHUNK = 500


@dataclass
class Lineage:
    """A page's current text, attributed tokens, graveyard and former paths."""

    id: int | None
    path: str | None
    live: bool = False
    rev: str = ""
    text: str = ""
    tokens: PageTokens = field(default_factory=PageTokens)
    former: list[tuple[str, str]] = field(default_factory=list)
    dead_since: int | None = None

    def dump_state(self) -> str:
        t = self.tokens
        grave_tids = [tid for tid, _, _ in t.grave]
        state = {"r": encode_runs(t.tids, t.origins), "g": encode_runs(grave_tids, [o for _, _, o in t.grave]),
                 "gv": [v for _, v, _ in t.grave], "n": t.next_tid}
        return json.dumps(state, ensure_ascii=False, separators=(",", ":"))


def encode_runs(tids: list[int], origins: list[int]) -> list[int]:
    """Token ids with their origins as flat runs ``[first id, count, origin, ...]`` of consecutive ids."""
    if tids and origins.count(origins[0]) == len(origins) and tids == list(range(tids[0], tids[0] + len(tids))):
        return [tids[0], len(tids), origins[0]]  # the usual case: one sentence written at once
    runs: list[int] = []
    for tid, origin in zip(tids, origins, strict=True):
        if runs and runs[-1] == origin and runs[-3] + runs[-2] == tid:
            runs[-2] += 1
        else:
            runs += [tid, 1, origin]
    return runs


def decode_runs(runs: list[int]) -> tuple[list[int], list[int]]:
    """The token ids and origins of :func:`encode_runs`' runs."""
    tids: list[int] = []
    origins: list[int] = []
    for k in range(0, len(runs), 3):
        first, count, origin = runs[k:k + 3]
        tids.extend(range(first, first + count))
        origins.extend([origin] * count)
    return tids, origins


def load_tokens(text: str, state: str) -> PageTokens:
    """The stored attributed tokens of a lineage; values and structure come from its text, split again."""
    data = json.loads(state)
    tids, origins = decode_runs(data["r"])
    grave_tids, grave_origins = decode_runs(data["g"])
    grave = list(zip(grave_tids, data["gv"], grave_origins, strict=True))
    paragraphs = split(text) if tids else []
    sentences = [s for p in paragraphs for s in p.sentences]
    values = [v for s in sentences for v in s.values]
    if len(values) != len(tids):
        raise ValueError("stored attribution does not match the stored text")
    return PageTokens(tids, origins, values, [(s.hash, len(s.values)) for s in sentences],
                      [(p.hash, len(p.sentences)) for p in paragraphs], grave, data["n"])


def read_lineage(db: sqlite3.Connection, path: str) -> Lineage | None:
    """The lineage currently holding ``path`` (live or deleted), if any."""
    row = db.execute("SELECT id, path, live, rev, text, state, former, dead_since FROM lineages WHERE path = ?",
                     (path,)).fetchone()
    if row is None:
        return None
    lid, path_, live, rev, text, state, former, dead_since = row
    return Lineage(lid, path_, bool(live), rev, text, load_tokens(text, state),
                   [(p, c) for p, c in json.loads(former)], dead_since)


def write_lineage(db: sqlite3.Connection, lineage: Lineage) -> int:
    """Insert or update a lineage; returns its id."""
    values = (lineage.path, int(lineage.live), lineage.rev, lineage.text, lineage.dump_state(),
              json.dumps(lineage.former), lineage.dead_since)
    if lineage.id is None:
        cursor = db.execute("INSERT INTO lineages (path, live, rev, text, state, former, dead_since)"
                            " VALUES (?,?,?,?,?,?,?)", values)
        lineage.id = int(cursor.lastrowid or 0)
    else:
        db.execute("UPDATE lineages SET path=?, live=?, rev=?, text=?, state=?, former=?, dead_since=? WHERE id=?",
                   (*values, lineage.id))
    return lineage.id


def add_contribution(db: sqlite3.Connection, lineage_id: int, author: str, origin: int, date: str,
                     created: bool, restore: bool) -> None:
    """Count one revision of a lineage by ``author`` (commits come oldest first)."""
    db.execute(
        "INSERT INTO contributors (lineage, author, since, created, edits, restores, first, last)"
        " VALUES (?,?,?,?,1,?,?,?) ON CONFLICT (lineage, author) DO UPDATE SET"
        " created = max(created, excluded.created), edits = edits + 1,"
        " restores = restores + excluded.restores, last = excluded.last",
        (lineage_id, author, origin, int(created), int(restore), date, date))


def add_other(db: sqlite3.Connection, lineage_id: int, author: str, kind: str, origin: int, date: str) -> None:
    """Count one contribution of another ``kind`` (a review, an import) to a lineage by ``author``.

    The person also becomes one of the lineage's contributors (with no edit), so the page's credits list them.
    """
    db.execute(
        "INSERT INTO contributors (lineage, author, since, created, edits, restores, first, last)"
        " VALUES (?,?,?,0,0,0,?,?) ON CONFLICT (lineage, author) DO UPDATE SET last = excluded.last",
        (lineage_id, author, origin, date, date))
    db.execute("INSERT INTO others (lineage, author, kind, count) VALUES (?,?,?,1)"
               " ON CONFLICT (lineage, author, kind) DO UPDATE SET count = count + 1", (lineage_id, author, kind))


def write_shares(db: sqlite3.Connection, lineage_id: int, counts: Counter[str]) -> None:
    """Replace the per-author token counts of a lineage."""
    db.execute("DELETE FROM shares WHERE lineage = ?", (lineage_id,))
    db.executemany("INSERT INTO shares (lineage, author, tokens) VALUES (?,?,?)",
                   [(lineage_id, author, n) for author, n in counts.items() if n])


class StoredSeen:
    """The :class:`commons.credits.attribution.Seen` of one lineage, in the ``seen`` table.

    Occurrences are stored as runs (see :func:`encode_runs`); what was looked
    up or added is kept in memory for the life of this object, and what was
    added is written when the batch is flushed (:meth:`pending_rows`).
    """

    def __init__(self, db: sqlite3.Connection, lineage_id: int) -> None:
        self.db = db
        self.lineage_id = lineage_id
        self.known: dict[tuple[str, str], list[list[int]]] = {}
        self.dirty: set[tuple[str, str]] = set()

    def lookup(self, kind: str, hashes: set[str]) -> dict[str, list[Occurrence]]:
        ordered = sorted(h for h in hashes if (kind, h) not in self.known)
        for start in range(0, len(ordered), _CHUNK):
            chunk = ordered[start:start + _CHUNK]
            for hash_ in chunk:
                self.known[(kind, hash_)] = []
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT hash, occ FROM seen WHERE lineage = ? AND kind = ? AND hash IN ({marks})",  # noqa: S608  # nosec B608
                (self.lineage_id, kind, *chunk))
            for hash_, occ in rows:
                self.known[(kind, hash_)] = json.loads(occ)
        return {h: [_pairs(runs) for runs in self.known[(kind, h)]] for h in hashes if self.known[(kind, h)]}

    def add(self, kind: str, hash: str, occurrence: Occurrence) -> None:
        if (kind, hash) not in self.known:
            self.lookup(kind, {hash})
        known = self.known[(kind, hash)]
        if len(known) >= MAX_OCCURRENCES:
            return
        known.append(encode_runs([tid for tid, _ in occurrence], [origin for _, origin in occurrence]))
        self.dirty.add((kind, hash))

    def pending_rows(self) -> list[tuple[int, str, str, str]]:
        """The ``seen`` rows added to since the last call, to be written (see :func:`write_seen`)."""
        rows = [(self.lineage_id, kind, hash_, json.dumps(self.known[(kind, hash_)], separators=(",", ":")))
                for kind, hash_ in self.dirty]
        self.dirty.clear()
        return rows

    def size(self) -> int:
        """How many paragraphs and sentences this object holds in memory."""
        return len(self.known)


def write_seen(db: sqlite3.Connection, rows: list[tuple[int, str, str, str]]) -> None:
    """Write ``seen`` rows gathered by :meth:`StoredSeen.pending_rows`, in one statement."""
    db.executemany("INSERT OR REPLACE INTO seen (lineage, kind, hash, occ) VALUES (?,?,?,?)", rows)


def _pairs(runs: list[int]) -> Occurrence:
    tids, origins = decode_runs(runs)
    return list(zip(tids, origins, strict=True))
