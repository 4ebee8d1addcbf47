"""One ``Index`` searched from many threads at once while a writer commits: no read ever fails
or reads another thread's bytes, every thread gets the results one thread alone gets, and the
ranking data carried across commits gives the same results as an index opened afresh."""

from __future__ import annotations

import random
import sys
import threading
import time

import pytest
from test_indexing import NAMES, WORDS

import vnsearch.codec.postings as postings_module
import vnsearch.text.segmenter as segmenter
from vnsearch import Document, Index

DOCS = 400
THREADS = 8


def generated(rng: random.Random, n: int) -> Document:
    def sentence(k: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(k)).capitalize() + "."

    paragraphs = [" ".join(sentence(rng.randint(8, 16)) for _ in range(3)) for _ in range(3)]
    return Document(
        id=f"d{n}", title=f"Tin số {n}: " + sentence(8)[:-1], author=rng.choice(NAMES),
        date=f"2023-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        tags=[rng.choice(WORDS)], body="\n\n".join(paragraphs),
    )


@pytest.fixture(scope="module")
def many_segments(tmp_path_factory):
    """400 generated articles in several segments (posting lists of many blocks)."""
    path = tmp_path_factory.mktemp("threads") / "ix"
    ix = Index.create(path)
    rng = random.Random(1)
    docs = [generated(rng, n) for n in range(DOCS)]
    step = DOCS // 8
    for start in range(0, DOCS, step):  # a run each: a run's end merges its own small segments
        ix.add(docs[start:start + step], jobs=1)
    assert ix.stats()["segments"] >= 3
    return path


@pytest.fixture
def fast_switching():
    """Threads switched every microsecond: a read that is not safe is interrupted often."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def queries(rng: random.Random, n: int) -> list[str]:
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4))) for _ in range(n)]


def summary(results) -> list[tuple[str, float]]:
    return [(h.id, round(h.score, 4)) for h in results.hits]


def run_threads(target, n: int) -> None:
    threads = [threading.Thread(target=target, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_threads_sharing_one_index_get_what_one_thread_gets(many_segments, fast_switching):
    qs = queries(random.Random(5), 40)
    with Index.open(many_segments) as alone:
        expected = {q: summary(alone.search(q, limit=10)) for q in qs}
        facets = alone.search("", since="2023", facets="author,tags,month").facets
    ix = Index.open(many_segments)
    errors: list[str] = []

    def reader(k: int) -> None:
        rng = random.Random(k)
        for _ in range(25):
            try:
                q = rng.choice(qs)
                assert summary(ix.search(q, limit=10)) == expected[q], q
                doc_id = f"d{rng.randrange(DOCS)}"
                assert ix.get(doc_id).id == doc_id
                if rng.random() < 0.2:
                    assert ix.search("", since="2023", facets="author,tags,month").facets == facets
                    assert doc_id not in [h.id for h in ix.similar(doc_id, limit=3).hits]
            except Exception as e:  # noqa: BLE001 - every failure is what we count
                errors.append(f"{type(e).__name__}: {e}"[:300])

    run_threads(reader, THREADS)
    assert errors == []


def test_searches_from_many_threads_never_fail_while_a_writer_commits(
    many_segments, tmp_path, fast_switching
):
    import shutil

    path = tmp_path / "ix"
    shutil.copytree(many_segments, path)
    ix = Index.open(path)
    ix.search("xây dựng")  # the segmenter loaded before the race
    qs = queries(random.Random(7), 60)
    stop = time.monotonic() + 4
    errors: list[str] = []
    seen: list[int] = []

    def reader(k: int) -> None:
        rng = random.Random(k)
        last = 0
        while time.monotonic() < stop:
            try:
                op = rng.random()
                if op < 0.6:
                    res = ix.search(rng.choice(qs), limit=10)
                    assert all(h.id.startswith("d") for h in res.hits)
                    everything = ix.search("", since="2023", limit=1)
                    assert everything.total >= last  # never an older snapshot after a newer
                    last = everything.total
                elif op < 0.85:
                    doc_id = f"d{rng.randrange(DOCS)}"
                    assert ix.get(doc_id).id == doc_id
                else:
                    ix.similar(f"d{rng.randrange(DOCS)}", limit=5)
            except Exception as e:  # noqa: BLE001 - every failure is what we count
                errors.append(f"{type(e).__name__}: {e}"[:300])
        seen.append(last)

    def writer() -> None:
        rng, n = random.Random(99), DOCS
        while time.monotonic() < stop:
            ix.add([generated(rng, n + i) for i in range(10)], jobs=1)
            n += 10

    threads = [threading.Thread(target=reader, args=(k,)) for k in range(THREADS)]
    threads.append(threading.Thread(target=writer))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert max(seen) > DOCS  # the readers saw commits land
    assert len(Index.open(path)) == len(ix)


def test_ranking_data_carried_across_commits_ranks_as_a_fresh_index(
    many_segments, tmp_path, monkeypatch
):
    import shutil

    path = tmp_path / "ix"
    shutil.copytree(many_segments, path)
    qs = queries(random.Random(11), 30)
    ix = Index.open(path)
    for q in qs:  # decode and keep the postings of every query word
        ix.search(q, limit=10, facets="tags,author")
    before = ix.stats()["segments"]

    decoded: list[list[int]] = []  # per decode: the segments read
    real = postings_module.SnapshotReader.postings

    def spy(self, field, infos):
        decoded.append([leaf for leaf, _, _ in infos])
        return real(self, field, infos)

    monkeypatch.setattr(postings_module.SnapshotReader, "postings", spy)
    rng = random.Random(12)
    ix.add([generated(rng, DOCS + i) for i in range(20)], jobs=1)  # one more segment
    ix.delete(["d3", "d7"])
    assert ix.stats()["segments"] == before + 1
    carried = {q: (summary(r), r.total, r.facets)
               for q in qs for r in [ix.search(q, limit=10, facets="tags,author")]}
    # only the new segment was read for the words already decoded
    assert decoded and all(leaves in ([], [before]) for leaves in decoded)
    with Index.open(path) as fresh:
        for q in qs:
            r = fresh.search(q, limit=10, facets="tags,author")
            assert carried[q] == (summary(r), r.total, r.facets), q
            assert "d3" not in [h.id for h in r.hits]


def test_after_a_merge_what_was_read_for_the_segments_before_it_is_kept(
    many_segments, tmp_path, monkeypatch
):
    import shutil

    import vnsearch.codec.merge as merge

    path = tmp_path / "ix"
    shutil.copytree(many_segments, path)
    monkeypatch.setattr(merge, "BASE", 20)  # the fixture's segments in tier 1 and above,
    monkeypatch.setattr(merge, "FACTOR", 4)  # four 10-document segments make a merge
    ix = Index.open(path)
    rng = random.Random(13)
    n = DOCS

    def add() -> None:
        nonlocal n
        ix.add([generated(rng, n + i) for i in range(10)], jobs=1)
        n += 10

    def segment_ids() -> list[str]:
        return [seg.segment().segment_id() for seg, _ in ix.searcher().reader().leaf_readers()]

    for _ in range(2):  # [300, 50, 50, 10, 10]
        add()
    qs = queries(random.Random(14), 30)
    for q in qs:
        ix.search(q, limit=10)
    before = segment_ids()
    decoded: list[list[int]] = []
    real = postings_module.SnapshotReader.postings

    def spy(self, field, infos):
        decoded.append([leaf for leaf, _, _ in infos])
        return real(self, field, infos)

    monkeypatch.setattr(postings_module.SnapshotReader, "postings", spy)
    add()  # the tier-0 segments merge: [300, 120, 10]; the first one stays first
    after = segment_ids()
    kept = next(i for i, (a, b) in enumerate(zip(before + [""], after)) if a != b)
    assert len(after) < len(before) + 1 and kept >= 1
    carried = {q: (summary(r), r.total) for q in qs for r in [ix.search(q, limit=10)]}
    assert decoded and all(min(leaves, default=kept) >= kept for leaves in decoded)
    with Index.open(path) as fresh:
        assert carried == {q: (summary(r), r.total) for q in qs
                           for r in [fresh.search(q, limit=10)]}


def test_indexing_workers_forked_while_another_thread_segments_do_not_hang(tmp_path):
    ix = Index.create(tmp_path / "ix")
    ix.search("xây dựng")  # the segmenter loaded
    rng = random.Random(3)
    docs = [generated(rng, n) for n in range(20)]
    done = threading.Event()
    # Another thread is tagging (holds the segmenter's lock) when the workers are forked.
    segmenter._lock.acquire()
    try:
        t = threading.Thread(target=lambda: (ix.add(docs, jobs=2), done.set()), daemon=True)
        t.start()
        time.sleep(2)
    finally:
        segmenter._lock.release()
    t.join(120)
    assert done.is_set(), "a worker waited forever for the lock held at fork time"
    assert len(ix) == 20
