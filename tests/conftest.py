"""Shared fixtures: a real commons (git repository, SQLite, derived stores) in a temporary folder."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from commons import create_app
from commons.config import load_settings
from commons.services import Commons, open_commons

# Real argon2id, at a lower cost so that hundreds of logins stay quick (subprocesses inherit it).
os.environ.setdefault("COMMONS_PASSWORD_TIME_COST", "1")
os.environ.setdefault("COMMONS_PASSWORD_MEMORY_KIB", "8192")

FAST_PASSWORDS = {"password_time_cost": 1, "password_memory_kib": 8192}
PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def services(data_dir: Path) -> Iterator[Commons]:
    """An initialised, empty commons as plain services (no Flask)."""
    commons = open_commons(load_settings(data_dir, FAST_PASSWORDS, environ={}))
    commons.init()
    yield commons
    commons.close()


@pytest.fixture
def app(services: Commons) -> Iterator[Flask]:
    """The real app from its factory, on the ``services`` commons' data directory."""
    application = create_app({"data_dir": services.settings.data_dir})
    application.config["TESTING"] = True
    yield application
    application.extensions["commons"].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


MakeApp = Callable[..., Flask]


@pytest.fixture
def make_app(services: Commons) -> Iterator[MakeApp]:
    """Build more apps on the ``services`` data directory, with setting overrides."""
    built: list[Flask] = []

    def build(**overrides: object) -> Flask:
        application = create_app({"data_dir": services.settings.data_dir, **overrides})
        application.config["TESTING"] = True
        built.append(application)
        return application

    yield build
    for application in built:
        application.extensions["commons"].close()


def git_log(services: Commons, fmt: str = "%an <%ae>|%s") -> list[str]:
    """Every commit of the repository, newest first, as ``git log`` prints them."""
    out = subprocess.run(["git", f"--git-dir={services.settings.repo_dir}", "log", "--all", f"--format={fmt}"],
                         capture_output=True, text=True, check=True).stdout
    return out.splitlines()


def add_user(app: Flask, name: str, role: str = "contributor") -> str:
    """Create an account with ``role``; returns its username."""
    app.extensions["commons"].accounts.add(name, PASSWORD, role=role)
    return name


def csrf_token(client: FlaskClient, url: str = "/-/login") -> str:
    """The CSRF token from a form page, as a browser would read it."""
    html = client.get(url).get_data(as_text=True)
    found = _CSRF.search(html)
    assert found, f"no CSRF token in {url}"
    return found.group(1)


def login(client: FlaskClient, name: str, password: str = PASSWORD) -> None:
    """Log in through the real login form (with its CSRF token)."""
    response = client.post("/-/login", data={"username": name, "password": password,
                                             "csrf_token": csrf_token(client)})
    assert response.status_code == 303, response.get_data(as_text=True)


def logged_in(app: Flask, name: str, role: str = "contributor") -> FlaskClient:
    """A new browser, logged in as a new account ``name`` with ``role``."""
    add_user(app, name, role)
    browser = app.test_client()
    login(browser, name)
    return browser


@pytest.fixture
def contributor(app: Flask, client: FlaskClient) -> str:
    """A logged-in contributor named ``alice``."""
    add_user(app, "alice", "contributor")
    login(client, "alice")
    return "alice"


def save(client: FlaskClient, path: str, markdown: str, base_rev: str = "", summary: str = "") -> object:
    """Submit the edit form of ``path`` like a browser (CSRF token from the form itself)."""
    token = csrf_token(client, f"/-/edit/{path}")
    return client.post(f"/-/edit/{path}", data={"markdown": markdown, "summary": summary,
                                                 "base_rev": base_rev, "csrf_token": token})
