"""One pathological document: a single-line text file of ``--mb`` megabytes (50 by default)
of Vietnamese sentences, indexed and then searched for a word it holds tens of thousands of
times. Reports, for this tree and (with ``--baseline DIR``) another checkout measured in the
same run: indexing wall time and peak resident memory of the ``vnsearch index`` process, and
the wall time of a ``vnsearch search`` that hits the document (snippets included), with
ratios to the baseline.

    python -m bench.big_document --baseline ../main-before   # a checkout without the limit

Needs no data set: the text is generated. Bounded: one file, one index per tree, one search.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

SENTENCES = [
    "Hội nghị tổng kết công tác xây dựng Đảng năm 2023 của tỉnh được tổ chức sáng nay.",
    "Ủy ban nhân dân tỉnh yêu cầu các sở, ngành đẩy mạnh chuyển đổi số trong cơ quan nhà nước.",
    "Giá vàng trong nước tăng mạnh, người dân xếp hàng mua vàng miếng tích trữ.",
    "Công trình cầu vượt đang thi công, công nhân làm việc cả ngày lẫn đêm.",
    "Sau trận lũ, người dân tự dựng lều tạm và xây bếp để nấu ăn, chờ nước rút.",
]


def write_big_file(path: Path, mb: int) -> int:
    """A single line of about ``mb`` megabytes (no newline at all)."""
    target = mb * 1_000_000
    chunk = " ".join(SENTENCES) + " "
    data = chunk.encode("utf-8")
    with open(path, "wb") as f:
        written = 0
        while written < target:
            f.write(data)
            written += len(data)
    return written


def run_measured(cmd: list[str], tree: Path, cwd: Path, timeout: float) -> dict:
    """Wall time and peak RSS (MB, from ``wait4``: this child alone) of ``cmd`` run with the
    vnsearch of ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = t0 + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.05)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "exit": proc.returncode, "stderr_tail": err[-300:]}


def measure(tree: Path, work: Path, big: Path, timeout: float) -> dict:
    """Index ``big`` with the vnsearch of ``tree`` into a fresh index, then search it."""
    ix = work / f"ix-{tree.name}"
    folder = work / "feed"
    index = run_measured(
        [sys.executable, "-m", "vnsearch", "index", str(folder), "--index", str(ix),
         "--jobs", "1", "--quiet", "--max-file-size", str(big.stat().st_size + 1)],
        tree, work, timeout,
    )  # fmt: skip
    search = run_measured(
        [sys.executable, "-m", "vnsearch", "search", "hội nghị", "--index", str(ix), "--json"],
        tree, work, timeout,
    )  # fmt: skip
    return {"index": index, "search": search}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=int, default=50)
    ap.add_argument("--baseline", type=Path, help="another checkout to measure the same way")
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args(argv)
    report: dict = {"mb": args.mb}
    with tempfile.TemporaryDirectory(prefix="vnsearch-big-") as tmp:
        work = Path(tmp)
        (work / "feed").mkdir()
        big = work / "feed" / "big.txt"
        report["bytes"] = write_big_file(big, args.mb)
        trees = ([("baseline", args.baseline.resolve())] if args.baseline else []) + [
            ("this", REPO_ROOT)]
        for name, tree in trees:
            report[name] = measure(tree, work, big, args.timeout)
    if "baseline" in report:
        b, t = report["baseline"], report["this"]
        report["ratios_this_over_baseline"] = {
            "index_seconds": round(t["index"]["seconds"] / b["index"]["seconds"], 3),
            "search_seconds": round(t["search"]["seconds"] / b["search"]["seconds"], 3),
        }
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
