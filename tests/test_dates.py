"""Dates: precision over recall. Metadata, then the byline/dateline, then a lead date with its
own year, else nothing; a year from a phrase that is not the article's own date is never taken.
The traps below are the shapes that gave real articles a wrong publication year."""

from __future__ import annotations

import pytest

from vnsearch import Index
from vnsearch.ingest.press_release import parse_press_release
from vnsearch.ingest.records import record_to_document

# (title, lead, rest of the text): none of these has a date of its own.
TRAPS = [
    pytest.param("Bắt đối tượng trộm cắp", "Ngày 12/2, Công an huyện bắt Nguyễn Văn A (SN 1994).",
                 "", id="birth-year"),
    pytest.param("Quy hoạch giao thông", "Sáng 3/8, tỉnh công bố quy hoạch giao thông tới năm 2035.",
                 "", id="plan-year"),
    pytest.param("Giá xăng giảm", "Chiều 15/2, giá xăng giảm lần đầu kể từ tháng 12/2016.",
                 "Lần tăng gần nhất vào 12/2016.", id="month-in-passing"),
    pytest.param("Kỷ niệm 60 năm ngày Bác Hồ về thăm quê (14/6/1957 - 14/6/2017)",
                 "Tối 14/6, tỉnh tổ chức lễ kỷ niệm.", "", id="anniversary-same-day"),
    pytest.param("Kỷ niệm 87 năm thành lập Đảng",
                 "Ngày 6/2, Đại sứ quán tổ chức kỷ niệm 87 năm thành lập Đảng (3/2/1930-3/2/2017).",
                 "", id="anniversary-range"),
    pytest.param("Vụ án cũ", "Ngày 2-6, tòa xét xử vụ án xảy ra ngày 2/8/2013.", "",
                 id="another-full-date"),
    pytest.param("Tổng kết", "Chiều 3/8, hội nghị tổng kết công tác năm 2023.", "",
                 id="year-in-the-lead"),
    pytest.param("Kế hoạch năm 2022", "Sáng 12/5 Sở Y tế họp.", "", id="year-in-the-title"),
    pytest.param("Quyết định số 1954/QĐ-UBND", "Ngày 2-6, ông Trần Châu ký quyết định.", "",
                 id="number-like-a-year"),
    pytest.param("Ngân sách", "Trong năm 2017, ngân sách đạt 1.200 tỷ đồng.", "Từ 1945 đến 2015.",
                 id="no-lead-date"),
]  # fmt: skip


@pytest.mark.parametrize("title, lead, rest", TRAPS)
def test_no_date_from_a_year_that_is_not_the_articles_own(title, lead, rest):
    text = f"{title}\n\n{lead}\n\n{rest}\n" if rest else f"{title}\n\n{lead}\n"
    doc = parse_press_release(text, "x")
    assert (doc.date, doc.date_source) == (None, "none")
    record = record_to_document({"title": title, "summary": lead, "body": rest}, fallback_id="r")
    assert (record.date, record.date_source) == (None, "none")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Tiêu đề\n\nNgày 1/6/2023, trung tâm đi vào hoạt động.\n", ("2023-06-01", "lead")),
        ("Tiêu đề\n\nHÀ NỘI - Sáng 3-8-2023, hội nghị khai mạc (SN 1994).\n", ("2023-08-03", "lead")),
        ("Kết quả xổ số ngày 6/2/2017\n\nNgày 6/2, kết quả như sau.\n", ("2017-02-06", "lead")),
        ("Tiêu đề\n\nTRẦN HÀ | 15/01/2024\n\nSáng 3/8/2023, họp.\n", ("2024-01-15", "byline")),
        ("---\ndate: 2022-05-01\n---\nTiêu đề\n\nNgày 1/6/2023, họp.\n", ("2022-05-01", "metadata")),
    ],
)
def test_the_articles_own_date_in_order_of_trust(text, expected):
    doc = parse_press_release(text, "x")
    assert (doc.date, doc.date_source) == (expected or (None, "none"))


def test_a_trap_gives_no_year_facet(tmp_path):
    ix = Index.create(str(tmp_path / "ix"))
    ix.add([
        {"id": "trap", "title": "Bắt đối tượng", "summary": "Ngày 12/2, bắt A (SN 1994)."},
        {"id": "own", "title": "Khai mạc", "summary": "Ngày 12/2/2017, lễ hội khai mạc."},
    ])  # fmt: skip
    assert ix.search("ngày", facets=["year"]).facets["year"] == {"2017": 1}
    assert [h.id for h in ix.search("", since="1990", until="2000").hits] == []
