"""Page and folder protection: the least role that may edit a page directly.

Below that role, people may only suggest a change (suggestions go to review).
A page is protected by its own entry, else by the deepest protected folder
above it; unprotected pages need the contributor role.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Date, String, delete, select
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from commons import paths
from commons.accounts import ROLES, Base, validate_role

DEFAULT_LEVEL = "contributor"


class ProtectionRow(Base):
    __tablename__ = "protections"
    target: Mapped[str] = mapped_column(String(210), primary_key=True)  # "guides/rsa" or folder "guides/"
    role: Mapped[str] = mapped_column(String(16))
    set_by: Mapped[str] = mapped_column(String(32))
    set_on: Mapped[date] = mapped_column(Date)


@dataclass(frozen=True)
class Protection:
    target: str
    role: str
    set_by: str
    set_on: date

    @property
    def folder(self) -> bool:
        return self.target.endswith("/")


def _targets(path: str) -> list[str]:
    """The page itself, then each folder above it, deepest first."""
    parts = path.split("/")
    return [path] + ["/".join(parts[:n]) + "/" for n in range(len(parts) - 1, 0, -1)]


class Protections:
    """Protection levels of pages and folders, in the accounts database."""

    def __init__(self, sessions: sessionmaker) -> None:  # type: ignore[type-arg]
        self.sessions = sessions

    def protect(self, path: str, role: str | None, by: str, folder: bool = False) -> None:
        """Set the least role that may edit ``path`` (or its whole folder); ``None`` removes the protection."""
        target = paths.validate_path(path) + ("/" if folder else "")
        with self.sessions.begin() as db:
            db.execute(delete(ProtectionRow).where(ProtectionRow.target == target))
            if role is not None and validate_role(role) != DEFAULT_LEVEL:
                db.add(ProtectionRow(target=target, role=role, set_by=by, set_on=date.today()))

    def protection(self, path: str) -> Protection | None:
        """The protection that applies to ``path``, if any."""
        targets = _targets(path)
        with self.sessions() as db:
            rows = {r.target: r for r in db.scalars(select(ProtectionRow).where(ProtectionRow.target.in_(targets)))}
        for target in targets:
            row = rows.get(target)
            if row is not None:
                return Protection(row.target, row.role, row.set_by, row.set_on)
        return None

    def level(self, path: str) -> str:
        """The least role that may edit ``path`` directly."""
        found = self.protection(path)
        return found.role if found else DEFAULT_LEVEL

    def follow_moves(self, moved: dict[str, str], folder: tuple[str, str] | None = None) -> None:
        """Carry protections over to moved pages (``old -> new``) and, for a folder move, its subfolders.

        A page's protection goes with it, so that renaming a protected page does not unprotect it; one
        already set at the new name is kept.
        """
        renames = dict(moved)
        with self.sessions.begin() as db:
            if folder is not None:
                source, target = folder
                for row in db.scalars(select(ProtectionRow).where(ProtectionRow.target.like(f"{source}/%"))):
                    if row.target.endswith("/"):
                        renames[row.target] = target + row.target[len(source):]
            rows = list(db.scalars(select(ProtectionRow).where(ProtectionRow.target.in_(list(renames)))))
            taken = set(db.scalars(select(ProtectionRow.target).where(ProtectionRow.target.in_(renames.values()))))
            for row in rows:
                new = renames[row.target]
                if new not in taken:
                    db.add(ProtectionRow(target=new, role=row.role, set_by=row.set_by, set_on=row.set_on))
                db.delete(row)

    def all(self) -> list[Protection]:
        with self.sessions() as db:
            rows = db.scalars(select(ProtectionRow).order_by(ProtectionRow.target))
            return [Protection(r.target, r.role, r.set_by, r.set_on) for r in rows]


def stricter(first: str, second: str) -> str:
    """The higher of two roles."""
    return max(first, second, key=ROLES.index)
