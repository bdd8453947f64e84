"""Helpers for tests that run a real server: a ``commons serve`` process (start, poll, stop), or the app served by
waitress in a thread of the test; HTTP calls and git checks."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from waitress import create_server

from commons.config import load_settings
from commons.services import Commons, open_commons

PASSWORD = "correct horse battery"
FAST_PASSWORDS = {"password_time_cost": 1, "password_memory_kib": 8192}


def server_env(**extra: str) -> dict[str, str]:
    """The environment of a server subprocess: no COMMONS_* from the caller, cheap password hashes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMONS_")}
    env.update(COMMONS_PASSWORD_TIME_COST="1", COMMONS_PASSWORD_MEMORY_KIB="8192", **extra)
    return env


def commons_cli(data: Path, *args: str, timeout: float = 120, env: dict[str, str] | None = None,
                input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m commons --data DATA ARGS`` (``input`` on stdin) and return what it did (any exit status)."""
    return subprocess.run([sys.executable, "-m", "commons", "--data", str(data), *args], input=input,
                          capture_output=True, text=True, env=server_env(**(env or {})), timeout=timeout)


def open_data(data: Path) -> Commons:
    """The commons in ``data`` as plain services (created if missing)."""
    services = open_commons(load_settings(data, FAST_PASSWORDS, environ={}))
    if not services.initialised():
        services.init()
    return services


def make_writers(data: Path, count: int) -> list[str]:
    """``count`` contributor accounts ``writer0``... in ``data``; returns one API token for each."""
    services = open_data(data)
    try:
        tokens = []
        for n in range(count):
            services.accounts.add(f"writer{n}", PASSWORD, role="contributor")
            tokens.append(services.accounts.new_token(f"writer{n}"))
        return tokens
    finally:
        services.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fetch(method: str, url: str, body: Any = None, token: str | None = None,
          timeout: float = 30) -> tuple[int, str, dict[str, str]]:
    """One HTTP request (``body`` sent as JSON); returns (status, text, headers) for success and error statuses alike.

    Connection failures (a killed server) raise :class:`OSError`.
    """
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - our own local server
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - our own local server
            return resp.status, resp.read().decode("utf-8"), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace"), dict(exc.headers)


def call(method: str, url: str, body: Any = None, token: str | None = None,
         timeout: float = 30) -> tuple[int, dict[str, Any]]:
    """One JSON request; returns (status, decoded body) for success and error statuses alike (see :func:`fetch`)."""
    status, text, _ = fetch(method, url, body, token, timeout)
    try:
        return status, json.loads(text) if text else {}
    except ValueError:
        return status, {"raw": text}


def search_paths(url: str, words: str) -> set[str]:
    """Paths of the pages the API's search finds for ``words``."""
    status, body = call("GET", f"{url}/-/api/v1/search?" + urllib.parse.urlencode({"q": words, "limit": 100}))
    assert status == 200, body
    return {hit["path"] for hit in body["results"]}


@dataclass
class Server:
    """A ``commons serve`` subprocess in its own process group."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_server(data: Path, log: Path, *serve_args: str, timeout: float = 60,
                 env: dict[str, str] | None = None) -> Server:
    """Start ``commons serve`` on a free port of 127.0.0.1 and wait until it answers (``env``: more variables)."""
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "commons", "--data", str(data), "serve", "--host", "127.0.0.1",
             "--port", str(port), *serve_args],
            stdout=out, stderr=subprocess.STDOUT, env=server_env(**(env or {})), start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"the server exited with {process.returncode}: {server.output}")
            try:
                with urllib.request.urlopen(server.url + "/-/api/v1/pages", timeout=2):  # noqa: S310
                    return server
            except urllib.error.HTTPError:
                return server
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"the server did not answer within {timeout}s: {server.output}")
    except BaseException:
        stop_server(server)
        raise


def stop_server(server: Server, kill: bool = False) -> None:
    """Stop the server and every process of its group (gunicorn's workers too); SIGKILL when ``kill``."""
    process = server.process
    if process.poll() is None and not kill:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


@contextmanager
def serve_in_thread(app: Flask) -> Iterator[str]:
    """Serve ``app`` with waitress (4 threads) on a free port of 127.0.0.1 in this process; yields its base URL."""
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        thread.join(5)


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def git(data: Path, *args: str, check: bool = True) -> str:
    """Run git on the commons' bare repository; returns stdout."""
    done = subprocess.run(["git", f"--git-dir={data / 'repo.git'}", *args], capture_output=True, text=True,
                          check=check)
    return done.stdout


def text_at(data: Path, rev: str, path: str) -> str | None:
    """The text of page ``path`` at commit ``rev``, read by git itself, or ``None``."""
    done = subprocess.run(["git", f"--git-dir={data / 'repo.git'}", "cat-file", "blob", f"{rev}:{path}.md"],
                          capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else None


def fsck(data: Path) -> tuple[bool, str]:
    """``git fsck --strict``: (clean, what it said); dangling objects are not errors."""
    done = subprocess.run(["git", f"--git-dir={data / 'repo.git'}", "fsck", "--strict", "--no-progress"],
                          capture_output=True, text=True)
    said = (done.stdout + done.stderr).strip()
    return done.returncode == 0 and "error" not in said.lower(), said
