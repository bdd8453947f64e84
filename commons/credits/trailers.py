"""Contributions a commit names in its message, as git trailers: ``Reviewed-by: bob <bob@…>``.

A commit credits its author with an edit; its trailers credit other people
with other kinds of contribution to the pages it changes. Only the message's
last paragraph is read, as ``git interpret-trailers`` does, so prose that
happens to start a line with ``Reviewed-by:`` in the body counts for nothing.
"""

from __future__ import annotations

import re

# trailer key (lower case) -> contribution kind
TRAILER_KINDS = {"reviewed-by": "review", "imported-by": "import"}
MAX_NAME = 100

_TRAILER = re.compile(r"^(?P<key>[A-Za-z][A-Za-z-]*):[ \t]*(?P<name>[^<\n]*?)[ \t]*"
                      r"(?:<(?P<email>[^<>\n]*)>)?[ \t\r]*$")


def trailer_contributions(message: str) -> list[tuple[str, str]]:
    """``(kind, name)`` for each trailer of a known kind in the message's last paragraph, once each.

    The name is the trailer's name part, else the local part of its address.
    """
    paragraphs = [p for p in message.replace("\r\n", "\n").strip().split("\n\n") if p.strip()]
    if len(paragraphs) < 2:  # a one-paragraph message is a subject line, not trailers
        return []
    found: list[tuple[str, str]] = []
    for line in paragraphs[-1].splitlines():
        match = _TRAILER.match(line.strip())
        if match is None or match.group("key").lower() not in TRAILER_KINDS:
            continue
        name = match.group("name").strip() or (match.group("email") or "").split("@", 1)[0].strip()
        entry = (TRAILER_KINDS[match.group("key").lower()], name[:MAX_NAME])
        if name and entry not in found:
            found.append(entry)
    return found
