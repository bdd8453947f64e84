"""How long ``commons sync`` takes: a first sync of a generated sister history, then a sync with nothing new.

    python benchmarks/sisters_bench.py [--pages 200] [--commits 2000] [--work DIR]

The sister is made by ``benchmarks/generate.py`` (a bare repository of ``--commits`` commits, first one
page each, then edits); "here" is a new empty commons. Prints wall time and CPU time (this process and
its git children) for each step, and the commits replayed.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from commons.config import load_settings  # noqa: E402
from commons.services import open_commons  # noqa: E402


def cpu() -> float:
    """CPU seconds used so far by this process and its finished children (git)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--commits", type=int, default=2000)
    parser.add_argument("--work", type=Path, default=None, help="folder for both commons (default: a temporary one)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="commons-sisters-bench-"))
    sister, here_dir = work / "soeur", work / "ici"
    shutil.rmtree(sister, ignore_errors=True)
    shutil.rmtree(here_dir, ignore_errors=True)
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate.py"), str(sister), "--pages",
                    str(args.pages), "--commits", str(args.commits)], check=True, capture_output=True)
    here = open_commons(load_settings(here_dir, {"password_time_cost": 1, "password_memory_kib": 8192}, environ={}))
    here.init()
    try:
        for step in ("first sync", "nothing new"):
            wall, used = time.perf_counter(), cpu()
            report = here.sisters.sync(str(sister), name="soeur")
            wall, used = time.perf_counter() - wall, cpu() - used
            print(f"{step}: {report.commits_seen} sister commits read, {report.commits_applied} replayed, "
                  f"{len(report.pages)} pages; wall {wall:.1f} s, CPU {used:.1f} s"
                  + (f" ({report.commits_applied / wall:.0f} commits/s)" if report.commits_applied else ""))
        print(f"pages here: {here.history.count_pages()}; load average: {open('/proc/loadavg').read().split()[:3]}")
    finally:
        here.close()
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
