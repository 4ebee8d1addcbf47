"""Merges in a process beside the indexing pipeline (vnsearch.write.merging).

- a merged segment swapped in at a later commit loses the documents deleted in its sources
  while it was being written, and keeps those deleted before it started left out;
- documents updated while their segment is being merged have exactly their new version once
  the run is over, through the public interface;
- an indexer killed while the merge process runs keeps every committed document, the next run
  completes, and no merge leftovers remain;
- a small tier's merge runs while a large one is still running, and the run's last merges
  run beside the parent, not in it, and leave no full tier;
- merge and worker processes never read the index's table of contents, which a commit of the
  parent may delete under them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest
from test_merge import build
from test_segment_writer import make_docs
from whoosh.writing import SegmentWriter

from vnsearch import Document, Index
from vnsearch.codec import merge
from vnsearch.codec.segment_writer import STAGING_PREFIX, FastSegmentWriter
from vnsearch.write import merging, pipeline
from vnsearch.write.merging import BackgroundMerge

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def stored_ids(ix) -> list[str]:
    with ix.searcher() as s:
        return sorted(f["id"] for f in s.all_stored_fields())


def test_deletions_made_while_merging_are_kept_in_the_merged_segment(tmp_path):
    batches = [make_docs(6, 6 * i) for i in range(3)]
    ix = build(tmp_path / "ix", FastSegmentWriter, batches, deleted=["d1", "d7"])
    sources = ix._segments()
    background = BackgroundMerge(ix, sources[:2])  # d1 and d7 are left out of it
    w = SegmentWriter(ix)  # while it runs: deletions in both sources and in the third segment
    for doc_id in ["d0", "d5", "d8", "d13"]:
        w.delete_by_term("id", doc_id)
    w.commit(merge=False)
    w = SegmentWriter(ix)
    background.adopt()
    w.delete_by_term("id", "d11")  # in the commit that swaps it in
    w.commit(mergetype=lambda _w, existing: background.swap(existing))
    background.close()
    segments = ix._segments()
    assert [s.doc_count_all() for s in segments] == [6, 10]
    assert [s.doc_count() for s in segments] == [5, 6]
    gone = {"d0", "d1", "d5", "d7", "d8", "d11", "d13"}
    assert stored_ids(ix) == sorted(f"d{i}" for i in range(18) if f"d{i}" not in gone)
    with ix.searcher() as s:
        for i in range(18):
            found = s.document_number(id=f"d{i}")
            assert (found is None) == (f"d{i}" in gone)
            if found is not None:
                assert f"Tin số {i}:" in s.stored_fields(found)["doc"]
    assert not os.path.exists(background.dir)


def test_a_source_emptied_while_merging_is_all_deleted_in_the_merged_segment(tmp_path):
    ix = build(tmp_path / "ix", FastSegmentWriter, [make_docs(3), make_docs(3, 3)])
    background = BackgroundMerge(ix, ix._segments())
    background.wait()
    w = SegmentWriter(ix)
    for i in range(3, 6):
        w.delete_by_term("id", f"d{i}")
    background.adopt()
    # the emptied source is not listed any more when the merged segment comes in
    w.commit(mergetype=lambda _w, existing: background.swap(
        [s for s in existing if s.doc_count() > 0]))
    background.close()
    assert stored_ids(ix) == ["d0", "d1", "d2"]
    assert [s.doc_count() for s in ix._segments()] == [3]


@pytest.fixture
def schema_read_in_the_parent_only(monkeypatch):
    """The parent commits while merges and workers run, and a commit deletes the table of
    contents before it: a child process reading the newest one could find it gone (``No such
    file``). Here any child that reads the index's schema from disk fails."""
    from whoosh.index import FileIndex

    parent = os.getpid()
    real = FileIndex._current_schema

    def only_in_the_parent(self):
        if os.getpid() != parent:
            raise FileNotFoundError(2, "No such file or directory", "_MAIN_1.toc")
        return real(self)

    monkeypatch.setattr(FileIndex, "_current_schema", only_in_the_parent)


def test_the_merge_process_never_reads_the_index_table_of_contents(
        tmp_path, schema_read_in_the_parent_only):
    ix = build(tmp_path / "ix", FastSegmentWriter, [make_docs(3), make_docs(3, 3)])
    background = BackgroundMerge(ix, ix._segments())
    assert background.wait().doc_count() == 6
    background.close()


def test_workers_and_merges_index_without_reading_the_table_of_contents(
        tmp_path, monkeypatch, schema_read_in_the_parent_only):
    monkeypatch.setattr(pipeline, "BACKGROUND_MERGES", True)
    monkeypatch.setattr(merge, "FACTOR", 2)
    monkeypatch.setattr(merge, "BASE", 1)
    ix = Index.create(tmp_path / "ix")
    ix.batch_size = 4
    report = ix.add([version(i, 0) for i in range(24)], jobs=2)
    assert report.added == 24
    assert len(ix.search("kinh tế", limit=30).hits) == 24


def version(i: int, v: int) -> Document:
    return Document(id=f"doc{i}", title=f"Tin số {i} bản {v}",
                    body=f"Bài {i} về kinh tế, bản số {v}, xã hội {i * 7}")


@pytest.mark.parametrize("swap_during_run", [False, True])
def test_documents_updated_while_their_segment_is_merged_keep_their_new_version(
        tmp_path, monkeypatch, swap_during_run):
    """The merge of the first two batches is held until the documents of the first batch are
    updated; the merged segment is swapped in at a later commit, or at the end of the run."""
    monkeypatch.setattr(pipeline, "BACKGROUND_MERGES", True)
    monkeypatch.setattr(merge, "FACTOR", 2)
    monkeypatch.setattr(merge, "BASE", 1)
    started, go, done = (tmp_path / name for name in ("started", "go", "done"))
    real = merging.merge_segments

    def held(*args, **kwargs):  # runs in the merge process
        started.touch()
        deadline = time.monotonic() + 60
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        segment = real(*args, **kwargs)
        done.touch()
        return segment

    monkeypatch.setattr(merging, "merge_segments", held)
    swaps: list[int] = []
    real_swap = BackgroundMerge.swap
    monkeypatch.setattr(BackgroundMerge, "swap",
                        lambda self, existing: swaps.append(1) or real_swap(self, existing))
    n = [100]  # filler documents, new ids

    def filler(count: int):
        for _ in range(count):
            yield version(n[0], 0)
            n[0] += 1

    def feed():
        yield from (version(i, 1) for i in range(10))  # batches 1 and 2: their merge starts
        for _ in range(2000):
            if started.exists():
                break
            yield from filler(1)
            time.sleep(0.005)
        assert started.exists()
        yield from (version(i, 2) for i in range(5))  # updated while their segment merges
        yield from filler(5)
        yield from (version(i, 3) for i in range(3))  # and again
        go.touch()
        if swap_during_run:
            for _ in range(2000):
                if done.exists():
                    break
                time.sleep(0.005)
            yield from filler(30)  # commits go on: one of them lists the merged segment
            assert swaps

    ix = Index.create(tmp_path / "ix")
    ix.batch_size = 5
    report = ix.add(feed(), jobs=1)
    assert swaps
    total = n[0] - 100 + 10
    assert report.added == total and report.updated == 8
    ix = Index.open(tmp_path / "ix")
    assert len(ix) == total
    expected = {i: 3 if i < 3 else 2 if i < 5 else 1 for i in range(10)}
    for i, v in expected.items():
        assert ix.get(f"doc{i}").title == f"Tin số {i} bản {v}"
        found = ix.search(f'"Tin số {i} bản"', limit=50)
        assert [h.id for h in found.hits if h.id == f"doc{i}"] == [f"doc{i}"]
    assert {h.id for h in ix.search('"bản số 1"', limit=100).hits} == {
        f"doc{i}" for i in range(5, 10)}
    assert not any(name.startswith(STAGING_PREFIX) for name in os.listdir(tmp_path / "ix"))


def test_a_small_merge_runs_while_a_large_one_does_and_the_end_merges_beside(
        tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "BACKGROUND_MERGES", True)
    monkeypatch.setattr(merge, "FACTOR", 2)
    monkeypatch.setattr(merge, "BASE", 1)
    large_started = tmp_path / "large-started"
    small_done = tmp_path / "small-done"
    waited = tmp_path / "large-saw-a-small-merge"
    real = merging.merge_segments

    def timed(ix, segments, into=None, processes=1):  # runs in the merge processes
        docs = sum(s.doc_count() for s in segments)
        if docs >= 20 and not large_started.exists():
            # The first large merge goes on once a small merge started after it is done.
            large_started.touch()
            deadline = time.monotonic() + 20
            while not small_done.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            if small_done.exists():
                waited.touch()
        after_large = docs < 20 and large_started.exists()
        segment = real(ix, segments, into=into, processes=processes)
        if after_large:
            small_done.touch()
        return segment

    monkeypatch.setattr(merging, "merge_segments", timed)
    in_parent: list[int] = []
    monkeypatch.setattr(merge, "merge_segments", lambda *a, **k: in_parent.append(1))

    docs = [Document(id=f"doc{i}", title=f"Tin số {i}", body=f"Bài {i} về kinh tế số {i * 7}")
            for i in range(80)]
    ix = Index.create(tmp_path / "ix")
    ix.batch_size = 5
    assert ix.add(docs, jobs=1).added == 80
    assert waited.exists()
    assert not in_parent
    ix = Index.open(tmp_path / "ix")
    assert len(ix) == 80
    assert {h.id for h in ix.search("kinh tế", limit=100).hits} == {d.id for d in docs}
    assert not merge.plan_merge(ix._ix._segments())
    assert not any(n.startswith(STAGING_PREFIX) for n in os.listdir(tmp_path / "ix"))


CRASH = textwrap.dedent("""
    import os, signal, sys
    from vnsearch import Document, Index
    from vnsearch.codec import merge
    from vnsearch.write import pipeline

    pipeline.BACKGROUND_MERGES = True
    merge.FACTOR, merge.BASE = 2, 1
    calls = [0]
    real = merge._merge_term
    parent = os.getpid()

    def dying(*args):  # in the merge process: kill the indexer in the middle of the merge
        calls[0] += 1
        if calls[0] == 40 and os.getpid() != parent:
            os.kill(parent, signal.SIGKILL)
            signal.pause()  # the kernel kills this process with its parent
        return real(*args)

    merge._merge_term = dying
    ix = Index.create(sys.argv[1])
    ix.batch_size = 5
    ix.add([Document(id=f"doc{i}", title=f"Tin số {i}", body=f"Bài {i} về kinh tế, xã hội "
            f"và giáo dục số {i * 7}") for i in range(60)], jobs=1)
""")


def test_an_indexer_killed_while_a_background_merge_runs_keeps_every_committed_document(
        tmp_path):
    path = tmp_path / "ix"
    env = {**os.environ, "PYTHONPATH": ROOT}
    proc = subprocess.run([sys.executable, "-c", CRASH, str(path)], env=env, capture_output=True,
                          timeout=120)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    ix = Index.open(path)
    kept = len(ix)
    assert 10 <= kept <= 60 and kept % 5 == 0
    for i in range(kept):  # batches are committed in order
        assert ix.search(f'"Tin số {i}"', limit=60).total >= 1
        assert ix.get(f"doc{i}").title == f"Tin số {i}"
    docs = [Document(id=f"doc{i}", title=f"Tin số {i}", body=f"Bài {i} về kinh tế, xã hội và "
                     f"giáo dục số {i * 7}") for i in range(60)]
    report = ix.add(docs, jobs=1)
    assert report.unchanged == kept and report.added == 60 - kept
    assert len(ix) == 60
    assert {h.id for h in ix.search("kinh tế", limit=100).hits} == {f"doc{i}" for i in range(60)}
    listed = {s.segment_id() for s in ix._ix._segments()}
    names = os.listdir(path)
    on_disk = {n.split(".")[0] for n in names if n.startswith("MAIN_")
               and not n.endswith("WRITELOCK")}
    assert on_disk == listed
    assert not any(n.startswith(STAGING_PREFIX) for n in names)


def test_a_large_background_merge_runs_in_two_processes_and_indexes_the_same(
        tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "BACKGROUND_MERGES", True)
    monkeypatch.setattr(merge, "FACTOR", 2)
    monkeypatch.setattr(merge, "BASE", 1)
    monkeypatch.setattr(merge, "SPLIT_MIN_TERMS", 0)  # these segments are small
    halves = tmp_path / "halves"
    real = merge._halfway

    def noting(*args):  # runs in the merge processes: leaves a mark the test can see
        with open(halves, "a") as f:
            f.write("|")
        return real(*args)

    monkeypatch.setattr(merge, "_halfway", noting)
    docs = [Document(id=f"doc{i}", title=f"Tin số {i}", body=f"Bài {i} về kinh tế, xã hội "
                     f"và giáo dục số {i * 7}") for i in range(60)]
    built = {}
    for name, split_from in (("one", 10**9), ("two", 10)):
        monkeypatch.setattr(pipeline, "SPLIT_MERGE_DOCS", split_from)
        ix = Index.create(tmp_path / name)
        ix.batch_size = 5
        assert ix.add(docs, jobs=1).added == 60
        built[name] = Index.open(tmp_path / name)
        if name == "one":
            assert not halves.exists()
    assert halves.read_text().count("|") >= 1
    for q in ["kinh tế", "giao duc so 70", "bài 12"]:
        one, two = (built[n].search(q, limit=60).hits for n in ("one", "two"))
        assert [h.id for h in two] == [h.id for h in one]
        assert [h.score for h in two] == pytest.approx([h.score for h in one], rel=1e-6)
    assert not [n for n in os.listdir(tmp_path / "two") if n.startswith(STAGING_PREFIX)]
