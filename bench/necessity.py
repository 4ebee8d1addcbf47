"""Term necessity for long queries, learned on training articles: does weighting each word of
an abstract query by how likely it is to occur in the article help the ranking?

Every distinct term of a query counts its BM25F times its form weight times the times it is
typed. An abstract (40–60 syllables) holds many words that paraphrase the article, while
names, numbers and rare words nearly always occur in it. Here each query word gets a weight,
``weight / mean weight over the query`` multiplying its forms (a syllable and its folded form
weigh as their word, a pair the mean of its two syllables), only in runs of MIN_SYLLABLES
syllables or more. The weight comes from :func:`features` (idf of the word and of its rarest
syllable as shares of the largest idf, one syllable, log syllables, a digit, a capital not
opening the query, an acronym, log times typed, relative position, log query length) in two
ways, both fitted on training articles of an index built by bench/ltr.py (15,000 articles of
``scale/vietnews-train.jsonl.gz``, title left out), leaving out every article whose headline
or abstract is a held-out query:

* ``presence``: a logistic regression of whether the word's syllables occur, in order, in
  the article (body and captions); the weight is the predicted probability;
* ``listwise``: ``exp(coefficients · features)``, the coefficients fitted directly for
  ranking: for each training abstract, the current top ``--top`` and the article, each
  document's score decomposed per query word (exactly: the ranking is linear in the word
  weights once coordination and the lead boost are taken as a factor per document), and a
  softmax loss with the article as the target; two folds by query, then all.

The held-out training headlines and abstracts then measure MRR@10 through ``Index.search``
with the weighting off and on, in one process. The product is not changed: the weighting is
patched into :meth:`vnsearch.search.rank.Scorer._term_scores` here (docs/benchmarks.md,
eighth session, has the results: not adopted).

    python bench/necessity.py --index bench/out/train-ix3 [--dev-index DIR]
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    DEFAULT_DATA_DIR,
    iter_jsonl,
    load_dev,
    remove_diacritics,
    require_data,
)
from bench.quality import load_train  # noqa: E402
from vnsearch import Index  # noqa: E402
from vnsearch.search import rank  # noqa: E402
from vnsearch.search.parse import Words, parse  # noqa: E402
from vnsearch.text.analysis import analyze, syllables_of  # noqa: E402
from vnsearch.text.forms import FOLDED, PAIRS, SYLLABLES, WORDS  # noqa: E402

FEATURES = ("idf word", "idf rarest syllable", "one syllable", "log syllables", "digit",
            "capital", "acronym", "log times typed", "position", "log query syllables")
MIN_SYLLABLES = 20
#: The weighting patched in (see :func:`patch`): None (off) or (kind, coefficients); the
#: forms it applies to (the others count as typed); whether weights above 1 are cut to 1.
WEIGHTING: dict = {"model": None, "forms": (WORDS, SYLLABLES, FOLDED, PAIRS), "down_only": False}
FORMS = {"all": (WORDS, SYLLABLES, FOLDED, PAIRS), "syllables": (SYLLABLES, FOLDED, PAIRS),
         "words": (WORDS,)}


def capitals_of(query: str) -> list[bool]:
    return [t.text[:1].isupper() for t in analyze(query).tokens]


def features(scorer, node: Words, capitals: list[bool]) -> np.ndarray:
    """One row per query word (FEATURES); idfs as shares of the largest idf possible, so
    that they mean the same in indexes of any size."""
    top = scorer._idf(0)
    n = len(node.words)
    counts = Counter(node.words)
    log_len = math.log(max(len(node.syllables), 1))
    if len(capitals) != n:
        capitals = [False] * n
    acronyms = node.acronyms if len(node.acronyms) == n else [""] * n
    rows, start = [], 0
    for i, (word, size) in enumerate(zip(node.words, node.sizes)):
        idf_word = scorer._idf(scorer._df(WORDS, word, node.sections)) / top
        syllables = node.syllables[start : start + size]
        start += size
        idf_syllable = max((scorer._idf(scorer._df(SYLLABLES, s, node.sections)) / top
                            for s in syllables), default=idf_word)
        rows.append((idf_word, idf_syllable, float(size == 1), math.log(max(size, 1)),
                     float(any(c.isdigit() for c in word)), float(capitals[i] and i > 0),
                     float(bool(acronyms[i])), math.log(counts[word]), i / max(n - 1, 1), log_len))
    return np.array(rows, dtype=np.float64).reshape(n, len(FEATURES))


def eligible(node) -> bool:
    return (isinstance(node, Words) and not node.ascii_only and not node.negated
            and len(node.syllables) >= MIN_SYLLABLES and len(node.sizes) == len(node.words))


def word_weights(x: np.ndarray, model) -> np.ndarray:
    kind, coef = model
    z = x @ np.asarray(coef[1:]) + coef[0]
    w = 1 / (1 + np.exp(-z)) if kind == "presence" else np.exp(np.clip(z - z.max(), -30, 0))
    w = w / w.mean()
    return np.minimum(w, 1.0) if WEIGHTING["down_only"] else w


def weighted_counts(node: Words, weights: np.ndarray) -> dict[str, Counter]:
    """Term → times typed, each weighted by its word's weight (in WEIGHTING's forms only): a
    syllable and its folded form weigh as their word, a pair the mean of its two syllables."""
    forms = WEIGHTING["forms"]
    ones = [1.0] * len(node.words)
    word_w = weights.tolist() if WORDS in forms else ones
    syl_w = np.repeat(weights if SYLLABLES in forms else np.ones(len(ones)), node.sizes).tolist()
    out: dict[str, Counter] = {f: Counter() for f in (WORDS, SYLLABLES, FOLDED, PAIRS)}
    for word, x in zip(node.words, word_w):
        out[WORDS][word] += x
    for syllable, folded, x in zip(node.syllables, node.folded, syl_w):
        out[SYLLABLES][syllable] += x
        out[FOLDED][folded] += x
    for pair, a, b in zip(node.pairs, syl_w, syl_w[1:]):
        out[PAIRS][pair] += (a + b) / 2
    return out


def patch() -> None:
    """Weight the term counts ``_term_scores`` yields (coverage still counts them as typed)."""
    original = rank.Scorer._term_scores

    def term_scores(self, node, cover, matched):
        model = WEIGHTING["model"]
        counts = None
        if model is not None and eligible(node):
            x = features(self, node, WEIGHTING.get("capitals", []))
            counts = weighted_counts(node, word_weights(x, model))
        for suffix, term, qtf, w, ids, s in original(self, node, cover, matched):
            yield suffix, term, counts[suffix][term] if counts else qtf, w, ids, s

    rank.Scorer._term_scores = term_scores


def presence_examples(scorer, query: str, article: list[str]):
    node, _ = parse(query)
    if not isinstance(node, Words) or node.ascii_only or not node.words or len(node.sizes) != len(node.words):
        return None
    grams = {tuple(article[i : i + n]) for n in range(1, 5) for i in range(len(article) - n + 1)}
    joined = f" {' '.join(article)} "
    labels, start = [], 0
    for size in node.sizes:
        syl = node.syllables[start : start + size]
        start += size
        labels.append(float(tuple(syl) in grams if size <= 4 else f" {' '.join(syl)} " in joined))
    return features(scorer, node, capitals_of(query)), np.array(labels)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, rounds: int = 25) -> np.ndarray:
    """Intercept and coefficients (Newton's method, L2 on the coefficients only)."""
    xb = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(xb.shape[1])
    reg = np.full(xb.shape[1], l2 * len(x))
    reg[0] = 0.0
    for _ in range(rounds):
        p = 1.0 / (1.0 + np.exp(-(xb @ w)))
        step = np.linalg.solve((xb * (p * (1 - p))[:, None]).T @ xb + np.diag(reg),
                               xb.T @ (p - y) + reg * w)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def decomposed(scorer, searcher, query: str, rel: int, top: int):
    """(features, per-word score of each candidate, final score of each, the article's
    position) for the current top ``top`` and the article, or None."""
    node, _ = parse(query)
    if not eligible(node):
        return None
    scores = rank.rank(searcher, node, None, scorer).scores
    cands = np.argsort(-scores)[:top]
    if rel not in cands:
        cands = np.append(cands, rel)
    word_of = np.repeat(np.arange(len(node.words)), node.sizes)
    per_word = np.zeros((len(node.words), len(cands)))
    dense = np.zeros(scorer.n, dtype=np.float32)
    cover = np.zeros(scorer.n, dtype=np.float32)
    matched = np.zeros(scorer.n, dtype=bool)
    for suffix, term, _, w, ids, s in scorer._term_scores(node, cover, matched):
        dense[:] = 0
        dense[ids] = s
        v = w * dense[cands]
        if suffix == WORDS:
            for i, t in enumerate(node.words):
                if t == term:
                    per_word[i] += v
        elif suffix in (SYLLABLES, FOLDED):
            for j, t in enumerate(node.syllables if suffix == SYLLABLES else node.folded):
                if t == term:
                    per_word[word_of[j]] += v
        else:
            for j, t in enumerate(node.pairs):
                if t == term:
                    per_word[word_of[j]] += v / 2
                    per_word[word_of[j + 1]] += v / 2
    return (features(scorer, node, capitals_of(query)), per_word, scores[cands].astype(np.float64),
            int(np.flatnonzero(cands == rel)[0]))


def fit_listwise(data: list, tau: float = 30.0, l2: float = 1e-3) -> tuple[np.ndarray, list]:
    """Coefficients of ``exp(coef · features)`` word weights (features standardised while
    fitting), a softmax over each query's candidates at temperature ``tau`` (scores divided by
    the best); returns them with the two folds' (train, held-out) MRR@10 before → after."""
    from scipy.optimize import minimize

    nq, nw, nk = len(data), max(len(d[0]) for d in data), max(d[1].shape[1] for d in data)
    x = np.zeros((nq, nw, len(FEATURES)))
    mask = np.zeros((nq, nw))
    parts = np.zeros((nq, nw, nk), dtype=np.float32)
    final = np.zeros((nq, nk))
    valid = np.zeros((nq, nk), dtype=bool)
    target = np.zeros(nq, dtype=int)
    for q, (f, c, s, r) in enumerate(data):
        x[q, : len(f)], mask[q, : len(f)], parts[q, : len(f), : c.shape[1]] = f, 1, c
        final[q, : len(s)], valid[q, : len(s)], target[q] = s, True, r
    summed = parts.sum(1)
    factor = np.where(summed > 0, final / np.where(summed > 0, summed, 1), 0)  # coordination, lead
    rest = np.where(summed > 0, 0, final)
    mu = (x * mask[..., None]).sum((0, 1)) / mask.sum()
    sd = np.sqrt((((x - mu) ** 2) * mask[..., None]).sum((0, 1)) / mask.sum()) + 1e-9
    z = (x - mu) / sd

    def scores(beta, sel):
        e = np.exp(np.clip(z[sel] @ beta, -20, 20)) * mask[sel]
        m = e / (e.sum(1, keepdims=True) / mask[sel].sum(1, keepdims=True))
        return np.where(valid[sel], factor[sel] * np.einsum("qw,qwk->qk", m, parts[sel]) + rest[sel], -1e9)

    def loss(beta, sel):
        a = scores(beta, sel)
        a = tau * a / a.max(1, keepdims=True)
        lse = np.log(np.exp(a - a.max(1, keepdims=True)).sum(1)) + a.max(1)
        return (lse - a[np.arange(len(sel)), target[sel]]).mean() + l2 * (beta**2).sum()

    def mrr10(beta, sel):
        s = scores(beta, sel)
        first = (s > s[np.arange(len(sel)), target[sel]][:, None]).sum(1) + 1
        return float(np.where(first <= 10, 1 / first, 0).mean())

    def fit(sel):
        return minimize(loss, np.zeros(len(FEATURES)), args=(sel,), method="L-BFGS-B").x

    perm = np.random.default_rng(0).permutation(nq)
    folds = [perm[: nq // 2], perm[nq // 2 :]]
    report = []
    zero = np.zeros(len(FEATURES))
    for a, b in (folds, folds[::-1]):
        beta = fit(a)
        report.append((mrr10(zero, a), mrr10(beta, a), mrr10(zero, b), mrr10(beta, b)))
    beta = fit(np.arange(nq))
    return np.concatenate([[0.0], beta / sd]), report


def mrr(idx, queries: dict[str, str], qrels: dict[str, dict[str, int]]) -> tuple[float, dict]:
    total, firsts = 0.0, {}
    for qid, q in queries.items():
        WEIGHTING["capitals"] = capitals_of(q)
        ids = [h.id for h in idx.search(q, limit=10, snippets=False, suggest=False).hits]
        first = next((i + 1 for i, d in enumerate(ids) if qrels[qid].get(d, 0) > 0), None)
        firsts[qid] = first
        total += 1 / first if first else 0.0
    return total / max(len(queries), 1), firsts


def measure(idx, sets: dict, models: dict) -> None:
    """MRR@10 of each set under each weighting (same process); against the first, the
    queries whose first relevant article rose / fell."""
    for name, (queries, qrels) in sets.items():
        base = None
        for label, model in models.items():
            WEIGHTING["model"] = model
            t0 = time.time()
            value, firsts = mrr(idx, queries, qrels)
            moved = ""
            if base is None:
                base = firsts
            else:
                def rr(r):
                    return 1 / r if r else 0.0
                up = sum(rr(firsts[q]) > rr(base[q]) for q in queries)
                down = sum(rr(firsts[q]) < rr(base[q]) for q in queries)
                moved = f"  rose {up} / fell {down}"
            print(f"{name:<24} {label:<22} MRR@10 {value:.4f}{moved}  ({time.time() - t0:.0f} s)", flush=True)
    WEIGHTING["model"] = None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR)
    ap.add_argument("--index", type=Path, required=True, help="training index (bench/ltr.py)")
    ap.add_argument("--docs", type=int, default=15000, help="training articles in --index")
    ap.add_argument("--queries", type=int, default=1500, help="held-out queries of each kind")
    ap.add_argument("--listwise-queries", type=int, default=5000)
    ap.add_argument("--top", type=int, default=100, help="candidates per listwise query")
    ap.add_argument("--dev-index", type=Path, help="also measure on the dev queries")
    ap.add_argument("--forms", choices=sorted(FORMS), default="all",
                    help="weight these forms only (syllables: syllables, folded and pairs)")
    ap.add_argument("--down-only", action="store_true", help="cut weights above 1 to 1")
    args = ap.parse_args(argv)
    WEIGHTING["forms"], WEIGHTING["down_only"] = FORMS[args.forms], args.down_only
    path = args.data / "scale" / "vietnews-train.jsonl.gz"
    require_data(path)

    train, _ = load_train(args.data, args.docs, args.queries)
    held = {q[2:] for q in (*train.title_queries, *train.abstract_queries)}
    body = {d.id: d.body for d in train.docs}
    fit_ids = [d for d in body if d not in held]
    wanted = set(fit_ids)
    texts = {str(r["id"]): (r.get("title") or "", r.get("summary") or "")
             for r in iter_jsonl(path) if str(r["id"]) in wanted}
    idx = Index.open(args.index)
    searcher = idx.searcher()
    scorer = rank.scorer_for(searcher)

    t0 = time.time()
    xs, ys = [], []
    for d in fit_ids:
        article = syllables_of(body[d])
        for q in texts.get(d, ("", "")):
            got = presence_examples(scorer, q, article) if q.strip() else None
            if got is not None:
                xs.append(got[0])
                ys.append(got[1])
    x, y = np.vstack(xs), np.concatenate(ys)
    presence = fit_logistic(x, y)
    print(f"presence: {len(fit_ids)} articles, {len(xs)} queries, {len(y)} query words, "
          f"{y.mean():.3f} found in the article ({time.time() - t0:.0f} s)")
    print("  intercept, " + ", ".join(FEATURES) + ":\n  " + ", ".join(f"{v:.3f}" for v in presence))

    t0 = time.time()
    docnum = {searcher.stored_fields(i)["id"]: i for i in range(scorer.n)}
    order = list(fit_ids)
    random.Random(7).shuffle(order)
    data = []
    for d in order:
        got = decomposed(scorer, searcher, texts.get(d, ("", ""))[1], docnum[d], args.top)
        if got is not None:
            data.append(got)
        if len(data) >= args.listwise_queries:
            break
    listwise, folds = fit_listwise(data)
    print(f"listwise: {len(data)} training abstracts of {MIN_SYLLABLES}+ syllables, top {args.top} "
          f"({time.time() - t0:.0f} s); re-ranking the candidates, MRR@10 fit → fitted, held out → fitted:")
    for i, (a, b, c, e) in enumerate(folds):
        print(f"  fold {i}: {a:.4f} → {b:.4f}, held out {c:.4f} → {e:.4f}")
    print("  " + ", ".join(FEATURES) + ":\n  " + ", ".join(f"{v:.3f}" for v in listwise[1:]))

    patch()
    models = {"off": None, "presence": ("presence", tuple(presence)),
              "listwise": ("listwise", tuple(listwise))}
    measure(idx, {"train headlines": (train.title_queries, train.title_qrels),
                  "train abstracts": (train.abstract_queries, train.abstract_qrels)}, models)
    if args.dev_index:
        dev = load_dev(args.data)
        plain = {q: remove_diacritics(t).lower() for q, t in dev.title_queries.items()}
        measure(Index.open(args.dev_index),
                {"dev headlines": (dev.title_queries, dev.title_qrels),
                 "dev headlines, no diacr.": (plain, dev.title_qrels),
                 "dev abstracts": (dev.abstract_queries, dev.abstract_qrels)}, models)
    return 0


if __name__ == "__main__":
    sys.exit(main())
