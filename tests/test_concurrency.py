"""Many writers at once: every acknowledged save is one commit in git, nothing is lost, the repository stays sound.

Threads share one PageService; two PageService objects on one data directory stand in for two worker
processes; real processes (multiprocessing, spawn) check the lock across processes.
"""

from __future__ import annotations

import multiprocessing
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

from commons.config import load_settings
from commons.errors import Conflict
from commons.pages import PageService, identity_for
from commons.services import Commons, open_commons

THREADS = 8
SAVES = 10


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", f"--git-dir={repo}", *args], capture_output=True, text=True, check=True).stdout


def texts_at(repo: Path, wanted: list[tuple[str, str]]) -> list[str | None]:
    """The content of ``<rev>:<file>`` for each pair, read by git itself (one cat-file run)."""
    listing = "".join(f"{rev}:{name}\n" for rev, name in wanted).encode()
    out = subprocess.run(["git", f"--git-dir={repo}", "cat-file", "--batch"], input=listing, capture_output=True,
                         check=True).stdout
    found: list[str | None] = []
    pos = 0
    for _ in wanted:
        end = out.index(b"\n", pos)
        header = out[pos:end].decode()
        if header.endswith("missing"):
            found.append(None)
            pos = end + 1
            continue
        size = int(header.split()[2])
        found.append(out[end + 1:end + 1 + size].decode("utf-8"))
        pos = end + 1 + size + 1
    return found


def run_threads(count: int, work: Callable[[int], None]) -> None:
    """Start ``count`` threads together on ``work(n)``; re-raise the first failure."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def target(n: int) -> None:
        try:
            barrier.wait()
            work(n)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a writer is stuck"
    if errors:
        raise errors[0]


def save_with_retry(pages: PageService, path: str, text: str, who: str) -> tuple[str, int]:
    """Save like a client that re-reads the page after a conflict; returns (rev, conflicts met)."""
    conflicts = 0
    while True:
        state = pages.state(path)
        try:
            result = pages.save(path, text, f"{who} : {text.strip()}", state.rev if state else None, identity_for(who))
        except Conflict:
            conflicts += 1
            continue
        assert result.changed
        return result.rev, conflicts


def assert_all_there(services: Commons, acknowledged: list[tuple[str, str, str]], commits_before: int) -> None:
    """Each (rev, path, text) is in git with that text, one commit per save, fsck clean, derived stores current."""
    repo = services.store.repo_dir
    revs = [rev for rev, _, _ in acknowledged]
    assert len(set(revs)) == len(revs), "two saves acknowledged with the same commit"
    assert texts_at(repo, [(rev, f"{path}.md") for rev, path, _ in acknowledged]) == [t for _, _, t in acknowledged]
    total = int(git(repo, "rev-list", "--count", "main").strip())
    assert total == commits_before + len(acknowledged)
    in_history = set(git(repo, "rev-list", "main").split())
    assert set(revs) <= in_history
    # A straight line: every commit has one parent (no lost branch tips, no merges).
    assert int(git(repo, "rev-list", "--count", "--merges", "main").strip()) == 0
    clean, said = services.store.fsck()
    assert clean, said
    services.pages.catch_up()
    assert services.check() == []
    for path in {p for _, p, _ in acknowledged}:
        mine = [rev for rev, p, _ in acknowledged if p == path]
        listed, _ = services.pages.revisions(path, 500)
        assert set(mine) <= {r.rev for r in listed}


def test_threads_saving_the_same_page(services: Commons) -> None:
    pages = services.pages
    pages.save("guides/commun", "# Page commune\n", None, None, identity_for("alice"))
    acknowledged: list[tuple[str, str, str]] = []
    conflicts: list[int] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        for i in range(SAVES):
            text = f"# Page commune\n\nfil {n}, enregistrement {i}\n"
            rev, met = save_with_retry(pages, "guides/commun", text, f"user{n}")
            with lock:
                acknowledged.append((rev, "guides/commun", text))
                conflicts.append(met)

    run_threads(THREADS, work)
    assert len(acknowledged) == THREADS * SAVES
    assert_all_there(services, acknowledged, commits_before=1)
    _, total = pages.revisions("guides/commun")
    assert total == THREADS * SAVES + 1
    # The page ends with the text of the last acknowledged save in commit order.
    last = git(services.store.repo_dir, "rev-parse", "main").strip()
    assert pages.get("guides/commun").rev == last
    assert {a for a, _, _ in acknowledged} | {pages.revisions("guides/commun", 500)[0][-1].rev} == set(
        git(services.store.repo_dir, "rev-list", "main").split())


def test_threads_saving_different_pages(services: Commons) -> None:
    pages = services.pages
    acknowledged: list[tuple[str, str, str]] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        base = None
        for i in range(SAVES):
            text = f"# Page {n}\n\nversion {i}\n"
            result = pages.save(f"fils/page-{n}", text, None, base, identity_for(f"user{n}"))
            base = result.rev
            with lock:
                acknowledged.append((result.rev, f"fils/page-{n}", text))

    run_threads(THREADS, work)
    assert_all_there(services, acknowledged, commits_before=0)
    assert [p.path for p in pages.list_pages()] == sorted(f"fils/page-{n}" for n in range(THREADS))
    for n in range(THREADS):
        assert pages.get(f"fils/page-{n}").markdown == f"# Page {n}\n\nversion {SAVES - 1}\n"
        assert pages.revisions(f"fils/page-{n}")[1] == SAVES


def test_two_services_on_one_data_directory(services: Commons) -> None:
    """Two PageService objects (as two worker processes would have) writing at once lose nothing."""
    other = open_commons(load_settings(services.settings.data_dir, environ={}))
    try:
        services.pages.save("commun", "# Commun\n", None, None, identity_for("alice"))
        acknowledged: list[tuple[str, str, str]] = []
        lock = threading.Lock()

        def work(n: int) -> None:
            pages = (services if n % 2 else other).pages
            for i in range(SAVES // 2):
                shared = f"# Commun\n\nfil {n}, enregistrement {i}\n"
                rev, _ = save_with_retry(pages, "commun", shared, f"user{n}")
                own = f"# Page {n}\n\nversion {i}\n"
                state = pages.state(f"propre-{n}")
                mine = pages.save(f"propre-{n}", own, None, state.rev if state else None, identity_for(f"user{n}"))
                with lock:
                    acknowledged.append((rev, "commun", shared))
                    acknowledged.append((mine.rev, f"propre-{n}", own))

        run_threads(4, work)
        assert len(acknowledged) == 4 * (SAVES // 2) * 2
        assert_all_there(services, acknowledged, commits_before=1)
        other.pages.catch_up()
        assert other.check() == []
        assert [p.rev for p in other.pages.list_pages()] == [p.rev for p in services.pages.list_pages()]
    finally:
        other.close()


def _process_saves(data_dir: str, n: int, saves: int, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """In a child process: a fresh commons object, ``saves`` edits of its own page."""
    services = open_commons(load_settings(data_dir, environ={}))
    done = []
    try:
        base = None
        for i in range(saves):
            text = f"# Processus {n}\n\nversion {i}\n"
            result = services.pages.save(f"processus-{n}", text, None, base, identity_for(f"proc{n}"))
            base = result.rev
            done.append((result.rev, f"processus-{n}", text))
    finally:
        services.close()
        results.put(done)


def test_processes_saving_at_once(services: Commons) -> None:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    procs = [context.Process(target=_process_saves, args=(str(services.settings.data_dir), n, SAVES, results))
             for n in range(2)]
    for proc in procs:
        proc.start()
    acknowledged: list[tuple[str, str, str]] = []
    for _ in procs:
        acknowledged += results.get(timeout=120)
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    assert len(acknowledged) == 2 * SAVES
    assert_all_there(services, acknowledged, commits_before=0)
    assert sorted(p.path for p in services.pages.list_pages()) == ["processus-0", "processus-1"]
