"""Postings decoded by vnsearch.codec.postings (a term's blocks read in one slice) equal what
Whoosh's own matchers read, for long lists (several blocks, several segments) and short ones."""

import numpy as np

from vnsearch import Document, Index
from vnsearch.codec.postings import SnapshotReader, _term_data, _TermsFile


def test_decoded_postings_match_whoosh(tmp_path):
    ix = Index.create(tmp_path / "ix")
    words = ["giá", "vàng", "tăng", "mạnh", "hôm", "nay", "thị", "trường"]
    for batch, n in enumerate((600, 170)):  # two commits: at least two segments
        ix.add([Document(id=f"d{batch}-{i}", title=f"tin {i % 7}",
                         body=" ".join(words[j % 8] for j in range(i % 13 + 1)) + f" số{i}")
                for i in range(n)])
    searcher = ix.searcher()
    reader = searcher.reader()
    snap = SnapshotReader(reader)
    checked = 0
    for field in ("body", "body_f", "body_w", "title"):
        for term in ["giá", "gia", "vàng", "vang", "nay", "tin", "số5", "so5", "số169"]:
            df, infos = snap.term_infos(field, term)
            if not df:
                continue
            ids, tfs = snap.postings(field, infos)
            want_ids, want_w = [], []
            m = reader.postings(field, term)
            while m.is_active():
                want_ids.append(m.id())
                want_w.append(m.weight())
                m.next()
            assert ids.tolist() == want_ids
            assert np.array_equal(tfs, np.asarray(want_w, dtype=np.float32))
            checked += 1
    assert checked >= 10
    df, infos = snap.term_infos("body", "vàng")
    assert len(infos) > 1 and max(i.doc_frequency() for _, _, i in infos) > 128  # several blocks
    m = reader.postings("body", "vàng")
    want = {}
    while m.is_active():
        want[m.id()] = list(m.value_as("positions"))
        m.next()
    every = sorted(want)
    for docs in (every, every[::3], every[-5:], [every[0] - 1 if every[0] else -1] + every[1:2]):
        docs = [d for d in docs if d >= 0]
        owner, positions = snap.positions_of("body", infos, docs)
        got: dict = {}
        for i, p in zip(owner.tolist(), positions.tolist()):
            got.setdefault(docs[i], []).append(p)
        assert got == {d: want[d] for d in docs if d in want}


def test_term_lookups_match_whoosh(tmp_path):
    ix = Index.create(tmp_path / "ix")
    for batch in range(2):
        ix.add([Document(id=f"d{batch}-{i}", body=f"giá vàng số{i} lô{batch}") for i in range(40)])
    reader = ix.searcher().reader()
    snap = SnapshotReader(reader)
    for field in ("body", "body_f", "title", "no_such_field"):
        for term in ["giá", "gia", "số7", "lô1", "không có", ""]:
            df, infos = snap.term_infos(field, term) if field in snap.schema else (0, [])
            want = reader.doc_frequency(field, term) if field in snap.schema else 0
            assert df == want
            for leaf, _, info in infos:
                seg = snap.leaves[leaf][0]
                expect = seg._terms.term_info(field, snap.schema[field].to_bytes(term))
                assert info.__dict__ == expect.__dict__
    assert snap.term_infos("body", "lô1")[0] == 40 and snap.term_infos("body", "lô9")[0] == 0


def test_term_lookups_read_the_terms_file_by_position(tmp_path):
    """Not through the segment's mapping (which keeps the pages around each lookup in the
    process's resident set), and with the same result as through it."""
    ix = Index.create(tmp_path / "ix")
    ix.add([Document(id=f"d{i}", body=f"giá vàng số{i} " + "dài " * (i % 90)) for i in range(300)])
    snap = SnapshotReader(ix.searcher().reader())
    assert snap.term_infos("body", "số7")[0] == 1
    seg = snap.leaves[0][0]
    terms_file = _TermsFile.of(seg)
    assert terms_file is not None
    for term in ["giá", "số7", "dài", "số300", "không"]:
        key = snap.schema["body"].to_bytes(term)
        assert _term_data(seg._terms, "body", key, terms_file) == _term_data(seg._terms, "body",
                                                                              key)
