"""Ingestion never crashes on odd input, and what it keeps is the text as written."""

from __future__ import annotations

import gzip

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from vnsearch.document import Document
from vnsearch.ingest.dates import lead_date, parse_date_value
from vnsearch.ingest.encodings import (
    decode_tcvn3,
    decode_vni,
    encode_tcvn3,
    encode_vni,
    is_vietnamese_syllable,
)
from vnsearch.ingest.press_release import parse_press_release
from vnsearch.ingest.readers import read_source
from vnsearch.ingest.records import RecordError, record_to_document
from vnsearch.ingest.walk import IngestProblem, walk_paths

LINES = st.lists(
    st.one_of(
        st.sampled_from(
            ["", "TAGS", "Tags: a, b", "NGUYỄN VĂN A |", "Chiều 3/8, họp.", "Ảnh: X", "năm 2023"]
        ),
        st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=40),
    ),
    max_size=15,
)


@settings(max_examples=200, deadline=None)
@given(LINES)
def test_press_release_fields_are_pieces_of_the_input(lines):
    text = "\n".join(lines)
    doc = parse_press_release(text, "x")
    for piece in [
        doc.title,
        doc.author,
        doc.summary,
        *doc.body.split("\n\n"),
        *doc.captions,
        *doc.tags,
    ]:
        assert piece in text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    assert doc.date is None or len(doc.date) == 10
    assert doc.date_source in ("byline", "lead", "none")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)
KEYS = st.sampled_from(
    ["id", "title", "summary", "sapo", "lead", "body", "content", "author", "date", "tags",
     "category", "source", "url", "captions", "other"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(KEYS, JSON_VALUES, max_size=8))
def test_any_json_object_gives_a_document_or_a_record_error(record):
    try:
        doc = record_to_document(record, fallback_id="f#1")
    except RecordError as err:
        assert str(err) and "\n" not in str(err)
        return
    assert isinstance(doc, Document) and doc.id
    assert all(isinstance(t, str) and t for t in doc.tags)
    orjson.dumps(doc.to_dict())  # everything kept is still JSON


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_in_any_format_give_documents_or_one_line_problems(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("bytes")
    (folder / "a.txt").write_bytes(data)
    (folder / "a.json").write_bytes(data)
    (folder / "a.jsonl").write_bytes(data)
    (folder / "a.jsonl.gz").write_bytes(gzip.compress(data))
    for found in walk_paths([str(folder)]):
        assert not isinstance(found, IngestProblem)
        for item in read_source(found):
            if isinstance(item, IngestProblem):
                assert item.severity in ("skipped", "failed") and "\n" not in str(item)
            else:
                assert isinstance(item, Document)


VIETNAMESE_WORDS = st.lists(
    st.sampled_from("Việt Nam ương ngạnh khuya nghiêng quyết định thành lập Ủy ban đồng chí "
                    "giữ gìn hoà bình thuỷ lợi ở đó người được".split()),
    min_size=1, max_size=12,
)  # fmt: skip


@given(VIETNAMESE_WORDS)
def test_legacy_tables_round_trip(words):
    text = " ".join(words)
    assert decode_vni(encode_vni(text)) == text
    assert decode_tcvn3(encode_tcvn3(text)) == text.replace("Ủ", "ủ")  # ABC has no capital Ủ
    assert all(is_vietnamese_syllable(w) for w in words)


@given(st.text(max_size=60))
def test_date_parsers_return_an_iso_date_or_none(text):
    for value in (parse_date_value(text), lead_date(text, text)):
        assert value is None or (len(value) == 10 and value[4] == "-" and value[7] == "-")


def test_an_integer_too_large_for_64_bits_is_kept_as_its_digits():
    doc = record_to_document({"body": "Hội nghị", "views": 2**70, "ids": [1, -(2**64)]},
                             fallback_id="f#1")
    assert doc.extra["views"] == str(2**70) and doc.extra["ids"] == [1, str(-(2**64))]
    orjson.dumps(doc.to_dict())
