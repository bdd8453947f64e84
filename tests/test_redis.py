"""Rate limits shared through a real Redis server (``COMMONS_TEST_REDIS_URL``, started by ``.ci/run``).

Two applications, as two worker processes or two machines would build them, count failed logins together:
the 11th failure is refused with 429 on either of them. Without a server the tests skip, saying why, unless
``COMMONS_REQUIRE_REDIS=1`` (set by ``.ci/run``) turns the skip into a failure.
"""

from __future__ import annotations

import html
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import PASSWORD, csrf_token
from flask import Flask
from flask.testing import FlaskClient

from commons import create_app
from commons.services import Commons

REDIS_URL = os.environ.get("COMMONS_TEST_REDIS_URL", "")
WHY = ("COMMONS_TEST_REDIS_URL is not set: no Redis server to test against (.ci/run installs and starts one; "
       "locally: redis-server --port 6390 --save '' --daemonize yes, then COMMONS_TEST_REDIS_URL=redis://127.0.0.1:6390/0)")


@pytest.fixture
def redis_url() -> str:
    if not REDIS_URL:
        if os.environ.get("COMMONS_REQUIRE_REDIS") == "1":
            pytest.fail(WHY + " -- and COMMONS_REQUIRE_REDIS=1 requires it")
        pytest.skip(WHY)
    return REDIS_URL


@pytest.fixture
def two_apps(services: Commons, redis_url: str) -> Iterator[tuple[Flask, Flask]]:
    """Two applications on the same commons and the same Redis, each built by its own ``create_app``."""
    apps = tuple(create_app({"data_dir": services.settings.data_dir, "redis_url": redis_url}) for _ in range(2))
    for app in apps:
        app.config["TESTING"] = True
    yield apps[0], apps[1]
    for app in apps:
        app.extensions["commons"].close()


def client_from(app: Flask, address: str) -> FlaskClient:
    """A test client whose requests come from ``address`` (a new one each run: Redis keeps counts 5 minutes)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def try_login(client: FlaskClient, name: str, password: str) -> int:
    return client.post("/-/login", data={"username": name, "password": password,
                                         "csrf_token": csrf_token(client)}).status_code


def random_address() -> str:
    return f"127.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{1 + secrets.randbelow(254)}"


def test_failed_logins_on_two_apps_count_together(two_apps: tuple[Flask, Flask], redis_url: str) -> None:
    first, second = two_apps
    name = f"cible-{secrets.token_hex(4)}"
    first.extensions["commons"].accounts.add(name, PASSWORD)
    address = random_address()
    on_first, on_second = client_from(first, address), client_from(second, address)
    statuses = [try_login(client, name, "mauvais-mot") for client in (on_first, on_second) * 5]
    assert statuses == [401] * 10  # five failures on each: neither app alone reached 10
    assert try_login(on_first, name, "mauvais-mot") == 429
    refused = on_second.post("/-/login", data={"username": name, "password": PASSWORD,
                                               "csrf_token": csrf_token(on_second)})
    assert refused.status_code == 429  # even the right password, on the other app
    assert "Trop d'échecs de connexion" in html.unescape(refused.get_data(as_text=True))
    assert int(refused.headers["Retry-After"]) > 0

    import redis

    stored = redis.Redis.from_url(redis_url).keys(f"*{name}*")
    assert stored, "the counts are not in Redis"


def test_other_accounts_and_addresses_are_not_limited(two_apps: tuple[Flask, Flask]) -> None:
    first, second = two_apps
    name, other = f"cible-{secrets.token_hex(4)}", f"autre-{secrets.token_hex(4)}"
    for username in (name, other):
        first.extensions["commons"].accounts.add(username, PASSWORD)
    address = random_address()
    for client in (client_from(first, address), client_from(second, address)) * 5:
        assert try_login(client, name, "mauvais-mot") == 401
    assert try_login(client_from(second, address), name, "mauvais-mot") == 429
    assert try_login(client_from(second, random_address()), other, PASSWORD) == 303


def test_without_redis_each_app_counts_alone(services: Commons, tmp_path: Path) -> None:
    """The control: in memory (no COMMONS_REDIS_URL), the same ten failures leave both apps answering 401."""
    apps = [create_app({"data_dir": services.settings.data_dir}) for _ in range(2)]
    try:
        name = f"cible-{secrets.token_hex(4)}"
        apps[0].extensions["commons"].accounts.add(name, PASSWORD)
        address = random_address()
        clients = [client_from(app, address) for app in apps]
        assert [try_login(client, name, "mauvais-mot") for client in clients * 5] == [401] * 10
        assert [try_login(client, name, "mauvais-mot") for client in clients] == [401, 401]
    finally:
        for app in apps:
            app.extensions["commons"].close()
