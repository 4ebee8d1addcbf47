"""A multi-relevant query set made from the dev collection itself: short event labels, each
judged against the 3-5 articles that report the event.

No label is written by hand (nor tuned to any system's results):

1. **Events.** Articles whose bodies are alike (TF-IDF cosine over lower-cased pyvi words,
   sublinear tf, at least ``MIN_COSINE``) are linked; connected groups of 3-5 articles are
   the events (bigger groups are topics or chains, not one event; pairs are too few to rank).
2. **Labels.** The pyvi words of the group's headlines shared by at least half of them (and
   at least two) form the label, in the order and the case of the headline holding most of
   them (``Triều Tiên phóng tên lửa``). Labels of 2-8 words are kept: fewer is not an event,
   more is a headline.
3. Every article of the group is relevant (nDCG@10).

Headlines are not indexed (as in the headline set), so a label is a real retrieval task.
The result is cached in ``bench/out`` keyed by the documents, titles and parameters.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Sequence

from bench.common import OUT_DIR, BenchDoc, iter_jsonl, segment_text

MIN_COSINE = 0.5
GROUP_SIZES = (3, 5)
LABEL_WORDS = (2, 8)
VERSION = 1


def load_titles(docs_path: Path) -> dict[str, str]:
    return {str(r["id"]): r.get("title") or "" for r in iter_jsonl(docs_path)}


def _groups(segmented: Sequence[BenchDoc]) -> list[list[int]]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(analyzer=str.split, lowercase=False, min_df=2, max_df=0.2, sublinear_tf=True)
    x = vec.fit_transform([(d.summary + "\n" + d.body).lower() for d in segmented]).tocsr()
    parent = list(range(x.shape[0]))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    xt = x.T.tocsc()
    for start in range(0, x.shape[0], 1000):
        sims = (x[start:start + 1000] @ xt).tocoo()
        keep = (sims.data >= MIN_COSINE) & (sims.row + start < sims.col)
        for a, b in zip((sims.row[keep] + start).tolist(), sims.col[keep].tolist()):
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    members: dict[int, list[int]] = {}
    for i in range(x.shape[0]):
        members.setdefault(find(i), []).append(i)
    lo, hi = GROUP_SIZES
    return [m for m in members.values() if lo <= len(m) <= hi]


def _label(titles: list[str]) -> str | None:
    segmented = [[w for w in segment_text(t).split()] for t in titles]
    word_sets = [{w.lower() for w in ws} for ws in segmented]
    need = max(2, (len(titles) + 1) // 2)
    shared = {w for w in set().union(*word_sets) if sum(w in s for s in word_sets) >= need}
    if not shared:
        return None
    best = max(segmented, key=lambda ws: sum(w.lower() in shared for w in ws))
    label, seen = [], set()
    for w in best:
        low = w.lower()
        if low in shared and low not in seen:
            seen.add(low)
            label.append(w.replace("_", " "))
    lo, hi = LABEL_WORDS
    return " ".join(label) if lo <= len(label) <= hi else None


def event_set(docs: Sequence[BenchDoc], segmented: Sequence[BenchDoc], titles: dict[str, str],
              limit: int | None = 500, seed: int = 0, cache_dir: Path = OUT_DIR):
    """``(queries, qrels)``: event labels and their articles, at most ``limit`` (seeded)."""
    h = hashlib.sha256(f"{VERSION} {MIN_COSINE} {GROUP_SIZES} {LABEL_WORDS}".encode())
    for d in docs:
        h.update(f"{d.id}\0{titles.get(d.id, '')}\0{len(d.body)}\1".encode())
    cache = Path(cache_dir) / f"events-{h.hexdigest()[:20]}.json"
    if cache.exists():
        data = json.loads(cache.read_text(encoding="utf-8"))
    else:
        data = []
        for group in _groups(segmented):
            ids = sorted(docs[i].id for i in group)
            label = _label([titles.get(i, "") for i in ids])
            if label:
                data.append({"query": label, "docs": ids})
        data.sort(key=lambda e: e["docs"])
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(data, ensure_ascii=False, indent=0), encoding="utf-8")
    if limit is not None and len(data) > limit:
        data = sorted(random.Random(seed).sample(data, limit), key=lambda e: e["docs"])
    queries = {f"event-{i:04d}": e["query"] for i, e in enumerate(data)}
    qrels = {f"event-{i:04d}": {d: 1 for d in e["docs"]} for i, e in enumerate(data)}
    return queries, qrels
