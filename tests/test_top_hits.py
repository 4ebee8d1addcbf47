"""The best hits are found without sorting every match, and are the same as a full sort's."""

import numpy as np

from vnsearch import Document, Index
from vnsearch.search.rank import TOP_BLOCK, best_candidates


def _full_sort_candidates(scores, matched, k, margin=0.0):
    live = np.flatnonzero(matched)
    kth = np.sort(scores[live])[::-1][k - 1]
    return set(live[scores[live] >= kth - margin].tolist())


def test_the_candidates_hold_every_match_scoring_at_least_the_kth_best():
    rng = np.random.default_rng(7)
    n = 50 * TOP_BLOCK + 13  # a last block that is not full
    for trial in range(50):
        scores = rng.random(n, dtype=np.float32) * 20
        scores[rng.integers(0, n, 200)] = 7.5  # ties
        matched = rng.random(n) < 0.6
        k = int(rng.integers(1, 20))
        got = best_candidates(scores, matched, k)
        assert set(got.tolist()) >= _full_sort_candidates(scores, matched, k)
        assert matched[got].all()
        assert np.all(np.diff(got) > 0)
        assert len(got) < matched.sum()  # far fewer than every match


def test_a_score_a_rounding_away_from_the_kth_best_is_a_candidate():
    n = 100 * TOP_BLOCK
    scores = np.zeros(n, dtype=np.float32)
    matched = np.ones(n, dtype=bool)
    scores[::TOP_BLOCK] = 5.0  # the best score of every block
    scores[1] = np.float32(5.0 - 4e-7)  # ties with 5.0 to 6 decimals
    assert 1 not in best_candidates(scores, matched, 3).tolist()
    assert 1 in best_candidates(scores, matched, 3, margin=4e-6).tolist()


def test_few_matches_or_a_small_index_give_every_match():
    scores = np.arange(1000, dtype=np.float32)
    matched = np.zeros(1000, dtype=bool)
    matched[[3, 500, 999]] = True
    assert best_candidates(scores, matched, 10).tolist() == [3, 500, 999]
    assert best_candidates(scores[:40], np.ones(40, dtype=bool), 5).tolist() == list(range(40))


def test_search_pages_are_those_of_a_full_sort_with_ties_broken_by_date_then_id(tmp_path):
    ix = Index.create(tmp_path / "ix")
    docs = []
    for i in range(1500):
        # three kinds of documents: many exact ties, as syndicated copies are
        body = ("Bão số 3 đổ bộ vào Quảng Ninh." if i % 3 == 0 else
                "Bão số 3 gây mưa lớn ở Hà Nội và Quảng Ninh." if i % 3 == 1 else
                f"Tin thời tiết số {i}: trời nắng.")
        docs.append(Document(id=f"d{i:04d}", body=body, date=f"2024-01-{1 + i % 28:02d}"))
    ix.add(docs, jobs=1)
    everything = ix.search("bão Quảng Ninh", limit=2000)
    assert everything.total == 1000
    for limit in (1, 10, 35):
        page = ix.search("bão Quảng Ninh", limit=limit)
        assert [h.id for h in page.hits] == [h.id for h in everything.hits[:limit]]
    best = everything.hits[0].score
    tied = [h for h in everything.hits if round(h.score, 6) == round(best, 6)]
    assert len(tied) > 10
    keys = [(h.date or "", h.id) for h in tied]
    assert keys == sorted(keys, key=lambda k: (_neg(k[0]), k[1]))


def _neg(date: str) -> tuple:
    return tuple(-ord(c) for c in date)


def test_float64_scores_are_compared_as_they_are():
    n = 100 * TOP_BLOCK
    scores = np.zeros(n, dtype=np.float64)
    scores[::TOP_BLOCK] = 1.0
    scores[1] = 1.0 - 1e-12  # equal to 1.0 in float32, below it in float64
    got = best_candidates(scores, np.ones(n, dtype=bool), 3).tolist()
    assert 1 not in got and got[:3] == [0, TOP_BLOCK, 2 * TOP_BLOCK]
