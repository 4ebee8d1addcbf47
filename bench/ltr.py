"""Learning how vnsearch combines its evidence, from training articles only.

    python bench/ltr.py [--data DIR] [--docs N] [--queries N] [--events N] [--top N]
                        [--lead] [--dev-index DIR]

Builds (or reuses) a vnsearch index over ``--docs`` seeded articles of the training split
(``scale/vietnews-train.jsonl.gz``; title left out, captions in the body, as the dev protocol
does: bench/quality.py ``load_train``), takes ``--queries`` of their headlines and as many
abstracts as queries (each judged against its own article) and ``--events`` event labels made
from them (bench/events.py), and for each query the ``--top`` documents the current ranking
puts first, plus the relevant ones when they are not among them.

For every (query, document) pair it reads the ranking's own evidence
(:meth:`vnsearch.search.rank.Scorer.evidence`): per term form (pyvi words, syllables, folded
syllables, folded pairs) the BM25F summed over the query's terms as often as typed and once
each, times 1, times the share of the query's syllables found (the coordination), and times
the idf-weighted share. ``--lead`` adds, from the stored text, the current score times the
idf-weighted share of the query's syllables in the first 60/120/250 syllables of the article,
and times its length (``len ** -0.1``). Features of a query are divided by its best current
score (a per-query factor changes no ranking). Acronym, tag and bare-word scores keep their
weight.

A linear model over these is fitted by coordinate ascent on the mean of the kinds' metrics
(MRR@10 for headlines and abstracts, nDCG@10 for events; Metzler & Croft 2007), from the
hand-set weights (FORM_WEIGHT, COORDINATION), every weight kept at zero or above. (The
hand-set weights are the ranking of queries up to HEADLINE_SYLLABLES long, before the best
matches are scored again with their terms' idf among them; the candidates are the ranking's
own.) It prints
the current and learned metrics on two folds split by query (fitted on one, measured on the
other), the weights fitted on all training queries, and with ``--dev-index`` (an index of
the dev collection, title left out: bench/quality.py ``--vnsearch-index``) the same weights
applied to the dev sets' candidates: dev only evaluates.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import OUT_DIR, add_data_argument, dev_paths, load_dev, presegment  # noqa: E402
from bench.events import event_set, load_titles  # noqa: E402
from bench.quality import load_train  # noqa: E402

FORMS = (("w", "_w"), ("s", ""), ("f", "_f"), ("p", "_fb"))


LEADS = (60, 120, 250)
_SYLLABLE = re.compile(r"[^\W_]+")


def feature_names(lead: bool) -> list[str]:
    names = []
    for short, _ in FORMS:
        names += [f"{short}", f"{short}*cov", f"{short}*idfcov", f"{short}_once"]
    if lead:
        names += [f"cur*lead{k}" for k in LEADS] + ["cur*len^-0.1"]
    return names


def lead_features(scorer, node, cand, text_of) -> np.ndarray:
    """Per candidate: the idf-weighted share of the query's distinct syllables among the first
    LEADS syllables of its summary and body (stored text), and ``length ** -0.1``."""
    from vnsearch.text.forms import SYLLABLES

    qs = list(dict.fromkeys(node.syllables))
    idf = np.asarray([scorer._idf(max(1, scorer._df(SYLLABLES, t, node.sections))) for t in qs])
    rows = []
    for d in cand.tolist():
        toks = text_of(d)
        row = []
        for k in LEADS:
            lead = set(toks[:k])
            row.append(sum(i for t, i in zip(qs, idf) if t in lead) / idf.sum())
        row.append(max(len(toks), 20) ** -0.1)
        rows.append(row)
    return np.asarray(rows)


def features(ev, cand: np.ndarray, coordination: float) -> tuple[np.ndarray, np.ndarray]:
    """``(len(cand), features)`` matrix of the evidence at ``cand``, and the fixed offset
    (scores whose weight is not learned, coordinated as the ranking does)."""
    from vnsearch.text.forms import FOLDED, PAIRS, SYLLABLES, WORDS

    suffix = {"w": WORDS, "s": SYLLABLES, "f": FOLDED, "p": PAIRS}
    cov = ev.coverage[cand]
    icov = ev.idf_coverage[cand]
    cols = []
    for short, _ in FORMS:
        f = ev.forms[suffix[short]][cand]
        cols += [f, f * cov, f * icov, ev.once[suffix[short]][cand]]
    offset = ev.extra[cand] * ((1 - coordination) + coordination * cov)
    return np.stack(cols, axis=1).astype(np.float64), offset.astype(np.float64)


def current_weights(lead: bool = False) -> np.ndarray:
    """The hand-set combination (FORM_WEIGHT, COORDINATION) in these features."""
    from vnsearch.search.rank import COORDINATION, FORM_WEIGHT
    from vnsearch.text.forms import FOLDED, PAIRS, SYLLABLES, WORDS

    suffix = {"w": WORDS, "s": SYLLABLES, "f": FOLDED, "p": PAIRS}
    w = []
    for short, _ in FORMS:
        fw = FORM_WEIGHT[suffix[short]]
        w += [fw * (1 - COORDINATION), fw * COORDINATION, 0.0, 0.0]
    if lead:
        w += [0.0] * (len(LEADS) + 1)
    return np.asarray(w)


def build_index(path: Path, docs, jobs: int) -> None:
    from vnsearch import Document, Index

    if path.exists():
        return
    t0 = time.perf_counter()
    tmp = path.with_name(path.name + ".tmp")
    idx = Index.create(tmp, overwrite=True)
    idx.add((Document(id=d.id, title="", summary=d.summary, body=d.body) for d in docs), jobs=jobs)
    idx.close()
    tmp.rename(path)
    print(f"built {path} in {time.perf_counter() - t0:.0f}s", file=sys.stderr)


def collect(index_path: Path, queries: list, qrels: dict, top: int, lead: bool):
    """Per query ``(kind, qid, text)``: (kind, features, offset, relevant mask, current
    scores) over its candidates."""
    import orjson

    from vnsearch import Index
    from vnsearch.search.parse import Words, parse
    from vnsearch.search.rank import COORDINATION, scorer_for

    idx = Index.open(index_path)
    searcher = idx.searcher()
    scorer = scorer_for(searcher)
    docnum = {searcher.stored_fields(i)["id"]: i for i in range(scorer.n)}
    texts: dict[int, list[str]] = {}

    def text_of(d: int) -> list[str]:
        if d not in texts:
            doc = orjson.loads(searcher.stored_fields(d)["doc"])
            text = (doc.get("summary") or "") + "\n" + (doc.get("body") or "")
            texts[d] = [t.lower() for t in _SYLLABLE.findall(text)]
        return texts[d]

    out, skipped = [], 0
    t0 = time.perf_counter()
    for kind, qid, text in queries:
        wq, _ = parse(text, None)
        if not isinstance(wq, Words) or wq.ascii_only:
            skipped += 1
            continue
        scores, matched = scorer.free_text(wq)
        rel = [docnum[d] for d in qrels[qid] if d in docnum]
        live = np.flatnonzero(matched)
        if not len(live) or not rel:
            skipped += 1
            continue
        ev = scorer.evidence(wq)
        k = min(top, len(live))
        cand = live[np.argpartition(-scores[live], k - 1)[:k]]
        cand = np.union1d(cand, np.asarray(rel))
        x, off = features(ev, cand, COORDINATION)
        cur = scores[cand].astype(np.float64)
        if lead:
            x = np.concatenate([x, cur[:, None] * lead_features(scorer, wq, cand, text_of)], axis=1)
        out.append((kind, x, off, np.isin(cand, rel), cur))
    print(f"features of {len(out)} queries in {time.perf_counter() - t0:.0f}s "
          f"({skipped} skipped: not a plain run of words with diacritics)", file=sys.stderr)
    idx.close()
    return out


def _normalised(data):
    """Each query's features divided by its best current score (rankings unchanged)."""
    out = []
    for kind, x, off, rel, cur in data:
        z = max(float(cur.max()), 1e-6)
        out.append((kind, x / z, off / z, rel, cur / z))
    return out


class Stacked:
    """Every query's candidates in one matrix, for scoring a weight vector in one pass."""

    def __init__(self, data):
        self.kinds = sorted({d[0] for d in data})
        self.x = np.concatenate([d[1] for d in data])
        self.off = np.concatenate([d[2] for d in data])
        self.rel = np.concatenate([d[3] for d in data])
        self.cur = np.concatenate([d[4] for d in data])
        sizes = np.asarray([len(d[1]) for d in data])
        self.q = np.repeat(np.arange(len(data)), sizes)
        self.start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        self.kind = np.asarray([self.kinds.index(d[0]) for d in data])
        n_rel = np.bincount(self.q, weights=self.rel, minlength=len(data))
        self.ideal = np.asarray([sum(1 / np.log2(i + 2) for i in range(min(int(r), 10))) for r in n_rel])

    def metric(self, w: np.ndarray | None) -> dict[str, float]:
        """Per query kind: MRR@10 (headlines, abstracts) or nDCG@10 (events) of ranking the
        candidates by ``w`` (None: the current scores); ties by candidate order."""
        s = self.cur if w is None else self.x @ w + self.off
        order = np.lexsort((-s, self.q))
        rank = np.empty(len(s), dtype=np.int64)
        rank[order] = np.arange(len(s)) - self.start[self.q[order]]
        r = rank[self.rel]
        q = self.q[self.rel]
        first = np.full(len(self.start), 10**9)
        np.minimum.at(first, q, r)
        rr = np.where(first < 10, 1.0 / (first + 1), 0.0)
        dcg = np.bincount(q, weights=np.where(r < 10, 1 / np.log2(r + 2), 0.0), minlength=len(first))
        ndcg = dcg / np.maximum(self.ideal, 1e-9)
        out = {}
        for i, k in enumerate(self.kinds):
            m = self.kind == i
            out[k] = float((ndcg if k == "e" else rr)[m].mean())
        return out

    def objective(self, w) -> float:
        return float(np.mean(list(self.metric(w).values())))


STEPS = (-1.0, -0.5, -0.25, -0.1, 0.1, 0.25, 0.5, 1.0, 2.0)


def fit(data, rounds: int = 3) -> np.ndarray:
    """Coordinate ascent on the mean of the kinds' metrics (Metzler & Croft 2007), from the
    hand-set weights, each weight kept at zero or above (more evidence never lowers a score)."""
    st = Stacked(data)
    w = current_weights(st.x.shape[1] > len(FORMS) * 4)
    best = st.objective(w)
    scale = np.full(len(w), 0.1)
    scale[: len(FORMS) * 4] = np.maximum(np.repeat(w[0 : len(FORMS) * 4 : 4], 4), 0.1)
    for _ in range(rounds):
        moved = False
        for i in range(len(w)):
            for step in STEPS:
                t = w.copy()
                t[i] = max(0.0, w[i] + step * scale[i])
                if t[i] == w[i]:
                    continue
                v = st.objective(t)
                if v > best + 1e-6:
                    best, w, moved = v, t, True
        if not moved:
            break
    return w


def cached_collect(path: Path, queries, qrels, top: int, lead: bool, key: str):
    import pickle

    cache = OUT_DIR / f"ltr-features-{key}-{top}{'-lead' if lead else ''}.pkl"
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    data = collect(path, queries, qrels, top, lead)
    cache.write_bytes(pickle.dumps(data))
    return data


KINDS = {"t": "headlines MRR@10", "a": "abstracts MRR@10", "e": "events nDCG@10"}


def _line(a: dict, b: dict) -> str:
    return ", ".join(f"{KINDS[k]} {a[k]:.4f} -> {b[k]:.4f} ({b[k] - a[k]:+.4f})" for k in a)


def _queries(title: dict, abstract: dict, events: dict) -> list:
    return ([("t", q, t) for q, t in title.items()] + [("a", q, t) for q, t in abstract.items()]
            + [("e", q, t) for q, t in events.items()])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_argument(ap)
    ap.add_argument("--docs", type=int, default=15000)
    ap.add_argument("--queries", type=int, default=1500, help="headline and abstract queries each")
    ap.add_argument("--events", type=int, default=500, help="event labels (bench/events.py)")
    ap.add_argument("--top", type=int, default=50, help="candidates per query from the ranking")
    ap.add_argument("--index", type=Path, default=None, help="reuse/build the training index here")
    ap.add_argument("--lead", action="store_true", help="add the lead and length features")
    ap.add_argument("--dev-index", type=Path, default=None,
                    help="apply the weights learned to the dev sets on this dev index")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    data_dir = Path(args.data)
    train, titles = load_train(data_dir, args.docs, args.queries)
    path = args.index or OUT_DIR / f"ltr-index-{args.docs}"
    build_index(path, train.docs, args.jobs)
    events = {}
    if args.events:
        events, er = event_set(train.docs, presegment(train.docs, args.jobs).docs, titles, limit=args.events)
    qrels = {**train.title_qrels, **train.abstract_qrels, **(er if args.events else {})}
    queries = _queries(train.title_queries, train.abstract_queries, events)
    key = f"train{args.docs}-{args.queries}-{args.events}"
    data = _normalised(cached_collect(path, queries, qrels, args.top, args.lead, key))
    names = feature_names(args.lead)
    folds = [data[0::2], data[1::2]]
    print(f"\n{len(data)} training queries, {args.top} candidates each (current ranking's top)")
    print("held-out folds (fitted on the other), hand-set -> learned:")
    for i in (0, 1):
        w = fit(folds[1 - i])
        st = Stacked(folds[i])
        print(f"  fold {i}: " + _line(st.metric(None), st.metric(w)))
    w = fit(data)
    st = Stacked(data)
    print("\nweights fitted on all training queries (hand-set -> learned):")
    for n, c, v in zip(names, current_weights(args.lead), w):
        print(f"  {n:<14} {c:8.4f} {v:8.4f}")
    print("all training queries (in-sample): " + _line(st.metric(None), st.metric(w)))
    if args.dev_index:
        dev = load_dev(data_dir)
        dev_titles = load_titles(dev_paths(data_dir)["docs"])
        ev_q, ev_r = event_set(dev.docs, presegment(dev.docs, args.jobs).docs, dev_titles, limit=args.events or 500)
        queries = _queries(dev.title_queries, dev.abstract_queries, ev_q)
        qrels = {**dev.title_qrels, **dev.abstract_qrels, **ev_r}
        dev_data = _normalised(cached_collect(args.dev_index, queries, qrels, args.top, args.lead, "dev"))
        st = Stacked(dev_data)
        print(f"dev ({len(dev_data)} queries, weights from training only): " + _line(st.metric(None), st.metric(w)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
