"""Input the other ways people have it: standard input (`vnsearch index -`), plain dicts
through `Index.add`, JSON Lines of any size, and a clear error when nothing named was indexed."""

from __future__ import annotations

import io

import orjson
import pytest
from click.testing import CliRunner

from vnsearch import Index
from vnsearch.cli import cli
from vnsearch.errors import IngestError
from vnsearch.ingest.records import as_documents

FEED = [
    {"title": "Giá lúa tăng", "summary": "Ngày 2/3/2024, giá lúa tăng mạnh.", "category": "Kinh tế"},
    {"id": "b", "title": "Mưa lớn", "body": "Mưa lớn ở miền Trung.", "source": "Báo A"},
]  # fmt: skip


def run(*args, stdin: bytes | None = None):
    result = CliRunner().invoke(cli, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def jsonl(records) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def test_index_dash_reads_json_lines_from_stdin(tmp_path):
    ix_dir = str(tmp_path / "ix")
    code, _, err = run("index", "-", "--index", ix_dir, stdin=jsonl(FEED) + b"not json\n")
    assert code == 3, err
    assert "<stdin>:3: invalid JSON" in err
    ix = Index.open(ix_dir)
    assert sorted(h.title for h in ix.search("", since="2000").hits) == ["Giá lúa tăng"]
    assert ix.get("b").source == "Báo A"
    # The record without an id got one from its content: piping the feed again replaces it.
    code, _, err = run("index", "-", "--index", ix_dir, stdin=jsonl(FEED))
    assert code == 0 and "unchanged 2" in err
    assert len(Index.open(ix_dir)) == 2


def test_index_dash_reads_one_document_from_stdin(tmp_path):
    ix_dir = str(tmp_path / "ix")
    text = "Thông báo nghỉ lễ\n\nSáng 2/9/2024, cơ quan thông báo lịch nghỉ lễ Quốc khánh.\n"
    code, _, err = run("index", "-", "--index", ix_dir, stdin=text.encode("utf-8"))
    assert code == 0, err
    [hit] = Index.open(ix_dir).search("quốc khánh").hits
    assert (hit.title, hit.date) == ("Thông báo nghỉ lễ", "2024-09-02")
    assert "khánh" in hit.snippet.lower()


def test_nothing_indexed_from_what_was_named_exits_2_with_the_reason(tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("Tiêu đề\n\n" + "nội dung " * 100, encoding="utf-8")
    code, _, err = run("index", str(big), "--index", str(tmp_path / "ix"),
                       "--max-file-size", "100")  # fmt: skip
    assert code == 2
    assert err.strip().splitlines()[-1].startswith(
        f"vnsearch: nothing indexed from {big}: big.txt: file too large"
    )
    code, _, err = run("index", "-", "--index", str(tmp_path / "ix"), stdin=b"")
    assert code == 2
    assert "nothing indexed from standard input: <stdin>: empty input" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run("index", str(empty), "--index", str(tmp_path / "ix"))
    assert code == 2 and "no file vnsearch reads (.txt .md" in err


def test_a_large_json_lines_feed_is_streamed_past_the_file_cap(tmp_path):
    feed = tmp_path / "feed.jsonl"
    records = [{"id": str(k), "title": f"Tin số {k}", "body": "Nội dung " * 20} for k in range(50)]
    feed.write_bytes(jsonl(records))
    assert feed.stat().st_size > 5000
    code, _, err = run("index", str(feed), "--index", str(tmp_path / "ix"),
                       "--max-file-size", "1000")  # fmt: skip
    assert code == 0, err
    assert len(Index.open(str(tmp_path / "ix"))) == 50


def test_index_add_takes_dicts_and_iterables_of_dicts(tmp_path):
    ix = Index.create(str(tmp_path / "ix"))
    report = ix.add(FEED[1])
    assert report.added == 1
    report = ix.add(iter([FEED[0], {"title": {"vi": "x"}}, {"id": "c"}]))
    assert report.added == 1
    assert [str(p) for p in report.problems] == [
        "item 2: field 'title' must be text, got an object",
        "item 3: no text (title, summary or body)",
    ]
    assert (report.failed, report.skipped) == (1, 1)
    assert ix.get("b").title == "Mưa lớn"
    [hit] = ix.search("lúa").hits
    assert (hit.title, hit.date, hit.id.startswith("doc-")) == ("Giá lúa tăng", "2024-03-02", True)
    with pytest.raises(IngestError, match="item 1: expected a Document or a record"):
        list(as_documents([3]))


def test_add_stream_api(tmp_path):
    ix = Index.create(str(tmp_path / "ix"))
    report = ix.add_stream(io.BytesIO(jsonl(FEED)))
    assert report.added == 2
    assert ix.search("mưa").hits[0].id == "b"


CATEGORIZED = [
    {"id": "a", "title": "Giá vàng tăng", "category": "Kinh tế", "source": "Báo A",
     "desk": "Tài chính"},
    {"id": "b", "title": "Giá lúa tăng", "category": "KINH TẾ", "source": "Báo B"},
    {"id": "c", "title": "Giá vé tăng", "category": "Thời sự", "source": "Báo A",
     "desk": ["Giao thông", "Tài chính"]},
    {"id": "d", "title": "Bóng đá", "category": "Thể thao", "source": "Báo B"},
]  # fmt: skip


def test_filters_and_facets_on_any_stored_metadata_field(tmp_path):
    ix = Index.create(str(tmp_path / "ix"))
    ix.add(CATEGORIZED)
    results = ix.search("giá tăng", facets=["category", "source", "desk"])
    assert results.facets == {
        "category": {"KINH TẾ": 2, "Thời sự": 1},  # spellings merged, as --where matches them
        "source": {"Báo A": 2, "Báo B": 1},
        "desk": {"Tài chính": 2, "Giao thông": 1},  # a list value counts each of its items
    }
    hits = ix.search("giá", where={"category": "kinh te"}).hits
    assert sorted(h.id for h in hits) == ["a", "b"]
    assert [h.id for h in ix.search("giá", where=["category=Kinh tế", "source=Báo B"]).hits] \
        == ["b"]
    assert sorted(h.id for h in ix.search("", where=["desk=tài chính"]).hits) == ["a", "c"]
    code, out, err = run("search", "giá", "--where", "source=báo a", "--facets", "category",
                         "--json", "--index", str(tmp_path / "ix"))  # fmt: skip
    assert code == 0, err
    data = orjson.loads(out)
    assert sorted(h["id"] for h in data["hits"]) == ["a", "c"]
    assert data["facets"] == {"category": {"Kinh tế": 1, "Thời sự": 1}}
    code, _, err = run("search", "giá", "--where", "category", "--index", str(tmp_path / "ix"))
    assert code == 2 and "--where wants FIELD=VALUE, got 'category'" in err
