"""Per-term scores kept per snapshot (vnsearch/codec/snapshot_cache.py): searches rank exactly
as without them, the kept arrays cannot be changed in place, the memory they take is bounded
(least recently used dropped first), and a commit starts over."""

from __future__ import annotations

import numpy as np

from vnsearch import Document, Index
from vnsearch.codec import snapshot_cache
from vnsearch.codec.snapshot_cache import SnapshotCache

WORDS = "giá vàng tăng mạnh hôm nay thị trường chứng khoán ngân hàng lãi suất".split()
QUERIES = ["giá vàng", "gia vang hom nay", "thị trường chứng khoán", "lãi suất ngân hàng",
           "giá vàng", "vàng tăng"]


def _docs(n: int, start: int = 0) -> list[Document]:
    return [Document(id=f"d{i}", title=f"tin {WORDS[i % 12]} {WORDS[(i * 5) % 12]}",
                     body=" ".join(WORDS[(i * 7 + k * k) % 12] for k in range(3 + i % 17)))
            for i in range(start, start + n)]


def _ranked(ix: Index) -> list:
    return [[(h.id, h.score) for h in ix.search(q, limit=20).hits] + [ix.search(q).total]
            for q in QUERIES]


def test_kept_scores_rank_exactly_as_computed_ones(tmp_path, monkeypatch):
    path = tmp_path / "ix"
    ix = Index.create(path)
    ix.add(_docs(300))
    kept = _ranked(ix)
    monkeypatch.setattr(snapshot_cache, "SCORES_SHARE", 0.0)  # nothing kept from now on
    fresh = Index.open(path)
    assert _ranked(fresh) == kept


def test_a_commit_scores_with_the_new_statistics(tmp_path):
    ix = Index.create(tmp_path / "ix")
    ix.add(_docs(200))
    before = [h.score for h in ix.search("giá vàng", limit=5).hits]
    ix.add(_docs(200, 200))
    after = ix.search("giá vàng", limit=5)
    fresh = Index.open(tmp_path / "ix").search("giá vàng", limit=5)
    assert [(h.id, h.score) for h in after.hits] == [(h.id, h.score) for h in fresh.hits]
    assert [h.score for h in after.hits] != before  # idf and lengths moved


def test_kept_scores_are_read_only_and_bounded():
    cache = SnapshotCache((0, ()), budget=1000)  # scores may take all of it: 1000 postings
    assert cache.scores_budget == 1000 and cache.postings_budget == 250
    ids, s = np.arange(100, dtype=np.int32), np.ones(100, dtype=np.float32)
    cache.put_scores("a", (ids, s))
    assert not s.flags.writeable and cache.scores("a")[0][1] is s
    for i in range(20):
        cache.put_scores(("t", i), (np.arange(100, dtype=np.int32), np.ones(100, np.float32)))
    assert cache.scores("a") is None  # least recently used, dropped
    assert cache._scores_size <= 1000
    cache.put_scores("absent", None)
    assert cache.scores("absent") == (None,)
    cache.put_scores("big", (np.arange(900, dtype=np.int32), np.ones(900, np.float32)))
    assert cache.scores("big") is None  # over a quarter of the budget: not kept
