"""The database tests against a real PostgreSQL server (``COMMONS_TEST_POSTGRES_URL``, started by ``.ci/run``).

The account and token tests of ``test_accounts.py`` run here again on PostgreSQL, with focused tests for what
differs (hashes and digests read back with SQL, a race on one name) and the whole commons on PostgreSQL:
registration modes, invitations, erasure, search misses, and the web app with a bearer token and a login form.
Each test works in a schema of its own, dropped at the end.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from conftest import PASSWORD, login
from pg_support import NO_POSTGRES, POSTGRES_URL, postgres_schema
from sqlalchemy import text
from test_accounts import (  # noqa: F401 - collected here again, on PostgreSQL
    test_account_for_token_records_last_use,
    test_accounts_survive_a_new_service,
    test_authenticate,
    test_bad_passwords_are_refused,
    test_blocked_account_tokens_stop_working,
    test_blocked_accounts_cannot_log_in_and_can_be_unblocked,
    test_changes_to_unknown_accounts_are_not_found,
    test_dates_are_timezone_aware,
    test_duplicate_name_is_a_conflict,
    test_explicit_role_for_the_first_account,
    test_first_account_is_admin_then_contributors,
    test_invalid_names,
    test_revoked_token_no_longer_works,
    test_roles_ordering,
    test_unknown_role_is_refused,
    test_unknown_tokens,
)

from commons import create_app
from commons.accounts import AccountService
from commons.config import load_settings
from commons.errors import Conflict, Forbidden
from commons.members import Members
from commons.services import Commons, open_commons

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES)
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The server's URL, pointed at a new, empty schema of its own (dropped afterwards)."""
    with postgres_schema("commons_test") as url:
        yield url


@pytest.fixture
def db_url(pg_url: str) -> str:
    """``test_accounts.py``'s database, on PostgreSQL."""
    return pg_url


@pytest.fixture
def accounts(pg_url: str) -> Iterator[AccountService]:
    """What ``test_accounts.py``'s tests expect, on PostgreSQL."""
    service = AccountService(pg_url, CHEAP)
    assert service.engine.dialect.name == "postgresql"
    service.create_schema()
    yield service
    service.close()


@pytest.fixture
def pg_commons(tmp_path: Path, pg_url: str) -> Iterator[Commons]:
    """A whole commons whose database is PostgreSQL (git and derived stores in ``tmp_path``)."""
    settings = load_settings(tmp_path / "data", {"database_url": pg_url, "password_time_cost": 1,
                                                 "password_memory_kib": 8192}, environ={})
    services = open_commons(settings)
    services.init()
    yield services
    services.close()


def stored(service: AccountService, sql: str, **params: object) -> list[str]:
    with service.engine.connect() as conn:
        return [str(row[0]) for row in conn.execute(text(sql), params)]


def test_schema_is_created_once_and_tables_are_there(accounts: AccountService) -> None:
    accounts.create_schema()  # a second time changes nothing
    names = set(stored(accounts, "SELECT table_name FROM information_schema.tables WHERE table_schema = "
                                 "current_schema()"))
    assert {"users", "tokens"} <= names


def test_passwords_and_tokens_are_stored_as_hashes(accounts: AccountService) -> None:
    alice = accounts.add("alice", PASSWORD)
    token = accounts.new_token("alice", "script")
    (hashed,) = stored(accounts, "SELECT password_hash FROM users")
    assert hashed.startswith("$argon2id$") and PASSWORD not in hashed
    (digest,) = stored(accounts, "SELECT digest FROM tokens")
    assert len(digest) == 64 and token not in digest and token[4:] not in digest
    assert accounts.account_for_token(token) == alice
    assert [t.name for t in accounts.tokens(alice.id)] == ["script"]


def test_old_hash_parameters_are_upgraded_on_login(pg_url: str) -> None:
    weak = AccountService(pg_url, CHEAP)
    weak.create_schema()
    weak.add("alice", PASSWORD)
    weak.close()
    stronger = AccountService(pg_url, PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1))
    try:
        assert stronger.authenticate("alice", PASSWORD) is not None
        assert "m=2048,t=2" in stored(stronger, "SELECT password_hash FROM users")[0]
    finally:
        stronger.close()


def test_one_name_claimed_by_many_at_once_goes_to_one(accounts: AccountService) -> None:
    accounts.add("admin", PASSWORD)
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def claim() -> None:
        barrier.wait()
        try:
            accounts.add("convoite", PASSWORD)
            outcomes.append("created")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["conflict"] * 5 + ["created"]
    assert accounts.count() == 2


def test_registration_modes_invitations_and_erasure(pg_commons: Commons) -> None:
    accounts = pg_commons.accounts
    founder = Members(accounts, pg_commons.history, "invitation").register("fondatrice", PASSWORD)
    assert founder.role == "admin"
    invited = Members(accounts, pg_commons.history, "invitation")
    code = invited.invite(founder)
    with pytest.raises(Forbidden):
        invited.register("sans-code", PASSWORD, invitation="inv_faux")
    assert invited.register("invitee", PASSWORD, invitation=code).role == "contributor"
    with pytest.raises(Forbidden):
        invited.register("seconde", PASSWORD, invitation=code)
    waiting = Members(accounts, pg_commons.history, "approval").register("patiente", PASSWORD)
    assert not waiting.approved and accounts.authenticate("patiente", PASSWORD) is None
    accounts.approve("patiente")
    assert accounts.authenticate("patiente", PASSWORD) is not None
    with pytest.raises(Forbidden):
        Members(accounts, pg_commons.history, "closed").register("refusee", PASSWORD)

    token = accounts.new_token("invitee")
    alias = pg_commons.members.erase(accounts.require("invitee"))
    assert accounts.authenticate("invitee", PASSWORD) is None
    assert accounts.account_for_token(token) is None
    assert pg_commons.members.display_names()["invitee"] == alias
    assert stored(accounts, "SELECT count(*) FROM tokens WHERE user_id = :id",
                  id=accounts.require("invitee").id) == ["0"]


def test_search_misses_are_counted(pg_commons: Commons) -> None:
    for query in ("Chèque énergie", "cheque  ENERGIE", "tarif social"):
        pg_commons.misses.record(query)
    top = pg_commons.misses.top()
    assert [(m.count, m.query) for m in top][:1] == [(2, "Chèque énergie")]
    assert len(top) == 2


def test_web_app_on_postgresql(pg_commons: Commons, pg_url: str) -> None:
    app = create_app({"data_dir": pg_commons.settings.data_dir, "database_url": pg_url})
    app.config["TESTING"] = True
    try:
        services: Commons = app.extensions["commons"]
        assert services.accounts.engine.dialect.name == "postgresql"
        services.accounts.add("alice", PASSWORD, role="contributor")
        token = services.accounts.new_token("alice")
        client = app.test_client()
        saved = client.put("/-/api/v1/pages/guides/pg", headers={"Authorization": f"Bearer {token}"},
                           json={"markdown": "# Sur PostgreSQL\n", "summary": "", "base_rev": None})
        assert saved.status_code == 201, saved.get_data(as_text=True)
        assert client.put("/-/api/v1/pages/guides/pg", headers={"Authorization": "Bearer cmn_faux"},
                          json={"markdown": "# Non\n", "summary": "", "base_rev": None}).status_code == 401
        login(client, "alice")
        assert client.get("/guides/pg").status_code == 200
        assert client.get("/-/api/v1/pages/guides/pg/history").get_json()["revisions"][0]["author"] == "alice"
        assert services.check() == []
    finally:
        app.extensions["commons"].close()
