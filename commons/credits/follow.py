"""Apply commits to the attribution state: one batch of commits inside one SQLite transaction.

For each commit, every changed page is attributed against its lineage's state;
a deleted page keeps its lineage (so a re-created page finds its authors).
A page added at a new path whose text is mostly (``RENAME_SIMILARITY``) that
of a page deleted in the same commit or shortly before (``ADOPT_WINDOW``
commits) is that page renamed: it takes over its lineage, so the attribution
follows the page. The commit's trailers (``Reviewed-by:``, ``Imported-by:``)
credit the people they name with a review or an import of each page it writes.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter

from commons import paths
from commons.credits.attribution import attribute
from commons.credits.lineage import (
    Lineage,
    StoredSeen,
    add_contribution,
    add_other,
    encode_runs,
    read_lineage,
    write_lineage,
    write_seen,
    write_shares,
)
from commons.credits.tokens import split, tokens_of
from commons.credits.trailers import trailer_contributions
from commons.sqlite import select_in
from commons.storage import CommitInfo, GitStore
from commons.sync import plain_changes, read_texts

log = logging.getLogger(__name__)

RENAME_SIMILARITY = 0.6
RESTORE_PREFIX = "Restauration de la révision"  # the summary PageService.restore writes
ADOPT_WINDOW = 100
KEPT = 300_000  # paragraphs and sentences an applier keeps in memory between batches
KEPT_LINEAGES = 12_000  # and lineages (each with its text, tokens and graveyard)


def similarity(old: list[str], new: list[str]) -> float:
    """How much two token lists share, order aside: 1.0 for the same words, 0.0 for none."""
    if not old and not new:
        return 1.0
    common = sum((Counter(old) & Counter(new)).values())
    return 2 * common / (len(old) + len(new))


class Applier:
    """Applies commits to the lineages of one ``credits.sqlite``, caching what a batch touches."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.by_path: dict[str, Lineage | None] = {}
        self.dirty: dict[int, Lineage] = {}
        self.authors: dict[int, str] = {}
        self.seen: dict[int, StoredSeen] = {}
        self.texts: dict[str, bytes] = {}  # blobs read ahead for the batch (see :meth:`read_ahead`)

    def read_ahead(self, store: GitStore, commits: list[CommitInfo]) -> None:
        """Read, in one git process, every page text the ``commits`` about to be applied bring."""
        self.texts = read_texts(store, {c.blob for commit in commits for c in plain_changes(commit)
                                        if c.blob and paths.path_for_file(c.name) is not None})

    def _text(self, store: GitStore, blob: str) -> str:
        data = self.texts.pop(blob, None)
        return (store.read_blob(blob) if data is None else data).decode("utf-8", "replace")

    def lineage(self, path: str) -> Lineage | None:
        """The lineage at ``path`` (live or deleted), read once per batch."""
        if path not in self.by_path:
            self.by_path[path] = read_lineage(self.db, path)
        return self.by_path[path]

    def apply(self, store: GitStore, commit: CommitInfo) -> None:
        """Attribute the pages ``commit`` changed: deletions first, so that an added page can adopt one."""
        changed = [(c, p) for c in plain_changes(commit) if (p := paths.path_for_file(c.name)) is not None]
        if not changed:
            return
        cursor = self.db.execute("INSERT INTO commits (sha, author, date) VALUES (?,?,?)",
                                 (commit.sha, commit.author_name, commit.date.isoformat()))
        origin = int(cursor.lastrowid or 0)
        self.authors[origin] = commit.author_name
        for change, path in changed:
            if change.blob is None:
                self._delete(path, commit.sha, origin)
        restore = commit.message.startswith(RESTORE_PREFIX)
        others = [(kind, name) for kind, name in trailer_contributions(commit.message) if name != commit.author_name]
        for change, path in changed:
            if change.blob is not None:
                text = self._text(store, change.blob)
                lineage, created = self._attribute(path, text, origin, commit.sha)
                add_contribution(self.db, lineage, commit.author_name, origin, commit.date.isoformat(),
                                 created, restore)
                for kind, name in others:  # a reviewer, an importer: named in the commit's trailers
                    add_other(self.db, lineage, name, kind, origin, commit.date.isoformat())

    def _attribute(self, path: str, text: str, origin: int, sha: str) -> tuple[int, bool]:
        """Attribute the page's new text; returns its lineage id and whether this created the page."""
        lineage = self.lineage(path) or self._adopt(path, text, origin)
        created = lineage is None
        if lineage is None:
            lineage = Lineage(None, path)
            write_lineage(self.db, lineage)
            self.by_path[path] = lineage
        assert lineage.id is not None
        seen = self.seen.get(lineage.id) or self.seen.setdefault(lineage.id, StoredSeen(self.db, lineage.id, created))
        lineage.tokens = attribute(lineage.tokens, split(text), seen, origin)
        lineage.text, lineage.live, lineage.rev, lineage.dead_since = text, True, sha, None
        self.dirty[lineage.id] = lineage
        return lineage.id, created

    def _delete(self, path: str, sha: str, origin: int) -> None:
        """Bury the page's tokens; its lineage keeps its path, seen text and last text."""
        lineage = self.lineage(path)
        if lineage is None or lineage.id is None or not lineage.live:
            return
        lineage.tokens = lineage.tokens.buried()
        lineage.live, lineage.rev, lineage.dead_since = False, sha, origin
        self.dirty[lineage.id] = lineage

    def _recently_dead(self, origin: int) -> list[Lineage]:
        """Lineages of pages deleted in the last ``ADOPT_WINDOW`` commits and not re-created."""
        rows = self.db.execute("SELECT path FROM lineages WHERE live = 0 AND dead_since >= ? AND path IS NOT NULL",
                               (origin - ADOPT_WINDOW,)).fetchall()
        found = {lin.id: lin for (p,) in rows if (lin := self.lineage(p)) is not None}
        found.update(self.dirty.items())  # deleted in this batch, not written yet
        return [lin for lin in found.values()
                if not lin.live and lin.dead_since is not None and lin.dead_since >= origin - ADOPT_WINDOW]

    def _adopt(self, path: str, text: str, origin: int) -> Lineage | None:
        """A page added at a new path takes the lineage of a page just deleted with mostly the same text.

        That is how a rename looks in git (in one commit, or as a deletion then
        a re-creation soon after): the attribution follows the page.
        """
        candidates = sorted(self._recently_dead(origin), key=lambda lin: -(lin.dead_since or 0))
        values = [t.value for t in tokens_of(text)] if candidates else []
        best, score = None, RENAME_SIMILARITY
        for dead in candidates:
            alike = similarity([t.value for t in tokens_of(dead.text)], values)
            if alike > score or (best is None and alike >= score):  # most recent first on a tie
                best, score = dead, alike
        if best is None or best.id is None or best.path is None:
            return None
        old = best.path
        self.db.execute("UPDATE lineages SET path = ? WHERE id = ?", (path, best.id))
        best.path = path
        best.former.append((old, best.rev))
        self.by_path[old], self.by_path[path] = None, best
        log.debug("credits: page %s continues the lineage of deleted %s", path, old)
        return best

    def flush(self) -> None:
        """Write every lineage the batch changed, with its per-author token counts and what it saw."""
        for lineage_id, lineage in self.dirty.items():
            runs = encode_runs(lineage.tokens.tids, lineage.tokens.origins)
            write_lineage(self.db, lineage, runs)
            write_shares(self.db, lineage_id, self._counts(runs) if lineage.live else Counter())
        self.dirty.clear()
        write_seen(self.db, [row for seen in self.seen.values() for row in seen.pending_rows()])
        self.texts = {}

    def forget(self, limit: int = KEPT, lineages: int = KEPT_LINEAGES) -> None:
        """After a flush, drop what is cached in memory once it holds more than ``limit`` entries (or lineages).

        An applier kept from batch to batch does not read and split again the
        lineages and paragraphs it already holds; this bounds its memory.
        """
        if sum(seen.size() for seen in self.seen.values()) > limit:
            self.seen.clear()
        if len(self.by_path) > lineages:
            self.by_path.clear()
        if len(self.authors) > limit:
            self.authors.clear()

    def _counts(self, runs: list[int]) -> Counter[str]:
        """Tokens per author, from the runs of a lineage's tokens (see :func:`encode_runs`)."""
        per_origin: Counter[int] = Counter()
        for start in range(0, len(runs), 3):
            per_origin[runs[start + 2]] += runs[start + 1]
        missing = [o for o in per_origin if o not in self.authors]
        for oid, author in select_in(self.db, "SELECT id, author FROM commits WHERE id IN ({marks})", missing):
            self.authors[oid] = author
        counts: Counter[str] = Counter()
        for oid, n in per_origin.items():
            counts[self.authors.get(oid, "?")] += n
        return counts
