"""Near-duplicate grouping: precision/recall per threshold and shingle size, and its cost.

Two measurements, both on ../shared/data/baomoi-35k.jsonl.gz (skipped when absent):

1. Generated copies. Base articles with no near-duplicate in the corpus (exact 3-shingle Jaccard
   < 0.2 against every other document) get edited copies: headline changed, byline line added,
   paragraph dropped, sentences reordered, 5/10/20/30 % of words edited. Copies join the whole
   corpus (the distractors). Truth: copies of one base belong together; any grouped pair that
   joins a copy to another story is a false positive. Reported per threshold and shingle size,
   plus recall per edit kind.
2. Real re-published stories. Groups over the corpus; precision = share of sampled grouped pairs
   whose exact Jaccard reaches the threshold; recall = share of exact-Jaccard pairs (>= threshold,
   found exhaustively for a sample of documents with a sparse product) that are grouped.

Cost: signature + store time per document as a ratio to (a) pyvi segmentation of the same
documents and (b) vnsearch indexing without signatures, when vnsearch.index exists.

    python bench/dedup.py [--limit N] [--bases N] [--sample N]
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import re
import sys
import tempfile
import time
from itertools import combinations

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402
import orjson  # noqa: E402

from vnsearch.dedup import minhash as dedup  # noqa: E402

# ../shared/data next to the repository, like the other benchmarks (bench/common.py)
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data",
                    "baomoi-35k.jsonl.gz")
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
SHINGLES = (2, 3, 4, 5)
EDITS = ("headline", "byline", "drop_paragraph", "reorder", "words5", "words10", "words20",
         "words30", "drop+words10")
_SENT = re.compile(r"(?<=[.!?…])\s+")


def load(limit: int) -> list[dict]:
    docs = []
    with gzip.open(DATA) as f:
        for line in f:
            r = orjson.loads(line)
            r["text"] = "\n".join(x for x in (r.get("summary"), r.get("body")) if x)
            docs.append(r)
            if len(docs) >= limit:
                break
    return docs


# ---------------------------------------------------------------- generated copies


def paragraphs(text: str) -> list[list[str]]:
    """baomoi bodies are one line: cut sentences into paragraphs of 3 sentences."""
    sents = [s for s in _SENT.split(text.replace("\n", " ")) if s.strip()]
    return [sents[i : i + 3] for i in range(0, len(sents), 3)]


def edit_words(text: str, share: float, vocab: list[str], rng: random.Random) -> str:
    words = text.split(" ")
    out = []
    for w in words:
        if rng.random() < share:
            op = rng.randrange(3)
            if op == 0:
                out.append(rng.choice(vocab))  # substitute
            elif op == 1:
                out.extend([w, rng.choice(vocab)])  # insert
            # else: delete
        else:
            out.append(w)
    return " ".join(out)


def make_copy(doc: dict, kind: str, vocab: list[str], rng: random.Random) -> str:
    paras = paragraphs(doc["text"])
    if kind == "headline":  # the title is not in the signature: the text is unchanged
        return doc["text"]
    if kind == "byline":
        return rng.choice(["PV", "THANH HÀ", "Theo TTXVN", "NGUYỄN AN"]) + " | \n" + doc["text"]
    if kind in ("drop_paragraph", "drop+words10") and len(paras) > 1:
        drop = rng.randrange(len(paras))
        paras = [p for i, p in enumerate(paras) if i != drop]
    if kind == "reorder":
        for p in paras:
            rng.shuffle(p)
        if len(paras) > 2:
            i = rng.randrange(len(paras) - 1)
            paras[i], paras[i + 1] = paras[i + 1], paras[i]
    text = "\n".join(" ".join(p) for p in paras)
    if kind.startswith("words") or kind == "drop+words10":
        share = 0.10 if kind == "drop+words10" else int(kind[5:]) / 100
        text = edit_words(text, share, vocab, rng)
    return text


def signatures(texts: list[str], hasher) -> tuple[list[str], np.ndarray]:
    """Ids (positions as strings) and stacked signatures of the non-empty texts."""
    pairs = [(str(i), s) for i, s in enumerate(map(hasher.signature, texts)) if s is not None]
    return [p[0] for p in pairs], np.stack([p[1] for p in pairs])


def shingle_sets(texts: list[str], size: int) -> list[np.ndarray]:
    return [np.unique(dedup.shingle_hashes(t, size)) for t in texts]


def sparse_rows(sets: list[np.ndarray]):
    from scipy import sparse

    vocab = np.unique(np.concatenate([s for s in sets if s.size] or [np.empty(0, np.uint64)]))
    indptr = np.cumsum([0] + [s.size for s in sets])
    cols = np.concatenate([np.searchsorted(vocab, s) for s in sets])
    data = np.ones(cols.size, dtype=np.float32)
    return sparse.csr_matrix((data, cols, indptr), shape=(len(sets), vocab.size))


def exact_neighbours(mat, rows: list[int], min_j: float) -> dict[int, dict[int, float]]:
    """Exact Jaccard >= min_j between each of ``rows`` and every document (sparse product)."""
    sizes = np.asarray(mat.sum(axis=1)).ravel()
    out: dict[int, dict[int, float]] = {}
    mt = mat.T.tocsc()
    for start in range(0, len(rows), 200):
        part = rows[start : start + 200]
        inter = (mat[part] @ mt).tocoo()
        union = sizes[np.asarray(part)[inter.row]] + sizes[inter.col] - inter.data
        jac = inter.data / np.maximum(union, 1)
        keep = (jac >= min_j) & (np.asarray(part)[inter.row] != inter.col)
        for r, c, j in zip(inter.row[keep], inter.col[keep], jac[keep]):
            out.setdefault(part[r], {})[int(c)] = float(j)
        for r in part:
            out.setdefault(r, {})
    return out


def pair_scores(groups: list[list[int]], truth_of, relevant) -> tuple[int, int]:
    """(#grouped pairs touching ``relevant`` nodes, #of them correct by ``truth_of``)."""
    n = ok = 0
    for g in groups:
        for a, b in combinations(g, 2):
            if a in relevant or b in relevant:
                n += 1
                ok += truth_of(a, b)
    return n, ok


def bench_generated(docs, args, rng) -> None:
    texts = [d["text"] for d in docs]
    print(f"\n## Generated copies ({args.bases} bases x {len(EDITS)} edits, "
          f"{len(docs)} real articles as distractors)")
    sets3 = shingle_sets(texts, 3)
    mat = sparse_rows(sets3)
    pool = [i for i, s in enumerate(sets3) if 150 <= s.size <= 1500]
    rng.shuffle(pool)
    cand = pool[: args.bases * 3]
    near = exact_neighbours(mat, cand, 0.2)
    bases = [i for i in cand if not near[i]][: args.bases]
    vocab = [w for t in rng.sample(texts, 200) for w in t.split(" ") if w.isalpha()]
    copies, base_of, kind_of = [], [], []
    for b in bases:
        for kind in EDITS:
            copies.append(make_copy(docs[b], kind, vocab, rng))
            base_of.append(b)
            kind_of.append(kind)
    n0 = len(texts)
    all_texts = texts + copies
    story = {i: i for i in range(n0)}
    story.update({n0 + j: b for j, b in enumerate(base_of)})
    relevant = set(bases) | set(range(n0, n0 + len(copies)))
    true_pairs = len(bases) * (len(EDITS) + 1) * len(EDITS) // 2
    print("| shingle | threshold | precision | recall | F1 | " + " | ".join(EDITS) + " |")
    print("|---" * (5 + len(EDITS)) + "|")
    for size in args.shingles:
        ids, sigs = signatures(all_texts, dedup.MinHasher(shingle_size=size))
        for t in THRESHOLDS:
            comps = dedup.group_signatures(ids, sigs, t)
            groups = [[int(x) for x in c] for c in comps if len(c) > 1]
            n, ok = pair_scores(groups, lambda a, b: story[a] == story[b], relevant)
            gid = {m: k for k, g in enumerate(groups) for m in g}
            found = sum(
                1 for g in groups for a, b in combinations(g, 2)
                if a in relevant and b in relevant and story[a] == story[b]
            )
            p = ok / n if n else 1.0
            r = found / true_pairs
            f1 = 2 * p * r / (p + r) if p + r else 0.0
            per_kind = []
            for kind in EDITS:
                js = [j for j, k in enumerate(kind_of) if k == kind]
                hit = sum(1 for j in js if gid.get(n0 + j, -1) == gid.get(base_of[j], -2))
                per_kind.append(f"{hit / len(js):.2f}")
            print(f"| {size} | {t:.1f} | {p:.3f} | {r:.3f} | {f1:.3f} | " + " | ".join(per_kind)
                  + " |")
    # Exact Jaccard of each edit kind to its base, for reading the table.
    copy_sets = shingle_sets(copies, args.shingle)
    base_sets = {b: np.unique(dedup.shingle_hashes(texts[b], args.shingle)) for b in bases}
    print(f"\nMean exact {args.shingle}-shingle Jaccard of a copy to its base:")
    for kind in EDITS:
        js = []
        for j, k in enumerate(kind_of):
            if k == kind:
                a, b = copy_sets[j], base_sets[base_of[j]]
                inter = np.intersect1d(a, b).size
                js.append(inter / max(a.size + b.size - inter, 1))
        print(f"- {kind}: {np.mean(js):.3f} (min {np.min(js):.3f})")


# ---------------------------------------------------------------- real re-published stories


def bench_real(docs, args, rng) -> None:
    texts = [d["text"] for d in docs]
    print(f"\n## Real re-published stories ({len(docs)} baomoi articles, "
          f"{args.shingle}-syllable shingles)")
    ids, sigs = signatures(texts, dedup.MinHasher(shingle_size=args.shingle))
    empty = set(range(len(texts))) - {int(i) for i in ids}
    sets = shingle_sets(texts, args.shingle)
    mat = sparse_rows(sets)
    sample = rng.sample([i for i in range(len(texts)) if i not in empty],
                        min(args.sample, len(texts) - len(empty)))
    truth = exact_neighbours(mat, sample, min(THRESHOLDS))
    sizes = np.asarray(mat.sum(axis=1)).ravel()

    def exact(a: int, b: int) -> float:
        inter = mat[a].multiply(mat[b]).sum()
        return float(inter / max(sizes[a] + sizes[b] - inter, 1))

    print("| threshold | groups | docs in groups | largest | pairs | precision (sampled) | "
          "recall (exact pairs) | true pairs in sample |")
    print("|---" * 8 + "|")
    for t in THRESHOLDS:
        comps = dedup.group_signatures(ids, sigs, t)
        groups = [[int(x) for x in c] for c in comps if len(c) > 1]
        gid = {m: k for k, g in enumerate(groups) for m in g}
        pairs = [(a, b) for g in groups for a, b in combinations(g, 2)] if sum(
            len(g) ** 2 for g in groups) < 5e6 else None
        if pairs is None:  # sample pairs without listing them all
            weights = [len(g) * (len(g) - 1) / 2 for g in groups]
            pairs = []
            for g in rng.choices(groups, weights=weights, k=args.pairs):
                pairs.append(tuple(rng.sample(g, 2)))
            n_pairs = int(sum(weights))
        else:
            n_pairs = len(pairs)
        checked = rng.sample(pairs, min(args.pairs, len(pairs)))
        prec = np.mean([exact(a, b) >= t - 1e-9 for a, b in checked]) if checked else 1.0
        true = [(a, b) for a in sample for b, j in truth[a].items() if j >= t and b not in empty]
        rec = np.mean([gid.get(a, -1) == gid.get(b, -2) for a, b in true]) if true else 1.0
        print(f"| {t:.1f} | {len(groups)} | {sum(map(len, groups))} | "
              f"{max(map(len, groups), default=0)} | {n_pairs} | {prec:.3f} | {rec:.3f} | "
              f"{len(true)} |")
    # Show a few groups at the default threshold, for the eye.
    comps = dedup.group_signatures(ids, sigs, dedup.DEFAULT_THRESHOLD)
    groups = sorted((c for c in comps if len(c) > 1), key=len, reverse=True)
    print(f"\nLargest groups at {dedup.DEFAULT_THRESHOLD}:")
    for g in groups[:5]:
        print(f"- {len(g)} docs: " + " / ".join(docs[int(i)]["title"][:50] for i in g[:3]))


# ---------------------------------------------------------------- cost


def bench_cost(docs, args) -> None:
    sub = docs[: args.cost_docs]
    texts = [d["text"] for d in sub]
    print(f"\n## Cost ({len(sub)} documents)")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        hasher = dedup.MinHasher(shingle_size=args.shingle)
        sigs = [hasher.signature(t) for t in texts]
        t_sig = time.perf_counter() - t0
        t0 = time.perf_counter()
        store = dedup.DuplicateStore(os.path.join(tmp, dedup.STORE_FILENAME))
        with store.transaction():
            for d, s in zip(sub, sigs):
                store.add_signature(d["id"], s)
        store.close()
        t_store = time.perf_counter() - t0
    print(f"- signatures: {t_sig / len(sub) * 1e3:.3f} ms/doc; store updates: "
          f"{t_store / len(sub) * 1e3:.3f} ms/doc")
    from datasketch import MinHash

    t0 = time.perf_counter()
    for t in texts:
        s = dedup.syllables(t)
        m = MinHash(num_perm=128)
        m.update_batch([" ".join(s[i : i + args.shingle]).encode() for i in
                        range(max(len(s) - args.shingle + 1, 1))])
    t_ds = time.perf_counter() - t0
    print(f"- datasketch MinHash.update_batch on the same shingles: {t_ds / t_sig:.2f}x our time")
    from pyvi import ViTokenizer

    ViTokenizer.tokenize("khởi động")
    t0 = time.perf_counter()
    for t in texts:
        for line in t.split("\n"):
            ViTokenizer.tokenize(line)
    t_pyvi = time.perf_counter() - t0
    print(f"- stand-in: (pyvi segmentation + signatures + store) / pyvi segmentation = "
          f"{(t_pyvi + t_sig + t_store) / t_pyvi:.3f}x")
    try:
        from vnsearch.index import Index  # noqa: F401
    except ImportError:
        print("- vnsearch.index not available: indexing-time ratio not measured")
        return
    measure_index_overhead(sub, args)


def measure_index_overhead(sub, args) -> None:
    from vnsearch.document import Document
    from vnsearch.index import Index

    documents = [
        Document(id=d["id"], title=d.get("title") or "", summary=d.get("summary") or "",
                 body=d.get("body") or "", date=None, source=d.get("source") or "")
        for d in sub
    ]
    # CPU time of this process with jobs=1 (everything runs here): robust to other load on the
    # machine, which made wall-clock ratios swing by +-40 % between identical runs.
    times: dict[bool, list[float]] = {False: [], True: []}
    for track in (False, True) * args.repeats:
        with tempfile.TemporaryDirectory() as tmp:
            ix = Index.create(os.path.join(tmp, "ix"))
            ix.track_duplicates = track
            t0 = time.process_time()
            ix.add(documents, jobs=1)
            times[track].append(time.process_time() - t0)
            ix.close()
    ratio = min(times[True]) / min(times[False])
    print(f"- indexing {len(documents)} docs (jobs=1, CPU time, best of {args.repeats}): "
          f"with signatures / without = {ratio:.3f}x "
          f"({min(times[True]):.1f}s vs {min(times[False]):.1f}s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=40000)
    ap.add_argument("--bases", type=int, default=200)
    ap.add_argument("--sample", type=int, default=2000, help="docs with exhaustive exact pairs")
    ap.add_argument("--pairs", type=int, default=2000, help="grouped pairs checked")
    ap.add_argument("--shingle", type=int, default=dedup.DEFAULT_SHINGLE_SIZE)
    ap.add_argument("--cost-docs", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--shingles", type=lambda v: [int(x) for x in v.split(",")],
                    default=list(SHINGLES), help="shingle sizes compared on generated copies")
    ap.add_argument("--skip", default="", help="comma list of generated,real,cost")
    args = ap.parse_args()
    if not os.path.exists(DATA):
        print(f"skipped: {DATA} not present")
        return
    rng = random.Random(7)
    docs = load(args.limit)
    skip = set(args.skip.split(","))
    if "generated" not in skip:
        bench_generated(docs, args, rng)
    if "real" not in skip:
        bench_real(docs, args, rng)
    if "cost" not in skip:
        bench_cost(docs, args)


if __name__ == "__main__":
    main()
