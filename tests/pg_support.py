"""The PostgreSQL server of the tests (``COMMONS_TEST_POSTGRES_URL``, started by ``.ci/run``): a schema per test."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, make_url, text

POSTGRES_URL = os.environ.get("COMMONS_TEST_POSTGRES_URL", "")
NO_POSTGRES = ("COMMONS_TEST_POSTGRES_URL is not set: no PostgreSQL server to test against (.ci/run installs and "
               "starts one; locally: postgresql+psycopg://USER:PASSWORD@127.0.0.1/DATABASE)")


@contextmanager
def postgres_schema(prefix: str) -> Iterator[str]:
    """The server's URL, pointed at a new, empty schema ``PREFIX_...`` of its own (dropped afterwards)."""
    schema = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
