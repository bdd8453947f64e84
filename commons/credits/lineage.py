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
from itertools import compress, islice, repeat
from operator import itemgetter, ne, sub

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
_STATE_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # one encoder for every state written


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

    def dump_state(self, runs: list[int] | None = None) -> str:
        """The stored form of the tokens (``runs``: their :func:`encode_runs`, when already known)."""
        t = self.tokens
        grave_tids, grave_origins = list(map(itemgetter(0), t.grave)), list(map(itemgetter(2), t.grave))
        runs = encode_runs(t.tids, t.origins) if runs is None else runs
        state = {"r": runs, "g": encode_runs(grave_tids, grave_origins),
                 "gv": list(map(itemgetter(1), t.grave)), "n": t.next_tid}
        return _STATE_JSON.encode(state)


def encode_runs(tids: list[int], origins: list[int]) -> list[int]:
    """Token ids with their origins as flat runs ``[first id, count, origin, ...]`` of consecutive ids.

    A run breaks where the next id is not the one after, or the origin changes
    (both found with iterators running in C: a page's state is encoded at every batch).
    """
    size = len(tids)
    if not size:
        return []
    first, one_origin = tids[0], origins.count(origins[0]) == size
    if one_origin and tids[-1] - first == size - 1 and tids == list(range(first, first + size)):
        return [first, size, origins[0]]  # the usual case: one sentence written at once
    breaks = set(compress(range(1, size), map(ne, map(sub, islice(tids, 1, None), tids), repeat(1))))
    if not one_origin:
        breaks.update(compress(range(1, size), map(ne, islice(origins, 1, None), origins)))
    runs: list[int] = []
    start = 0
    for end in sorted(breaks):
        runs += (tids[start], end - start, origins[start])
        start = end
    runs += (tids[start], size - start, origins[start])
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
    return PageTokens(tids, origins, values, sentences, paragraphs, grave, data["n"])


def read_lineage(db: sqlite3.Connection, path: str) -> Lineage | None:
    """The lineage currently holding ``path`` (live or deleted), if any."""
    row = db.execute("SELECT id, path, live, rev, text, state, former, dead_since FROM lineages WHERE path = ?",
                     (path,)).fetchone()
    if row is None:
        return None
    lid, path_, live, rev, text, state, former, dead_since = row
    return Lineage(lid, path_, bool(live), rev, text, load_tokens(text, state),
                   [(p, c) for p, c in json.loads(former)], dead_since)


def write_lineage(db: sqlite3.Connection, lineage: Lineage, runs: list[int] | None = None) -> int:
    """Insert or update a lineage (``runs``: its tokens' :func:`encode_runs`, if known); returns its id."""
    values = (lineage.path, int(lineage.live), lineage.rev, lineage.text, lineage.dump_state(runs),
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

    def __init__(self, db: sqlite3.Connection, lineage_id: int, fresh: bool = False) -> None:
        self.db = db
        self.lineage_id = lineage_id
        self.fresh = fresh  # a lineage just created: nothing stored yet, nothing to look up
        self.known: dict[tuple[str, str], list[list[int]]] = {}
        self.dirty: set[tuple[str, str]] = set()

    def lookup(self, kind: str, hashes: set[str]) -> dict[str, list[Occurrence]]:
        ordered = sorted(h for h in hashes if (kind, h) not in self.known)
        if self.fresh:
            self.known.update(((kind, hash_), []) for hash_ in ordered)
            ordered = []
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
        return {h: [decode_runs(runs) for runs in self.known[(kind, h)]] for h in hashes if self.known[(kind, h)]}

    def add(self, kind: str, hash: str, occurrence: Occurrence) -> None:
        if (kind, hash) not in self.known:
            self.lookup(kind, {hash})
        known = self.known[(kind, hash)]
        if len(known) >= MAX_OCCURRENCES:
            return
        known.append(encode_runs(*occurrence))
        self.dirty.add((kind, hash))

    def pending_rows(self) -> list[tuple[int, str, str, str]]:
        """The ``seen`` rows added to since the last call, to be written (see :func:`write_seen`)."""
        rows = [(self.lineage_id, kind, hash_, _dump_occurrences(self.known[(kind, hash_)]))
                for kind, hash_ in self.dirty]
        self.dirty.clear()
        return rows

    def size(self) -> int:
        """How many paragraphs and sentences this object holds in memory."""
        return len(self.known)


def write_seen(db: sqlite3.Connection, rows: list[tuple[int, str, str, str]]) -> None:
    """Write ``seen`` rows gathered by :meth:`StoredSeen.pending_rows`, in one statement."""
    db.executemany("INSERT OR REPLACE INTO seen (lineage, kind, hash, occ) VALUES (?,?,?,?)", rows)


def _dump_occurrences(occurrences: list[list[int]]) -> str:
    """``json.dumps(occurrences, separators=(",", ":"))`` for lists of lists of ints, without its overhead."""
    if len(occurrences) == 1 and len(occurrences[0]) == 3:  # the usual case: one occurrence, one run
        first, count, origin = occurrences[0]
        return f"[[{first:d},{count:d},{origin:d}]]"
    return "[" + ",".join(["[" + ",".join(map(str, runs)) + "]" for runs in occurrences]) + "]"

