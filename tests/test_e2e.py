"""End to end: the real command line, a real server on a free port, real HTTP requests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PASSWORD = "correct horse battery"


@dataclass
class Server:
    url: str
    token: str
    data: Path
    process: subprocess.Popen[bytes]
    log: Path


def commons_cmd(data: Path, *args: str, input: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMONS_")}
    done = subprocess.run([sys.executable, "-m", "commons", "--data", str(data), *args], input=input,
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def request(method: str, url: str, body: Any = None, token: str | None = None) -> tuple[int, str, dict[str, str]]:
    """One HTTP request; returns (status, body text, headers) for success and error statuses alike."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - our own local server
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - our own local server
            return resp.status, resp.read().decode("utf-8"), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8"), dict(exc.headers)


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}: {log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310
                return
        except urllib.error.HTTPError:
            return  # it answers, even if with an error status
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"the server did not answer within {timeout}s: {log.read_text(errors='replace')}")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    data = tmp_path / "data"
    assert "6 guides" in commons_cmd(data, "init", "--demo")
    commons_cmd(data, "user", "add", "alice", "--role", "contributor", "--password-stdin", input=PASSWORD + "\n")
    token = commons_cmd(data, "user", "token", "alice").strip()
    port = free_port()
    log = tmp_path / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMONS_")}
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "commons", "--data", str(data), "serve", "--port", str(port)],
                                   stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(url + "/", process, log)
        yield Server(url, token, data, process, log)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def test_read_edit_and_history_over_http(server: Server) -> None:
    status, html, headers = request("GET", server.url + "/")
    assert status == 200
    assert "Bienvenue" in html
    assert headers["Content-Type"].startswith("text/html")

    api = server.url + "/-/api/v1"
    status, body, _ = request("GET", api + "/pages")
    assert status == 200
    assert {p["path"] for p in json.loads(body)["pages"]} >= {"home", "guides/rsa"}

    page = {"markdown": "# Guide de bout en bout\n\nÉcrit par l'API.\n", "summary": "Création via l'API",
            "base_rev": None}
    status, body, _ = request("PUT", api + "/pages/guides/bout-en-bout", page, server.token)
    assert status == 201, body
    created = json.loads(body)
    assert created["path"] == "guides/bout-en-bout" and len(created["rev"]) == 40 and created["merged"] is False

    status, body, _ = request("GET", api + "/pages/guides/bout-en-bout")
    assert status == 200
    got = json.loads(body)
    assert got["markdown"] == page["markdown"]
    assert got["title"] == "Guide de bout en bout"
    assert got["rev"] == created["rev"]

    edit = {"markdown": "# Guide de bout en bout, revu\n\nÉcrit par l'API.\n\nUne suite.\n", "summary": "Suite",
            "base_rev": created["rev"]}
    status, body, _ = request("PUT", api + "/pages/guides/bout-en-bout", edit, server.token)
    assert status == 200, body
    edited = json.loads(body)

    status, body, _ = request("GET", api + "/pages/guides/bout-en-bout/history")
    assert status == 200
    revisions = json.loads(body)["revisions"]
    assert [r["rev"] for r in revisions] == [edited["rev"], created["rev"]]
    assert [r["author"] for r in revisions] == ["alice", "alice"]
    assert [r["summary"] for r in revisions] == ["Suite", "Création via l'API"]

    # An edit of the same line from a stale base gets a 409 with the current text, and nothing changes.
    stale = {"markdown": "# Un autre titre\n\nÉcrit par l'API.\n", "summary": "", "base_rev": created["rev"]}
    status, body, _ = request("PUT", api + "/pages/guides/bout-en-bout", stale, server.token)
    assert status == 409
    conflict = json.loads(body)
    assert conflict["current_rev"] == edited["rev"] and conflict["current_markdown"] == edit["markdown"]

    # No token or a bad token: 401, JSON error.
    status, body, _ = request("PUT", api + "/pages/guides/pirate", page)
    assert status == 401 and json.loads(body)["error"]["code"]
    status, body, _ = request("PUT", api + "/pages/guides/pirate", page, "cmn_faux")
    assert status == 401
    status, _, _ = request("GET", api + "/pages/guides/pirate")
    assert status == 404

    # The rendered page and the git history agree.
    status, html, _ = request("GET", server.url + "/guides/bout-en-bout")
    assert status == 200 and "Guide de bout en bout, revu" in html
    authors = subprocess.run(["git", f"--git-dir={server.data / 'repo.git'}", "log", "-2", "--format=%an <%ae>"],
                             capture_output=True, text=True, check=True).stdout.split("\n")
    assert authors[:2] == ["alice <alice@users.noreply.commons>"] * 2

    # Asked to stop, the server exits and stops answering.
    server.process.terminate()
    server.process.wait(timeout=30)
    assert server.process.returncode is not None
    with pytest.raises(OSError):
        urllib.request.urlopen(server.url + "/", timeout=2)  # noqa: S310
    log = server.log.read_text(errors="replace")
    assert "Traceback" not in log and "ERROR" not in log, log
