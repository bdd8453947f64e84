"""AccountService on a real SQLite file: accounts, roles, passwords and personal API tokens."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from commons.accounts import ROLES, AccountService, validate_username
from commons.errors import BadRequest, ConfigError, Conflict, NotFound

PASSWORD = "correct horse battery"
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # keeps the suite fast; the same algorithm


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "commons.db"


@pytest.fixture
def db_url(db_file: Path) -> str:
    """The database of ``accounts`` (test_postgres.py gives its own, to run some of these tests there again)."""
    return f"sqlite:///{db_file}"


@pytest.fixture
def accounts(db_url: str) -> Iterator[AccountService]:
    service = AccountService(db_url, CHEAP)
    service.create_schema()
    yield service
    service.close()


def db_bytes(db_file: Path) -> bytes:
    """Everything SQLite wrote: the database file and its write-ahead log."""
    return b"".join(p.read_bytes() for p in db_file.parent.glob(db_file.name + "*"))


def test_first_account_is_admin_then_contributors(accounts: AccountService) -> None:
    first = accounts.add("Alice", PASSWORD)
    assert first.username == "alice" and first.role == "admin" and not first.blocked
    second = accounts.add("bob", PASSWORD)
    assert second.role == "contributor"
    reader = accounts.add("carol", PASSWORD, role="reader", display_name="Carole Dupré")
    assert reader.role == "reader" and reader.display_name == "Carole Dupré"
    assert accounts.count() == 3
    assert accounts.by_name("ALICE ") == first
    assert accounts.get(second.id) == second
    assert accounts.get(9999) is None
    assert accounts.by_name("nobody") is None


def test_explicit_role_for_the_first_account(accounts: AccountService) -> None:
    assert accounts.add("alice", PASSWORD, role="contributor").role == "contributor"


def test_dates_are_timezone_aware(accounts: AccountService) -> None:
    before = datetime.now(UTC)
    created = accounts.add("alice", PASSWORD)
    read_back = accounts.require("alice")
    assert read_back.created.tzinfo is not None
    assert abs(read_back.created - before) < timedelta(minutes=1)
    assert read_back.created == created.created


def test_duplicate_name_is_a_conflict(accounts: AccountService) -> None:
    accounts.add("alice", PASSWORD)
    with pytest.raises(Conflict) as caught:
        accounts.add(" Alice", "another password")
    assert caught.value.status == 409
    assert accounts.count() == 1
    assert accounts.authenticate("alice", PASSWORD) is not None


@pytest.mark.parametrize("name", ["", "a", "-alice", "_alice", "al ice", "alice!", "élodie", "a" * 33, "a/b",
                                  "../x", "al\nce", "al\0ce"])
def test_invalid_names(accounts: AccountService, name: str) -> None:
    with pytest.raises(BadRequest):
        accounts.add(name, PASSWORD)
    assert accounts.count() == 0


@pytest.mark.parametrize("name", ["al", "alice", "jean-paul", "x_1", "a" * 32, "2pac"])
def test_valid_names(name: str) -> None:
    assert validate_username(name) == name


@pytest.mark.parametrize("password", ["", "short", "1234567", "a" * 1025, "nul\0password", None])
def test_bad_passwords_are_refused(accounts: AccountService, password: object) -> None:
    with pytest.raises(BadRequest):
        accounts.add("alice", password)  # type: ignore[arg-type]
    assert accounts.count() == 0


def test_unknown_role_is_refused(accounts: AccountService) -> None:
    with pytest.raises(BadRequest):
        accounts.add("alice", PASSWORD, role="god")
    accounts.add("alice", PASSWORD)
    with pytest.raises(BadRequest):
        accounts.set_role("alice", "superuser")
    assert accounts.require("alice").role == "admin"


def test_authenticate(accounts: AccountService) -> None:
    alice = accounts.add("alice", PASSWORD)
    assert accounts.authenticate("alice", PASSWORD) == alice
    assert accounts.authenticate(" ALICE", PASSWORD) == alice
    assert accounts.authenticate("alice", "wrong password") is None
    assert accounts.authenticate("alice", PASSWORD.upper()) is None
    assert accounts.authenticate("nobody", PASSWORD) is None
    assert accounts.authenticate("alice", "") is None


def test_blocked_accounts_cannot_log_in_and_can_be_unblocked(accounts: AccountService) -> None:
    accounts.add("alice", PASSWORD)
    blocked = accounts.set_blocked("alice")
    assert blocked.blocked and not blocked.has_role("reader")
    assert accounts.authenticate("alice", PASSWORD) is None
    accounts.set_blocked("alice", False)
    assert accounts.authenticate("alice", PASSWORD) is not None


def test_changes_to_unknown_accounts_are_not_found(accounts: AccountService) -> None:
    with pytest.raises(NotFound):
        accounts.set_role("nobody", "admin")
    with pytest.raises(NotFound):
        accounts.set_blocked("nobody")
    with pytest.raises(NotFound):
        accounts.new_token("nobody")
    with pytest.raises(NotFound):
        accounts.require("nobody")


def test_password_is_stored_hashed(accounts: AccountService, db_file: Path) -> None:
    accounts.add("alice", PASSWORD)
    accounts.close()
    stored = db_bytes(db_file)
    assert b"alice" in stored
    assert PASSWORD.encode() not in stored
    assert b"$argon2id$" in stored


def test_old_hash_parameters_are_upgraded_on_login(db_file: Path) -> None:
    weak = AccountService(f"sqlite:///{db_file}", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    weak.create_schema()
    weak.add("alice", PASSWORD)
    weak.close()
    stronger = AccountService(f"sqlite:///{db_file}", PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1))
    try:
        assert stronger.authenticate("alice", PASSWORD) is not None
        assert stronger.authenticate("alice", PASSWORD) is not None
    finally:
        stronger.close()
    assert b"m=2048,t=2" in db_bytes(db_file)


def test_roles_ordering(accounts: AccountService) -> None:
    assert ROLES == ("reader", "contributor", "maintainer", "admin")
    for index, role in enumerate(ROLES):
        account = accounts.add(f"user-{role}", PASSWORD, role=role)
        assert [account.has_role(r) for r in ROLES] == [i <= index for i in range(len(ROLES))]
    promoted = accounts.set_role("user-reader", "maintainer")
    assert promoted.has_role("contributor") and promoted.has_role("maintainer") and not promoted.has_role("admin")


def test_tokens_are_shown_once_and_stored_as_digests(accounts: AccountService, db_file: Path) -> None:
    alice = accounts.add("alice", PASSWORD)
    token = accounts.new_token("alice", "script de sauvegarde")
    other = accounts.new_token("alice")
    assert token.startswith("cmn_") and len(token) > 40 and token != other
    assert accounts.account_for_token(token) == alice
    accounts.close()
    stored = db_bytes(db_file)
    assert token.encode() not in stored and token[4:].encode() not in stored
    assert other.encode() not in stored
    listed = accounts.tokens(alice.id)
    assert [t.name for t in listed] == ["script de sauvegarde", "jeton"]


def test_account_for_token_records_last_use(accounts: AccountService) -> None:
    alice = accounts.add("alice", PASSWORD)
    token = accounts.new_token("alice")
    (info,) = accounts.tokens(alice.id)
    assert info.last_used is None
    before = datetime.now(UTC)
    assert accounts.account_for_token(token) == alice
    (info,) = accounts.tokens(alice.id)
    assert info.last_used is not None and info.last_used.tzinfo is not None
    assert info.last_used >= before - timedelta(seconds=1)
    assert info.created.tzinfo is not None


@pytest.mark.parametrize("bad", ["", "cmn_", "cmn_nope", "Bearer cmn_x", "x" * 300, "cmn_" + "a" * 300])
def test_unknown_tokens(accounts: AccountService, bad: str) -> None:
    accounts.add("alice", PASSWORD)
    accounts.new_token("alice")
    assert accounts.account_for_token(bad) is None


def test_revoked_token_no_longer_works(accounts: AccountService) -> None:
    alice = accounts.add("alice", PASSWORD)
    bob = accounts.add("bob", PASSWORD)
    token = accounts.new_token("alice")
    kept = accounts.new_token("alice")
    (first, _) = accounts.tokens(alice.id)
    with pytest.raises(NotFound):
        accounts.revoke_token(bob.id, first.id)  # not bob's token
    assert accounts.account_for_token(token) == alice
    accounts.revoke_token(alice.id, first.id)
    assert accounts.account_for_token(token) is None
    assert accounts.account_for_token(kept) == alice
    with pytest.raises(NotFound):
        accounts.revoke_token(alice.id, first.id)


def test_blocked_account_tokens_stop_working(accounts: AccountService) -> None:
    accounts.add("alice", PASSWORD)
    token = accounts.new_token("alice")
    accounts.set_blocked("alice")
    assert accounts.account_for_token(token) is None
    accounts.set_blocked("alice", False)
    assert accounts.account_for_token(token) is not None


@pytest.mark.parametrize("url", ["garbage", "nosuchdriver://x/y"])
def test_unusable_database_url_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError):
        AccountService(url)


def test_accounts_survive_a_new_service(db_url: str, accounts: AccountService) -> None:
    accounts.add("alice", PASSWORD)
    token = accounts.new_token("alice")
    again = AccountService(db_url, CHEAP)
    try:
        again.create_schema()
        assert again.authenticate("alice", PASSWORD) is not None
        assert again.account_for_token(token) is not None
    finally:
        again.close()
