"""Baseline: every table of Commons as of the first migration.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-11-29

Also adopts a database made before migrations (tables created by ``create_all`` of an earlier build):
a table that exists only gets the columns and indexes it lacks. Columns added after the first
release carry a server default so that existing rows get a value (``approved``: true, ``erased``:
false, ``session_epoch``: 0, ``locale``: NULL).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer, primary_key=True)


def _user_id(primary_key: bool = False) -> sa.Column[int]:
    return sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False,
                     primary_key=primary_key, index=not primary_key)


def _tables(meta: sa.MetaData) -> list[sa.Table]:
    """The baseline tables, in creation order (users first: the others refer to it)."""
    return [
        sa.Table("users", meta, _id(),
                 sa.Column("username", sa.String(32), nullable=False, unique=True, index=True),
                 sa.Column("display_name", sa.String(100), nullable=False),
                 sa.Column("password_hash", sa.String(255), nullable=False),
                 sa.Column("role", sa.String(16), nullable=False),
                 sa.Column("blocked", sa.Boolean, nullable=False, server_default=sa.false()),
                 sa.Column("approved", sa.Boolean, nullable=False, server_default=sa.true()),
                 sa.Column("erased", sa.Boolean, nullable=False, server_default=sa.false()),
                 sa.Column("session_epoch", sa.Integer, nullable=False, server_default="0"),
                 sa.Column("created", TZ, nullable=False),
                 sa.Column("locale", sa.String(8), nullable=True)),
        sa.Table("tokens", meta, _id(), _user_id(),
                 sa.Column("name", sa.String(100), nullable=False),
                 sa.Column("digest", sa.String(64), nullable=False, unique=True, index=True),
                 sa.Column("created", TZ, nullable=False),
                 sa.Column("last_used", TZ, nullable=True)),
        sa.Table("invitations", meta, _id(),
                 sa.Column("digest", sa.String(64), nullable=False, unique=True, index=True),
                 sa.Column("created_by", sa.Integer, nullable=False),
                 sa.Column("created", TZ, nullable=False),
                 sa.Column("used_by", sa.Integer, nullable=True)),
        sa.Table("protections", meta,
                 sa.Column("target", sa.String(210), primary_key=True),
                 sa.Column("role", sa.String(16), nullable=False),
                 sa.Column("set_by", sa.String(32), nullable=False),
                 sa.Column("set_on", sa.Date, nullable=False)),
        sa.Table("search_misses", meta,
                 sa.Column("key", sa.String(200), primary_key=True),
                 sa.Column("query", sa.String(200), nullable=False),
                 sa.Column("count", sa.Integer, nullable=False, server_default="0"),
                 sa.Column("last_day", sa.Date, nullable=False)),
        sa.Table("suggestions", meta,
                 sa.Column("id", sa.String(16), primary_key=True),
                 sa.Column("path", sa.String(210), nullable=False, index=True),
                 sa.Column("author", sa.String(32), nullable=False),
                 sa.Column("account", sa.String(32), nullable=True, index=True),
                 sa.Column("summary", sa.String(300), nullable=False),
                 sa.Column("base_rev", sa.String(40), nullable=True),
                 sa.Column("commit", sa.String(40), nullable=False),
                 sa.Column("status", sa.String(16), nullable=False, index=True),
                 sa.Column("reason", sa.Text, nullable=True),
                 sa.Column("reviewer", sa.String(32), nullable=True),
                 sa.Column("created", TZ, nullable=False, index=True),
                 sa.Column("reviewed", TZ, nullable=True),
                 sa.Column("rev", sa.String(40), nullable=True)),
        sa.Table("thanks", meta, _id(), _user_id(),
                 sa.Column("rev", sa.String(40), nullable=False),
                 sa.Column("path", sa.String(200), nullable=False, index=True),
                 sa.Column("author", sa.String(255), nullable=False, index=True),
                 sa.Column("day", sa.Date, nullable=False),
                 sa.UniqueConstraint("user_id", "rev", name="thanks_once_per_revision")),
        sa.Table("watches", meta, _id(), _user_id(),
                 sa.Column("target", sa.String(200), nullable=False),
                 sa.Column("folder", sa.Boolean, nullable=False, server_default=sa.false()),
                 sa.Column("created", TZ, nullable=False),
                 sa.UniqueConstraint("user_id", "target", "folder", name="watches_unique")),
        sa.Table("watch_feeds", meta, _user_id(primary_key=True),
                 sa.Column("digest", sa.String(64), nullable=False, unique=True, index=True),
                 sa.Column("created", TZ, nullable=False)),
    ]


def upgrade() -> None:
    bind = op.get_bind()
    existing = set(sa.inspect(bind).get_table_names())
    for table in _tables(sa.MetaData()):
        if table.name in existing:
            _complete(bind, table)
        else:
            table.create(bind)


def _complete(bind: sa.engine.Connection, table: sa.Table) -> None:
    """Add the columns and indexes an existing table lacks (a database made before migrations)."""
    inspector = sa.inspect(bind)
    columns = {column["name"] for column in inspector.get_columns(table.name)}
    for column in table.columns:
        if column.name not in columns:
            if not column.nullable and column.server_default is None:
                raise RuntimeError(f"cannot add {table.name}.{column.name} to existing rows: no default")
            op.add_column(table.name, sa.Column(column.name, column.type, nullable=column.nullable,
                                                server_default=_server_default(column)))
    indexes = {index["name"] for index in inspector.get_indexes(table.name)}
    for index in table.indexes:
        if index.name not in indexes:
            index.create(bind)


def _server_default(column: sa.Column[object]) -> Any:
    """The column's server default as an expression (``None``: no default)."""
    return getattr(column.server_default, "arg", None)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(_tables(sa.MetaData())):
        table.drop(bind, checkfirst=True)
