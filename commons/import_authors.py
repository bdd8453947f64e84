"""Authors of an imported history: merged identities, pseudonymous e-mails, clean messages.

Identities that share a name (compared as slugs: ``Alexandre Bulté`` and
``alexandre bulte`` are one name) or an e-mail address are one person.
Each person becomes ``username <username@users.noreply.commons>`` where the
username is a slug of their most used name; with ``keep_emails`` their most
used original address is kept instead. Unless addresses are kept, every
address in commit messages (``Signed-off-by``, ``Co-authored-by``, prose)
is replaced by the pseudonymous one of the person it belongs to, or masked.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from commons import paths
from commons.pages import EMAIL_DOMAIN
from commons.storage import Identity

MAX_USERNAME = 32
MASKED = "adresse-masquee@" + EMAIL_DOMAIN
_TRAILER = re.compile(r"^(?P<lead>[ \t>*-]*)(?P<key>[A-Za-z][A-Za-z-]*):[ \t]*(?P<name>[^<\n]*?)[ \t]*"
                      r"<(?P<email>[^<>\n]*)>[ \t\r]*$", re.M)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


@dataclass(frozen=True)
class Person:
    """One contributor after merging: the username and every name they used."""

    username: str
    email: str
    names: tuple[str, ...]
    commits: int


def trailer_identities(message: str) -> list[tuple[str, str]]:
    """``(name, email)`` of the ``Co-authored-by``-style trailers of a commit message."""
    return [(m.group("name"), m.group("email")) for m in _TRAILER.finditer(message) if "@" in m.group("email")]


def _name_of(name: str) -> str:
    """A name that is really an e-mail address keeps only its local part."""
    name = name.strip()
    return name.split("@", 1)[0] if _EMAIL.fullmatch(name) else name


def _username(name: str, email: str) -> str:
    """A valid account-like username (``[a-z0-9][a-z0-9_-]{1,31}``) for a person, or ``""``."""
    for source in (_name_of(name), email.split("@", 1)[0].split("+")[-1]):
        slug = paths.slugify_segment(source)[:MAX_USERNAME].strip("-")
        if len(slug) >= 2:
            return slug
    return ""


class Authors:
    """The people behind a set of commit identities."""

    def __init__(self, authors: Counter[tuple[str, str]], others: Iterable[tuple[str, str]] = (),
                 keep_emails: bool = False) -> None:
        self.keep_emails = keep_emails
        self._parent: dict[str, str] = {}
        counts: Counter[tuple[str, str]] = Counter({ident: 0 for ident in others})
        counts.update(authors)
        for name, email in counts:
            keys = self._keys(name, email)
            for key in keys[1:]:
                self._union(keys[0], key)
        self._people: dict[str, Person] = {}
        self._by_key: dict[str, Person] = {}
        self._build(counts)

    @staticmethod
    def _keys(name: str, email: str) -> list[str]:
        slug = paths.slugify_segment(_name_of(name))
        keys = [f"n:{slug}"] if slug else []
        if email.strip():
            keys.append(f"e:{email.strip().lower()}")
        return keys or ["n:anonyme"]

    def _find(self, key: str) -> str:
        root = self._parent.setdefault(key, key)
        while root != self._parent[root]:
            root = self._parent[root]
        self._parent[key] = root
        return root

    def _union(self, first: str, second: str) -> None:
        self._parent[self._find(second)] = self._find(first)

    def _build(self, counts: Counter[tuple[str, str]]) -> None:
        groups: dict[str, list[tuple[tuple[str, str], int]]] = {}
        for ident, count in counts.items():
            groups.setdefault(self._find(self._keys(*ident)[0]), []).append((ident, count))
        taken: set[str] = set()
        for root, members in sorted(groups.items(), key=lambda kv: -sum(c for _, c in kv[1])):
            names = Counter[str]()
            emails = Counter[str]()
            for (name, email), count in members:
                names[_name_of(name)] += count + 1
                emails[email.strip()] += count + 1
            best = names.most_common(1)[0][0]
            username = self._unique(_username(best, emails.most_common(1)[0][0]) or "auteur", taken)
            email = emails.most_common(1)[0][0] if self.keep_emails else f"{username}@{EMAIL_DOMAIN}"
            person = Person(username, email, tuple(sorted(names)), sum(c for _, c in members))
            self._people[root] = person
            for (name, mail), _count in members:
                for key in self._keys(name, mail):
                    self._by_key[key] = person

    @staticmethod
    def _unique(username: str, taken: set[str]) -> str:
        candidate, number = username, 1
        while candidate in taken:
            number += 1
            candidate = f"{username[: MAX_USERNAME - 1 - len(str(number))]}-{number}"
        taken.add(candidate)
        return candidate

    def person(self, name: str, email: str) -> Person:
        """The person behind a (name, e-mail) identity seen when building."""
        for key in self._keys(name, email):
            if key in self._by_key:
                return self._by_key[key]
        root = self._find(self._keys(name, email)[0])
        if root in self._people:
            return self._people[root]
        username = _username(name, email) or "auteur"
        return Person(username, email if self.keep_emails else f"{username}@{EMAIL_DOMAIN}", (name,), 0)

    def identity(self, name: str, email: str) -> Identity:
        """The commit identity the imported history uses for this author."""
        person = self.person(name, email)
        return Identity(person.username, person.email)

    def people(self) -> list[Person]:
        """Everyone who authored at least one commit, most commits first."""
        return sorted((p for p in self._people.values() if p.commits), key=lambda p: (-p.commits, p.username))

    def scrub(self, message: str) -> str:
        """A commit message with every e-mail address replaced by its pseudonymous form."""
        if self.keep_emails:
            return message

        def trailer(match: re.Match[str]) -> str:
            if "@" not in match.group("email"):
                return match.group(0)
            ident = self.identity(match.group("name"), match.group("email"))
            return f"{match.group('lead')}{match.group('key')}: {ident.name} <{ident.email}>"

        def address(match: re.Match[str]) -> str:
            if match.group(0).lower().endswith("@" + EMAIL_DOMAIN):
                return match.group(0)
            person = self._by_key.get(f"e:{match.group(0).lower()}")
            return person.email if person else MASKED

        return _EMAIL.sub(address, _TRAILER.sub(trailer, message))
