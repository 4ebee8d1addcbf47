"""Ingested metadata at work in search: --author, --tag, --since/--until and date: ranges."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest

from vnsearch import Index

SEED = Path(__file__).resolve().parent.parent / "seeds" / "000_2bc2382ec64f120d.txt"

BYLINE_DATED = """Tỉnh khởi công cầu vượt sông Thu Bồn

TRẦN HÀ | 14:05 15/01/2024

Sáng 15/1, tỉnh khởi công cầu vượt sông Thu Bồn, tổng vốn đầu tư 500 tỷ đồng.

TAGS
giao thông, hạ tầng
"""

RECORDS = [
    {"id": "j1", "title": "Hội nghị chuyển đổi số", "body": "Tỉnh tổ chức hội nghị chuyển đổi số.",
     "author": "Nguyễn Văn An", "date": "2022-12-30", "tags": ["chuyển đổi số"]},
    {"id": "j2", "title": "Lễ hội pháo hoa", "summary": "Tối 1/6/2023, lễ hội pháo hoa khai mạc.",
     "tags": "du lịch, lễ hội"},
    {"id": "j3", "title": "Không ngày tháng", "body": "Bài viết không có ngày."},
]  # fmt: skip


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    (root / "press").mkdir()
    shutil.copy(SEED, root / "press")
    (root / "press" / "cau-vuot.txt").write_text(BYLINE_DATED, encoding="utf-8")
    (root / "press" / "feed.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in RECORDS))
    ix = Index.create(root / "ix")
    report = ix.index_paths([str(root / "press")], jobs=1)
    assert report.failed == 0
    return ix


def ids(results) -> list[str]:
    return sorted(h.id for h in results.hits)


def test_every_document_is_found_with_its_metadata(index):
    seed = index.get("press/000_2bc2382ec64f120d.txt")
    # "Chiều 3/8, ..." and "năm 2023" later in the lead: the year is not the date's own
    assert (seed.author, seed.date, seed.date_source) == ("NGUYÊN ĐOAN", None, "none")
    bridge = index.get("press/cau-vuot.txt")
    assert (bridge.author, bridge.date, bridge.tags) == (
        "TRẦN HÀ",
        "2024-01-15",
        ["giao thông", "hạ tầng"],
    )
    assert index.get("j2").date == "2023-06-01"


def test_author_filter_ignores_case_and_diacritics(index):
    assert ids(index.search("", author="nguyên đoan")) == ["press/000_2bc2382ec64f120d.txt"]
    assert ids(index.search("", author="tran ha")) == ["press/cau-vuot.txt"]
    assert ids(index.search("", author="Nguyễn Văn An")) == ["j1"]


def test_tag_filter_uses_the_tags_section_and_json_tags(index):
    assert ids(index.search("", tag="hạ tầng")) == ["press/cau-vuot.txt"]
    assert ids(index.search("", tag="lễ hội")) == ["j2"]


def test_since_until_and_date_ranges_use_the_ingested_dates(index):
    assert ids(index.search("", since="2023-01-01", until="2023-12-31")) == ["j2"]
    assert ids(index.search("", since="2024-01-01")) == ["press/cau-vuot.txt"]
    assert ids(index.search("date:[2022-01-01 TO 2023-07-01]")) == ["j1", "j2"]
