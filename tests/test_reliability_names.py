"""Names and paths never reach the terminal raw: escape sequences (an OSC 52 clipboard write) and
newlines (a forged result line) in file names, ids, titles and authors are shown escaped in
every text output — warnings, results, ``show``, ``duplicates``, ``similar``, errors — on a
terminal or a pipe, while JSON keeps them exactly."""

from __future__ import annotations

import re

import orjson
import pytest
from reliability_util import vnsearch

OSC52 = "\x1b]52;c;aGVsbG8=\x07"
FORGED = "x\n 2. Fake result  (99.00)\ny"
BIDI = "abc\u202etxt.exe"
# Any control character but the newlines and tabs of our own layout, and bidi controls.
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")

BODY = "Hội nghị tổng kết công tác năm của tỉnh, hội nghị đánh giá kết quả.\n"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    base = tmp_path_factory.mktemp("names")
    feed = base / "feed"
    feed.mkdir()
    (feed / f"{OSC52}.json").write_text("{bad", encoding="utf-8")  # failed
    (feed / f"{OSC52}.txt").write_text("", encoding="utf-8")  # skipped: empty
    (feed / f"{FORGED}.txt").write_text(f"Hội nghị tỉnh ủy\n\n{BODY}", encoding="utf-8")
    (feed / f"copy{OSC52}.txt").write_text(f"Hội nghị tỉnh ủy\n\n{BODY}", encoding="utf-8")
    (feed / f"{BIDI}.txt").write_text(f"Tin khác\n\n{BODY}", encoding="utf-8")
    (feed / "records.jsonl").write_bytes(orjson.dumps({
        "id": f"rec{OSC52}\nnext", "title": "Tiêu đề\n 9. Giả  (9.00)\nhết", "body": BODY,
        "author": f"Tác giả{OSC52}\nid: fake", "tags": [f"thẻ\n{OSC52}"],
    }) + b"\n")
    proc = vnsearch("index", "feed", "--index", "ix", "--jobs", "1", cwd=base)
    return base, proc


def assert_clean(text: str) -> None:
    assert not RAW.search(text), repr(text)
    assert OSC52 not in text and FORGED not in text


def test_index_warnings_show_names_escaped(hostile):
    _, proc = hostile
    assert proc.returncode == 3, proc.stderr.decode()
    err = proc.stderr.decode()
    assert_clean(err)
    lines = err.splitlines()
    assert len(lines) == 3, err  # failed, skipped, summary: one line each
    assert "\\x1b]52;c;aGVsbG8=\\x07.json" in err  # escaped, still recognisable


def result_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if re.match(r"^\s*\d+\. ", line)]


@pytest.mark.parametrize("args", [
    ["search", "hội nghị"], ["search", "hội nghị", "--color", "always"],
    ["search", "hội nghị", "--no-snippets"], ["search", "hội nghị", "--collapse"],
    ["search", "tiêu đề"], ["search", "hội nghị", "--facets", "author,tags"],
])  # fmt: skip
def test_search_results_never_show_raw_names(hostile, args):
    base, _ = hostile
    proc = vnsearch(*args, "--index", "ix", cwd=base)
    assert proc.returncode == 0, proc.stderr.decode()
    out = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout.decode())  # our own highlighting
    assert_clean(out)
    hits = orjson.loads(vnsearch(*args[:2], "--json", "--index", "ix", cwd=base).stdout)
    assert len(result_lines(out)) == len(hits["hits"]) or "--collapse" in args, out


@pytest.mark.parametrize("doc_id", [f"feed/{FORGED}.txt", f"rec{OSC52}\nnext",
                                    f"feed/{BIDI}.txt"])
def test_show_escapes_ids_paths_and_metadata(hostile, doc_id):
    base, _ = hostile
    proc = vnsearch("show", doc_id, "--index", "ix", cwd=base)
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode()
    assert_clean(out)
    assert not any(line.startswith(("id: fake", " 2. Fake", " 9. Giả")) for line in
                   out.splitlines()), out
    exact = orjson.loads(vnsearch("show", doc_id, "--json", "--index", "ix", cwd=base).stdout)
    assert exact["id"] == doc_id  # JSON keeps the name exactly


def test_similar_and_duplicates_escape_ids(hostile):
    base, _ = hostile
    for args in (["similar", f"feed/{FORGED}.txt"], ["duplicates"]):
        proc = vnsearch(*args, "--index", "ix", cwd=base)
        assert proc.returncode == 0, (args, proc.stderr.decode())
        assert_clean(proc.stdout.decode())


@pytest.mark.parametrize("args", [
    ["show", f"nope{OSC52}\nvnsearch: fake line"], ["similar", f"nope{OSC52}"],
    ["search", "x", "--index", f"nope{OSC52}\ndir"],
    ["index", f"missing{OSC52}\nfile"],
])  # fmt: skip
def test_errors_escape_names(hostile, tmp_path, args):
    base, _ = hostile
    if "--index" not in args:
        args = [*args, "--index", "ix"]
    proc = vnsearch(*args, cwd=base)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert_clean(err)
    assert len(err.strip().splitlines()) == 1, err


def test_a_queries_file_error_line_escapes_the_qid(hostile, tmp_path):
    base, _ = hostile
    q = tmp_path / "q.jsonl"
    q.write_bytes(orjson.dumps({"qid": f"q{OSC52}\nx", "query": '"unclosed'}) + b"\n")
    proc = vnsearch("search", "--queries", q, "--format", "trec", "--index", "ix", cwd=base)
    assert_clean(proc.stderr.decode())
