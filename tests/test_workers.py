"""``commons serve --workers 2``: two worker processes on one data directory, four writers at once over HTTP.

With gunicorn installed (the ``serve`` extra, part of the ``test`` extra) these are two real worker processes
sharing the write lock, the git repository and the derived stores; without it, waitress threads in one process.
Every acknowledged save must be in git with its text, every edit searchable afterwards, ``git fsck`` clean and
no answer a 500.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request
from serving import (
    call,
    children,
    commons_cli,
    fsck,
    git,
    make_writers,
    open_data,
    search_paths,
    start_server,
    stop_server,
    text_at,
)

from commons.pages import identity_for
from commons.wsgi import gunicorn_available

WRITERS = 4
OWN_SAVES = 8
SHARED_SAVES = 5
SHARED = "travail/commun"


def word(n: int, i: int) -> str:
    """A word found in no other edit: letters only, so the analyzer keeps it whole."""
    return "jalon" + "".join("bcdfghjklm"[int(d)] for d in f"{n}{i:02d}") + "quiz"


def test_two_workers_and_four_writers_lose_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    tokens = make_writers(data, WRITERS)
    services = open_data(data)
    try:
        services.pages.save(SHARED, "# Commun\n\nPage de départ.\n", "Départ", None, identity_for("writer0"))
    finally:
        services.close()
    server = start_server(data, tmp_path / "server.log", "--workers", "2")
    acknowledged: list[tuple[str, str, str]] = []  # (rev, path, text) of every 200/201
    statuses: list[int] = []
    conflicts: list[int] = []
    failures: list[str] = []
    lock = threading.Lock()
    api = server.url + "/-/api/v1/pages/"

    def put(n: int, path: str, text: str, base: str | None) -> tuple[int, dict[str, Any]]:
        status, body = call("PUT", api + path, {"markdown": text, "summary": f"writer{n}", "base_rev": base},
                            tokens[n])
        with lock:
            statuses.append(status)
        return status, body

    def save_shared(n: int, i: int) -> None:
        text = f"# Commun\n\nfil {n} : {word(n, 50 + i)}\n"
        status, body = call("GET", api + SHARED)
        assert status == 200, body
        base = body["rev"]
        for _attempt in range(100):
            status, body = put(n, SHARED, text, base)
            if status == 409:  # someone saved first: start again from the current revision
                with lock:
                    conflicts.append(n)
                base = body["current_rev"]
                continue
            assert status == 200 and not body["merged"], (status, body)
            with lock:
                acknowledged.append((body["rev"], SHARED, text))
            return
        raise AssertionError("no save after 100 conflicts")

    def work(n: int) -> None:
        try:
            path, lines, base = f"travail/page-{n}", [], None
            for i in range(OWN_SAVES):
                lines.append(f"Étape {i} : {word(n, i)}.")
                text = f"# Page {n}\n\n" + "\n\n".join(lines) + "\n"
                status, body = put(n, path, text, base)
                assert status == (201 if base is None else 200), (status, body)
                base = body["rev"]
                with lock:
                    acknowledged.append((base, path, text))
                if i < SHARED_SAVES:
                    save_shared(n, i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(f"writer{n}: {exc!r}")

    try:
        banner = server.output.splitlines()[0]
        if gunicorn_available():
            assert "gunicorn, 2 processus" in banner, banner
            deadline = time.monotonic() + 30
            while len(children(server.process.pid)) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert len(children(server.process.pid)) == 2, server.output
        else:
            assert "waitress, 8 fils" in banner, banner
        threads = [threading.Thread(target=work, args=(n,)) for n in range(WRITERS)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(t.is_alive() for t in threads), "a writer is stuck"
        elapsed = time.monotonic() - started
        assert not failures, failures
        assert 500 not in statuses and set(statuses) <= {200, 201, 409}, statuses
        assert len(acknowledged) == WRITERS * (OWN_SAVES + SHARED_SAVES)
        print(f"{len(acknowledged)} saves acknowledged, {len(conflicts)} conflicts retried, {elapsed:.1f} s")

        # No lost edit: each acknowledged commit is on the branch with the text that was sent, one commit each.
        revs = [rev for rev, _, _ in acknowledged]
        assert len(set(revs)) == len(revs)
        on_branch = set(git(data, "rev-list", "main").split())
        assert set(revs) <= on_branch
        assert len(on_branch) == 1 + len(acknowledged)
        assert git(data, "rev-list", "--merges", "main").strip() == ""
        for rev, path, text in acknowledged:
            assert text_at(data, rev, path) == text, (rev, path)
        clean, said = fsck(data)
        assert clean, said

        # Every edit is searchable (own pages keep every line); the shared page holds the last saved text.
        for n in range(WRITERS):
            for i in range(OWN_SAVES):
                assert f"travail/page-{n}" in search_paths(server.url, word(n, i)), word(n, i)
        status, current = call("GET", api + SHARED)
        assert status == 200
        head = git(data, "rev-parse", "main").strip()
        last_shared = [t for r, p, t in acknowledged if p == SHARED and r == current["rev"]]
        assert last_shared == [current["markdown"]]
        last_word = current["markdown"].split(" : ")[-1].strip()
        for _ in range(4):  # asked several times: both workers answer with the same, current index
            assert SHARED in search_paths(server.url, last_word)
        status, history = call("GET", api + SHARED + "/history?limit=500")
        assert status == 200 and len(history["revisions"]) == 1 + WRITERS * SHARED_SAVES
        assert history["revisions"][0]["rev"] == current["rev"]
        checked = commons_cli(data, "check")
        assert checked.returncode == 0, checked.stderr
        assert head[:12] in checked.stdout or head in checked.stdout
    finally:
        stop_server(server)
    log = server.output
    assert "Traceback" not in log and "[ERROR]" not in log, log


def test_without_gunicorn_workers_become_waitress_threads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    import waitress

    import commons.wsgi
    from commons.cli import main

    open_data(tmp_path / "data").close()
    served: dict[str, Any] = {}

    def fake_serve(app: Flask, **options: Any) -> None:
        served.update(options, app=app)

    monkeypatch.setattr(waitress, "serve", fake_serve)
    monkeypatch.setattr(commons.wsgi, "gunicorn_available", lambda: False)
    assert main(["--data", str(tmp_path / "data"), "serve", "--workers", "3", "--port", "8123", "--proxies", "1"]) == 0
    assert served["threads"] == 12 and served["port"] == 8123
    app = served["app"]
    app.add_url_rule("/-/echo", "echo", lambda: f"{request.remote_addr} {request.scheme}")
    seen = app.test_client().get("/-/echo", headers={"X-Forwarded-For": "203.0.113.7, 198.51.100.2",
                                                       "X-Forwarded-Proto": "https"})
    assert seen.get_data(as_text=True) == "198.51.100.2 https"  # only the nearest proxy's word is taken
    app.extensions["commons"].close()
    out = capsys.readouterr().out
    assert "(waitress, 12 fils ; gunicorn absent" in out, out
    assert main(["--data", str(tmp_path / "data"), "serve", "--workers", "0"]) == 1
    assert "--workers" in capsys.readouterr().err


def test_wsgi_module_builds_the_app_from_commons_data_on_first_use(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import commons.wsgi

    open_data(tmp_path / "data").close()
    monkeypatch.setenv("COMMONS_DATA", str(tmp_path / "data"))
    commons.wsgi._shared.cache_clear()
    try:
        app = commons.wsgi.app
        assert commons.wsgi.application is app
        assert app.extensions["commons"].settings.data_dir == (tmp_path / "data").resolve()
        assert app.test_client().get("/-/api/v1/pages").status_code == 200
        with pytest.raises(AttributeError):
            commons.wsgi.nothing  # noqa: B018
    finally:
        if commons.wsgi._shared.cache_info().currsize:
            commons.wsgi._shared().extensions["commons"].close()
        commons.wsgi._shared.cache_clear()
