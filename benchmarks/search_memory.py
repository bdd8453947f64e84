"""Memory of one process answering searches from 8 threads, by number of shared searchers.

    .venv/bin/python benchmarks/search_memory.py DATA_DIR [SEARCHERS ...]

DATA_DIR is a commons whose search index is built (``commons reindex``); each count runs in a
fresh process and prints the wall time of 120 queries and the process's RSS (VmHWM, RssAnon, RssFile).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

QUERIES = ["logement", "aide sociale", "dossier", "médiation", "droits", '"aide au logement"', "rsa", "famille"]


def memory() -> dict[str, str]:
    """This process's memory figures from /proc."""
    wanted = ("VmHWM", "VmRSS", "RssAnon", "RssFile")
    with open("/proc/self/status") as status:
        pairs = (line.partition(":") for line in status)
        return {key: value.strip() for key, _, value in pairs if key in wanted}


def measure(data: Path, searchers: int) -> None:
    """Run 8 threads x 15 queries against one index with ``searchers`` shared searchers."""
    from commons.search.index import SearchIndex

    index = SearchIndex(data / "cache" / "search", None, searchers=searchers)  # type: ignore[arg-type]

    def worker(start: int) -> None:
        for k in range(15):
            index.search(QUERIES[(start + k) % len(QUERIES)])

    began = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cpu = resource.getrusage(resource.RUSAGE_SELF).ru_utime
    print(f"searchers={searchers}: 120 queries from 8 threads in {time.perf_counter() - began:.1f} s "
          f"(cpu {cpu:.1f} s) {memory()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path)
    parser.add_argument("searchers", type=int, nargs="*", default=[1, 2, 8])
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        measure(args.data, args.searchers[0])
        return
    for count in args.searchers:  # a fresh process each, so memory figures do not add up
        subprocess.run([sys.executable, __file__, str(args.data), str(count), "--one"], check=True)


if __name__ == "__main__":
    main()
