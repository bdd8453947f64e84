"""Commits and refs outside the branch, mixed into :class:`commons.storage.GitStore`.

Suggestions live in git as commits kept alive by private refs (``refs/suggestions/<id>``)
that never move the branch and are never served by ``/-/git``. These methods are part of
``GitStore`` (it inherits them); they live here so that ``storage.py`` stays a readable size.
They call GitStore's own object writers and the ``git`` command line: GitPython is still
imported by ``storage.py`` alone.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any, Mapping

from commons.errors import N_, CommonsError, Conflict, Unavailable

if TYPE_CHECKING:
    from commons.storage import Identity

_ZERO = "0" * 40
# Private refs only: the branch moves through GitStore.commit alone.
_PRIVATE_REF = re.compile(r"refs/(?!heads/|tags/)[a-z0-9][a-z0-9_-]*(?:/[a-z0-9][a-z0-9_-]*)+")


def _check_private(name: str) -> str:
    if not _PRIVATE_REF.fullmatch(name):
        raise ValueError(f"not a private ref name: {name!r}")
    return name


class DetachedWrites:
    """Commits written without moving the branch, and the private refs that keep them."""

    if TYPE_CHECKING:  # provided by GitStore
        def repo(self) -> Any: ...

        def _git(self, *args: str, input: bytes | None = None, bare: bool = False) -> str: ...

        def _store(self, repo: Any, kind: bytes, data: bytes) -> bytes: ...

        def _tree_of(self, repo: Any, commit: str) -> bytes: ...

        def _edit_tree(self, repo: Any, tree: bytes | None, parts: list[str], blob: bytes | None) -> bytes | None: ...

    def commit_detached(
        self,
        changes: Mapping[str, bytes | None],
        author: Identity,
        message: str,
        parent: str | None,
        when: datetime | None = None,
    ) -> str:
        """Write the commit of ``changes`` on top of ``parent`` and return its id; no ref moves.

        :meth:`GitStore.commit` publishes this same commit with ``update-ref``. The commit is unreachable
        (and ``git gc`` may prune it) until a ref points at it: see :meth:`set_ref`.
        """
        repo = self.repo()
        root = self._tree_of(repo, parent) if parent else None
        for name, content in changes.items():
            blob = self._store(repo, b"blob", content) if content is not None else None
            root = self._edit_tree(repo, root, name.split("/"), blob)
        tree = root or self._store(repo, b"tree", b"")
        when = when or datetime.now().astimezone()
        header = f"tree {tree.hex()}\n".encode()
        if parent:
            header += f"parent {parent}\n".encode()
        ident = author.header(when)
        text = message.replace("\r\n", "\n").replace("\0", "").strip() or "Modification"
        body = header + b"author " + ident + b"\ncommitter " + ident + b"\n\n" + text.encode() + b"\n"
        return self._store(repo, b"commit", body).hex()

    def refs(self, prefix: str) -> dict[str, str]:
        """Every ref under ``prefix`` (e.g. ``refs/suggestions/``): full name -> commit id."""
        out = self._git("for-each-ref", "--format=%(refname)%00%(objectname)", prefix)
        found: dict[str, str] = {}
        for line in out.splitlines():
            name, _, sha = line.partition("\0")
            if name.startswith(prefix) and sha:
                found[name] = sha
        return found

    def set_ref(self, name: str, new: str, old: str | None = None) -> None:
        """Point the private ref ``name`` at commit ``new`` if it still points at ``old`` (``None``: absent).

        Raises :class:`Conflict` when the ref moved meanwhile (or exists while ``old`` is ``None``).
        """
        _check_private(name)
        try:
            self._git("update-ref", "-m", "commons", name, new, old or _ZERO)
        except CommonsError as exc:
            if self.refs(name).get(name) != old:
                raise Conflict(N_("La référence %(name)s a changé entre-temps.", name=name)) from exc
            raise Unavailable(N_("Impossible d'écrire la référence %(name)s dans le dépôt.", name=name)) from exc

    def delete_ref(self, name: str, old: str | None = None) -> None:
        """Delete the private ref ``name`` (if ``old`` is given, only while it still points there)."""
        _check_private(name)
        try:
            self._git("update-ref", "-m", "commons", "-d", name, *([old] if old else []))
        except CommonsError as exc:
            if old and self.refs(name).get(name) != old:
                raise Conflict(N_("La référence %(name)s a changé entre-temps.", name=name)) from exc
            raise Unavailable(N_("Impossible de supprimer la référence %(name)s du dépôt.", name=name)) from exc
