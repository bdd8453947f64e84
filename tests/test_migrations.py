"""Database migrations (Alembic) on SQLite and on PostgreSQL (``COMMONS_TEST_POSTGRES_URL``, started by ``.ci/run``).

A fresh database gets every table; a database made by an earlier build (its own CREATE TABLE statements, before
migrations existed) is adopted with its rows; processes starting at once migrate once; and the models agree with
the migrations, so that a column added to a model without a migration fails here.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from argon2 import PasswordHasher
from conftest import PASSWORD, login
from pg_support import NO_POSTGRES, POSTGRES_URL, postgres_schema
from sqlalchemy import create_engine, inspect, text

import commons
from commons import create_app, migrations
from commons.accounts import AccountService, Base
from commons.cli import main
from commons.services import Commons
from commons.wanted import MissLog

CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
ROOT = Path(__file__).resolve().parents[1]

# The tables of the build before migrations (commit 9d62207), as SQLAlchemy's create_all wrote them:
# users without approved, erased, session_epoch and locale.
OLD_SCHEMA = {
    "sqlite": """
CREATE TABLE users (
    id INTEGER NOT NULL, username VARCHAR(32) NOT NULL, display_name VARCHAR(100) NOT NULL,
    password_hash VARCHAR(255) NOT NULL, role VARCHAR(16) NOT NULL, blocked BOOLEAN NOT NULL,
    created DATETIME NOT NULL, PRIMARY KEY (id));
CREATE UNIQUE INDEX ix_users_username ON users (username);
CREATE TABLE tokens (
    id INTEGER NOT NULL, user_id INTEGER NOT NULL, name VARCHAR(100) NOT NULL, digest VARCHAR(64) NOT NULL,
    created DATETIME NOT NULL, last_used DATETIME, PRIMARY KEY (id),
    FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE);
CREATE UNIQUE INDEX ix_tokens_digest ON tokens (digest);
CREATE INDEX ix_tokens_user_id ON tokens (user_id);
CREATE TABLE search_misses (
    "key" VARCHAR(200) NOT NULL, "query" VARCHAR(200) NOT NULL, count INTEGER NOT NULL, last_day DATE NOT NULL,
    PRIMARY KEY ("key"))
""",
    "postgresql": """
CREATE TABLE users (
    id SERIAL NOT NULL, username VARCHAR(32) NOT NULL, display_name VARCHAR(100) NOT NULL,
    password_hash VARCHAR(255) NOT NULL, role VARCHAR(16) NOT NULL, blocked BOOLEAN NOT NULL,
    created TIMESTAMP WITH TIME ZONE NOT NULL, PRIMARY KEY (id));
CREATE UNIQUE INDEX ix_users_username ON users (username);
CREATE TABLE tokens (
    id SERIAL NOT NULL, user_id INTEGER NOT NULL, name VARCHAR(100) NOT NULL, digest VARCHAR(64) NOT NULL,
    created TIMESTAMP WITH TIME ZONE NOT NULL, last_used TIMESTAMP WITH TIME ZONE, PRIMARY KEY (id),
    FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE);
CREATE UNIQUE INDEX ix_tokens_digest ON tokens (digest);
CREATE INDEX ix_tokens_user_id ON tokens (user_id);
CREATE TABLE search_misses (
    "key" VARCHAR(200) NOT NULL, "query" VARCHAR(200) NOT NULL, count INTEGER NOT NULL, last_day DATE NOT NULL,
    PRIMARY KEY ("key"))
""",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a schema of its own on the PostgreSQL server (dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'commons.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    with postgres_schema("commons_mig") as url:
        yield url


def make_old_database(url: str) -> None:
    """The database an earlier build made, with one account, one token and one search miss in it."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in OLD_SCHEMA[engine.dialect.name].split(";"):
                conn.execute(text(statement))
            conn.execute(text("INSERT INTO users (username, display_name, password_hash, role, blocked, created) "
                              "VALUES ('alice', 'Alice Ancienne', :hash, 'admin', false, :now)"),
                         {"hash": CHEAP.hash(PASSWORD), "now": "2026-01-02 03:04:05"})
            conn.execute(text("INSERT INTO tokens (user_id, name, digest, created) "
                              "VALUES (1, 'script', :digest, :now)"),
                         {"digest": _digest("cmn_ancien-jeton"), "now": "2026-01-02 03:04:05"})
            conn.execute(text("INSERT INTO search_misses (\"key\", \"query\", count, last_day) "
                              "VALUES ('cheque energie', 'Chèque énergie', 3, :day)"), {"day": date(2026, 1, 2)})
    finally:
        engine.dispose()


def _digest(token: str) -> str:
    import hashlib

    return hashlib.sha256(token.encode()).hexdigest()


def differences(url: str) -> list[object]:
    """What alembic's autogenerate would still write to make the database match the models."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(compare_metadata(MigrationContext.configure(conn), migrations.models_metadata()))
    finally:
        engine.dispose()


def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_a_fresh_database_gets_every_table_at_head(db_url: str) -> None:
    accounts = AccountService(db_url, CHEAP)
    try:
        assert accounts.schema_problems() != []  # nothing there yet: behind
        assert accounts.create_schema() == [migrations.head_revision()]
        assert accounts.create_schema() == []  # a second start-up changes nothing
        assert accounts.schema_problems() == []
        assert migrations.current_revision(accounts.engine) == migrations.head_revision()
        alice = accounts.add("alice", PASSWORD)
        assert alice.approved and alice.session_epoch == 0 and alice.locale is None
    finally:
        accounts.close()
    assert table_names(db_url) == set(migrations.models_metadata().tables) | {"alembic_version"}
    assert differences(db_url) == []


def test_models_and_migrations_agree(db_url: str) -> None:
    """Every model table in every module of the package is created by the migrations, column for column."""
    for module in pkgutil.walk_packages(commons.__path__, "commons."):
        if ".migrations." not in module.name and not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    assert set(Base.metadata.tables) == set(migrations.models_metadata().tables), \
        "a module defines a table that commons.migrations.models_metadata() does not import"
    engine = create_engine(db_url)
    try:
        migrations.upgrade(engine)
    finally:
        engine.dispose()
    assert differences(db_url) == [], "the models changed without a migration in commons/migrations/versions"


def test_a_database_from_before_migrations_is_adopted_with_its_rows(db_url: str) -> None:
    make_old_database(db_url)
    accounts = AccountService(db_url, CHEAP)
    try:
        assert "migration aucune" in accounts.schema_problems()[0]
        assert accounts.create_schema() == ["0001_baseline"]
        assert accounts.schema_problems() == []
        alice = accounts.authenticate("alice", PASSWORD)
        assert alice is not None and alice.display_name == "Alice Ancienne" and alice.role == "admin"
        assert alice.approved and not alice.erased and alice.session_epoch == 0 and alice.locale is None
        assert accounts.account_for_token("cmn_ancien-jeton") == alice
        assert accounts.set_locale("alice", "en").locale == "en"
        accounts.end_sessions(alice.id)
        assert accounts.require("alice").session_epoch == 1
        assert accounts.add("bob", PASSWORD).role == "contributor"  # the old row still counts as first
        misses = MissLog(accounts.sessions)
        assert [(m.query, m.count) for m in misses.top()] == [("Chèque énergie", 3)]
    finally:
        accounts.close()
    assert differences(db_url) == []
    assert {"watches", "thanks", "invitations", "alembic_version"} <= table_names(db_url)


def test_the_app_starts_on_an_old_database_and_its_users_log_in(services: Commons, db_url: str) -> None:
    data_dir = services.settings.data_dir
    services.close()
    for leftover in data_dir.glob("commons.db*"):
        leftover.unlink()
    if db_url.startswith("sqlite"):
        db_url = f"sqlite:///{data_dir / 'commons.db'}"
    make_old_database(db_url)
    app = create_app({"data_dir": data_dir, "database_url": db_url})
    app.config["TESTING"] = True
    try:
        client = app.test_client()
        login(client, "alice")
        assert "Alice Ancienne" in client.get("/-/profile").get_data(as_text=True)
        assert app.extensions["commons"].check() == []
    finally:
        app.extensions["commons"].close()


def test_check_names_a_database_behind_until_start_up_migrates_it(services: Commons,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = services.settings.data_dir
    services.close()
    for leftover in data_dir.glob("commons.db*"):
        leftover.unlink()
    make_old_database(f"sqlite:///{data_dir / 'commons.db'}")
    assert main(["--data", str(data_dir), "check"]) == 1
    assert "base de comptes en retard : migration aucune, attendue 0001_baseline" in capsys.readouterr().err
    create_app({"data_dir": data_dir}).extensions["commons"].close()  # start-up migrates
    assert main(["--data", str(data_dir), "check"]) == 0
    assert "Tout est cohérent" in capsys.readouterr().out


STARTER = """
import json, os, sys, time
from argon2 import PasswordHasher
from commons.accounts import AccountService
url, go = sys.argv[1], sys.argv[2]
accounts = AccountService(url, PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.002)
print(json.dumps(accounts.create_schema()), flush=True)
accounts.close()
"""


@pytest.mark.parametrize("old", [False, True], ids=["fresh", "from-before-migrations"])
def test_processes_starting_at_once_migrate_once(db_url: str, old: bool, tmp_path: Path) -> None:
    if old:
        make_old_database(db_url)
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", STARTER, db_url, str(go)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    try:
        assert [proc.stdout.readline() for proc in procs if proc.stdout] == ["ready\n"] * 3
    finally:
        go.touch()  # all imported and connected: they start migrating together
    results = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * 3, [err[-2000:] for _, err in results]
    applied = sorted(json.loads(out) for out, _ in results)
    assert applied == [[], [], ["0001_baseline"]]
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            assert list(conn.execute(text("SELECT version_num FROM alembic_version"))) == [("0001_baseline",)]
    finally:
        engine.dispose()
    assert differences(db_url) == []
