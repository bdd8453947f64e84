"""Faults: a server killed with SIGKILL in the middle of saves, a repository that refuses writes (read-only or
full disk), and damaged or deleted derived stores. Nothing acknowledged is lost, nothing is half-written, and
everything derived comes back from git.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from serving import (
    call,
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

from commons.errors import Unavailable
from commons.pages import identity_for
from commons.services import Commons

ROUNDS = 3  # kill -9, restart, go on writing; again
ACKS_BEFORE_KILL = 10
KILL_DELAYS = (0.0, 0.05, 0.15)  # after the last acknowledgement: the next save is at different stages


def word(i: int) -> str:
    """A word of its own for save ``i`` (letters only, so the analyzer keeps it whole)."""
    return "balise" + "".join("bcdfghjklm"[int(d)] for d in f"{i:03d}") + "quiz"


# -- kill -9 in the middle of a stream of saves ----------------------------------------------------------------


class Stream:
    """A client saving without pause: new pages and edits of one growing journal page; stops when the server dies."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.acknowledged: list[tuple[str, str, str, str]] = []  # (rev, path, text, word) of each 200/201
        self.unexpected: list[tuple[int, Any]] = []
        self.lines: list[str] = []
        self.journal_rev: str | None = None
        self.count = 0
        self.sent = 0

    def run(self, url: str, stop: threading.Event) -> None:
        while not stop.is_set() and self.count < 2000:
            i = self.count
            mark = word(i)
            if i % 2 == 0:
                path, text, base = f"flux/note-{i}", f"# Note {i}\n\nRepère {mark}.\n", None
            else:
                path, base = "flux/journal", self.journal_rev
                text = "# Journal\n\n" + "\n\n".join([*self.lines, f"Entrée {mark}."]) + "\n"
            self.sent += 1
            try:
                status, body = call("PUT", f"{url}/-/api/v1/pages/{path}",
                                    {"markdown": text, "summary": f"enregistrement {i}", "base_rev": base},
                                    self.token, timeout=30)
            except OSError:
                return  # the server is gone: this save is not acknowledged
            self.count += 1
            if status not in (200, 201):
                self.unexpected.append((status, body))
                return
            self.acknowledged.append((body["rev"], path, text, mark))
            if path == "flux/journal":
                self.lines.append(f"Entrée {mark}.")
                self.journal_rev = body["rev"]


def test_kill_9_during_saves_loses_no_acknowledged_save(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (token,) = make_writers(data, 1)
    stream = Stream(token)
    log = tmp_path / "server.log"
    measured: list[str] = []
    server = start_server(data, log)
    try:
        for round_ in range(ROUNDS):
            stop = threading.Event()
            writer = threading.Thread(target=stream.run, args=(server.url, stop))
            before = len(stream.acknowledged)
            writer.start()
            deadline = time.monotonic() + 60
            while len(stream.acknowledged) < before + ACKS_BEFORE_KILL and time.monotonic() < deadline:
                if not writer.is_alive():
                    break
                time.sleep(0.01)
            assert not stream.unexpected, stream.unexpected
            time.sleep(KILL_DELAYS[round_ % len(KILL_DELAYS)])
            in_flight = stream.sent > stream.count
            os.kill(server.process.pid, signal.SIGKILL)  # mid-stream: a save is almost surely in flight
            writer.join(timeout=60)
            stop.set()
            assert not writer.is_alive()
            stop_server(server, kill=True)  # reap the process group (git helpers of the dead server)
            assert not stream.unexpected, stream.unexpected
            on_branch = git(data, "rev-list", "--count", "main").strip()
            measured.append(f"round {round_ + 1}: {len(stream.acknowledged) - before} acknowledged before the kill, "
                            f"a save in flight: {in_flight}, {len(stream.acknowledged)} acknowledged in all, "
                            f"{on_branch} commits on the branch")

            # Restart on the same data directory: no stale lock, a save goes through at once.
            server = start_server(data, log)
            started = time.monotonic()
            status, body = call("PUT", f"{server.url}/-/api/v1/pages/flux/apres-{round_}",
                                {"markdown": f"# Après le redémarrage {round_}\n", "summary": "", "base_rev": None},
                                token, timeout=30)
            took = time.monotonic() - started
            assert status == 201, body
            assert took < 10, f"the first save after restart took {took:.1f} s"
            stream.count = stream.sent  # the save cut by the kill may be in git or not: its number is not reused
            if stream.lines:  # the journal may hold one unacknowledged save: the client starts from the page
                status, current = call("GET", f"{server.url}/-/api/v1/pages/flux/journal")
                assert status == 200
                stream.journal_rev = current["rev"]
                stream.lines = [line.strip() for line in current["markdown"].split("\n\n")[1:] if line.strip()]

        acknowledged = stream.acknowledged
        assert len(acknowledged) >= ROUNDS * ACKS_BEFORE_KILL
        # Every acknowledged save is on the branch with the text that was sent.
        on_branch = set(git(data, "rev-list", "main").split())
        for rev, path, text, _ in acknowledged:
            assert rev in on_branch, (rev, path)
            assert text_at(data, rev, path) == text, (rev, path)
        # At most the one save in flight at each kill was committed without being acknowledged.
        extra = len(on_branch) - len(acknowledged) - ROUNDS
        assert 0 <= extra <= ROUNDS, extra
        measured.append(f"{len(acknowledged)} acknowledged saves all in git; {extra} committed but unacknowledged")
        clean, said = fsck(data)
        assert clean, said
        # The derived stores caught up at start-up: `commons check` passes while the server runs.
        checked = commons_cli(data, "check")
        assert checked.returncode == 0, checked.stderr
        # Search finds every acknowledged text, the last one included.
        for _, path, _, mark in acknowledged[-10:] + acknowledged[:3]:
            assert path in search_paths(server.url, mark), (path, mark)
        status, journal = call("GET", f"{server.url}/-/api/v1/pages/flux/journal")
        assert status == 200
        for _, path, _, mark in acknowledged:
            if path == "flux/journal":
                assert mark in journal["markdown"]
    finally:
        stop_server(server)
    print("; ".join(measured))
    assert "Traceback" not in log.read_text(errors="replace")


# -- a repository that refuses writes ----------------------------------------------------------------------------


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, text=True)


def _mount_refusal() -> str | None:
    """Why read-only mounts cannot be made here (``None`` when they can)."""
    if shutil.which("mount") is None:
        return "no mount command"
    with tempfile.TemporaryDirectory() as probe:
        try:
            _mount("-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", probe)
        except subprocess.CalledProcessError as exc:
            return f"mount refused: {exc.stderr.strip()}"
        subprocess.run(["umount", probe], check=False)
    return None


@pytest.fixture
def mounts() -> Iterator[list[Path]]:
    """Mount points to undo at the end of the test, last first."""
    done: list[Path] = []
    yield done
    for point in reversed(done):
        subprocess.run(["umount", "-l", str(point)], check=False, capture_output=True)


def make_read_only(folder: Path, mounts: list[Path]) -> None:
    """Make ``folder`` refuse writes: a read-only bind mount (root), else permissions (other users)."""
    if os.geteuid() != 0:
        for root, dirs, _ in os.walk(folder):
            for name in dirs:
                os.chmod(Path(root) / name, 0o500)
        os.chmod(folder, 0o500)
        return
    reason = _mount_refusal()
    if reason:
        pytest.skip(f"running as root, where permissions do not stop writes, and {reason}")
    _mount("--bind", str(folder), str(folder))
    mounts.append(folder)
    _mount("-o", "remount,bind,ro", str(folder))


def make_full(folder: Path, mounts: list[Path]) -> None:
    """Put ``folder`` (its current content kept) on a small file system that is then filled up."""
    reason = _mount_refusal()
    if reason:
        pytest.skip(f"a full disk needs a small tmpfs: {reason}")
    saved = folder.with_name(folder.name + ".saved")
    shutil.copytree(folder, saved)
    _mount("-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder))
    mounts.append(folder)
    shutil.copytree(saved, folder, dirs_exist_ok=True)
    shutil.rmtree(saved)
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for chunk in (65536, 4096, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * chunk)
            except OSError:
                pass
    finally:
        os.close(fd)


def undo(folder: Path, mounts: list[Path]) -> None:
    if folder in mounts:
        subprocess.run(["umount", str(folder)], check=True)
        mounts.remove(folder)
    else:
        for root, dirs, _ in os.walk(folder):
            for name in dirs:
                os.chmod(Path(root) / name, 0o700)
        os.chmod(folder, 0o700)


def listing(objects: Path) -> set[str]:
    """The git objects stored: loose objects and packs (git's own temporary files left aside)."""
    return {str(p.relative_to(objects)) for p in objects.rglob("*")
            if p.is_file() and not p.name.startswith("tmp_") and p.name != "filler"}


@pytest.mark.parametrize("fault", ["objects-read-only", "refs-read-only", "objects-disk-full"])
def test_unwritable_repository_answers_503_and_keeps_reading(fault: str, app: Flask, mounts: list[Path]) -> None:
    services: Commons = app.extensions["commons"]
    services.accounts.add("alice", "correct horse battery", role="contributor")
    token = services.accounts.new_token("alice")
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    created = client.put("/-/api/v1/pages/guides/stable", headers=headers,
                         json={"markdown": "# Stable\n\nLe texte tient bon.\n", "summary": "", "base_rev": None})
    assert created.status_code == 201
    rev = created.get_json()["rev"]
    repo = services.store.repo_dir
    folder = repo / ("refs" if fault.startswith("refs") else "objects")
    before = listing(repo / "objects")
    head_before = services.store.head()
    (make_full if fault.endswith("full") else make_read_only)(folder, mounts)

    edit = {"markdown": "# Stable\n\nLe texte change.\n", "summary": "", "base_rev": rev}
    refused = client.put("/-/api/v1/pages/guides/stable", headers=headers, json=edit)
    assert refused.status_code == 503, refused.get_data(as_text=True)
    error = refused.get_json()["error"]
    assert error["code"] == "unavailable"
    expected = {"objects-read-only": "lecture seule", "objects-disk-full": "disque plein",
                "refs-read-only": "branche"}[fault]
    assert "Enregistrement impossible" in error["message"] and expected in error["message"], error
    created_refused = client.put("/-/api/v1/pages/guides/nouvelle", headers=headers,
                                 json={"markdown": "# Nouvelle\n", "summary": "", "base_rev": None})
    assert created_refused.status_code == 503
    if os.geteuid() == 0 or fault.endswith("full"):
        with pytest.raises(Unavailable):  # the write path itself, without HTTP
            services.pages.save("guides/autre", "# Autre\n", None, None, identity_for("alice"))

    # Reads keep working; nothing moved; nothing half-written.
    assert client.get("/guides/stable").status_code == 200
    page = client.get("/-/api/v1/pages/guides/stable").get_json()
    assert page["rev"] == rev and page["markdown"] == "# Stable\n\nLe texte tient bon.\n"
    assert client.get("/-/api/v1/search?q=stable").status_code == 200
    assert client.get("/-/api/v1/pages/guides/stable/history").get_json()["revisions"][0]["rev"] == rev
    assert services.store.head() == head_before
    if fault != "refs-read-only":  # there, objects are written, then the branch refuses to move: dangling only
        assert listing(repo / "objects") == before  # git may leave an empty tmp_obj_* when the disk is full
    undo(folder, mounts)
    clean, said = services.store.fsck()
    assert clean, said
    assert services.check() == []

    # Once the disk accepts writes again, the same save goes through.
    again = client.put("/-/api/v1/pages/guides/stable", headers=headers, json=edit)
    assert again.status_code == 200, again.get_data(as_text=True)
    assert services.store.head() == again.get_json()["rev"] != head_before


# -- damaged or deleted derived stores ----------------------------------------------------------------------------


def build(data: Path) -> None:
    """A commons with demo pages, several authors and edits, a deletion."""
    services = open_data(data)
    try:
        services.add_demo()
        pages = services.pages
        base = None
        for i, who in enumerate(["alice", "bob", "alice", "carol"]):
            text = "# Carnet\n\n" + "\n\n".join(f"Paragraphe {j} écrit pour le carnet." for j in range(i + 1)) + "\n"
            base = pages.save("guides/carnet", text, f"version {i}", base, identity_for(who)).rev
        pages.save("brouillon", "# Brouillon\n\nÀ jeter.\n", None, None, identity_for("bob"))
        pages.delete("brouillon", None, identity_for("bob"))
    finally:
        services.close()


def snapshot(data: Path) -> dict[str, Any]:
    """Everything the derived stores answer: pages, history counts, search hits, credits, links."""
    services = open_data(data)
    try:
        pages = services.pages.list_pages()
        found: dict[str, Any] = {
            "pages": [(p.path, p.rev, p.title, p.blob) for p in pages],
            "recent": [(r.path, r.rev, r.op) for r in services.pages.recent(100)],
        }
        for page in pages:
            found[f"history {page.path}"] = services.pages.revisions(page.path, 500)[1]
            found[f"credits {page.path}"] = services.credits.summary(page.path)
            found[f"links {page.path}"] = (services.links.links_to(page.path), services.links.linked_from(page.path))
            words = page.title.split()[-1]
            hits = services.search.search(words, 100)
            found[f"search {words}"] = (hits.total, sorted(h.path for h in hits.hits))
        return found
    finally:
        services.close()


def _garbage(file: Path) -> None:
    file.write_bytes(os.urandom(8192))


def _truncate(file: Path) -> None:
    with file.open("r+b") as handle:
        handle.truncate(file.stat().st_size // 2)


CORRUPTIONS: dict[str, Callable[[Path], None]] = {
    "search index deleted": lambda cache: shutil.rmtree(cache / "search"),
    "history truncated": lambda cache: _truncate(cache / "history.sqlite"),
    "history emptied": lambda cache: (cache / "history.sqlite").write_bytes(b""),
    "credits and links garbage, search deleted, history truncated": lambda cache: [
        _garbage(cache / "credits.sqlite"), _garbage(cache / "links.sqlite"),
        shutil.rmtree(cache / "search"), _truncate(cache / "history.sqlite")],
}


@pytest.mark.parametrize("damage", list(CORRUPTIONS))
def test_damaged_derived_stores_are_found_and_rebuilt(damage: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    build(data)
    expected = snapshot(data)
    commits = git(data, "rev-list", "--count", "main")

    # `commons check` says what is wrong (non-zero, no traceback); `commons reindex` restores all of it.
    CORRUPTIONS[damage](data / "cache")
    checked = commons_cli(data, "check")
    assert checked.returncode == 1 and checked.stderr.strip(), checked
    assert "Traceback" not in checked.stderr, checked.stderr
    rebuilt = commons_cli(data, "reindex")
    assert rebuilt.returncode == 0, rebuilt.stderr
    checked = commons_cli(data, "check")
    assert checked.returncode == 0, checked.stderr
    assert snapshot(data) == expected

    # The same damage met at start-up: the app rebuilds before serving.
    CORRUPTIONS[damage](data / "cache")
    monkeypatch.setenv("COMMONS_DATA", str(data))
    from commons.wsgi import create

    app = create()
    try:
        services: Commons = app.extensions["commons"]
        assert services.check() == []
        assert app.test_client().get("/guides/carnet").status_code == 200
    finally:
        app.extensions["commons"].close()
    assert snapshot(data) == expected
    assert git(data, "rev-list", "--count", "main") == commits
