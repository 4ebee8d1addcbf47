"""Retrieval quality on the dev set: vnsearch against plain BM25, in one run.

    python bench/quality.py [--data DIR] [--docs N] [--queries N] [--events N]
                            [--vnsearch-index DIR] [--worst N] [--save FILE] [--train N]
                            [--seed S]

Query sets (the title is never indexed):

* ``title``: headline → its article (MRR@10);
* ``title (no diacritics)``: the same headlines typed without diacritics;
* ``abstract``: journalist's abstract → its article (near-duplicates judged relevant too);
* ``events``: a short event label → the 3-5 articles reporting it, made from the collection
  without writing or tuning anything by hand (bench/events.py), reported as nDCG@10.

Baselines, built in the same run: plain BM25 (k1 1.2, b 0.75, summary and body) over
syllables and over pyvi words (bench/bm25.py). For each set the script also prints the share of
queries where vnsearch ranks the first relevant article lower than BM25 over pyvi words (and
higher), and the ``--worst`` queries where it loses most (reciprocal rank difference).
``--vnsearch-index`` reuses an index built from the same documents (title left out), since
building vnsearch's index is the slow part; ``--save`` writes every system's ranked lists and
the judgments (JSON) for comparing two versions query by query (bench/paired.py).

``--train N`` runs the same sets on N articles of the training split
(``scale/vietnews-train.jsonl.gz``, seeded sample, captions appended to the body as in dev;
queries are their headlines and abstracts; ``--seed`` picks another sample): anything chosen
or learned for the ranking is chosen there, and dev only evaluates it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bm25 import bm25_pyvi_words, bm25_syllables  # noqa: E402
from bench.common import (  # noqa: E402
    BenchDoc,
    BuildStats,
    DevSet,
    add_data_argument,
    dev_paths,
    evaluate,
    iter_jsonl,
    load_dev,
    measure_build,
    presegment,
    remove_diacritics,
    require_data,
    search_all,
    subsample_dev,
)
from bench.events import event_set, load_titles  # noqa: E402
from bench.systems import Vnsearch  # noqa: E402

GOALS = {"title": 0.85, "title (no diacritics)": 0.78, "abstract": 0.93}
#: The metric each set is judged by (one relevant article: MRR@10; several: nDCG@10).
HEADLINE = {"title": "mrr@10", "title (no diacritics)": "mrr@10", "abstract": "mrr@10", "events": "ndcg@10"}
REFERENCE = "BM25 pyvi words"


class ExistingVnsearch(Vnsearch):
    """vnsearch on an index built beforehand from the same documents (title left out); built
    there first when the folder does not exist yet."""

    def __init__(self, path: Path, jobs: int = 2) -> None:
        super().__init__(jobs)
        self._keep = Path(path)

    def build(self, docs, workdir):
        from vnsearch import Index

        if not self._keep.exists():
            # (the parent's build points self._path at workdir: the index is moved from there)
            stats = super().build(docs, workdir)
            self._keep.parent.mkdir(parents=True, exist_ok=True)
            self.close()
            import shutil

            shutil.move(str(workdir / "vnsearch"), str(self._keep))
            self._path = self._keep
            self._idx = Index.open(self._keep)
            return stats
        self._path = self._keep
        self._idx = Index.open(self._keep)
        return BuildStats(notes=f"reused {self._keep}")


def first_relevant(hits: list[tuple[str, float]], relevant: dict[str, int]) -> int | None:
    """1-based rank of the first relevant document, None when none is in the list."""
    for i, (doc, _) in enumerate(hits, 1):
        if relevant.get(doc, 0) > 0:
            return i
    return None


def _rr(rank: int | None) -> float:
    return 1.0 / rank if rank else 0.0


def compare(qrels, mine: dict, theirs: dict) -> dict:
    """Per-query comparison of first-relevant ranks: shares lower/higher, worst losses."""
    rows = []
    for qid, rel in qrels.items():
        a, b = first_relevant(mine.get(qid, []), rel), first_relevant(theirs.get(qid, []), rel)
        rows.append((qid, a, b, _rr(b) - _rr(a)))
    n = max(1, len(rows))
    worse = [r for r in rows if r[3] > 0]
    better = [r for r in rows if r[3] < 0]
    worse.sort(key=lambda r: (-r[3], r[0]))
    return {"lower": len(worse) / n, "higher": len(better) / n, "worst": worse}


def load_train(data: Path, n_docs: int, n_queries: int, seed: int = 0) -> tuple[DevSet, dict[str, str]]:
    """``n_docs`` seeded training articles as a dev-like set (abstract withheld, captions in the
    body), their headlines and abstracts as queries (``n_queries`` each), and their titles."""
    import random

    path = data / "scale" / "vietnews-train.jsonl.gz"
    require_data(path)
    records = list(iter_jsonl(path))
    picked = sorted(random.Random(seed).sample(range(len(records)), min(n_docs, len(records))))
    docs, titles, abstracts = [], {}, {}
    for i in picked:
        r = records[i]
        body = "\n".join(x for x in (r.get("body"), r.get("captions")) if x)
        docs.append(BenchDoc(str(r["id"]), "", body))
        titles[docs[-1].id], abstracts[docs[-1].id] = r.get("title") or "", r.get("summary") or ""
    rng = random.Random(seed + 1)
    tq = sorted(rng.sample([d for d in titles if titles[d]], n_queries))
    aq = sorted(rng.sample([d for d in abstracts if abstracts[d]], n_queries))
    dev = DevSet(docs, {f"t-{d}": titles[d] for d in tq}, {f"a-{d}": abstracts[d] for d in aq},
                 {f"t-{d}": {d: 1} for d in tq}, {f"a-{d}": {d: 1} for d in aq})
    return dev, titles


def query_sets(dev, events: int, jobs: int, titles: dict[str, str]) -> dict:
    sets = {
        "title": (dev.title_queries, dev.title_qrels),
        "title (no diacritics)": (
            {q: remove_diacritics(t).lower() for q, t in dev.title_queries.items()}, dev.title_qrels),
        "abstract": (dev.abstract_queries, dev.abstract_qrels),
    }
    if events:
        segmented = presegment(dev.docs, jobs).docs
        sets["events"] = event_set(dev.docs, segmented, titles, limit=events)
    return sets


def _shown(rank: int | None) -> str:
    return str(rank) if rank else ">100"


def report(rows: list, comparisons: dict, sets: dict, n_docs: int, worst: int) -> None:
    print(f"\n{n_docs} documents; queries: " + ", ".join(f"{k} {len(v[0])}" for k, v in sets.items()))
    print(f"{'system':<18} {'queries':<22} {'MRR@10':>7} {'nDCG@10':>8} {'R@100':>6} {'errors':>6}")
    for name, label, s, errs in rows:
        print(f"{name:<18} {label:<22} {s['mrr@10']:>7.4f} {s['ndcg@10']:>8.4f} {s['recall@100']:>6.3f} {errs:>6}")
    print("\n| queries | metric | " + " | ".join(dict.fromkeys(r[0] for r in rows)) + f" | vnsearch lower than {REFERENCE} | higher |")
    print("|---|---|" + "---|" * (len(dict.fromkeys(r[0] for r in rows)) + 2))
    for label in sets:
        metric = HEADLINE[label]
        cells = [f"{s[metric]:.4f}" for _, lab, s, _ in rows if lab == label]
        c = comparisons.get(label)
        extra = f" | {c['lower']:.1%} | {c['higher']:.1%}" if c else " | | "
        print(f"| {label} | {metric} | " + " | ".join(cells) + extra + " |")
    for label, c in comparisons.items():
        queries, qrels = sets[label]
        print(f"\n{label}: the {worst} queries vnsearch ranks worst against {REFERENCE} (rank vnsearch / BM25)")
        for qid, a, b, _ in c["worst"][:worst]:
            q = queries[qid]
            print(f"  {qid:<16} {_shown(a):>4} / {_shown(b):<4} {q[:90] + ('…' if len(q) > 90 else '')}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_argument(ap)
    ap.add_argument("--docs", type=int, default=None, help="subsample the collection (judged docs kept)")
    ap.add_argument("--queries", type=int, default=1000, help="headline and abstract queries")
    ap.add_argument("--events", type=int, default=500, help="event labels (0: leave the set out)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--vnsearch-index", type=Path, default=None)
    ap.add_argument("--worst", type=int, default=10)
    ap.add_argument("--save", type=Path, default=None, help="write the ranked lists here (JSON)")
    ap.add_argument("--train", type=int, default=None, metavar="N",
                    help="N articles of the training split instead of dev")
    ap.add_argument("--seed", type=int, default=0,
                    help="--train: which seeded sample of articles and queries")
    args = ap.parse_args(argv)
    if args.train:
        dev, titles = load_train(Path(args.data), args.train, args.queries, args.seed)
    else:
        dev = subsample_dev(load_dev(Path(args.data)), args.docs, args.queries)
        titles = load_titles(dev_paths(Path(args.data))["docs"])
    sets = query_sets(dev, args.events, args.jobs, titles)
    vn = ExistingVnsearch(args.vnsearch_index, args.jobs) if args.vnsearch_index else Vnsearch(args.jobs)
    systems = [bm25_syllables(), bm25_pyvi_words(args.jobs), vn]
    rows, runs = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for system in systems:
            t0 = time.perf_counter()
            measure_build(system, dev.docs, Path(tmp) / system.name.replace(" ", "_"))
            print(f"built {system.name} in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
            for label, (queries, qrels) in sets.items():
                run = search_all(system, queries, 100)
                runs.setdefault(system.name, {})[label] = run.hits
                scores = evaluate(qrels, run.hits)
                rows.append((system.name, label, scores, len(run.errors)))
                print(f"  {label}: {scores}", file=sys.stderr)
            system.close()
    comparisons = {label: compare(qrels, runs[vn.name][label], runs[REFERENCE][label])
                   for label, (_, qrels) in sets.items()}
    report(rows, comparisons, sets, len(dev.docs), args.worst)
    print("\ngoals (vnsearch MRR@10): " + ", ".join(f"{k} >= {v}" for k, v in GOALS.items()))
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(json.dumps({"sets": {k: v[0] for k, v in sets.items()},
                                         "qrels": {k: v[1] for k, v in sets.items()}, "runs": runs},
                                        ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
