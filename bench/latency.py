"""In-process query latency on the dev index: vnsearch with and without snippets, next to the
Whoosh StandardAnalyzer baseline built in the same run.

    python bench/latency.py [--data DIR] [--queries N] [--docs N] [--vnsearch-index DIR]
    python bench/latency.py --compare OTHER_TREE --vnsearch-index DIR [--compare-index DIR]
                            [--queries N] [--abstracts] [--no-snippets] [--cold N]

Goal: p95 <= 50 ms with snippets for dev title queries.

``--compare`` times this checkout against another checkout of vnsearch (``git worktree add``
or ``git archive`` of the commit to compare) on one existing index, on a loaded machine too: one
worker process per checkout opens the index, and each query goes to both in turn (alternating
which goes first), so both see the same load. It prints p50/p95 of each and their ratio, and
checks that the top 10 (ids and exact scores), totals and snippets are identical. Across an
index format change, each checkout reads an index it built from the same documents:
``--compare-index DIR`` is the other checkout's (default: ``--vnsearch-index``). ``--cold N``
also times N fresh ``vnsearch search`` processes per checkout, alternating (wall and CPU
seconds; bytecode caching as the environment has it).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    add_data_argument,
    load_dev,
    measure_build,
    percentiles,
    subsample_dev,
)
from bench.quality import ExistingVnsearch  # noqa: E402
from bench.systems import Vnsearch, WhooshStandard  # noqa: E402


def timed(fn, queries) -> list[float]:
    for q in queries[:5]:
        fn(q)
    out = []
    for q in queries:
        t0 = time.perf_counter()
        fn(q)
        out.append(time.perf_counter() - t0)
    return out


_WORKER = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from vnsearch import Index
ix = Index.open(sys.argv[2])
snippets = sys.argv[3] == "1"
print(json.dumps(__import__("vnsearch").__file__), flush=True)
for line in sys.stdin:
    t0 = time.perf_counter()
    r = ix.search(json.loads(line), limit=10, snippets=snippets)
    took = time.perf_counter() - t0
    print(json.dumps({"t": took, "ids": [h.id for h in r.hits], "scores": [h.score for h in r.hits],
                      "total": r.total, "snippets": [h.snippet for h in r.hits]}), flush=True)
"""


def compare(trees: dict[str, str], indexes: dict[str, str], queries: list[str],
            snippets: bool) -> dict:
    """Per-query alternation between worker processes, one per checkout (see the module doc)."""
    workers = {}
    for name, tree in trees.items():
        workers[name] = subprocess.Popen(
            [sys.executable, "-c", _WORKER, tree, indexes[name], "1" if snippets else "0"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=tempfile.gettempdir())
        print(f"{name}: {json.loads(workers[name].stdout.readline())}")

    def ask(name: str, q: str) -> dict:
        w = workers[name]
        w.stdin.write(json.dumps(q) + "\n")
        w.stdin.flush()
        return json.loads(w.stdout.readline())

    for name in workers:
        ask(name, queries[0])
    times: dict[str, list[float]] = {name: [] for name in workers}
    differ = 0
    for i, q in enumerate(queries):
        order = list(workers) if i % 2 == 0 else list(reversed(workers))
        got = {name: ask(name, q) for name in order}
        for name in workers:
            times[name].append(got[name].pop("t"))
        a, b = got.values()
        if a != b:
            differ += 1
    for w in workers.values():
        w.stdin.close()
        w.wait()
    return {"times": times, "differ": differ}


def cold(trees: dict[str, str], indexes: dict[str, str],
         queries: list[str]) -> dict[str, tuple[float, float]]:
    """Median wall and CPU seconds of a fresh ``vnsearch search`` process per checkout."""
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    for q in queries:
        for name, tree in trees.items():
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "vnsearch", "search", q, "--index",
                                   indexes[name], "-n", "10"], cwd=tree, capture_output=True)
            wall = time.perf_counter() - t0
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            if proc.returncode not in (0, 1):
                sys.exit(f"vnsearch search failed in {tree}: {proc.stderr.decode()[-300:]}")
            cpu = r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime
            runs[name].append((wall, cpu))
    return {name: (sorted(w for w, _ in v)[len(v) // 2], sorted(c for _, c in v)[len(v) // 2])
            for name, v in runs.items()}


def compare_main(args) -> int:
    if args.vnsearch_index is None:
        sys.exit("--compare needs --vnsearch-index DIR (an index both checkouts can read)")
    index = str(Path(args.vnsearch_index).resolve())
    kind = "abstract" if args.abstracts else "title"
    path = Path(args.data) / "dev" / f"queries_{kind}.jsonl"
    with open(path, encoding="utf-8") as fh:
        queries = [json.loads(line)["query"] for line in fh if line.strip()][: args.queries]
    trees = {"other": str(Path(args.compare).resolve()), "this": str(Path(__file__).resolve().parents[1])}
    other = str(Path(args.compare_index).resolve()) if args.compare_index else index
    indexes = {"other": other, "this": index}
    got = compare(trees, indexes, queries, not args.no_snippets)
    p = {name: percentiles(t) for name, t in got["times"].items()}
    print(f"{len(queries)} {kind} queries, top 10, snippets {'off' if args.no_snippets else 'on'}, "
          f"index {index}" + (f" (other: {other})" if other != index else "")
          + f", load {os.getloadavg()[0]:.1f}")
    for name in trees:
        print(f"{name:<6} p50 {p[name]['p50'] * 1000:7.1f} ms  p95 {p[name]['p95'] * 1000:7.1f} ms")
    print(f"this/other: p50 {p['this']['p50'] / p['other']['p50']:.2f}  "
          f"p95 {p['this']['p95'] / p['other']['p95']:.2f}; queries whose top 10, scores, total "
          f"or snippets differ: {got['differ']}")
    if args.cold:
        for name, (wall, cpu) in cold(trees, indexes, queries[: args.cold]).items():
            print(f"cold vnsearch search, {name}: wall median {wall:.2f} s, CPU median {cpu:.2f} s")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_argument(ap)
    ap.add_argument("--docs", type=int, default=None)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--vnsearch-index", type=Path, default=None)
    ap.add_argument("--compare", metavar="OTHER_TREE", default=None,
                    help="time this checkout against another one on --vnsearch-index")
    ap.add_argument("--compare-index", metavar="DIR", default=None,
                    help="--compare: the index the other checkout reads (default: --vnsearch-index)")
    ap.add_argument("--abstracts", action="store_true", help="--compare: abstract queries")
    ap.add_argument("--no-snippets", action="store_true", help="--compare: no snippets")
    ap.add_argument("--cold", type=int, default=0, metavar="N",
                    help="--compare: also N cold `vnsearch search` processes per checkout")
    args = ap.parse_args(argv)
    if args.compare:
        return compare_main(args)
    dev = subsample_dev(load_dev(Path(args.data)), args.docs, args.queries)
    queries = list(dev.title_queries.values())
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = WhooshStandard()
        measure_build(base, dev.docs, Path(tmp) / "whoosh")
        rows["Whoosh StandardAnalyzer"] = percentiles(timed(lambda q: base.search(q, 10), queries))
        vn = ExistingVnsearch(args.vnsearch_index) if args.vnsearch_index else Vnsearch(args.jobs)
        measure_build(vn, dev.docs, Path(tmp) / "vn")
        from vnsearch import Index

        # Each configuration on a freshly opened index: no term lookups cached by the other.
        path = vn._idx.path
        ix = Index.open(path)
        rows["vnsearch, no snippets"] = percentiles(
            timed(lambda q: ix.search(q, limit=10, snippets=False, suggest=False), queries))
        ix = Index.open(path)
        rows["vnsearch, snippets"] = percentiles(timed(lambda q: ix.search(q, limit=10), queries))
    b95 = rows["Whoosh StandardAnalyzer"]["p95"]
    print(f"{len(queries)} title queries, {len(dev.docs)} documents, top 10")
    print(f"{'system':<26} {'p50 ms':>8} {'p95 ms':>8} {'p95 / baseline':>15}")
    for name, p in rows.items():
        print(f"{name:<26} {p['p50'] * 1000:>8.1f} {p['p95'] * 1000:>8.1f} {p['p95'] / b95:>15.2f}")
    print("goal: vnsearch p95 with snippets <= 50 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
