"""Where an index's bytes go: the first N documents of bench/scale.py's order indexed through
``vnsearch index FOLDER``, as built and then merged into one segment, next to SQLite FTS5 on
the same documents.

    python bench/size.py [--docs 10000] [--no-merge] [--no-peers] [--work DIR]

As built, the size depends on where 30-second commits cut the batches (a loaded machine
makes more, smaller segments, and a term in k segments has k term-dictionary rows); merged
into one segment it does not, so two versions of the code compare on the merged sizes.
Results go to ``bench/out/size-<time>.json``. Skips with a message (exit 0) when the data is
absent.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):
    sys.path.insert(0, str(ROOT))

from bench.common import DEFAULT_DATA_DIR, OUT_DIR, dir_size_bytes  # noqa: E402
from bench.scale import GrowingFts5, breakdown, iter_records, print_breakdown, sources  # noqa: E402


def merge_into_one(index_dir: Path) -> float:
    """Merge every segment of the index into one (vnsearch's block-level merge); seconds."""
    from whoosh import index as windex

    from vnsearch.codec.merge import merge_segments
    from vnsearch.codec.segment_writer import FastSegmentWriter

    ix = windex.open_dir(str(index_dir))
    t0 = time.perf_counter()
    FastSegmentWriter(ix).commit(
        mergetype=lambda _w, segs: [merge_segments(ix, segs)] if len(segs) > 1 else segs)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.environ.get("VNSEARCH_BENCH_DATA", str(DEFAULT_DATA_DIR)))
    ap.add_argument("--docs", type=int, default=10000)
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--no-merge", action="store_true", help="only the index as built")
    ap.add_argument("--no-peers", action="store_true", help="leave SQLite FTS5 out")
    ap.add_argument("--work", default=None, help="keep the feed folder and indexes here")
    args = ap.parse_args(argv)
    present = [p for p in sources(Path(args.data)) if p.exists()]
    if not present:
        print(f"data not found ({args.data}: scale/, baomoi-35k, dev/), skipping", file=sys.stderr)
        return 0
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="vnsearch-size-"))
    shutil.rmtree(work, ignore_errors=True)
    (work / "feed").mkdir(parents=True)
    records = []
    for rec in iter_records(present):
        records.append(rec)
        if len(records) >= args.docs:
            break
    n = len(records)
    with open(work / "feed" / "part-001.jsonl", "w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    index = work / "index"
    cmd = [sys.executable, "-m", "vnsearch", "index", str(work / "feed"), "--index", str(index),
           "--json", "--quiet", "--max-file-size", str(1 << 40)]
    if args.jobs:
        cmd += ["--jobs", str(args.jobs)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    result: dict = {"docs": n, "index_s": time.perf_counter() - t0,
                    "started": time.strftime("%Y-%m-%d %H:%M:%S"), "argv": sys.argv[1:]}
    result["built"] = {"bytes": dir_size_bytes(index), "breakdown": breakdown(index)}
    print(f"{n} documents indexed in {result['index_s']:.0f} s; as built:")
    print_breakdown(result["built"]["breakdown"], n)
    if not args.no_peers:
        fts = GrowingFts5()
        (work / "fts5").mkdir()
        fts.open(work / "fts5")
        fts.add(records)
        result["fts5_bytes"] = fts.size()
    if not args.no_merge:
        result["merge_s"] = merge_into_one(index)
        result["merged"] = {"bytes": dir_size_bytes(index), "breakdown": breakdown(index)}
        print(f"merged into one segment in {result['merge_s']:.0f} s:")
        print_breakdown(result["merged"]["breakdown"], n)
    for key in ("built", "merged"):
        if key in result and "fts5_bytes" in result:
            ratio = result[key]["bytes"] / result["fts5_bytes"]
            print(f"{key}: vnsearch {result[key]['bytes'] / 1e6:.1f} MB, SQLite FTS5 "
                  f"{result['fts5_bytes'] / 1e6:.1f} MB: {ratio:.2f}x (goal <= 2)")
    out = OUT_DIR / f"size-{result['started'].replace(' ', 'T')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
