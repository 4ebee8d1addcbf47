"""The Python API refuses arguments of the wrong type with a TypeError that says what it wanted,
and ``index_paths`` takes one path as well as a list of them."""

from __future__ import annotations

from pathlib import Path

import pytest
from reliability_util import record, write_jsonl

from vnsearch import Document, Index


@pytest.fixture
def ix(tmp_path):
    write_jsonl(tmp_path / "feed" / "docs.jsonl", [record(n) for n in range(3)])
    index = Index.create(tmp_path / "ix")
    index.index_paths([str(tmp_path / "feed")], jobs=1)
    return index


@pytest.mark.parametrize("query", [123, b"h\xe1\xbb\x99i", ["hội"], 1.5])
def test_search_with_a_query_that_is_not_text_is_a_type_error(ix, query):
    with pytest.raises(TypeError, match="query must be a str"):
        ix.search(query)


@pytest.mark.parametrize("options", [
    {"limit": "10"}, {"limit": 2.5}, {"offset": "1"}, {"author": 5}, {"tag": 5},
    {"since": 2023}, {"until": 20230101}, {"sort": 1}, {"snippets": "no"},
])  # fmt: skip
def test_search_options_of_the_wrong_type_are_type_errors(ix, options):
    with pytest.raises(TypeError, match=next(iter(options))):
        ix.search("hội nghị", **options)


def test_search_options_of_the_right_type_still_work(ix):
    assert ix.search("hội nghị", limit=2, offset=0, author=None, tag=[], since=None,
                     until=None, sort="relevance", snippets=False).total \
        == ix.search("hội nghị").total > 0


def test_index_paths_takes_one_path(ix, tmp_path, monkeypatch):
    # Relative names: before the fix, a str was iterated as characters ('/' first for an
    # absolute path: the whole disk was walked).
    monkeypatch.chdir(tmp_path)
    write_jsonl(tmp_path / "more" / "docs.jsonl", [record(n, "m") for n in range(2)])
    report = ix.index_paths("more", jobs=1)
    assert report.added == 2 and report.files == 1
    write_jsonl(tmp_path / "again" / "docs.jsonl", [record(n, "g") for n in range(2)])
    assert ix.index_paths(Path("again"), jobs=1).added == 2  # a Path as well
    assert len(ix) == 7


@pytest.mark.parametrize("paths", [123, [123], [b"/tmp"], None])
def test_index_paths_of_the_wrong_type_is_a_type_error_that_walks_nothing(ix, paths):
    with pytest.raises(TypeError, match="paths"):
        ix.index_paths(paths)


@pytest.mark.parametrize("docs", ["not documents", b"bytes", 7, None])
def test_add_refuses_what_is_not_documents(ix, docs):
    with pytest.raises(TypeError, match="Document"):
        ix.add(docs)
    assert len(ix) == 3  # nothing half-written


def test_add_takes_one_document(ix):
    ix.add(Document(id="one", body="hội nghị một"), jobs=1)
    assert ix.get("one").body == "hội nghị một"


@pytest.mark.parametrize("call", [
    lambda ix: ix.get(5), lambda ix: ix.similar(5), lambda ix: ix.delete(5),
    lambda ix: ix.delete([5]), lambda ix: ix.resolve_id(None),
])  # fmt: skip
def test_ids_that_are_not_text_are_type_errors(ix, call):
    with pytest.raises(TypeError, match="id"):
        call(ix)


def test_delete_takes_one_id(ix):
    assert ix.delete("doc1") == 1 and len(ix) == 2


@pytest.mark.parametrize("path", [5, 1.0, ["ix"]])
def test_index_paths_of_the_wrong_type_for_the_index_itself(path):
    with pytest.raises(TypeError, match="path"):
        Index.open(path)
    with pytest.raises(TypeError, match="path"):
        Index.create(path)
