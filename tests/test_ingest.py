"""Ingestion: the press-release text format, JSON / JSON Lines, encodings and hostile files.

Every fixture is written into tmp_path by the test that uses it; each test checks both the
documents produced and the exact problems reported.
"""

from __future__ import annotations

import codecs
import gzip
import os
import re
import shutil
from pathlib import Path

import orjson
import pytest

from vnsearch.document import Document
from vnsearch.ingest.encodings import encode_cp1258, encode_tcvn3, encode_viscii, encode_vni
from vnsearch.ingest.press_release import parse_press_release
from vnsearch.ingest.readers import iter_documents, read_source
from vnsearch.ingest.records import record_to_document
from vnsearch.ingest.walk import IngestProblem, SourceFile, walk_paths
from vnsearch.write.report import IndexReport

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SEED = SEEDS / "000_2bc2382ec64f120d.txt"

PRESS_RELEASE = """Đà Nẵng khai mạc lễ hội pháo hoa quốc tế

TRẦN HÀ | 14:05 03/06/2024

Tối 1/6, tại bờ sông Hàn, thành phố khai mạc lễ hội pháo hoa quốc tế.

Khán giả theo dõi màn trình diễn. Ảnh: T.H
Khán giả theo dõi màn trình diễn. Ảnh: T.H

Lễ hội kéo dài đến tháng 7.

TAGS
pháo hoa
Đà Nẵng
"""


def read_all(paths, **kwargs) -> tuple[list[Document], list[IngestProblem]]:
    """Walk and read like the indexer does; return documents and problems (as strings too)."""
    docs, problems = [], []
    for found in walk_paths([str(p) for p in paths], **kwargs):
        if isinstance(found, IngestProblem):
            problems.append(found)
            continue
        for item in read_source(found):
            (docs if isinstance(item, Document) else problems).append(item)
    return docs, problems


def write_jsonl(path: Path, records: list, *, compress: bool = False) -> None:
    data = b"".join(orjson.dumps(r) + b"\n" for r in records)
    path.write_bytes(gzip.compress(data) if compress else data)


# --- The seed text format -------------------------------------------------------------------
def test_seed_parses_to_title_author_lead_date_captions_and_no_tags(tmp_path):
    folder = tmp_path / "seeds"
    folder.mkdir()
    shutil.copy(SEED, folder)

    docs, problems = read_all([folder])

    assert problems == []
    [doc] = docs
    assert doc.id == doc.path == "seeds/000_2bc2382ec64f120d.txt"
    assert doc.title == "Nhiều chuyển biển tích cực trong công tác tổ chức xây dựng Đảng"
    assert doc.author == "NGUYÊN ĐOAN"
    assert (doc.date, doc.date_source) == (None, "none")  # "Chiều 3/8": no year of its own
    assert doc.captions == [
        "Quang cảnh hội nghị chiều 3/8.",
        "Trưởng ban Tổ chức Tỉnh ủy Nguyễn Chín chủ trì hội nghị.",
        "Đại diện Ban Tổ chức Huyện ủy Tiên Phước phát biểu thảo luận.",
    ]
    assert doc.extra["photo_credits"] == ["N.Đ"]
    assert doc.tags == []
    assert doc.summary.startswith("Chiều 3/8, Ban Tổ chức Tỉnh ủy tổ chức hội nghị")
    for caption in doc.captions:
        assert caption not in doc.body
    assert "Ảnh: N.Đ" not in doc.body and "TAGS" not in doc.body
    assert doc.body.startswith("Ban Tổ chức Tỉnh ủy đánh giá")
    assert doc.body.endswith("cấp huyện, cấp xã.")
    assert doc.body.count("\n\n") == 4  # five paragraphs after the lead


def test_text_fields_are_substrings_of_the_file_so_offsets_stay_valid():
    text = SEED.read_text(encoding="utf-8")
    doc = parse_press_release(text, "seed")
    for paragraph in [doc.title, doc.summary, *doc.body.split("\n\n"), *doc.captions]:
        assert paragraph in text


def test_byline_with_date_gives_author_and_byline_date_and_tags_one_per_line():
    doc = parse_press_release(PRESS_RELEASE, "x")
    assert doc.author == "TRẦN HÀ"
    assert (doc.date, doc.date_source) == ("2024-06-03", "byline")  # byline beats the lead
    assert doc.tags == ["pháo hoa", "Đà Nẵng"]
    assert doc.captions == ["Khán giả theo dõi màn trình diễn."]
    assert doc.summary == "Tối 1/6, tại bờ sông Hàn, thành phố khai mạc lễ hội pháo hoa quốc tế."
    assert doc.body == "Lễ hội kéo dài đến tháng 7."


def test_tags_comma_separated_crlf_and_duplicates():
    text = "Tiêu đề\r\n\r\nNỘI DUNG | \r\n\r\nNgày 1/6/2023, họp.\r\n\r\nTAGS\r\nkinh tế, xã hội ,Kinh tế\r\n"
    doc = parse_press_release(text, "x")
    assert doc.tags == ["kinh tế", "xã hội"]
    assert (doc.date, doc.date_source) == ("2023-06-01", "lead")
    assert "\r" not in doc.summary + doc.title


@pytest.mark.parametrize(
    "lead, title, expected",
    [
        ("Ngày 1/6/2023, trung tâm đi vào hoạt động.", "", "2023-06-01"),
        ("Chiều 3/8/2023, Ban Tổ chức họp.", "", "2023-08-03"),
        ("(Chinhphu.vn) - Sáng 12-5-2022, Sở Y tế họp.", "", "2022-05-12"),
        ("Ngày 3 tháng 8 năm 2023, hội nghị khai mạc.", "", "2023-08-03"),
        ("Sáng 12/5 Sở Y tế họp.", "Sở Y tế họp ngày 12/5/2022", "2022-05-12"),  # title's date
        ("Chiều 3/8, hội nghị diễn ra.", "", None),  # no year of its own: no date
        ("Chiều 3/8, Ban Tổ chức họp tổng kết năm 2023.", "", None),  # a year, not the date's
        ("Sáng 12/5 Sở Y tế họp.", "Kế hoạch năm 2022", None),
        ("Chiều 31/2/2023, họp.", "", None),  # impossible day: no date
        ("16/18 huyện năm 2023 đã hoàn thành.", "", None),  # a fraction, not a date
        ("Tối qua (2/8), hội nghị bế mạc.", "Hội nghị bế mạc ngày 2/8/2023", "2023-08-02"),
        ("Chiều qua 3/8, đoàn công tác đến.", "Ngày 3/8/2023", "2023-08-03"),
        ("Hôm qua (2/8), Sở Y tế họp.", "Họp ngày 2/8/2023", "2023-08-02"),
        ("Sáng thứ Năm (3/8), đoàn đến thăm.", "3/8/2023", "2023-08-03"),  # with the weekday
        ("Chiều Chủ nhật, 6/8, lễ hội bế mạc.", "Lễ hội 6/8/2023", "2023-08-06"),
        ("Thứ Hai (7/8), hội nghị khai mạc.", "Khai mạc ngày 7/8/2023", "2023-08-07"),
    ],
)
def test_lead_dates(lead, title, expected):
    doc = parse_press_release(f"{title or 'Tiêu đề'}\n\n{lead}\n", "x")
    assert doc.date == expected
    assert doc.date_source == ("lead" if expected else "none")


def test_file_mtime_is_never_a_date(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("Tiêu đề\n\nKhông có ngày tháng.\n", encoding="utf-8")
    [doc], problems = read_all([path])
    assert problems == []
    assert (doc.date, doc.date_source) == (None, "none")


# --- Encodings and hostile files -----------------------------------------------------------
@pytest.mark.parametrize(
    "name, encode",
    [
        ("utf8-bom.txt", lambda t: codecs.BOM_UTF8 + t.encode("utf-8")),
        ("utf16-le.txt", lambda t: codecs.BOM_UTF16_LE + t.encode("utf-16-le")),
        ("utf16-be.txt", lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be")),
    ],
)
def test_bom_and_utf16_files_read_like_utf8(tmp_path, name, encode):
    (tmp_path / name).write_bytes(encode(PRESS_RELEASE.replace("\n", "\r\n")))
    [doc], problems = read_all([tmp_path / name])
    assert problems == []
    assert doc == parse_press_release(PRESS_RELEASE, name, name)
    assert not doc.title.startswith("\ufeff")


def test_empty_and_binary_files_are_skipped_with_a_warning(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.md").write_bytes(b"  \n\n")
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (tmp_path / "ok.txt").write_text(PRESS_RELEASE, encoding="utf-8")
    docs, problems = read_all([tmp_path])
    assert [d.id for d in docs] == [f"{tmp_path.name}/ok.txt"]
    assert [(str(p), p.severity) for p in problems] == [
        (f"{tmp_path.name}/blank.md: empty file", "skipped"),
        (f"{tmp_path.name}/empty.txt: empty file", "skipped"),
        (f"{tmp_path.name}/image.txt: binary file (NUL bytes)", "skipped"),
    ]


VIETNAMESE = (
    "Quyết định về việc thành lập Ban chỉ đạo\n\n"
    "Ủy ban nhân dân tỉnh quyết định thành lập ban chỉ đạo phòng chống thiên tai "
    "và tìm kiếm cứu nạn, gồm các đồng chí lãnh đạo sở, ngành liên quan.\n"
)


@pytest.mark.parametrize(
    "encode, source",
    [
        (encode_tcvn3, "tcvn3"),
        (encode_vni, "vni"),
        (encode_viscii, "viscii"),
        (encode_cp1258, "cp1258"),
    ],
)
def test_legacy_vietnamese_encodings_are_converted(tmp_path, encode, source):
    path = tmp_path / "quyet-dinh.txt"
    path.write_bytes(encode(VIETNAMESE))
    docs, problems = read_all([path])
    assert problems == []
    expected = VIETNAMESE.replace("Ủy", "ủy") if source == "tcvn3" else VIETNAMESE  # no capital Ủ
    title, _, summary = expected.strip().partition("\n\n")
    assert (docs[0].title, docs[0].summary) == (title, summary)
    assert docs[0].encoding_source == source


def test_latin1_text_is_not_mistaken_for_vietnamese(tmp_path):
    path = tmp_path / "menu.txt"
    path.write_bytes("Le café était très bon à côté.".encode("latin-1"))
    docs, problems = read_all([path])
    assert docs == []
    assert [str(p) for p in problems] == [
        "menu.txt: not UTF-8 or UTF-16 text (invalid byte 0xE9 at offset 6)"
    ]


# --- JSON and JSON Lines --------------------------------------------------------------------
def test_jsonl_with_a_malformed_line_reports_it_and_reads_the_rest(tmp_path):
    path = tmp_path / "feed.jsonl"
    path.write_bytes(
        b'{"id": "a1", "title": "M\xe1\xbb\x99t", "body": "Th\xc3\xa2n b\xc3\xa0i."}\n'
        b"\n"
        b'{"id": "a2", "title": "Hai", "body": "broken",\n'
        b'{"title": "Ba", "content": "Kh\xc3\xb4ng c\xc3\xb3 id."}\n'
        b"[1, 2]\n"
    )
    docs, problems = read_all([path])
    assert [(d.id, d.title, d.body) for d in docs] == [
        ("a1", "Một", "Thân bài."),
        ("feed.jsonl#4", "Ba", "Không có id."),
    ]
    assert [(p.path, p.line, p.reason, p.severity) for p in problems] == [
        ("feed.jsonl", 3, "invalid JSON: unexpected end of data (column 47)", "failed"),
        ("feed.jsonl", 5, "expected a JSON object, got a list", "failed"),
    ]


def test_jsonl_gz_streams_and_maps_keys_aliases_and_extras(tmp_path):
    records = [
        {
            "id": 7,
            "title": "Tin 1",
            "sapo": "Tóm tắt",
            "content": "Nội dung",
            "author": "Trần Hà",
            "date": "03/08/2023 14:05",
            "tags": "kinh tế, xã hội",
            "category": None,
            "source": "baomoi.com",
            "url": "https://x.vn/1",
            "views": 12,
        },
        {
            "title": 2024,
            "body": "Số làm tiêu đề",
            "tags": ["a", "b", "a"],
            "date": "2023-08-03T10:00:00+07:00",
        },
        {"title": "Tin 3", "summary": "Chiều 3/8/2023, họp.", "date": "không rõ"},
        {"title": {"vi": "x"}, "body": "y"},
        {"id": "empty", "author": "Ai đó"},
    ]
    write_jsonl(tmp_path / "feed.jsonl.gz", records, compress=True)
    docs, problems = read_all([tmp_path / "feed.jsonl.gz"])

    first, second, third = docs
    assert (first.id, first.title, first.summary, first.body, first.author) == (
        "7",
        "Tin 1",
        "Tóm tắt",
        "Nội dung",
        "Trần Hà",
    )
    assert (first.date, first.date_source, first.tags) == (
        "2023-08-03",
        "metadata",
        ["kinh tế", "xã hội"],
    )
    assert (first.category, first.source, first.url, first.extra) == (
        "",
        "baomoi.com",
        "https://x.vn/1",
        {"views": 12},
    )
    assert first.path == "feed.jsonl.gz"
    assert (second.id, second.title, second.tags, second.date) == (
        "feed.jsonl.gz#2",
        "2024",
        ["a", "b"],
        "2023-08-03",
    )
    assert (third.date, third.date_source, third.extra) == (
        "2023-08-03",
        "lead",
        {"date_raw": "không rõ"},
    )
    assert [str(p) for p in problems] == [
        "feed.jsonl.gz:4: field 'title' must be text, got an object",
        "feed.jsonl.gz:5: no text (title, summary or body)",
    ]
    assert [p.severity for p in problems] == ["failed", "skipped"]


def test_json_file_with_one_object_or_a_list(tmp_path):
    (tmp_path / "one.json").write_bytes(
        orjson.dumps({"title": "Một", "body": "x", "captions": "Ảnh chụp"})
    )
    (tmp_path / "many.json").write_bytes(
        orjson.dumps([{"id": "m1", "title": "A"}, {"title": "B"}, "oops"])
    )
    (tmp_path / "bad.json").write_bytes(b'{"title": "x",\n "body": }')
    docs, problems = read_all([tmp_path])
    root = tmp_path.name
    assert [(d.id, d.title) for d in docs] == [
        ("m1", "A"),
        (f"{root}/many.json#2", "B"),
        (f"{root}/one.json", "Một"),
    ]
    assert docs[2].captions == ["Ảnh chụp"]
    assert [str(p) for p in problems] == [
        f"{root}/bad.json:2: invalid JSON: unexpected character (column 10)",
        f"{root}/many.json: item 3: expected a JSON object, got a string",
    ]


def test_truncated_gzip_keeps_the_documents_before_the_damage(tmp_path):
    data = gzip.compress(
        b"".join(orjson.dumps({"title": f"T{i}", "body": "x" * 2000}) + b"\n" for i in range(50))
    )
    (tmp_path / "cut.jsonl.gz").write_bytes(data[: len(data) // 2])
    docs, problems = read_all([tmp_path / "cut.jsonl.gz"])
    assert docs and len(docs) < 50
    assert [(p.reason, p.severity) for p in problems] == [
        ("truncated or corrupt gzip data", "failed")
    ]
    assert problems[0].line == len(docs) + 1


# --- Walking folders ------------------------------------------------------------------------
def test_deep_folder_with_symlink_loop_hidden_files_and_size_limit(tmp_path):
    root = tmp_path / "corpus"
    deep = root.joinpath(*[f"d{i}" for i in range(30)])
    deep.mkdir(parents=True)
    (deep / "deep.txt").write_text(PRESS_RELEASE, encoding="utf-8")
    os.symlink(root, deep / "loop")
    (root / ".git").mkdir()
    (root / ".git" / "x.txt").write_text("hidden", encoding="utf-8")
    (root / ".draft.txt").write_text("hidden", encoding="utf-8")
    (root / "notes.csv").write_text("ignored", encoding="utf-8")
    big = "Tiêu đề\n\n" + "x" * 5000
    (root / "big.txt").write_text(big, encoding="utf-8")
    (root / "a.md").write_text("# Tiêu đề\n\nNội dung.\n", encoding="utf-8")

    found = list(walk_paths([str(root)], max_file_size=4096))

    deep_rel = "corpus/" + "/".join(f"d{i}" for i in range(30))
    assert [f.rel for f in found if isinstance(f, SourceFile)] == [
        "corpus/a.md",
        f"{deep_rel}/deep.txt",
    ]
    assert [(str(p), p.severity) for p in found if isinstance(p, IngestProblem)] == [
        ("corpus/.draft.txt: hidden file", "skipped"),
        ("corpus/.git: hidden folder", "skipped"),
        (
            f"corpus/big.txt: file too large ({len(big.encode())} bytes > limit 4096 bytes)",
            "skipped",
        ),
        (f"{deep_rel}/loop: symbolic link loop", "skipped"),
    ]
    [md] = [f for f in found if isinstance(f, SourceFile) and f.rel.endswith(".md")]
    assert md.path == str(root / "a.md") and md.size == len("# Tiêu đề\n\nNội dung.\n".encode())
    assert [d.title for d in read_source(md)] == ["Tiêu đề"]


def test_ids_are_stable_whichever_way_the_path_is_given(tmp_path, monkeypatch):
    (tmp_path / "seeds").mkdir()
    shutil.copy(SEED, tmp_path / "seeds")
    monkeypatch.chdir(tmp_path)
    rels = [
        [f.rel for f in walk_paths([given])]
        for given in (
            "seeds",
            "./seeds/",
            str(tmp_path / "seeds"),
            "seeds/000_2bc2382ec64f120d.txt",
        )
    ]
    assert rels == [["seeds/000_2bc2382ec64f120d.txt"]] * 4
    assert [f.rel for f in walk_paths(["."])] == ["seeds/000_2bc2382ec64f120d.txt"]


def test_missing_paths_unsupported_files_and_duplicates(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("a.txt").write_text("Tiêu đề\n", encoding="utf-8")
    Path("data.csv").write_text("x", encoding="utf-8")
    found = list(walk_paths(["nope", "data.csv", "a.txt", "./a.txt"]))
    assert [str(f) for f in found if isinstance(f, IngestProblem)] == [
        "nope: no such file or folder",
        "data.csv: unsupported file type (reads .txt .md .json .json.gz .jsonl .ndjson .jsonl.gz "
        ".ndjson.gz .docx .docm .odt .pdf .rtf .doc .html .htm .xhtml)",
        "a.txt: same file as a.txt",
    ]
    assert [f.rel for f in found if isinstance(f, SourceFile)] == ["a.txt"]


def test_report_counts_and_exit_codes(tmp_path):
    (tmp_path / "ok.txt").write_text(PRESS_RELEASE, encoding="utf-8")
    (tmp_path / "bad.txt").write_bytes("Le café".encode("latin-1"))
    (tmp_path / "bin.txt").write_bytes(b"\x00\x01")
    report = IndexReport()
    docs = list(iter_documents([str(tmp_path)], report=report))
    assert [d.title for d in docs] == ["Đà Nẵng khai mạc lễ hội pháo hoa quốc tế"]
    assert (report.files, report.read, report.skipped, report.failed) == (3, 1, 1, 1)
    assert sorted(p.severity for p in report.problems) == ["failed", "skipped"]

    nothing = IndexReport()
    assert list(iter_documents([str(tmp_path / "bad.txt")], report=nothing)) == []
    assert (nothing.files, nothing.read, nothing.failed) == (1, 0, 1)
    # `vnsearch index`'s exit code: 3 some failed, 2 nothing indexed, 0 all fine.
    assert IndexReport(added=1, failed=1).exit_code == 3
    assert IndexReport(failed=1).exit_code == 2
    assert IndexReport(skipped=2).exit_code == 2
    assert IndexReport(unchanged=4).exit_code == 0


def test_paragraphs_one_per_line_when_the_file_has_no_blank_lines():
    text = "Tiêu đề\nPHÒNG BÁO CHÍ |\nNgày 2/9/2024, lễ diễu binh.\nĐoạn hai.\nẢnh 1. Ảnh: TTXVN\nẢnh 1. Ảnh: TTXVN\nĐoạn ba.\n"
    doc = parse_press_release(text, "x")
    assert doc.author == "PHÒNG BÁO CHÍ"
    assert (doc.summary, doc.body) == ("Ngày 2/9/2024, lễ diễu binh.", "Đoạn hai.\n\nĐoạn ba.")
    assert (doc.captions, doc.extra["photo_credits"]) == (["Ảnh 1."], ["TTXVN"])
    assert (doc.date, doc.date_source) == ("2024-09-02", "lead")


def test_hard_wrapped_paragraphs_keep_their_line_breaks():
    text = "Tiêu đề\n\nDòng một của đoạn\n  dòng hai thụt lề.\n\nĐoạn sau.\n"
    doc = parse_press_release(text, "x")
    assert doc.summary == "Dòng một của đoạn\n  dòng hai thụt lề."
    assert doc.body == "Đoạn sau."


def test_markdown_front_matter_is_metadata(tmp_path):
    path = tmp_path / "thong-cao.md"
    path.write_text(
        '---\ntitle: "Thông cáo báo chí số 12"\ndate: 2024-03-05\nauthor: Văn phòng UBND\n'
        "tags: [đầu tư, hạ tầng]\nlang: vi\n---\n\n# Thông cáo báo chí số 12\n\n"
        "Sáng 4/3/2024, UBND tỉnh họp.\n\nĐoạn hai.\n",
        encoding="utf-8",
    )
    [doc], problems = read_all([path])
    assert problems == []
    assert (doc.title, doc.author, doc.tags) == (
        "Thông cáo báo chí số 12",
        "Văn phòng UBND",
        ["đầu tư", "hạ tầng"],
    )
    assert (doc.date, doc.date_source) == ("2024-03-05", "metadata")  # metadata beats the lead
    assert (doc.summary, doc.body, doc.extra) == (
        "Sáng 4/3/2024, UBND tỉnh họp.",
        "Đoạn hai.",
        {"lang": "vi"},
    )


def test_front_matter_is_read_by_a_yaml_parser():
    # Folded and literal values, escaped quotes, comments: a line-by-line reader got them wrong
    # (an empty author for "author: >", a "# comment" as a tag).
    doc = parse_press_release(
        "---\n"
        "title: \"Thông cáo \\\"khẩn\\\" số 3\"  # tiêu đề\n"
        "author: >\n  Văn phòng\n  UBND tỉnh\n"
        "tags:\n  - đầu tư   # chính\n  # - bỏ qua\n  - 'hạ tầng'\n"
        "date: 2024-03-05\n"
        "views: 12\n"
        "---\n"
        "Sáng 4/3/2024, UBND tỉnh họp.\n",
        "x",
    )
    assert doc.title == 'Thông cáo "khẩn" số 3'
    assert doc.author == "Văn phòng UBND tỉnh"
    assert doc.tags == ["đầu tư", "hạ tầng"]
    assert (doc.date, doc.date_source) == ("2024-03-05", "metadata")
    assert doc.summary == "Sáng 4/3/2024, UBND tỉnh họp."
    assert doc.extra == {"views": 12}


def test_a_dashed_rule_that_is_not_front_matter_is_text():
    doc = parse_press_release(
        "---\nKhông phải: siêu dữ liệu vì\ncâu này không có dấu hai chấm\n---\n", "x"
    )
    assert doc.title == "---"
    assert doc.date_source == "none" and doc.extra == {}


@pytest.mark.parametrize(
    "name, encode",
    [
        ("bom.jsonl", lambda t: codecs.BOM_UTF8 + t.encode("utf-8")),
        ("utf16.ndjson", lambda t: codecs.BOM_UTF16_LE + t.encode("utf-16-le")),
        ("lines.json", lambda t: t.encode("utf-8")),  # JSON Lines saved as .json
    ],
)
def test_json_lines_with_bom_utf16_or_a_json_extension(tmp_path, name, encode):
    text = '{"title": "Tin một", "tags": "a"}\r\n{"title": "Tin hai"}\r\n'
    (tmp_path / name).write_bytes(encode(text))
    docs, problems = read_all([tmp_path / name])
    assert problems == []
    assert [(d.id, d.title) for d in docs] == [(f"{name}#1", "Tin một"), (f"{name}#2", "Tin hai")]


def test_a_file_of_bad_lines_lists_twenty_and_counts_the_rest(tmp_path):
    lines = [b'{"title": "ok"}'] + [b"title,body"] * 30 + [b'{"title": "still read"}']
    (tmp_path / "data.jsonl").write_bytes(b"\n".join(lines))
    docs, problems = read_all([tmp_path / "data.jsonl"])
    assert [d.title for d in docs] == ["ok", "still read"]
    assert len(problems) == 21
    assert str(problems[0]) == "data.jsonl:2: invalid JSON: invalid literal (column 1)"
    assert problems[19].line == 21
    assert str(problems[20]) == "data.jsonl: 10 more bad lines not listed (30 in all)"


def test_tcvn3_json_lines_name_the_encoding_per_line(tmp_path):
    line = orjson.dumps({"title": "x"}).replace(
        b'"x"', b'"' + encode_tcvn3("Quyết định thành lập Ủy ban") + b'"'
    )
    (tmp_path / "old.jsonl").write_bytes(line + b"\n")
    docs, problems = read_all([tmp_path / "old.jsonl"])
    assert docs == []
    assert [str(p) for p in problems] == ["old.jsonl:1: TCVN3 (ABC) encoding: convert to UTF-8"]


def test_hidden_files_named_directly_are_read_and_folders_are_walked_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("press").mkdir()
    Path("press/.draft.txt").write_text("Bản nháp\n", encoding="utf-8")
    Path("press/a.txt").write_text("Tin A\n", encoding="utf-8")
    os.symlink("press", "alias")
    found = list(walk_paths(["press/.draft.txt", "press", "alias", "press"]))
    assert [f.rel if isinstance(f, SourceFile) else str(f) for f in found] == [
        "press/.draft.txt",
        "press/.draft.txt: hidden file",
        "press/a.txt",
        "alias: folder already walked as press",
        "press: folder already walked as press",
    ]


@pytest.mark.parametrize(
    "byline, author, date",
    [
        ("NGUYÊN ĐOAN |", "NGUYÊN ĐOAN", None),
        ("TRẦN HÀ | 14:05 03/08/2023", "TRẦN HÀ", "2023-08-03"),
        ("Lê Văn Bình | 03/08/2023 14:05", "Lê Văn Bình", "2023-08-03"),
        ("PV | Thứ Năm, 2023-08-03 | 09:00", "PV", "2023-08-03"),
        ("HOÀNG MAI - PHƯƠNG LINH | 31/02/2023", "HOÀNG MAI - PHƯƠNG LINH", None),
    ],
)
def test_byline_forms(byline, author, date):
    doc = parse_press_release(f"Tiêu đề\n\n{byline}\n\nNội dung không có ngày.\n", "x")
    assert (doc.author, doc.date) == (author, date)
    assert doc.date_source == ("byline" if date else "none")
    assert doc.summary == "Nội dung không có ngày."


def test_a_paragraph_with_a_bar_is_not_a_byline():
    doc = parse_press_release(
        "Tiêu đề\n\nTheo báo cáo, chỉ tiêu A | B đã đạt được trong năm nay.\n", "x"
    )
    assert doc.author == ""
    assert doc.summary.startswith("Theo báo cáo")


@pytest.mark.parametrize(
    "to_text, source",
    [
        (lambda t: encode_tcvn3(t).decode("latin-1"), "tcvn3"),
        (lambda t: encode_vni(t).decode("cp1252"), "vni"),
        (
            # UTF-8 read as Windows-1252 (its 5 unused bytes as Latin-1) and saved again
            lambda t: "".join(
                bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in t.encode()
            ),
            "mojibake",
        ),
    ],
)
def test_legacy_text_resaved_as_utf8_is_repaired(tmp_path, to_text, source):
    path = tmp_path / "cu.txt"
    path.write_text(to_text(VIETNAMESE), encoding="utf-8")  # valid UTF-8, wrong letters
    docs, problems = read_all([path])
    assert problems == []
    expected = VIETNAMESE.replace("Ủy", "ủy") if source == "tcvn3" else VIETNAMESE
    title, _, summary = expected.strip().partition("\n\n")
    assert (docs[0].title, docs[0].summary) == (title, summary)
    assert docs[0].encoding_source == source


def test_french_and_short_vietnamese_in_utf8_are_left_alone(tmp_path):
    (tmp_path / "fr.txt").write_text(
        "Le café était très bon à côté, où est la crème brûlée? Déjà vu.\n", encoding="utf-8"
    )
    (tmp_path / "vi.txt").write_text("Tôi là ai\n", encoding="utf-8")
    docs, problems = read_all([tmp_path])
    assert problems == []
    assert [d.title for d in docs] == [
        "Le café était très bon à côté, où est la crème brûlée? Déjà vu.",
        "Tôi là ai",
    ]


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2023-08-03", "2023-08-03"),
        ("2023-08-03T23:30:00-05:00", "2023-08-03"),  # the day as written
        ("03/08/2023 14:05", "2023-08-03"),
        ("14:05 3-8-2023", "2023-08-03"),
        ("2023/08/03", "2023-08-03"),
        (1691082000, "2023-08-04"),  # 2023-08-03 17:00 UTC is already the 4th in Vietnam
        (1691082000000, "2023-08-04"),  # milliseconds
        (2023, None),  # a year is not a day
        ("1691082000", "2023-08-04"),  # a timestamp exported as text
        ("1691082000000", "2023-08-04"),
        ("20230803", "2023-08-03"),  # ISO basic form
        ("Thu, 03 Aug 2023 14:05:00 +0700", "2023-08-03"),  # RSS pubDate (RFC 2822)
        ("3 Aug 2023 23:30:00 GMT", "2023-08-03"),
        ("08/2023", None),
        ("31/02/2023", None),
        ("20231340", None),
        ("12345", None),
        (True, None),
    ],
)
def test_metadata_date_values(tmp_path, value, expected):
    doc = record_to_document({"title": "x", "date": value}, fallback_id="x")
    assert doc.date == expected
    assert doc.date_source == ("metadata" if expected else "none")
    assert doc.extra == ({} if expected else {"date_raw": value})


def test_single_captions_with_a_credit_and_repeated_rules():
    text = (
        "Tiêu đề\n\nNgày 2/9/2024, lễ kỷ niệm.\n\n***\n***\n\n"
        "Lễ diễu binh trên quảng trường. (Ảnh: TTXVN)\n\nĐoạn cuối.\n"
    )
    doc = parse_press_release(text, "x")
    assert doc.captions == ["Lễ diễu binh trên quảng trường."]
    assert doc.extra["photo_credits"] == ["TTXVN"]
    assert doc.body == "***\n***\n\nĐoạn cuối."  # a repeated rule is not a caption


def test_json_gz_is_read_and_a_gzip_bomb_is_not(tmp_path, monkeypatch):
    import vnsearch.ingest.readers as ingest

    (tmp_path / "a.json.gz").write_bytes(gzip.compress(orjson.dumps([{"title": "Nén"}])))
    (tmp_path / "bomb.json.gz").write_bytes(gzip.compress(b" " * 5000 + b"{}"))
    monkeypatch.setattr(ingest, "MAX_WHOLE_FILE_BYTES", 4096)
    docs, problems = read_all([tmp_path])
    assert [(d.id, d.title) for d in docs] == [(f"{tmp_path.name}/a.json.gz#1", "Nén")]
    assert [str(p) for p in problems] == [
        f"{tmp_path.name}/bomb.json.gz: over 4096 bytes once decompressed: use JSON Lines (.jsonl.gz)"
    ]


def test_json_lines_are_capped_per_record_not_per_file(tmp_path):
    # --max-file-size caps each record of a streamed JSON Lines file, not the file: a 70 MB
    # export under a 50 MB cap is read, only an overlong record is skipped.
    records = [{"title": "ngắn"}, {"title": "dài", "body": "x" * 500}, {"title": "sau"}]
    write_jsonl(tmp_path / "big.jsonl.gz", records, compress=True)
    write_jsonl(tmp_path / "big.jsonl", records * 3)
    (tmp_path / "big.txt").write_text("Tiêu đề\n\n" + "y" * 500, encoding="utf-8")
    report = IndexReport()
    docs = list(iter_documents([str(tmp_path)], report=report, max_file_size=200))
    assert [d.title for d in docs] == ["ngắn", "sau"] * 3 + ["ngắn", "sau"]
    name = tmp_path.name
    assert [str(p) for p in report.problems] == [
        f"{name}/big.jsonl:2: record over 200 bytes",
        f"{name}/big.jsonl:5: record over 200 bytes",
        f"{name}/big.jsonl:8: record over 200 bytes",
        f"{name}/big.jsonl.gz:2: record over 200 bytes",
        f"{name}/big.txt: file too large ({(tmp_path / 'big.txt').stat().st_size} bytes > limit "
        "200 bytes)",
    ]


def test_nan_and_infinity_written_by_python_json_are_absent_values_not_bad_lines(tmp_path):
    # json.dumps writes NaN and Infinity (pandas exports are full of them): the record is
    # read, those values count as missing, and the rest of the record is kept.
    path = tmp_path / "feed.jsonl"
    path.write_text(
        '{"id": "a", "title": "Giá vàng", "views": NaN, "score": -Infinity, "body": "Tăng."}\n'
        '{"id": "b", "title": "Tỷ giá", "summary": NaN, "body": "Giảm.", "big": 1e400}\n'
        '{"id": "c", "title": NaN, "body": NaN}\n',
        encoding="utf-8",
    )
    docs, problems = read_all([path])
    assert [(d.id, d.title, d.summary, d.body, d.extra) for d in docs] == [
        ("a", "Giá vàng", "", "Tăng.", {}),
        ("b", "Tỷ giá", "", "Giảm.", {}),
    ]
    assert [(p.line, p.reason, p.severity) for p in problems] == [
        (3, "no text (title, summary or body)", "skipped")
    ]


def test_nan_in_a_json_file_is_an_absent_value(tmp_path):
    path = tmp_path / "one.json"
    path.write_text('[{"id": 7, "title": "Một", "rating": NaN}]', encoding="utf-8")
    docs, problems = read_all([path])
    assert [(d.id, d.title, d.extra) for d in docs] == [("7", "Một", {})] and problems == []


def test_a_lone_surrogate_is_still_a_bad_line(tmp_path):
    path = tmp_path / "feed.jsonl"
    path.write_text('{"id": "a", "title": "x\\ud800", "n": NaN}\n{"id": "b", "title": "y"}\n')
    docs, problems = read_all([path])
    assert [d.id for d in docs] == ["b"] and [p.line for p in problems] == [1]


@pytest.mark.parametrize(
    ("raw_id", "expected"), [(42, "42"), (42.0, "42"), (1e3, "1000"), (2.5, "2.5"), ("x", "x")]
)
def test_numeric_ids_as_float_exports_write_them(raw_id, expected):
    # pandas writes an integer column holding a gap as floats: {"id": 42.0}
    doc = record_to_document({"id": raw_id, "title": "Một"}, fallback_id="f#1")
    assert doc.id == expected


@pytest.mark.parametrize("name", ["press.txt", "feed.jsonl", "one.json"])
@pytest.mark.parametrize("codec", ["utf-32-le", "utf-32-be"])
def test_utf32_fails_with_its_name_instead_of_reading_as_utf16_gibberish(tmp_path, name, codec):
    # FF FE 00 00 starts with the UTF-16 LE mark too: it was read as text with NULs between
    # every letter, and indexed.
    text = PRESS_RELEASE if name.endswith(".txt") else '{"title": "Một"}\n'
    bom = codecs.BOM_UTF32_LE if codec.endswith("le") else codecs.BOM_UTF32_BE
    (tmp_path / name).write_bytes(bom + text.encode(codec))
    docs, problems = read_all([tmp_path / name])
    assert docs == []
    assert [(p.reason, p.severity) for p in problems] == [
        ("UTF-32 text: save as UTF-8 or UTF-16 with BOM", "failed")
    ]


def test_a_small_truncated_gzip_keeps_the_lines_before_the_damage(tmp_path):
    # cut inside the first few kilobytes (where the encoding is sniffed): the lines that
    # decompress whole are still read
    lines = b"".join(
        orjson.dumps({"id": f"r{i}", "title": f"Bản tin {i}", "body": f"Nội dung {i} " * 3})
        + b"\n" for i in range(40)
    )
    data = gzip.compress(lines)
    (tmp_path / "cut.jsonl.gz").write_bytes(data[: len(data) * 3 // 4])
    docs, problems = read_all([tmp_path / "cut.jsonl.gz"])
    assert 0 < len(docs) < 40
    assert [d.id for d in docs] == [f"r{i}" for i in range(len(docs))]
    assert [(p.line, p.reason) for p in problems] == [
        (len(docs) + 1, "truncated or corrupt gzip data")
    ]


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"title": "x", "tags": [["a"]]},
         "field 'tags' must be text or a list of text, got a list holding a list"),
        ({"title": "x", "tags": {"a": 1}},
         "field 'tags' must be text or a list of text, got an object"),
        ({"title": ["x", {"b": 1}]}, "field 'title' must be text, got a list holding an object"),
    ],
)
def test_a_field_of_the_wrong_shape_says_what_it_holds(record, reason):
    # "must be a list or a string, got a list" named the wrong thing
    with pytest.raises(ValueError, match="^" + re.escape(reason) + "$"):
        record_to_document(record, fallback_id="x")


def test_json_lines_saved_as_json_with_nan_in_the_first_line_are_still_json_lines(tmp_path):
    path = tmp_path / "dump.json"
    path.write_text('{"title": "Tin một", "views": NaN}\n{"title": "Tin hai"}\n')
    docs, problems = read_all([path])
    assert [(d.id, d.title) for d in docs] == [
        ("dump.json#1", "Tin một"), ("dump.json#2", "Tin hai")
    ]
    assert problems == []
