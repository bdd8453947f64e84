"""Talk pages: the discussion of a page, kept in git beside it as ``_talk/<path>.md``.

``_talk`` is not a valid page segment, so these files are never listed as pages.
Each message is appended as a section signed by its author with the date (UTC)::

    ## alice — 2026-11-29 14:03

    Le montant a changé au 1er avril, non ?

Writes take the commons' one write path (the write lock, a commit through
:class:`PageService`, the derived stores brought up to date). A message cannot
forge another one: its own level-1 and level-2 headings are demoted to level 3,
and a signature line inside a code block is indented. Messages render through
the same sanitising pipeline as pages. No Flask here.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from commons import markup, paths
from commons.errors import N_, BadRequest, NotFound, TooLarge
from commons.pages import PageService, identity_for
from commons.storage import GitStore

log = logging.getLogger(__name__)

TALK_FOLDER = "_talk"
MAX_MESSAGE = 20_000  # characters
DATE_FORMAT = "%Y-%m-%d %H:%M"
_SIGNATURE = re.compile(r"^## (?P<author>[^\s<>]+) — (?P<date>\d{4}-\d{2}-\d{2} \d{2}:\d{2})[ \t]*$")
_BIG_HEADING = re.compile(r"^ {0,3}#{1,2}(?=\s|$)")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


@dataclass(frozen=True)
class Message:
    """One signed message of a discussion (``date`` in UTC, to the minute)."""

    author: str
    date: datetime
    markdown: str


@dataclass(frozen=True)
class TalkHit:
    """A message that matches a search, with the page it discusses."""

    path: str
    message: Message


def talk_file(path: str) -> str:
    """The repository file holding the discussion of page ``path``."""
    return f"{TALK_FOLDER}/{paths.file_for(path)}"


def path_of_talk_file(name: str) -> str | None:
    """The page discussed in repository file ``name``, or ``None`` if it is no talk file."""
    prefix = TALK_FOLDER + "/"
    return paths.path_for_file(name[len(prefix):]) if name.startswith(prefix) else None


def clean_message(markdown: object) -> str:
    """A message as submitted: a non-empty string of at most ``MAX_MESSAGE`` characters, no NUL."""
    if not isinstance(markdown, str) or "\0" in markdown:
        raise BadRequest(N_("Le message doit être du texte (Markdown)."))
    text = markdown.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    if not text.strip():
        raise BadRequest(N_("Le message est vide."))
    if len(text) > MAX_MESSAGE:
        raise TooLarge(N_("Le message dépasse %(max_message)s caractères.", max_message=MAX_MESSAGE))
    return text


def neutralise(text: str) -> str:
    """The message body with nothing that reads as a signature: big headings demoted, fences closed."""
    lines: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        opening = _FENCE.match(line)
        if fence is None and opening:
            fence = opening.group(1)[0] * 3
        elif fence is not None and line.strip().startswith(fence):
            fence = None
        elif fence is None and _BIG_HEADING.match(line):
            line = "###" + line.lstrip(" ").lstrip("#")
        elif fence is not None and _SIGNATURE.match(line):
            line = " " + line
        lines.append(line)
    if fence is not None:
        lines.append(fence)
    return "\n".join(lines)


def signature(author: str, when: datetime) -> str:
    """The heading that opens a message: ``## alice — 2026-11-29 14:03`` (UTC)."""
    return f"## {author} — {when.astimezone(UTC).strftime(DATE_FORMAT)}"


def parse(text: str) -> list[Message]:
    """The messages of a talk file, oldest first (anything before the first signature is the header)."""
    messages: list[Message] = []
    author: str | None = None
    date: datetime | None = None
    body: list[str] = []

    def close() -> None:
        if author is not None and date is not None:
            messages.append(Message(author, date, "\n".join(body).strip("\n")))

    for line in text.replace("\r\n", "\n").split("\n"):
        found = _SIGNATURE.match(line)
        if found is None:
            body.append(line)
            continue
        close()
        author, body = found.group("author"), []
        date = datetime.strptime(found.group("date"), DATE_FORMAT).replace(tzinfo=UTC)
    close()
    return messages


class TalkService:
    """Read and append to the discussions of pages; count and search their messages."""

    def __init__(self, pages: PageService, store: GitStore) -> None:
        self.pages = pages
        self.store = store
        self._all: tuple[str, dict[str, list[Message]]] | None = None
        self._all_lock = threading.Lock()

    def exists(self, path: str) -> bool:
        """True when page ``path`` has a discussion (even if the page itself was deleted)."""
        head = self.store.head()
        return head is not None and self.store.blob_id(head, talk_file(path)) is not None

    def messages(self, path: str) -> list[Message]:
        """The discussion of ``path``, oldest first; :class:`NotFound` when neither page nor discussion exists."""
        path = paths.validate_path(path)
        head = self.store.head()
        text = self.store.read_file(head, talk_file(path)) if head else None
        if text is None:
            if not self.pages.exists(path):
                raise NotFound(N_("La page « %(path)s » n'existe pas, ni sa discussion.", path=path))
            return []
        return parse(text.decode("utf-8", "replace"))

    def render(self, path: str, message: Message) -> str:
        """A message as sanitised HTML (same pipeline as pages: wikilinks, nh3)."""
        return markup.render(message.markdown, current_path=path, page_exists=self.pages.exists).html

    def post(self, path: str, markdown: object, author: str) -> str:
        """Append a message signed by ``author`` (a username) to the discussion of ``path``; returns the commit."""
        path = paths.validate_path(path)
        body = neutralise(clean_message(markdown))
        name = talk_file(path)
        section = f"{signature(author, datetime.now(UTC))}\n\n{body}\n"
        with self.pages.write_lock():
            # PageService's own steps of the one write path: the derived stores caught up, then commit and sync.
            head = self.pages._caught_up_head()
            old = self.store.read_file(head, name) if head else None
            if old is None and not self.pages.exists(path):
                raise NotFound(N_("La page « %(path)s » n'existe pas : on ne peut pas en discuter.", path=path))
            start = old.decode("utf-8", "replace").rstrip("\n") + "\n" if old else f"# Discussion : {path}\n"
            text = f"{start}\n{section}".encode()
            if len(text) > self.pages.settings.max_page_bytes:
                raise TooLarge(N_("Cette discussion est devenue trop longue : demandez à un mainteneur de l'archiver."))
            rev = self.pages._commit(head, {name: text}, identity_for(author), f"Discussion de {path}")
        log.info("talk page=%s rev=%s author=%s", path, rev, author)
        return rev

    # -- every discussion: contributions and search ------------------------------------------

    def _everything(self) -> dict[str, list[Message]]:
        """page path -> messages, for every discussion at the branch's head (cached per head)."""
        head = self.store.head()
        if head is None:
            return {}
        cached = self._all
        if cached is not None and cached[0] == head:
            return cached[1]
        found: dict[str, list[Message]] = {}
        for name in self.store.list_files(head, TALK_FOLDER):
            path = path_of_talk_file(name)
            data = self.store.read_file(head, name) if path else None
            if path and data is not None:
                found[path] = parse(data.decode("utf-8", "replace"))
        with self._all_lock:
            self._all = (head, found)
        return found

    def count_for(self, username: str) -> int:
        """How many messages ``username`` wrote (contribution kind ``discussion``)."""
        return sum(1 for messages in self._everything().values() for m in messages if m.author == username)

    def for_page(self, path: str) -> dict[str, int]:
        """username -> messages in the discussion of ``path``."""
        counts: dict[str, int] = {}
        for message in self._everything().get(path, []):
            counts[message.author] = counts.get(message.author, 0) + 1
        return counts

    def totals(self) -> dict[str, int]:
        """username -> messages, across every discussion."""
        counts: dict[str, int] = {}
        for messages in self._everything().values():
            for message in messages:
                counts[message.author] = counts.get(message.author, 0) + 1
        return counts

    def search(self, text: str, limit: int = 50) -> list[TalkHit]:
        """Messages holding every word of ``text`` (accents and case ignored), newest first."""
        words = paths.fold(text).split()
        if not words:
            return []
        hits = [TalkHit(path, m) for path, messages in self._everything().items() for m in messages
                if all(w in paths.fold(f"{m.author} {path} {m.markdown}") for w in words)]
        hits.sort(key=lambda hit: hit.message.date, reverse=True)
        return hits[:limit]
