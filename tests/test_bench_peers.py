"""The benchmark's own machinery: the peers must answer headline-like queries (with characters
that are syntax to their query languages) and the bookkeeping must not distort rankings.
Tiny generated documents only; the real data stays in bench/."""

from __future__ import annotations

import pytest

from bench.common import (
    BenchDoc,
    measure_build,
    percentiles,
    remove_diacritics,
    run_from_hits,
    segment_text,
)
from bench.systems import (
    SqliteFts5,
    TantivyDefault,
    TantivyPyviWords,
    WhooshPyviWords,
    WhooshStandard,
)

DOCS = [
    BenchDoc("a", "", "Công an tỉnh Cà Mau bắt giữ đối tượng dùng dao sát hại bố đẻ sau 3 giờ bỏ trốn."),
    BenchDoc("b", "Giá vàng trong nước tăng mạnh", "Giá vàng miếng sáng 15/7 tăng 1.000.000 đồng mỗi chỉ."),
    BenchDoc("c", "", "Hội nghị tổng kết công tác tổ chức xây dựng Đảng năm 2023 tại Hà Nội.\nẢnh: TTXVN"),
]

# Colons, quotes, parentheses, a leading minus, a star: all syntax somewhere.
HEADLINE = 'Nóng: "Bắt" đối tượng (dùng dao) -sát hại bố đẻ* sau 3 giờ bỏ trốn!'


def test_remove_diacritics_folds_every_vietnamese_mark_and_d_bar():
    assert remove_diacritics("Đảng ủy Tiên Phước xây dựng đường") == "Dang uy Tien Phuoc xay dung duong"
    assert remove_diacritics("plain ASCII 1/6/2023") == "plain ASCII 1/6/2023"


def test_run_keeps_the_systems_order_even_when_scores_tie():
    run = run_from_hits({"q": [("x", 1.0), ("y", 1.0), ("z", 0.5)]})
    assert sorted(run["q"], key=run["q"].get, reverse=True) == ["x", "y", "z"]


def test_percentiles_are_taken_from_the_samples():
    p = percentiles([float(i) for i in range(1, 101)])
    assert 50 <= p["p50"] <= 51 and 95 <= p["p95"] <= 96


def test_segment_text_joins_words_per_line_and_drops_punctuation():
    out = segment_text("Hội nghị tổng kết.\nẢnh: TTXVN")
    lines = out.split("\n")
    assert len(lines) == 2
    assert "Hội_nghị" in lines[0].split() and "." not in lines[0].split()
    assert ":" not in lines[1]


def test_fts5_match_expression_quotes_every_term():
    assert SqliteFts5.match_expression('Nóng: "Bắt" (dao)') == '"Nóng" OR "Bắt" OR "dao"'
    assert SqliteFts5.match_expression(":-()*") == ""


@pytest.mark.parametrize("make", [WhooshStandard, WhooshPyviWords, TantivyDefault, TantivyPyviWords, SqliteFts5])
def test_each_peer_finds_the_article_for_a_headline_full_of_syntax(make, tmp_path):
    if make.__name__.startswith("Tantivy"):
        pytest.importorskip("tantivy", reason="tantivy comes with the bench extra")
    system = make()
    if hasattr(system, "jobs"):
        system.jobs, system.cache_dir = 1, tmp_path / "cache"
    stats = measure_build(system, DOCS, tmp_path / "index")
    try:
        assert stats.docs == 3 and stats.size_bytes > 0
        hits = system.search(HEADLINE, 10)
        assert hits[0][0] == "a"
        assert system.search("giá vàng", 10)[0][0] == "b"
        assert system.search(":-()", 10) == []  # nothing searchable: no results, no exception
    finally:
        system.close()


def test_only_fts5_matches_a_query_typed_without_diacritics_by_design(tmp_path):
    system = SqliteFts5()
    measure_build(system, DOCS, tmp_path / "index")
    try:
        assert system.search("gia vang mieng", 10)[0][0] == "b"  # remove_diacritics 2
    finally:
        system.close()
