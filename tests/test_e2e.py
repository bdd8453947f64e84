"""End to end: the real command line, a real server on a free port, real HTTP requests."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from serving import PASSWORD, Server, commons_cli, fetch, git, start_server, stop_server


def commons_cmd(data: Path, *args: str, input: str | None = None) -> str:
    """``commons --data DATA ARGS``, which must succeed; returns its output."""
    done = commons_cli(data, *args, input=input)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A demo commons made by the command line, with the contributor ``alice``."""
    data = tmp_path / "data"
    assert "6 guides" in commons_cmd(data, "init", "--demo")
    commons_cmd(data, "user", "add", "alice", "--role", "contributor", "--password-stdin", input=PASSWORD + "\n")
    return data


@pytest.fixture
def token(data: Path) -> str:
    """An API token of ``alice``, made by the command line."""
    return commons_cmd(data, "user", "token", "alice").strip()


@pytest.fixture
def server(data: Path, token: str, tmp_path: Path) -> Iterator[Server]:
    """``commons serve`` on a free port, once the commons and alice's token exist."""
    server = start_server(data, tmp_path / "server.log")
    yield server
    stop_server(server)


def test_read_edit_and_history_over_http(server: Server, token: str, data: Path) -> None:
    status, html, headers = fetch("GET", server.url + "/")
    assert status == 200
    assert "Bienvenue" in html
    assert headers["Content-Type"].startswith("text/html")

    api = server.url + "/-/api/v1"
    status, body, _ = fetch("GET", api + "/pages")
    assert status == 200
    assert {p["path"] for p in json.loads(body)["pages"]} >= {"home", "guides/rsa"}

    page = {"markdown": "# Guide de bout en bout\n\nÉcrit par l'API.\n", "summary": "Création via l'API",
            "base_rev": None}
    status, body, _ = fetch("PUT", api + "/pages/guides/bout-en-bout", page, token)
    assert status == 201, body
    created = json.loads(body)
    assert created["path"] == "guides/bout-en-bout" and len(created["rev"]) == 40 and created["merged"] is False

    status, body, _ = fetch("GET", api + "/pages/guides/bout-en-bout")
    assert status == 200
    got = json.loads(body)
    assert got["markdown"] == page["markdown"]
    assert got["title"] == "Guide de bout en bout"
    assert got["rev"] == created["rev"]

    edit = {"markdown": "# Guide de bout en bout, revu\n\nÉcrit par l'API.\n\nUne suite.\n", "summary": "Suite",
            "base_rev": created["rev"]}
    status, body, _ = fetch("PUT", api + "/pages/guides/bout-en-bout", edit, token)
    assert status == 200, body
    edited = json.loads(body)

    status, body, _ = fetch("GET", api + "/pages/guides/bout-en-bout/history")
    assert status == 200
    revisions = json.loads(body)["revisions"]
    assert [r["rev"] for r in revisions] == [edited["rev"], created["rev"]]
    assert [r["author"] for r in revisions] == ["alice", "alice"]
    assert [r["summary"] for r in revisions] == ["Suite", "Création via l'API"]

    # An edit of the same line from a stale base gets a 409 with the current text, and nothing changes.
    stale = {"markdown": "# Un autre titre\n\nÉcrit par l'API.\n", "summary": "", "base_rev": created["rev"]}
    status, body, _ = fetch("PUT", api + "/pages/guides/bout-en-bout", stale, token)
    assert status == 409
    conflict = json.loads(body)
    assert conflict["current_rev"] == edited["rev"] and conflict["current_markdown"] == edit["markdown"]

    # No token or a bad token: 401, JSON error.
    status, body, _ = fetch("PUT", api + "/pages/guides/pirate", page)
    assert status == 401 and json.loads(body)["error"]["code"]
    status, body, _ = fetch("PUT", api + "/pages/guides/pirate", page, "cmn_faux")
    assert status == 401
    status, _, _ = fetch("GET", api + "/pages/guides/pirate")
    assert status == 404

    # The rendered page and the git history agree.
    status, html, _ = fetch("GET", server.url + "/guides/bout-en-bout")
    assert status == 200 and "Guide de bout en bout, revu" in html
    authors = git(data, "log", "-2", "--format=%an <%ae>").split("\n")
    assert authors[:2] == ["alice <alice@users.noreply.commons>"] * 2

    # Asked to stop, the server exits and stops answering.
    server.process.terminate()
    server.process.wait(timeout=30)
    assert server.process.returncode is not None
    with pytest.raises(OSError):
        urllib.request.urlopen(server.url + "/", timeout=2)  # noqa: S310
    log = server.log.read_text(errors="replace")
    assert "Traceback" not in log and "ERROR" not in log, log
