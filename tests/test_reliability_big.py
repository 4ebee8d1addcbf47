"""A pathological document is bounded: text past MAX_DOCUMENT_CHARS is cut (at a space) with a
warning, the rest is indexed and searchable, and snippets of a document matching a word
thousands of times on one line come back (bench/big_document.py measures the 50 MB case)."""

from __future__ import annotations

import pytest
from reliability_util import vnsearch

from vnsearch import Document, Index
from vnsearch.document import MAX_DOCUMENT_CHARS, cut_to_size, text_length
from vnsearch.write import pipeline as write_pipeline

LIMIT = 5_000


@pytest.fixture
def small_limit(monkeypatch):
    monkeypatch.setattr(write_pipeline, "MAX_DOCUMENT_CHARS", LIMIT)


def test_cut_to_size_keeps_fields_in_order_and_cuts_at_a_space():
    doc = Document(id="x", title="Tiêu đề", summary="tóm tắt " * 10, body="nội dung " * 2000,
                   captions=["ảnh một", "ảnh hai"])
    cut = cut_to_size(doc, 1000)
    assert text_length(cut) <= 1000 and cut.title == doc.title and cut.summary == doc.summary
    assert doc.body.startswith(cut.body) and not cut.body.endswith("nội d")
    assert cut.captions == [] and text_length(doc) > 1000  # the original is left alone
    assert cut_to_size(doc, 10**9) is doc
    assert MAX_DOCUMENT_CHARS >= 100_000  # press releases are a few thousand characters


def test_an_oversized_document_is_cut_with_a_warning_and_indexed(tmp_path, small_limit):
    ix = Index.create(tmp_path / "ix")
    body = "Hội nghị tổng kết công tác năm. " * 1000 + "cuối cùng"  # ~32,000 characters
    report = ix.add([Document(id="big", title="Văn bản dài", body=body),
                     Document(id="small", body="hội nghị nhỏ")], jobs=1)
    assert (report.added, report.failed, report.skipped) == (2, 0, 0)
    warning = [str(p) for p in report.problems]
    assert len(warning) == 1 and "'big'" in warning[0] and f"{LIMIT:,}" in warning[0]
    stored = ix.get("big")
    assert text_length(stored) <= LIMIT and body.startswith(stored.body)
    assert ix.search("cuối cùng").total == 0  # past the cut
    hits = ix.search("hội nghị").hits
    assert {h.id for h in hits} == {"big", "small"}
    assert all(h.snippet for h in hits)


def test_a_long_line_file_warns_and_exits_0(tmp_path):
    feed = tmp_path / "feed"
    feed.mkdir()
    text = "Hội nghị tổng kết công tác năm của tỉnh. " * 30_000  # one line, ~1.2 M chars
    (feed / "line.txt").write_text("Tiêu đề\n\n" + text, encoding="utf-8")
    proc = vnsearch("index", "feed", "--index", "ix", "--jobs", "1", cwd=tmp_path, timeout=600)
    err = proc.stderr.decode()
    assert proc.returncode == 0, err
    assert "vnsearch: warning: feed/line.txt: " in err and "1,000,000" in err
    proc = vnsearch("search", "hội nghị", "--index", "ix", "--json", cwd=tmp_path)
    assert proc.returncode == 0 and b"snippet" in proc.stdout
