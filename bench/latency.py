"""In-process query latency on the dev index: vnsearch with and without snippets, next to the
Whoosh StandardAnalyzer baseline built in the same run.

    python bench/latency.py [--data DIR] [--queries N] [--docs N] [--vnsearch-index DIR]

Goal: p95 <= 50 ms with snippets for dev title queries.
"""

from __future__ import annotations

import argparse
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_argument(ap)
    ap.add_argument("--docs", type=int, default=None)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--vnsearch-index", type=Path, default=None)
    args = ap.parse_args(argv)
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
