"""The fast segment writer writes what Whoosh's own writer writes: same terms, postings, term
statistics, field lengths and stored fields, so searches cannot tell them apart."""

from __future__ import annotations

import pickle

import pytest
from whoosh import index as windex
from whoosh.writing import SegmentWriter

from vnsearch.codec.schema import build_schema, document_fields, stored_document
from vnsearch.codec.segment_writer import FastSegmentWriter, inline_posting
from vnsearch.document import Document

WORDS = ("tổ chức hội nghị Hà Nội kinh tế xã hội phát triển bền vững giáo dục đào tạo "
         "Thành phố Hồ Chí Minh dự án đầu tư công nghệ số người dân doanh nghiệp").split()


def make_docs(n: int, start: int = 0) -> list[Document]:
    docs = []
    for i in range(start, start + n):
        # Varied lengths and repeats: some terms occur in more than a block's 128 documents.
        body = " ".join(WORDS[(i * 7 + k * k) % len(WORDS)] for k in range(5 + i % 40))
        docs.append(Document(
            id=f"d{i}", title=f"Tin số {i}: {WORDS[i % len(WORDS)]}",
            summary="" if i % 3 else f"Tóm tắt {WORDS[(i + 5) % len(WORDS)]}.",
            body=body + "\n" + body[: 20 + i % 30],
            author=["NGUYỄN VĂN A", "Trần Thị Bình", ""][i % 3],
            tags=[["Kinh tế", "Xã hội"], [], ["Giáo dục"]][i % 3],
            date=f"2023-0{1 + i % 9}-1{i % 10}",
            captions=[f"Ảnh {i}"] if i % 4 == 0 else [],
        ))
    return docs


def build(path, cls, batches, **commit):
    path.mkdir()
    ix = windex.create_in(str(path), build_schema())
    for docs in batches:
        w = cls(ix)
        for doc in docs:
            w.add_document(**document_fields(doc, "h", as_terms=cls is FastSegmentWriter))
        w.commit(**commit)
    return ix


def postings(matcher) -> list[tuple]:
    """(id, weight, positions or value) of each posting: positions decoded, since Whoosh's
    writer hands PositionList values over as bytes and ours keeps them as ints."""
    items = []
    while matcher.is_active():
        value = matcher.value_as("positions") if matcher.supports("positions") else matcher.value()
        items.append((matcher.id(), matcher.weight(), value))
        matcher.next()
    return items


def contents(ix) -> dict:
    """Everything a search can read from the index, by field and term."""
    out = {}
    with ix.searcher() as s:
        r = s.reader()
        for name in sorted(r.indexed_field_names()):
            for term in r.lexicon(name):
                info = r.term_info(name, term)
                m = r.postings(name, term)
                out[name, term] = (
                    info.weight(), info.doc_frequency(), info.min_length(), info.max_length(),
                    info.max_weight(), info.min_id(), info.max_id(),
                    postings(m),
                )
        for docnum in range(r.doc_count_all()):
            out["stored", docnum] = r.stored_fields(docnum)
            for name in r.indexed_field_names():
                out["length", docnum, name] = r.doc_field_length(docnum, name)
        out["field_lengths"] = {n: r.field_length(n) for n in r.indexed_field_names()}
    return out


def test_one_segment_reads_exactly_like_whooshs(tmp_path):
    docs = make_docs(300)
    stock = build(tmp_path / "stock", SegmentWriter, [docs], merge=False)
    fast = build(tmp_path / "fast", FastSegmentWriter, [docs], merge=False)
    assert contents(fast) == contents(stock)


@pytest.mark.parametrize("commit", [{"optimize": True}, {"merge": False}])
def test_merged_and_separate_segments_read_like_whooshs(tmp_path, commit):
    batches = [make_docs(40, 0), make_docs(150, 40), make_docs(10, 190)]
    stock = build(tmp_path / "stock", SegmentWriter, batches, **commit)
    fast = build(tmp_path / "fast", FastSegmentWriter, batches, **commit)
    assert contents(fast) == contents(stock)
    with fast.searcher() as s:
        assert len(s.reader().leaf_readers()) == (1 if commit.get("optimize") else 3)


@pytest.mark.parametrize("posting", [(0, 1, None), (255, 256, 65535), (65536, 2, 70000),
                                     (2**31 - 1, 1, 5), (7, 3, (1, 4, 9)), (8, 1, b"\x00\x01")])
def test_an_inlined_posting_unpickles_to_what_whoosh_reads(posting):
    docnum, freq, value = posting
    assert pickle.loads(inline_posting(docnum, freq, value)) == ((docnum,), (freq,), (value,))


def test_the_stored_document_is_text_and_reads_back_whole(tmp_path):
    doc = make_docs(1)[0]
    assert isinstance(document_fields(doc, "h")["doc"], str)  # protocol 2 inflates bytes
    ix = build(tmp_path / "fast", FastSegmentWriter, [[doc]])
    with ix.searcher() as s:
        assert stored_document(s, doc.id) == doc
