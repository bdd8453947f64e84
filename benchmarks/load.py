#!/usr/bin/env python3
"""Load test: readers and writers at once against a Commons server on 127.0.0.1 (a script, not a test).

    .venv/bin/python benchmarks/load.py DATA_DIR [--workers 2] [--seconds 60] [--readers 20] [--writers 2]
    .venv/bin/python benchmarks/load.py --url http://127.0.0.1:8000 --token cmn_... --token cmn_... [--pid PID]

With DATA_DIR it starts ``commons serve --workers N`` (gunicorn when installed) on a free port of 127.0.0.1,
creates one contributor account and token per writer (``load-1``, ``load-2``...), and stops the server at the
end. Saves add commits to DATA_DIR: run it on a copy. With ``--url`` it uses a running server (loopback only).

- Readers loop over page views, page histories, searches and recent changes (web pages, as a browser asks).
- Writers read a page through the API, append a line, and save it with its ``base_rev``; a 409 (someone
  saved in between and the texts cannot be merged) is retried from a fresh read, 3 times at most.
  They share a small set of pages, so that saves meet each other.

Prints, per kind of request: count, throughput, p50, p95 and max; the failed requests (any 5xx, timeout
or connection error) and other unexpected answers; the memory of the server processes (VmRSS now and
VmHWM, the peak, from /proc/PID/status) and their CPU time; the load average of the machine before and after.
The server's rate limits are off unless ``--keep-limits`` (two writers pass 120 saves a minute each).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
READS = (("view", 50), ("history", 20), ("search", 20), ("recent", 10))  # kind, weight in percent
WRITE_PAGES = 20  # pages shared by the writers
RETRIES = 3
TIMEOUT = 30.0
LOOPBACK = ("127.", "localhost", "::1", "[::1]")
SEED = 20261129


@dataclass
class Tally:
    """Every answer of the run, by kind (thread-safe)."""

    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    unexpected: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    conflicts: int = 0
    given_up: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float, status: int, expected: tuple[int, ...] = (200,)) -> None:
        with self.lock:
            self.times[kind].append(seconds)
            if status >= 500 or status == 0:
                self.failed[f"{kind} {status or 'connection'}"] += 1
            elif status not in expected:
                self.unexpected[f"{kind} {status}"] += 1


class Client:
    """One keep-alive HTTP connection to the server (one per thread); reconnects after an error."""

    def __init__(self, base: str, token: str | None = None) -> None:
        parts = urllib.parse.urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes, float]:
        """(status, body, seconds); status 0 for a connection error or a timeout."""
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        start = time.perf_counter()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
            payload = response.read()
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            return response.status, payload, time.perf_counter() - start
        except (OSError, http.client.HTTPException):
            self.close()
            return 0, b"", time.perf_counter() - start

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def quote(path: str) -> str:
    return urllib.parse.quote(path, safe="/")


def reader(base: str, pages: list[str], words: list[str], deadline: float, tally: Tally, seed: int) -> None:
    """Web reads until ``deadline``: page views, histories, searches and recent changes."""
    rng = random.Random(seed)
    client = Client(base)
    kinds = [kind for kind, weight in READS for _ in range(weight)]
    while time.monotonic() < deadline:
        kind = rng.choice(kinds)
        page = rng.choice(pages)
        url = {"view": f"/{quote(page)}", "history": f"/-/history/{quote(page)}",
               "search": "/-/search?q=" + urllib.parse.quote(" ".join(rng.sample(words, rng.choice((1, 2))))),
               "recent": "/-/recent"}[kind]
        status, _, seconds = client.request("GET", url)
        tally.add(kind, seconds, status)
    client.close()


def writer(base: str, token: str, number: int, pages: list[str], deadline: float, tally: Tally) -> None:
    """API saves until ``deadline``: read, append a line, save with base_rev; retry a 409 from a fresh read."""
    rng = random.Random(SEED + number)
    client = Client(base, token)
    count = 0
    while time.monotonic() < deadline:
        page = rng.choice(pages)
        count += 1
        for attempt in range(RETRIES + 1):
            status, body, seconds = client.request("GET", f"/-/api/v1/pages/{quote(page)}")
            tally.add("api read", seconds, status)
            if status != 200:
                break
            current = json.loads(body)
            text = current["markdown"].rstrip("\n") + f"\n\nAjout n°{count} de l'écrivain {number}.\n"
            status, _, seconds = client.request("PUT", f"/-/api/v1/pages/{quote(page)}",
                                                {"markdown": text, "summary": f"charge {number}-{count}",
                                                 "base_rev": current["rev"]})
            tally.add("save", seconds, status, expected=(200, 201, 409))
            if status != 409:
                break
            with tally.lock:
                tally.conflicts += 1
                tally.given_up += attempt == RETRIES
    client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare_writers(data_dir: Path, writers: int) -> list[str]:
    """One contributor account and a new token per writer, in the commons' own database."""
    sys.path.insert(0, str(HERE.parent))
    from commons.config import load_settings
    from commons.services import open_commons

    services = open_commons(load_settings(data_dir))
    try:
        services.accounts.create_schema()
        tokens = []
        for number in range(1, writers + 1):
            name = f"load-{number}"
            if services.accounts.by_name(name) is None:
                services.accounts.add(name, "charge-de-test-" + os.urandom(8).hex(), role="contributor")
            tokens.append(services.accounts.new_token(name, "load.py"))
        return tokens
    finally:
        services.close()


def start_server(data_dir: Path, workers: int, keep_limits: bool,
                 log_path: Path | None = None) -> tuple[subprocess.Popen[bytes], str, Any]:
    """``commons serve`` on a free loopback port; returns once it answers (its output in ``log_path`` if given)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMONS_")}
    if not keep_limits:
        env["COMMONS_RATE_LIMITS"] = "false"
    log = log_path.open("w+b") if log_path else tempfile.TemporaryFile()
    cmd = [sys.executable, "-m", "commons", "--data", str(data_dir), "serve", "--host", "127.0.0.1",
           "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=HERE.parent)
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    probe = Client(base)
    while probe.request("GET", "/-/api/v1/recent?limit=1")[0] != 200:
        if proc.poll() is not None or time.monotonic() - started > 600:
            log.seek(0)
            proc.kill()
            raise SystemExit(f"commons serve did not start:\n{log.read().decode(errors='replace')[-3000:]}")
        time.sleep(0.2)
    probe.close()
    print(f"server up on {base} in {time.monotonic() - started:.1f} s (pid {proc.pid})", flush=True)
    return proc, base, log


def server_pids(root: int) -> list[int]:
    """The server process and its children (gunicorn's workers)."""
    pids = [root]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == root:
                pids.append(int(entry.name))
    return pids


def memory(pid: int) -> dict[str, float]:
    """VmRSS, VmHWM (peak) and RSS by kind of a process, in MiB, and its CPU time in seconds.

    RssAnon is the process's own memory (heap); RssFile counts the pages of mapped files it has touched
    (the search index's segments, SQLite's mmap): page cache shared with other processes, that the kernel
    can drop at will.
    """
    values: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
                values[key] = int(rest.split()[0]) / 1024
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        values["cpu"] = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        pass
    return values


def watch_memory(root: int, deadline: float, peaks: dict[int, float]) -> None:
    """Sample the private memory (RssAnon) of every server process each second; keeps the peak of each."""
    while time.monotonic() < deadline:
        for pid in server_pids(root):
            anon = memory(pid).get("RssAnon", 0.0)
            peaks[pid] = max(peaks.get(pid, 0.0), anon)
        time.sleep(1)


def page_list(base: str) -> list[str]:
    status, body, _ = Client(base).request("GET", "/-/api/v1/pages")
    if status != 200:
        raise SystemExit(f"GET /-/api/v1/pages answered {status}")
    return [page["path"] for page in json.loads(body)["pages"]]


def search_words(pages: list[str]) -> list[str]:
    words = {word for page in pages for word in page.replace("/", "-").split("-") if len(word) > 4
             and not word.isdigit()}
    return sorted(words)[:2000] or ["guide"]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def report(tally: Tally, seconds: float, servers: dict[int, dict[str, float]], peaks: dict[int, float],
           facts: dict[str, Any]) -> dict[str, Any]:
    """Print the figures and return them as a dict (for ``--json``)."""
    total = sum(len(v) for v in tally.times.values())
    print(f"\n{'kind':<10} {'n':>7} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    kinds = {}
    for kind, values in sorted(tally.times.items()):
        row = {"n": len(values), "rate": len(values) / seconds, "p50": 1000 * statistics.median(values),
               "p95": 1000 * percentile(values, 0.95), "max": 1000 * max(values)}
        kinds[kind] = row
        print(f"{kind:<10} {row['n']:>7} {row['rate']:>8.1f} {row['p50']:>8.1f} {row['p95']:>8.1f} {row['max']:>8.1f}")
    failed = sum(tally.failed.values())
    print(f"{'all':<10} {total:>7} {total / seconds:>8.1f}")
    print(f"\nfailed requests (5xx, timeout, connection error): {failed} {dict(tally.failed) or ''}")
    print(f"other unexpected answers: {sum(tally.unexpected.values())} {dict(tally.unexpected) or ''}")
    print(f"save conflicts (409) retried: {tally.conflicts}, given up after {RETRIES} retries: {tally.given_up}")
    for pid, mem in servers.items():
        print(f"server pid {pid}: VmRSS {mem.get('VmRSS', 0):.0f} MiB (anon {mem.get('RssAnon', 0):.0f}, "
              f"file {mem.get('RssFile', 0):.0f}), VmHWM {mem.get('VmHWM', 0):.0f} MiB, "
              f"peak anon {peaks.get(pid, 0):.0f} MiB, CPU {mem.get('cpu', 0):.1f} s")
    for key, value in facts.items():
        print(f"{key}: {value}")
    return {"seconds": seconds, "total": total, "throughput": total / seconds, "kinds": kinds, "failed": failed,
            "failures": dict(tally.failed), "unexpected": dict(tally.unexpected), "conflicts": tally.conflicts,
            "given_up": tally.given_up, "servers": servers, "peaks": peaks, **facts}


def run(args: argparse.Namespace, base: str, tokens: list[str], root: int | None) -> dict[str, Any]:
    """Start the threads, wait for them, report."""
    pages = page_list(base)
    words = search_words(pages)
    shared = random.Random(SEED).sample(pages, min(WRITE_PAGES, len(pages)))
    tally = Tally()
    load_before = os.getloadavg()
    cpu_before = {pid: memory(pid).get("cpu", 0.0) for pid in (server_pids(root) if root else [])}
    own_cpu = time.process_time()
    print(f"{args.readers} readers, {len(tokens)} writers, {args.seconds} s, {len(pages)} pages ...", flush=True)
    start = time.monotonic()
    deadline = start + args.seconds
    threads = [threading.Thread(target=reader, args=(base, pages, words, deadline, tally, SEED + 100 + i))
               for i in range(args.readers)]
    threads += [threading.Thread(target=writer, args=(base, token, i + 1, shared, deadline, tally))
                for i, token in enumerate(tokens)]
    peaks: dict[int, float] = {}
    if root:
        threads.append(threading.Thread(target=watch_memory, args=(root, deadline, peaks)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(deadline - time.monotonic() + 2 * TIMEOUT)
    elapsed = time.monotonic() - start
    servers = {pid: memory(pid) for pid in (server_pids(root) if root else [])}
    for pid, mem in servers.items():
        mem["cpu"] = mem.get("cpu", 0.0) - cpu_before.get(pid, 0.0)
    facts = {"load average before (1, 5, 15 min)": " ".join(f"{x:.2f}" for x in load_before),
             "load average after": " ".join(f"{x:.2f}" for x in os.getloadavg()),
             "load.py CPU time (s)": round(time.process_time() - own_cpu, 1), "cores": os.cpu_count()}
    return report(tally, elapsed, servers, peaks, facts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", nargs="?", type=Path, help="a commons to serve (saves add commits to it)")
    parser.add_argument("--url", help="a running server instead (http://127.0.0.1:PORT)")
    parser.add_argument("--token", action="append", default=[], help="a writer's API token (with --url)")
    parser.add_argument("--pid", type=int, help="the running server's pid, for its memory (with --url)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--readers", type=int, default=20)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--keep-limits", action="store_true", help="leave the server's rate limits on")
    parser.add_argument("--json", type=Path, help="write the figures there too")
    parser.add_argument("--log", type=Path, help="keep the server's output (errors, tracebacks) in this file")
    args = parser.parse_args(argv)
    if not 0 < args.seconds <= 3600 or not 0 <= args.readers <= 200 or not 0 <= args.writers <= 20:
        parser.error("--seconds 1..3600, --readers 0..200, --writers 0..20")
    if args.url:
        host = urllib.parse.urlsplit(args.url).hostname or ""
        if not host.startswith(LOOPBACK):
            parser.error("--url must be on this machine (127.0.0.1, localhost or ::1)")
        result = run(args, args.url.rstrip("/"), args.token, args.pid)
    elif args.data_dir:
        tokens = prepare_writers(args.data_dir, args.writers)
        proc, base, log = start_server(args.data_dir, args.workers, args.keep_limits, args.log)
        try:
            time.sleep(2)  # let every worker finish booting
            result = run(args, base, tokens, proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
    else:
        parser.error("give DATA_DIR or --url")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))
    return 1 if result["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
