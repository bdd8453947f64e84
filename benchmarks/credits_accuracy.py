"""Accuracy and speed of word-level attribution: Commons' credits against ``git blame -w -M -C``.

    .venv/bin/python benchmarks/credits_accuracy.py [--histories 50] [--revisions 40] [--seed 7]
                                                    [--long 500] [--calls 200]

The histories come from ``credits_histories.py``: synthetic edits of one page
with the true author of every token known (moves, one-word fixes, re-wraps,
syntax changes, vandalism and reverts, deletions re-added later by others,
renames, interleaved authors). Each becomes a real git repository (one commit
per revision, written with ``git fast-import``). A token of the final text is
right when the method names its true author:

- Commons: the ``CreditStore`` following that repository, exactly as in the app;
- git blame: ``git blame -w -M -C`` on the final file, each token credited to
  the author of its line.

Scores are printed overall and per phenomenon (a token counts for every
phenomenon it went through; ``untouched`` ones went through none). Then, for a
page with ``--long`` revisions in a real commons: the latency of
``credits(path)``, ``summary(path)`` and ``GET /-/api/v1/pages/<path>/credits``
(p50/p95 over ``--calls`` calls), and the time to attribute one new revision
(alone, and as part of a whole save).
"""

from __future__ import annotations

import argparse
import bisect
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Callable

from credits_histories import History, generate

from commons.credits.store import CreditStore
from commons.credits.tokens import tokens_of
from commons.pages import identity_for
from commons.services import Commons
from commons.storage import GitStore

Score = Counter[tuple[str, str]]  # (phenomenon, "right" | "all") -> tokens


def fast_import(repo: Path, revisions: list[tuple[str, str, str, str | None]], fresh: bool = True) -> None:
    """Write the revisions as commits on ``main`` of the bare repository ``repo`` (one pipe, no checkout)."""
    if fresh:
        subprocess.run(["git", "init", "--bare", "-q", "--initial-branch=main", str(repo)], check=True)
    stream = bytearray()
    for number, (author, path, text, old_path) in enumerate(revisions):
        message = f"Révision {number}".encode()
        ident = f"{author} <{author}@users.noreply.commons> {1_600_000_000 + number * 3600} +0100\n".encode()
        stream += b"commit refs/heads/main\nauthor " + ident + b"committer " + ident
        stream += b"data %d\n%s\n" % (len(message), message)
        if old_path:
            stream += f"D {old_path}.md\n".encode()
        data = text.encode()
        stream += f"M 100644 inline {path}.md\n".encode() + b"data %d\n%s\n" % (len(data), data)
    subprocess.run(["git", f"--git-dir={repo}", "fast-import", "--quiet"], input=bytes(stream), check=True)


def truth(history: History) -> list[tuple[str, str, set[str]]]:
    return [(t.value, t.author, t.tags) for block in history.doc for t in block.tokens()]


def commons_authors(repo: Path, path: str, work: Path) -> list[tuple[str, str]]:
    store, credits = GitStore(repo), CreditStore(work / "credits.sqlite")
    try:
        credits.catch_up(store, store.head() or "")
        return credits.tokens(path)
    finally:
        credits.close()
        store.close()


def blame_authors(repo: Path, path: str, text: str) -> list[tuple[str, str]]:
    """Each token of ``text`` with the author ``git blame -w -M -C`` gives its line."""
    out = subprocess.run(["git", f"--git-dir={repo}", "blame", "-w", "-M", "-C", "--line-porcelain", "main",
                          "--", f"{path}.md"], check=True, capture_output=True, text=True).stdout
    lines = [line[7:] for line in out.splitlines() if line.startswith("author ")]
    starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
    return [(t.value, lines[bisect.bisect_right(starts, t.start) - 1]) for t in tokens_of(text)]


def score(expected: list[tuple[str, str, set[str]]], found: list[tuple[str, str]], into: Score) -> None:
    if [v for v, _, _ in expected] != [v for v, _ in found]:
        raise AssertionError("the tokens of the final text differ from the generator's")
    for (_, author, tags), (_, guess) in zip(expected, found, strict=True):
        for tag in tags or {"untouched"}:
            into[(tag, "all")] += 1
            into[(tag, "right")] += author == guess
        into[("overall", "all")] += 1
        into[("overall", "right")] += author == guess


def accuracy(histories: int, revisions: int, seed: int) -> tuple[Score, Score, float]:
    ours: Score = Counter()
    blame: Score = Counter()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for number in range(histories):
            history = generate(seed, number, revisions)
            work = Path(tmp) / f"h{number}"
            fast_import(work / "repo.git", history.revisions)
            expected, text = truth(history), history.revisions[-1][2]
            score(expected, commons_authors(work / "repo.git", history.path, work), ours)
            score(expected, blame_authors(work / "repo.git", history.path, text), blame)
    return ours, blame, time.perf_counter() - started


def report(ours: Score, blame: Score) -> None:
    tags = ["overall", "untouched"] + sorted({t for t, _ in ours} - {"overall", "untouched"})
    print(f"{'phenomenon':<16} {'tokens':>7} {'Commons':>9} {'git blame':>10}")
    for tag in tags:
        total = ours[(tag, "all")]
        if total:
            print(f"{tag:<16} {total:>7} {ours[(tag, 'right')] / total:>9.2%} {blame[(tag, 'right')] / total:>10.2%}")


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * len(ordered))) - 1)]
    return f"p50 {statistics.median(ordered) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms"


def latency(revisions: int, calls: int, seed: int) -> None:
    """Credits of a page with ``revisions`` revisions in a real commons: reads, API, one new revision."""
    from commons import create_app
    from commons.config import load_settings
    from commons.services import open_commons

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(Path(tmp) / "data", environ={})
        services = open_commons(settings)
        services.init()
        history = generate(seed, 9999, revisions)
        fast_import(settings.repo_dir, history.revisions, fresh=False)
        services.pages.catch_up()
        path, head = history.path, services.store.head() or ""
        started = time.perf_counter()
        services.credits.catch_up(services.store, head, rebuild=True)
        rebuild = time.perf_counter() - started
        size = services.credits.credits(path).total
        print(f"page {path}: {len(history.revisions)} revisions, {size} tokens now; "
              f"attributing its whole history: {rebuild:.2f} s")
        print(f"credits(path), {calls} calls: {percentiles(_timed(lambda: services.credits.credits(path), calls))}")
        print(f"summary(path) (with contributions), {calls} calls: "
              f"{percentiles(_timed(lambda: services.credits.summary(path), calls))}")
        app = create_app({"data_dir": settings.data_dir})
        client = app.test_client()
        url = f"/-/api/v1/pages/{path}/credits"
        answer = client.get(url)
        assert answer.status_code == 200 and answer.get_json()["authors"], answer.get_data(as_text=True)
        print(f"GET {url}, {calls} calls: {percentiles(_timed(lambda: client.get(url), calls))}")
        app.extensions["commons"].close()
        _one_more(services, history, path)
        services.close()


def _timed(call: Callable[[], object], calls: int) -> list[float]:
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def _one_more(services: Commons, history: History, path: str) -> None:
    """Time the attribution of new revisions alone (commit made without followers) and a full save."""
    store, credits = services.store, services.credits
    alone = []
    for _ in range(20):
        history.fix_word("ana")
        head = store.commit({f"{path}.md": history.render_text().encode()}, identity_for("ana"), "fix", store.head())
        started = time.perf_counter()
        credits.catch_up(store, head)
        alone.append(time.perf_counter() - started)
    services.pages.catch_up()
    saves = []
    for _ in range(10):
        history.fix_word("bruno")
        state = services.pages.state(path)
        started = time.perf_counter()
        services.pages.save(path, history.render_text(), "fix", state.rev if state else None, identity_for("bruno"))
        saves.append(time.perf_counter() - started)
    print(f"one new revision: attribution alone {percentiles(alone)}; "
          f"whole save (git, history, search, credits) {percentiles(saves)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--histories", type=int, default=50)
    parser.add_argument("--revisions", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--long", type=int, default=500, help="revisions of the page timed (0: skip)")
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    ours, blame, seconds = accuracy(args.histories, args.revisions, args.seed)
    print(f"{args.histories} histories x {args.revisions} revisions (seed {args.seed}), {seconds:.1f} s; "
          "share of surviving tokens attributed to their true author:")
    report(ours, blame)
    if args.long:
        print()
        latency(args.long, args.calls, args.seed)


if __name__ == "__main__":
    main()
