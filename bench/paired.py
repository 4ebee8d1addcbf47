"""Two runs of bench/quality.py compared query by query: is a change more than noise?

    python bench/paired.py BEFORE.json AFTER.json [--system NAME]

Both files are ``bench/quality.py --save`` outputs on the same query sets (the same index, or
indexes of the same documents). For each set it prints the metric the set is judged by (MRR@10,
or nDCG@10 for the event labels) before and after, the mean per-query difference with its
standard error, and how many queries rose and fell. A set's mean moves by a few thousandths
between two builds of one collection and by more between two samples of it; a difference of
less than about two standard errors is not evidence of anything.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

#: The metric each set is judged by (as bench/quality.py reports them).
METRIC = {"events": "ndcg@10"}


def query_metric(metric: str, hits: list, relevant: dict) -> float:
    """MRR@10 or binary nDCG@10 of one ranked list of ``[id, score]``: the figures ranx gives
    bench/quality.py, computed here so that this script and its tests need no bench extras
    (ranx brings numba)."""
    ids = [h[0] for h in hits[:10]]
    if metric == "ndcg@10":
        dcg = sum(1 / math.log2(i + 2) for i, d in enumerate(ids) if d in relevant)
        ideal = sum(1 / math.log2(i + 2) for i in range(min(10, len(relevant))))
        return dcg / ideal if ideal else 0.0
    return next((1 / (i + 1) for i, d in enumerate(ids) if d in relevant), 0.0)


def paired(before: dict, after: dict, system: str) -> list[dict]:
    """Per set: mean before and after, mean difference, its standard error, rose, fell."""
    out = []
    for label, qrels in after["qrels"].items():
        if label not in before.get("qrels", {}):
            continue
        metric = METRIC.get(label, "mrr@10")
        a_run, b_run = before["runs"][system][label], after["runs"][system][label]
        a = [query_metric(metric, a_run.get(q, []), rel) for q, rel in qrels.items()]
        b = [query_metric(metric, b_run.get(q, []), rel) for q, rel in qrels.items()]
        d = [y - x for x, y in zip(a, b)]
        n = len(d)
        mean = sum(d) / n if n else 0.0
        var = sum((x - mean) ** 2 for x in d) / (n - 1) if n > 1 else 0.0
        out.append({"set": label, "metric": metric, "queries": n,
                    "before": sum(a) / n if n else 0.0, "after": sum(b) / n if n else 0.0,
                    "difference": mean, "error": math.sqrt(var / n) if n else 0.0,
                    "rose": sum(x > 0 for x in d), "fell": sum(x < 0 for x in d)})
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--system", default="vnsearch", help="which system's ranked lists to compare")
    args = ap.parse_args(argv)
    runs = []
    for path in (args.before, args.after):
        data = json.loads(path.read_text(encoding="utf-8"))
        if "qrels" not in data:
            sys.exit(f"{path}: no judgments in it (saved by an older bench/quality.py): run it again")
        if args.system not in data["runs"]:
            sys.exit(f"{path}: no system {args.system!r} (it has {', '.join(data['runs'])})")
        runs.append(data)
    print("| set | metric | queries | before | after | difference ± standard error | rose / fell |")
    print("|---|---|---|---|---|---|---|")
    for r in paired(*runs, args.system):
        print(f"| {r['set']} | {r['metric']} | {r['queries']} | {r['before']:.4f} | {r['after']:.4f} "
              f"| {r['difference']:+.4f} ± {r['error']:.4f} | {r['rose']} / {r['fell']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
