"""Database migrations (Alembic), run from the code: no ``alembic.ini`` and no command to remember.

:func:`upgrade` brings any database to the newest revision (``head``) and is what start-up runs
(:meth:`commons.accounts.AccountService.create_schema`):

- an empty database gets every table from the migrations;
- a database made before Alembic (tables there, no ``alembic_version``) is adopted: the baseline
  revision only creates the tables and columns it lacks (with their defaults), then it is stamped;
- a database at an older revision gets the later ones.

Two processes starting at once do not both migrate: they take a lock first (``pg_advisory_xact_lock``
on PostgreSQL, a lock file beside the SQLite file) and read the revision only once they hold it, so
the second one finds the database already at ``head``.

A new column or table: change the model, then add a revision in ``versions/`` (``python -m
commons.migrations revision -m "..." --autogenerate`` writes a draft); ``tests/test_migrations.py``
fails while the models and the migrations disagree.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from filelock import FileLock
from sqlalchemy import MetaData, inspect, text
from sqlalchemy.engine import Connection, Engine

HERE = Path(__file__).resolve().parent
LOCK_TIMEOUT = 300  # seconds another process may spend migrating before we give up waiting
PG_LOCK_KEY = 0x636F6D6D6F6E73  # "commons": one advisory lock number for every Commons migration
log = logging.getLogger(__name__)


def models_metadata() -> MetaData:
    """The metadata of every table the models define (the modules are imported here, not at import time)."""
    import commons.members
    import commons.protection
    import commons.suggestions
    import commons.thanks
    import commons.wanted
    import commons.watch  # noqa: F401 - each registers its tables on the shared Base
    from commons.accounts import Base

    return Base.metadata


def alembic_config(connection: Connection | None = None, applied: list[str] | None = None) -> Config:
    """An Alembic configuration pointing at this package (``connection`` is used by ``env.py``)."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    config.attributes["applied"] = applied if applied is not None else []
    return config


@cache
def head_revision() -> str:
    """The newest revision shipped with this version of Commons."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migration in commons/migrations/versions"
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision a database is at (``None``: never migrated, empty or made before Alembic)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_current(engine: Engine) -> bool:
    """True when the database is at ``head`` (nothing to migrate)."""
    return current_revision(engine) == head_revision()


def upgrade(engine: Engine) -> list[str]:
    """Bring the database to ``head`` under a lock; returns the revisions applied here (empty: none needed)."""
    if is_current(engine):  # the usual start-up: one query, no lock
        return []
    applied: list[str] = []
    with _migration_lock(engine), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
        before = MigrationContext.configure(conn).get_current_revision()
        if before is None and _has_tables(conn):
            log.info("database made before migrations: adopting it (missing tables and columns, then stamp)")
        command.upgrade(alembic_config(conn, applied), "head")
    if applied:
        log.info("database migrated from %s to %s (%s)", before or "nothing", head_revision(), ", ".join(applied))
    return applied


def _has_tables(conn: Connection) -> bool:
    return bool(set(inspect(conn).get_table_names()) & set(models_metadata().tables))


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """A lock file beside a SQLite database file; PostgreSQL locks inside the transaction instead."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    with FileLock(f"{database}.migrate.lock", timeout=LOCK_TIMEOUT):
        yield


def version_applied(applied: list[str]) -> Any:
    """An ``on_version_apply`` callback of ``env.py`` that records each revision applied."""

    def record(*, step: Any, **_: Any) -> None:
        applied.append(str(step.up_revision_id))

    return record
