"""Segment merging (vnsearch.codec.merge) and when the indexer commits.

- a merged segment reads like Whoosh's own merge of the same segments (postings, statistics,
  stored fields, lengths), with and without deleted documents;
- the tiered policy merges a tier once it is full, and only then;
- a run ends by merging its smallest segments, up to half the documents it wrote, so that the
  segments it leaves do not depend on which tiers happened to be full; a run that wrote a few
  documents rewrites nothing;
- a batch is committed after ``commit_seconds`` even when it is far from ``batch_size``, and
  the next run does not analyse what was committed;
- an indexer killed in the middle of a merge leaves every committed document searchable, and
  the next run completes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from types import SimpleNamespace

import pytest
from test_segment_writer import contents, make_docs
from whoosh import index as windex
from whoosh.reading import SegmentReader
from whoosh.writing import SegmentWriter

from vnsearch import Document, Index
from vnsearch.codec import merge
from vnsearch.codec.merge import merge_segments, merge_tiers, plan_merge, plan_settle
from vnsearch.codec.schema import build_schema, document_fields
from vnsearch.codec.segment_writer import FastSegmentWriter
from vnsearch.write import pipeline

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build(path, cls, batches, deleted=()):
    path.mkdir()
    ix = windex.create_in(str(path), build_schema())
    for docs in batches:
        w = cls(ix)
        for doc in docs:
            w.add_document(**document_fields(doc, "h", as_terms=cls is FastSegmentWriter))
        w.commit(merge=False)
    if deleted:
        w = SegmentWriter(ix)
        for doc_id in deleted:
            w.delete_by_term("id", doc_id)
        w.commit(merge=False)
    return ix


def merged_by_us(ix):
    w = SegmentWriter(ix)
    segment = merge_segments(ix, list(w.segments))
    w.commit(mergetype=lambda _w, _existing: [segment])
    return ix


def without_length_bounds(c: dict) -> dict:
    return {k: (v[:2] + v[4:] if isinstance(k, tuple) and len(k) == 2 and isinstance(v, tuple)
                else v) for k, v in c.items()}


def field_lengths(ix) -> dict[str, int]:
    with ix.searcher() as s:
        r = s.reader()
        return {n: r.field_length(n) for n in r.indexed_field_names()}


def deleted_lengths(ix) -> dict[str, int]:
    """Per field, the lengths the index keeps for its deleted documents (rounded, one byte)."""
    out: dict[str, int] = {}
    for seg in ix._segments():
        r = SegmentReader(ix.storage, ix.schema, seg)
        for d in seg.deleted_docs() if seg.has_deletions() else ():
            for n in r.indexed_field_names():
                out[n] = out.get(n, 0) + (r.doc_field_length(d, n) or 0)
        r.close()
    return out


def without_totals(c: dict) -> dict:
    return {k: v for k, v in c.items() if k != "field_lengths"}


def test_merged_segment_reads_like_whooshs_merge(tmp_path):
    batches = [make_docs(40, 0), make_docs(170, 40), make_docs(10, 210), make_docs(1, 220)]
    stock = build(tmp_path / "stock", SegmentWriter, batches)
    stock.optimize()
    ours = build(tmp_path / "ours", FastSegmentWriter, batches)
    exact = field_lengths(ours)
    merged_by_us(ours)
    assert len(ours._segments()) == 1
    assert without_totals(contents(ours)) == without_totals(contents(stock))
    # The fields' total lengths stay exact; Whoosh's merge sums the rounded-up lengths it
    # keeps per document, so each merge made documents look shorter against the average.
    assert field_lengths(ours) == exact
    assert field_lengths(stock)["body"] > exact["body"]


def test_merged_segment_without_deleted_documents(tmp_path):
    batches = [make_docs(40, 0), make_docs(170, 40), make_docs(10, 210)]
    deleted = [f"d{i}" for i in (0, 3, 39, 41, 100, 209, 210, 219)]
    stock = build(tmp_path / "stock", SegmentWriter, batches, deleted)
    stock.optimize()
    ours = build(tmp_path / "ours", FastSegmentWriter, batches, deleted)
    exact, gone = field_lengths(ours), deleted_lengths(ours)
    merged_by_us(ours)
    ours_c, stock_c = contents(ours), contents(stock)
    # Blocks that lost documents keep their length bounds (still bounds): compare the rest.
    assert without_length_bounds(without_totals(ours_c)) == without_length_bounds(
        without_totals(stock_c))
    # the totals: exact, less what the index kept of the deleted documents' lengths
    assert field_lengths(ours) == {n: exact[n] - gone.get(n, 0) for n in exact}
    for key, value in ours_c.items():
        if isinstance(key, tuple) and len(key) == 2 and isinstance(value, tuple):
            lengths = [ours_c["length", d, key[0]] for d, _w, _v in value[7]]
            assert value[2] <= min(lengths) and value[3] >= max(lengths)
    with ours.searcher() as s:
        assert s.doc_count_all() == 220 - len(deleted)
        assert not {f["id"] for f in s.all_stored_fields()} & set(deleted)


def vectors(ix) -> dict:
    with ix.searcher() as s:
        r = s.reader()
        return {r.stored_fields(d)["id"]: list(r.vector_as("weight", d, "tags_facet"))
                for d in r.all_doc_ids() if r.has_vector(d, "tags_facet")}


def test_merged_segment_keeps_term_vectors_and_column_values(tmp_path):
    batches = [make_docs(40, 0), make_docs(170, 40), make_docs(10, 210)]
    ix = build(tmp_path / "ix", FastSegmentWriter, batches, ["d0", "d3", "d41", "d215"])
    before = vectors(ix)
    with ix.searcher() as s:
        dates = {s.stored_fields(d)["id"]: s.reader().column_reader("date")[d]
                 for d in s.reader().all_doc_ids()}
    assert len(before) > 100
    merged_by_us(ix)
    assert len(ix._segments()) == 1
    assert vectors(ix) == before
    with ix.searcher() as s:
        assert {s.stored_fields(d)["id"]: s.reader().column_reader("date")[d]
                for d in s.reader().all_doc_ids()} == dates


def postings_files(ix, segment) -> dict:
    files = segment.open_compound_file(ix.storage) if segment.is_compound() else ix.storage
    return {name.rsplit(".", 1)[1]: files.open_file(name).read() for name in files.list()
            if segment.segment_id() in name and name.endswith((".pst", ".trm"))}


def test_joined_postings_are_the_bytes_of_decoding_them_again(tmp_path, monkeypatch):
    # Lists in later segments whose first document number needs a wider type once moved,
    # single inlined postings, frequencies and positions: the lists joined as stored are
    # byte for byte what decoding and encoding them again writes.
    batches = [make_docs(300, 0), make_docs(3, 300), make_docs(400, 303), make_docs(1, 703)]
    joined = build(tmp_path / "joined", FastSegmentWriter, batches)
    decoded = build(tmp_path / "decoded", FastSegmentWriter, batches)
    calls, moves = [], []
    real, move = merge._concatenate, merge._moved_list
    monkeypatch.setattr(merge, "_concatenate", lambda *a: calls.append(1) or real(*a))
    monkeypatch.setattr(merge, "_moved_list", lambda *a: moves.append(a[2].base) or move(*a))
    ours = merge_segments(joined, joined._segments())
    assert len(calls) > 100
    assert 303 in moves  # lists of one segment only, moved past a byte's range
    monkeypatch.setattr(merge, "_concatenate", lambda *a: None)
    monkeypatch.setattr(merge, "_moved_list", lambda *a: None)
    theirs = merge_segments(decoded, decoded._segments())
    assert postings_files(joined, ours) == postings_files(decoded, theirs)
    assert postings_files(joined, ours)["pst"]


@pytest.mark.parametrize("doc", [3, 300, 70_000])
@pytest.mark.parametrize("base", [0, 200, 100_000])
@pytest.mark.parametrize("freq, value", [(1, None), (1, 7), (3, (2, 5, 9)), (1, 70_000)])
def test_a_moved_inlined_posting_is_the_bytes_of_writing_it_again(doc, base, freq, value):
    # The document number is rewritten in the stored bytes (a 1-, 2- or 4-byte pickled int
    # becoming another); a posting pickled with a header is decoded and written again.
    before = merge.inlined([doc], [freq], [value], 12, 12)
    assert merge._moved_inline(before, base) == merge.inlined([doc + base], [freq], [value], 12, 12)


@pytest.mark.parametrize("deleted", [(), ("d0", "d3", "d41", "d250", "d301", "d399")])
def test_a_merge_in_two_processes_writes_the_bytes_of_one(tmp_path, monkeypatch, deleted):
    # A second process merges the terms from one in the middle of a field on into files of
    # its own, which the merge appends to its own once it has written the terms before.
    batches = [make_docs(300, 0), make_docs(100, 300), make_docs(5, 400)]
    one = build(tmp_path / "one", FastSegmentWriter, batches, deleted)
    two = build(tmp_path / "two", FastSegmentWriter, batches, deleted)
    halves = []
    real = merge._halfway
    monkeypatch.setattr(merge, "_halfway", lambda *a: halves.append(real(*a)) or halves[-1])
    theirs = merge_segments(one, one._segments())
    assert halves == []
    monkeypatch.setattr(merge, "_APPEND_CHUNK", 1000)  # rows cut by the chunks read
    ours = merge_segments(two, two._segments(), processes=2)
    assert len(halves) == 1 and halves[0] is not None
    field, term = halves[0]
    assert field in two.schema and term
    assert postings_files(two, ours) == postings_files(one, theirs)
    assert not [n for n in os.listdir(two.storage.folder) if n.startswith(".")]


def test_a_failed_second_process_fails_the_merge_and_leaves_no_files_of_its_own(
        tmp_path, monkeypatch):
    ix = build(tmp_path / "ix", FastSegmentWriter, [make_docs(300, 0), make_docs(100, 300)])
    before = contents(ix)
    parent = os.getpid()
    real = merge._merge_term

    def full_disk(*args):  # in the second process only
        if os.getpid() != parent:
            raise OSError(28, "No space left on device")
        return real(*args)

    monkeypatch.setattr(merge, "_merge_term", full_disk)
    with pytest.raises(OSError, match="No space left"):
        merge_segments(ix, ix._segments(), processes=2)
    assert not [n for n in os.listdir(ix.storage.folder) if n.startswith(".")]
    assert contents(windex.open_dir(ix.storage.folder)) == before


def seg(live: int, deleted: int = 0):
    return SimpleNamespace(doc_count=lambda: live, doc_count_all=lambda: live + deleted,
                           deleted_count=lambda: deleted, segment_id=lambda: id(object()))


def test_a_tier_merges_when_it_is_full_and_not_before():
    small = [seg(merge.BASE * 2) for _ in range(merge.FACTOR - 1)]  # tier 0
    big = [seg(merge.BASE * merge.FACTOR * 2) for _ in range(merge.FACTOR - 1)]  # tier 1
    assert plan_merge(small + big) == []
    one_more = seg(merge.BASE * merge.FACTOR - 1)
    assert plan_merge(small + big + [one_more]) == small + [one_more]
    # a full upper tier merges without the small ones
    full_big = big + [seg(merge.BASE * merge.FACTOR)]
    assert plan_merge(small + full_big) == full_big
    # a segment that lost most of its documents is rewritten with the tier it falls in
    gutted = seg(merge.BASE, 5000)
    assert gutted in plan_merge(small + [gutted] + big + [one_more])
    assert merge.tier(merge.BASE - 1) == 0 and merge.tier(merge.BASE) == 0
    assert merge.tier(merge.BASE * merge.FACTOR) == 1


def test_a_run_ends_by_merging_its_smallest_segments_up_to_half_what_it_wrote():
    small, also_small, larger, large = seg(100), seg(100), seg(200), seg(5000)
    segments = [large, larger, small, also_small]
    assert plan_settle(segments, written=1000) == [small, also_small, larger]
    assert plan_settle(segments, written=400) == [small, also_small]
    # one segment alone is left as it is, and a run that wrote nothing merges nothing
    assert plan_settle(segments, written=399) == []
    assert plan_settle(segments, written=0) == []
    # deleted documents do not count
    gutted, kept = seg(50, deleted=900), seg(60)
    assert plan_settle([large, kept, gutted], written=220) == [gutted, kept]


def test_merge_tiers_merges_full_tiers_and_drops_empty_segments(tmp_path, monkeypatch):
    monkeypatch.setattr(merge, "FACTOR", 3)
    monkeypatch.setattr(merge, "BASE", 5)
    batches = [make_docs(4, 4 * i) for i in range(5)]
    ix = build(tmp_path / "ix", FastSegmentWriter, batches, deleted=[f"d{i}" for i in range(16, 20)])
    w = SegmentWriter(ix)
    w.commit(mergetype=lambda _w, existing: merge_tiers(ix, existing))
    # four live segments of 4 documents fill tier 0 (3 or more): one segment of 16; the
    # emptied fifth is dropped
    assert [s.doc_count_all() for s in ix._segments()] == [16]
    with ix.searcher() as s:
        assert [f["id"] for f in s.all_stored_fields()] == [f"d{i}" for i in range(16)]
        assert s.document_number(id="d7") == 7
    # two segments do not fill it
    two = build(tmp_path / "two", FastSegmentWriter, batches[:2])
    w = SegmentWriter(two)
    w.commit(mergetype=lambda _w, existing: merge_tiers(two, existing))
    assert [s.doc_count_all() for s in two._segments()] == [4, 4]


def docs(n: int, start: int = 0) -> list[Document]:
    return [Document(id=f"doc{i}", title=f"Tin số {i}", body=f"Nội dung bài {i} về kinh tế")
            for i in range(start, start + n)]


@pytest.mark.parametrize("background", [False, True], ids=["at commits", "in a process"])
def test_a_run_leaves_its_last_small_segments_merged(tmp_path, monkeypatch, background):
    monkeypatch.setattr(pipeline, "BACKGROUND_MERGES", background)
    monkeypatch.setattr(merge, "BASE", 2)  # (FACTOR stays 6)
    ix = Index.create(tmp_path / "ix")
    ix.batch_size = 5
    ix.add(docs(40), jobs=1)
    # batches 1-6 filled tier 0 and became one segment; batches 7 and 8 were merged at the end
    assert sorted(s.doc_count() for s in ix._ix._segments()) == [10, 30]
    # a run of five documents keeps its one segment and rewrites nothing
    ix.add(docs(5, 40), jobs=1)
    assert sorted(s.doc_count() for s in ix._ix._segments()) == [5, 10, 30]
    assert {h.id for h in ix.search("kinh tế", limit=100).hits} == {f"doc{i}" for i in range(45)}


def test_a_batch_is_committed_after_commit_seconds(tmp_path):
    ix = Index.create(tmp_path / "ix")

    def slow_feed():
        yield from docs(10)
        time.sleep(0.6)
        yield from docs(60, 10)  # the 11th document closes the batch; the rest push it out
        raise KeyboardInterrupt  # Ctrl-C long before batch_size documents

    def work(wix, state, **kw):
        kw["batch_size"] = 4000
        return pipeline.write(wix, state, slow_feed(), jobs=1, commit_seconds=0.5, **kw)

    with pytest.raises(KeyboardInterrupt):
        ix._write(work)
    ix = Index.open(tmp_path / "ix")
    kept = len(ix)
    assert 11 <= kept < 70
    assert all(ix.get(f"doc{i}").id == f"doc{i}" for i in range(11))
    # the next run analyses only what was not committed
    report = ix.add(docs(70), jobs=1)
    assert report.unchanged == kept and report.added == 70 - kept
    assert len(ix) == 70


CRASH = textwrap.dedent("""
    import os, signal, sys
    from vnsearch import Document, Index
    from vnsearch.codec import merge

    merge.FACTOR, merge.BASE = 2, 1
    calls = [0]
    real = merge._merge_term

    def dying(*args):
        calls[0] += 1
        if calls[0] == 40:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args)

    merge._merge_term = dying
    ix = Index.create(sys.argv[1])
    ix.batch_size = 5
    ix.add([Document(id=f"doc{i}", title=f"Tin số {i}", body=f"Bài {i} về kinh tế, xã hội "
            f"và giáo dục số {i * 7}") for i in range(30)], jobs=1)
""")


def test_an_indexer_killed_during_a_merge_keeps_every_committed_document(tmp_path):
    path = tmp_path / "ix"
    env = {**os.environ, "PYTHONPATH": ROOT}
    proc = subprocess.run([sys.executable, "-c", CRASH, str(path)], env=env, capture_output=True)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    # killed while merging the first two batches, at the commit of the third
    ix = Index.open(path)
    assert len(ix) == 10
    for i in range(10):
        assert ix.search(f'"Tin số {i}"', limit=30).total >= 1
        assert ix.get(f"doc{i}").title == f"Tin số {i}"
    report = ix.add([Document(id=f"doc{i}", title=f"Tin số {i}", body=f"Bài {i} về kinh tế, "
                              f"xã hội và giáo dục số {i * 7}") for i in range(30)], jobs=1)
    assert report.unchanged == 10 and report.added == 20
    assert len(ix) == 30
    assert {h.id for h in ix.search("kinh tế", limit=100).hits} == {f"doc{i}" for i in range(30)}
    # the killed merge's files were removed by the next commit: every segment file is listed
    listed = {s.segment_id() for s in ix._ix._segments()}
    on_disk = {n.split(".")[0] for n in os.listdir(path) if n.startswith("MAIN_")
               and not n.endswith("WRITELOCK")}
    assert on_disk == listed
