"""Retrieval quality on the dev set: vnsearch against plain-BM25 baselines, in one run.

    python bench/quality.py [--data DIR] [--docs N] [--queries N] [--vnsearch-index DIR]

Three query sets: headline → article (title field NOT indexed), the same headlines typed
without diacritics, and abstract → article. Baselines built in the same run: Whoosh BM25F with
its StandardAnalyzer (no segmentation) and BM25 over pyvi words only. Metrics come from ranx
(bench/common.py). ``--vnsearch-index`` reuses an index built from the same documents
(title left out), since building vnsearch's index is the slow part.
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
    evaluate,
    load_dev,
    measure_build,
    remove_diacritics,
    search_all,
    subsample_dev,
)
from bench.systems import Vnsearch, WhooshPyviWords, WhooshStandard  # noqa: E402

GOALS = {"title": 0.85, "title (no diacritics)": 0.78, "abstract": 0.93}


class ExistingVnsearch(Vnsearch):
    """vnsearch on an index built beforehand (same documents, title left out)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._path = path

    def build(self, docs, workdir):
        from bench.common import BuildStats
        from vnsearch import Index

        self._idx = Index.open(self._path)
        return BuildStats(notes=f"reused {self._path}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_argument(ap)
    ap.add_argument("--docs", type=int, default=None, help="subsample the collection (judged docs kept)")
    ap.add_argument("--queries", type=int, default=1000, help="queries of each kind")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--vnsearch-index", type=Path, default=None)
    args = ap.parse_args(argv)
    dev = load_dev(Path(args.data))
    dev = subsample_dev(dev, args.docs, args.queries)
    sets = {
        "title": (dev.title_queries, dev.title_qrels),
        "title (no diacritics)": ({q: remove_diacritics(t).lower() for q, t in dev.title_queries.items()}, dev.title_qrels),
        "abstract": (dev.abstract_queries, dev.abstract_qrels),
    }
    vn = ExistingVnsearch(args.vnsearch_index) if args.vnsearch_index else Vnsearch(args.jobs)
    systems = [WhooshStandard(), WhooshPyviWords(args.jobs), vn]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for system in systems:
            t0 = time.perf_counter()
            measure_build(system, dev.docs, Path(tmp) / system.name.replace(" ", "_"))
            print(f"built {system.name} in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
            for label, (queries, qrels) in sets.items():
                run = search_all(system, queries, 100)
                scores = evaluate(qrels, run.hits)
                rows.append((system.name, label, scores, len(run.errors)))
                print(f"  {label}: {scores}", file=sys.stderr)
            system.close()
    print(f"\n{len(dev.docs)} documents; queries per set: {len(dev.title_queries)}")
    print(f"{'system':<26} {'queries':<22} {'MRR@10':>7} {'nDCG@10':>8} {'R@100':>6} {'errors':>6}")
    for name, label, s, errs in rows:
        print(f"{name:<26} {label:<22} {s['mrr@10']:>7.3f} {s['ndcg@10']:>8.3f} {s['recall@100']:>6.3f} {errs:>6}")
    print("\ngoals (vnsearch MRR@10): " + ", ".join(f"{k} >= {v}" for k, v in GOALS.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
