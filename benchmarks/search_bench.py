#!/usr/bin/env python3
"""Search latencies and index updates on a data directory (a script, not a test).

    .venv/bin/python benchmarks/search_bench.py DATA_DIR [--samples 200] [--saves 200] [--json out.json]

Queries go straight to ``SearchIndex.search`` (no HTTP, no template) with the query
lists of ``run.py`` plus prefixes and words found nowhere; each kind is warmed up
with 10 queries, then timed ``--samples`` times (seeded choice). Wall clock and
process CPU time are both reported: on a loaded machine compare the CPU column.

``--saves N`` copies DATA_DIR to a temporary directory, saves N random pages there
through ``PageService.save`` (the one write path: git commit, history table and
the search index; the other derived stores are left out, run.py times them) and
times the whole save and the search index's part of it; it then prints the
number of index segments. ``--profile KIND`` runs cProfile over one kind.

``--rebuild`` copies DATA_DIR and rebuilds the search index alone there, in this
process (``SearchIndex.catch_up(..., rebuild=True)``, as ``commons reindex`` does in
its worker), and prints its wall and CPU time (this process and its children: git).
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import json
import os
import pstats
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from run import NO_RESULT, ONE_WORD, PHRASES, PREFIXES, TWO_WORDS  # noqa: E402

from commons.config import load_settings  # noqa: E402
from commons.pages import identity_for  # noqa: E402
from commons.services import Commons, open_commons  # noqa: E402

KINDS = {"one word": ONE_WORD, "two words": TWO_WORDS, "phrase": PHRASES, "prefix": PREFIXES,
         "no result": NO_RESULT}
WARMUP = 10
SEED = 20240601


def quantiles(values: list[float]) -> tuple[float, float]:
    """(p50, p95) of ``values``."""
    cuts = statistics.quantiles(values, n=20, method="inclusive")
    return statistics.median(values), cuts[18]


def timed(run: Callable[[], Any]) -> tuple[float, float]:
    """(wall ms, CPU ms) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def row(label: str, walls: list[float], cpus: list[float], extra: str = "") -> dict[str, Any]:
    """Print and return one line of the table."""
    p50, p95 = quantiles(walls)
    c50, c95 = quantiles(cpus)
    print(f"{label:<22} n={len(walls):<4} wall p50 {p50:7.1f} p95 {p95:7.1f} max {max(walls):7.1f} | "
          f"CPU p50 {c50:7.1f} p95 {c95:7.1f} ms {extra}", flush=True)
    return {"label": label, "n": len(walls), "p50": p50, "p95": p95, "max": max(walls), "cpu_p50": c50,
            "cpu_p95": c95, "walls": walls, "cpus": cpus}


def bench_queries(services: Commons, samples: int, profile: str | None) -> list[dict[str, Any]]:
    """Time each kind of query; also show how many pages the queries of each kind match."""
    rng = random.Random(SEED)
    lines = []
    for kind, words in KINDS.items():
        queries = [rng.choice(words) for _ in range(WARMUP + samples)]
        for q in queries[:WARMUP]:
            services.search.search(q)
        profiler = cProfile.Profile() if profile == kind else None
        walls, cpus = [], []
        for q in queries[WARMUP:]:
            if profiler:
                profiler.enable()
            wall, cpu = timed(lambda q=q: services.search.search(q))  # type: ignore[misc]
            if profiler:
                profiler.disable()
            walls.append(wall)
            cpus.append(cpu)
        totals = [services.search.search(q).total for q in words]
        lines.append(row(kind, walls, cpus, f"(matches {min(totals)}–{max(totals)})"))
        if profiler:
            pstats.Stats(profiler, stream=sys.stdout).strip_dirs().sort_stats("cumulative").print_stats(30)
    return lines


def bench_saves(data_dir: Path, count: int, profile: bool) -> list[dict[str, Any]]:
    """Save ``count`` pages in a copy of ``data_dir``; time the save and the search index's part."""
    with tempfile.TemporaryDirectory(prefix="search-bench-", dir=os.environ.get("TMPDIR")) as tmp:
        copy = Path(tmp) / "data"
        shutil.copytree(data_dir, copy, symlinks=True)
        services = open_commons(load_settings(copy, environ={}))
        try:
            services.pages.followers = [services.search]  # the other stores are measured by run.py
            services.pages.catch_up()
            part: list[float] = [0.0]  # per save (after the catch-up before them): the search index's catch_up
            original = services.search.catch_up

            @functools.wraps(original)  # keeps catch_up's signature (sync.follow inspects it)
            def search_part(*args: Any, **kwargs: Any) -> None:
                start = time.perf_counter()
                try:
                    original(*args, **kwargs)
                finally:
                    part[-1] += (time.perf_counter() - start) * 1000

            services.search.catch_up = search_part  # type: ignore[method-assign]
            rng = random.Random(SEED)
            paths = [p.path for p in services.history.pages()]
            profiler = cProfile.Profile() if profile else None
            walls, cpus = [], []
            for i in range(WARMUP + count):
                part.append(0.0)
                path = rng.choice(paths)
                page = services.pages.get(path)
                text = page.markdown.rstrip("\n") + f"\n\nRelecture n° {i} : le bénévole vérifie le dossier.\n"
                if profiler and i >= WARMUP:
                    profiler.enable()
                wall, cpu = timed(functools.partial(services.pages.save, path, text, f"Banc {i}", page.rev,
                                                    identity_for("bench")))
                if profiler:
                    profiler.disable()
                if i >= WARMUP:
                    walls.append(wall)
                    cpus.append(cpu)
            segments = services.search.segment_count()
            lines = [row("save (all stores)", walls, cpus, f"({segments} segments at the end)"),
                     row("  search index part", part[WARMUP + 1:], part[WARMUP + 1:], "(wall only)")]
            if profiler:
                pstats.Stats(profiler, stream=sys.stdout).strip_dirs().sort_stats("cumulative").print_stats(30)
            return lines
        finally:
            services.close()


def children_cpu() -> float:
    """CPU seconds of this process and of its children that have ended (git, worker processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def bench_rebuild(data_dir: Path, profile: bool) -> list[dict[str, Any]]:
    """Rebuild the search index alone in a copy of ``data_dir``; time it (wall and CPU with children)."""
    with tempfile.TemporaryDirectory(prefix="search-bench-", dir=os.environ.get("TMPDIR")) as tmp:
        copy = Path(tmp) / "data"
        shutil.copytree(data_dir, copy, symlinks=True)
        services = open_commons(load_settings(copy, environ={}))
        try:
            head = services.store.head()
            assert head is not None, "an empty repository"
            profiler = cProfile.Profile() if profile else None
            wall, cpu = time.perf_counter(), children_cpu()
            if profiler:
                profiler.enable()
            services.search.catch_up(services.store, head, None, True)
            if profiler:
                profiler.disable()
            walls, cpus = [(time.perf_counter() - wall) * 1000], [(children_cpu() - cpu) * 1000]
            print(f"search index rebuild   wall {walls[0] / 1000:7.1f} s | CPU {cpus[0] / 1000:7.1f} s "
                  f"({services.history.count_pages()} pages)", flush=True)
            if profiler:
                pstats.Stats(profiler, stream=sys.stdout).strip_dirs().sort_stats("tottime").print_stats(30)
            return [{"label": "rebuild", "n": 1, "p50": walls[0], "p95": walls[0], "max": walls[0],
                     "cpu_p50": cpus[0], "cpu_p95": cpus[0], "walls": walls, "cpus": cpus}]
        finally:
            services.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--saves", type=int, default=0, help="save N pages in a copy of DATA_DIR (default: none)")
    parser.add_argument("--rebuild", action="store_true", help="time a rebuild of the search index (on a copy)")
    parser.add_argument("--only", choices=list(KINDS), action="append", help="time only these kinds of query")
    parser.add_argument("--profile", metavar="KIND", help="cProfile one kind of query, 'save' or 'rebuild'")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.only:
        for kind in list(KINDS):
            if kind not in args.only:
                del KINDS[kind]
    print(f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)
    lines: list[dict[str, Any]] = []
    if args.samples:
        services = open_commons(load_settings(args.data_dir, environ={}))
        try:
            if services.search.reflected() != services.store.head():
                print("warning: the search index is behind HEAD: catching it up first (untimed)", flush=True)
                services.pages.followers = [services.search]
                services.pages.catch_up()
            lines += bench_queries(services, args.samples, args.profile)
        finally:
            services.close()
    if args.saves:
        lines += bench_saves(args.data_dir, args.saves, args.profile == "save")
    if args.rebuild:
        lines += bench_rebuild(args.data_dir, args.profile == "rebuild")
    print(f"load {os.getloadavg()[0]:.2f} at the end", flush=True)
    if args.json:
        args.json.write_text(json.dumps(lines, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
