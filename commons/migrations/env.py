"""Alembic's environment for Commons: migrations run on the connection given by :func:`commons.migrations.upgrade`.

There is no ``alembic.ini`` and no URL here: the caller opens the connection (and holds the lock).
"""

from __future__ import annotations

from alembic import context

from commons.migrations import models_metadata, version_applied


def run_migrations() -> None:
    """Run the migrations online, on the connection from the configuration's attributes."""
    config = context.config
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("Commons migrations need a connection: use commons.migrations.upgrade(engine)")
    context.configure(
        connection=connection,
        target_metadata=models_metadata(),
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
        on_version_apply=version_applied(config.attributes["applied"]),
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
