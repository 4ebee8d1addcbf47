"""Pathological records fail alone: a record nested too deep to store is one failed record
(exit 3), every other record of the file is indexed, and a re-run behaves the same."""

from __future__ import annotations

import orjson
import pytest
from reliability_util import doc_count, record, vnsearch

from vnsearch import Document, Index

DEPTH = 300


def deep(depth: int):
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("shape", ["list", "object"])
def test_a_record_nested_300_deep_is_one_failed_record(tmp_path, shape):
    nested = "[" * DEPTH + "]" * DEPTH
    nested = nested if shape == "list" else '{"a": ' + nested + "}"
    (tmp_path / "feed").mkdir()
    (tmp_path / "feed" / "docs.jsonl").write_text(
        orjson.dumps(record(0)).decode() + "\n"
        + orjson.dumps(record(1)).decode()[:-1] + ', "x": ' + nested + "}\n"
        + orjson.dumps(record(2)).decode() + "\n", encoding="utf-8",
    )
    for attempt in range(2):  # a re-run neither crashes nor loses the others
        proc = vnsearch("index", "feed", "--index", "ix", "--jobs", "1", cwd=tmp_path)
        err = proc.stderr.decode()
        assert "Traceback" not in err, err
        assert proc.returncode == 3, err
        assert "feed/docs.jsonl:2:" in err and "nested" in err, err
        assert doc_count(tmp_path / "ix") == 2


def test_a_json_array_file_with_a_deep_record_indexes_the_others(tmp_path):
    (tmp_path / "feed").mkdir()
    (tmp_path / "feed" / "docs.json").write_bytes(
        b"[" + orjson.dumps(record(0)) + b"," + b'{"id": "deep", "body": "x", "meta": '
        + b"[" * DEPTH + b"]" * DEPTH + b"}," + orjson.dumps(record(1)) + b"]"
    )
    proc = vnsearch("index", "feed", "--index", "ix", "--jobs", "1", cwd=tmp_path)
    assert proc.returncode == 3, proc.stderr.decode()
    assert "Traceback" not in proc.stderr.decode()
    assert doc_count(tmp_path / "ix") == 2


def test_index_add_of_a_document_nested_too_deep_fails_that_document_only(tmp_path):
    ix = Index.create(tmp_path / "ix")
    docs = [Document(id="a", body="hội nghị tỉnh"),
            Document(id="b", body="hội nghị", extra={"x": deep(DEPTH)}),
            Document(id="c", body="hội nghị huyện")]
    report = ix.add(docs, jobs=1)
    assert (report.added, report.failed) == (2, 1)
    assert "b" in str(report.problems[0]) and "nested" in str(report.problems[0])
    assert sorted(h.id for h in ix.search("hội nghị").hits) == ["a", "c"]
