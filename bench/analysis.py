"""Analysis speed against pyvi, measured in the same run, reported as ratios.

* Throughput (MB/s of UTF-8 text per CPU second, one call per line, as an indexer calls it) of
  ``vnsearch.text.segmenter.segment``, ``vnsearch.text.analysis.index_terms`` (what indexing uses) and
  ``vnsearch.text.analysis.analyze`` (offsets, for queries and ``vnsearch analyze``) against
  ``pyvi.ViTokenizer.tokenize``; goal >= 1.3x. Also how many lines give pyvi's exact output.
* Start-up: import of ``vnsearch.text.analysis`` plus the first analysis, against
  ``from pyvi import ViTokenizer`` plus the first ``tokenize``, each in fresh processes (best of
  several runs); goal <= 0.4x. Peak memory of those processes is shown too.

    python bench/analysis.py [--docs N] [--runs R] [--data FILE]

Reads ../shared/data/baomoi-35k.jsonl.gz; skips (exit 0) when it is absent.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
DEFAULT_DATA = os.path.join(ROOT, "..", "shared", "data", "baomoi-35k.jsonl.gz")

STARTUP = {
    "vnsearch": "from vnsearch.text.analysis import analyze\nanalyze('Tổ chức Đảng')",
    "pyvi": "from pyvi import ViTokenizer\nViTokenizer.tokenize('Tổ chức Đảng')",
}
# Peak memory from VmHWM: ru_maxrss would count the parent's memory at fork time.
_CHILD = (
    "import re, time\n"
    "t = time.perf_counter()\n"
    "{code}\n"
    "t = time.perf_counter() - t\n"
    "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)\n"
    "print(t, hwm)\n"
)


def sample_lines(path: str, docs: int) -> list[str]:
    lines = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for n, record in enumerate(f):
            if n >= docs:
                break
            doc = json.loads(record)
            for field in ("title", "summary", "body"):
                lines.extend(line for line in (doc.get(field) or "").split("\n") if line.strip())
    return lines


def best_times(fns: dict, lines: list[str], rounds: int) -> dict[str, float]:
    """Best CPU time of each function over ``lines``, the functions interleaved round by round
    so that load from other processes hits them alike (CPU time, not wall time, for the same
    reason)."""
    best = {name: float("inf") for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            t = time.process_time()
            for line in lines:
                fn(line)
            best[name] = min(best[name], time.process_time() - t)
    return best


def startup(code: str, runs: int) -> tuple[float, float]:
    """Best wall time (s) and peak RSS (MB) of ``code`` in fresh interpreters."""
    times, rss = [], []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", _CHILD.format(code=code)],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout.split()
        times.append(float(out[0]))
        rss.append(int(out[1]) / 1024)
    return min(times), min(rss)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=300, help="articles to sample (default 300)")
    ap.add_argument("--runs", type=int, default=5, help="fresh processes per start-up figure")
    ap.add_argument("--rounds", type=int, default=3, help="timed passes per throughput figure")
    ap.add_argument("--data", default=DEFAULT_DATA)
    args = ap.parse_args()
    if not os.path.exists(args.data):
        print(f"bench/analysis.py: {args.data} not found; skipping", file=sys.stderr)
        return 0

    from pyvi import ViTokenizer

    from vnsearch.text.analysis import analyze, index_terms
    from vnsearch.text.segmenter import load_model, segment, tokenize_like_pyvi

    lines = sample_lines(args.data, args.docs)
    mb = sum(len(line.encode("utf-8")) for line in lines) / 1e6
    load_model()
    ViTokenizer.tokenize("khởi động")
    identical = sum(tokenize_like_pyvi(line) == ViTokenizer.tokenize(line) for line in lines)

    fns = {
        "pyvi ViTokenizer.tokenize": ViTokenizer.tokenize,
        "vnsearch segmenter.segment": segment,
        "vnsearch analysis.index_terms": index_terms,
        "vnsearch analysis.analyze": analyze,
    }
    rates = {name: mb / t for name, t in best_times(fns, lines, args.rounds).items()}
    base = rates["pyvi ViTokenizer.tokenize"]

    print(f"sample: {args.docs} articles, {len(lines)} lines, {mb:.2f} MB")
    print(f"identical to ViTokenizer.tokenize: {identical}/{len(lines)} lines")
    print()
    print(f"{'throughput (one call per line)':<34}{'MB/s':>8}{'vs pyvi':>10}   (CPU time)")
    for name, rate in rates.items():
        print(f"{name:<34}{rate:>8.2f}{rate / base:>9.2f}x")
    print("goal: segment and index_terms >= 1.30x (analyze adds offsets and objects per token)")
    print()
    results = {name: startup(code, args.runs) for name, code in STARTUP.items()}
    py_t, py_mb = results["pyvi"]
    print(f"{'start-up (import + first call)':<34}{'s':>8}{'vs pyvi':>10}{'peak MB':>10}")
    for name, (t, rss) in results.items():
        print(f"{name:<34}{t:>8.3f}{t / py_t:>9.2f}x{rss:>10.0f}")
    print(f"goal: vnsearch <= 0.40x (best of {args.runs} fresh processes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
