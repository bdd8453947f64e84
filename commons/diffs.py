"""Differences between two texts, line by line with word-level detail. Pure functions."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

_WORDS = re.compile(r"\w+|\s+|[^\w\s]", re.UNICODE)


@dataclass(frozen=True)
class Segment:
    """A run of text inside a changed line; ``changed`` marks the words that differ."""

    text: str
    changed: bool


@dataclass(frozen=True)
class DiffLine:
    """One line of a diff: ``kind`` is ``equal``, ``insert``, ``delete`` or ``skip``."""

    kind: str
    old_no: int | None
    new_no: int | None
    segments: list[Segment] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.segments)


@dataclass(frozen=True)
class Diff:
    """A whole diff with counts of inserted and deleted lines."""

    lines: list[DiffLine]
    inserted: int
    deleted: int

    @property
    def identical(self) -> bool:
        return not self.inserted and not self.deleted


def _word_pair(old: str, new: str) -> tuple[list[Segment], list[Segment]]:
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    left: list[Segment] = []
    right: list[Segment] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            left.append(Segment("".join(a[i1:i2]), False))
            right.append(Segment("".join(b[j1:j2]), False))
            continue
        if i2 > i1:
            left.append(Segment("".join(a[i1:i2]), True))
        if j2 > j1:
            right.append(Segment("".join(b[j1:j2]), True))
    return left, right


def _replace(old: list[str], new: list[str], i1: int, j1: int) -> list[DiffLine]:
    """Changed block: pair lines for word-level marks when the block is balanced."""
    out: list[DiffLine] = []
    if len(old) == len(new):
        for k, (o, n) in enumerate(zip(old, new, strict=True)):
            left, right = _word_pair(o, n)
            out.append(DiffLine("delete", i1 + k + 1, None, left))
            out.append(DiffLine("insert", None, j1 + k + 1, right))
        return out
    out += [DiffLine("delete", i1 + k + 1, None, [Segment(t, True)]) for k, t in enumerate(old)]
    out += [DiffLine("insert", None, j1 + k + 1, [Segment(t, True)]) for k, t in enumerate(new)]
    return out


def diff_texts(old: str, new: str, context: int = 3) -> Diff:
    """The difference from ``old`` to ``new``, with ``context`` unchanged lines around changes."""
    a, b = old.splitlines(), new.splitlines()
    lines: list[DiffLine] = []
    inserted = deleted = 0
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        if lines or group[0][1] > 0:
            lines.append(DiffLine("skip", None, None))
        for op, i1, i2, j1, j2 in group:
            if op == "equal":
                lines += [DiffLine("equal", i1 + k + 1, j1 + k + 1, [Segment(a[i1 + k], False)])
                          for k in range(i2 - i1)]
            elif op == "replace":
                lines += _replace(a[i1:i2], b[j1:j2], i1, j1)
            elif op == "delete":
                lines += [DiffLine("delete", i1 + k + 1, None, [Segment(a[i1 + k], True)]) for k in range(i2 - i1)]
            else:
                lines += [DiffLine("insert", None, j1 + k + 1, [Segment(b[j1 + k], True)]) for k in range(j2 - j1)]
            deleted += i2 - i1 if op in ("replace", "delete") else 0
            inserted += j2 - j1 if op in ("replace", "insert") else 0
    return Diff(lines, inserted, deleted)
