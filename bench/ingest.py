"""Ingestion throughput on the benchmark collections, as a ratio to the floor of the same run.

The floor is what any JSONL reader must pay: gunzip + ``orjson.loads`` per line. Our reader
adds decoding checks, key mapping, dates and problem reporting on top; the ratio says how much.

    python bench/bench_ingest.py [FILE.jsonl.gz ...]

Defaults to the files under ../shared/data; skips (exit 0) when they are absent.
"""

from __future__ import annotations

import collections
import gzip
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import orjson  # noqa: E402

from vnsearch.ingest.readers import iter_documents  # noqa: E402
from vnsearch.write.report import IndexReport  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data")
DEFAULT_FILES = [
    os.path.join(DATA, "baomoi-35k.jsonl.gz"),
    os.path.join(DATA, "dev", "docs.jsonl.gz"),
]


def floor_rate(path: str) -> tuple[int, float]:
    t0 = time.perf_counter()
    n = 0
    with gzip.open(path, "rb") as f:
        for line in f:
            orjson.loads(line)
            n += 1
    return n, time.perf_counter() - t0


def ingest_rate(path: str) -> tuple[IndexReport, collections.Counter, float]:
    report = IndexReport()
    sources: collections.Counter = collections.Counter()
    t0 = time.perf_counter()
    for doc in iter_documents([path], report=report):
        sources[doc.date_source] += 1
    return report, sources, time.perf_counter() - t0


def main(paths: list[str]) -> int:
    present = [p for p in paths if os.path.exists(p)]
    if not present:
        print("bench_ingest: no benchmark data found; skipping", file=sys.stderr)
        return 0
    for path in present:
        n, floor = floor_rate(path)
        report, sources, ours = ingest_rate(path)
        print(f"{os.path.basename(path)}: {report.summary()}")
        print(f"  dates: {dict(sources)}")
        print(f"  floor (gunzip + orjson): {n / floor:,.0f} records/s")
        print(
            f"  vnsearch.ingest:         {report.read / ours:,.0f} docs/s  ({ours / floor:.2f}x the floor)"
        )
        for problem in report.problems[:10]:
            print(f"  {problem}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or DEFAULT_FILES))
