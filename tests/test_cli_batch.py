"""Batch mode: `vnsearch search --queries FILE [--format jsonl|trec] [--limit N]`."""

from __future__ import annotations

import orjson
import pytest
from click.testing import CliRunner
from conftest import ids

from vnsearch.cli import cli

QUERIES_JSONL = (
    '{"qid": "q1", "query": "vàng bạc"}\n'
    "\n"
    '{"qid": 7, "query": "tổ chức"}\n'
    '{"qid": "bad", "query": "date:abc"}\n'
    '{"qid": "none", "query": "từkhôngcótrongvănbản"}\n'
)


def batch(index_dir, tmp_path, content: str, *args, name="queries.jsonl"):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return CliRunner().invoke(
        cli, ["search", "--queries", str(path), "--index", str(index_dir), *args]
    )


def test_jsonl_queries_give_one_json_line_each_in_order(corpus, corpus_dir, tmp_path):
    result = batch(corpus_dir, tmp_path, QUERIES_JSONL)
    assert result.exit_code == 0, result.output
    lines = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [line["qid"] for line in lines] == ["q1", "7", "bad", "none"]
    first = lines[0]
    assert set(first) == {"qid", "query", "total", "hits"} and first["query"] == "vàng bạc"
    assert first["total"] == corpus.search("vàng bạc").total
    assert [h["id"] for h in first["hits"]] == ids(corpus.search("vàng bạc"))
    assert [h["rank"] for h in first["hits"]] == list(range(1, len(first["hits"]) + 1))
    assert set(lines[2]) == {"qid", "query", "error"} and "abc" in lines[2]["error"]
    assert (lines[3]["total"], lines[3]["hits"]) == (0, [])
    assert b"\\u" not in result.stdout_bytes


def test_plain_lines_are_queries_numbered_by_line(corpus_dir, tmp_path):
    result = batch(corpus_dir, tmp_path, "vàng bạc\n\ntổ chức\n", name="queries.txt")
    lines = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [(line["qid"], line["query"]) for line in lines] == [("1", "vàng bạc"), ("3", "tổ chức")]


def test_limit_applies_to_each_query(corpus_dir, tmp_path):
    result = batch(corpus_dir, tmp_path, QUERIES_JSONL, "--limit", "1")
    lines = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [len(line.get("hits", [])) for line in lines] == [1, 1, 0, 0]
    assert lines[0]["total"] == 4  # the total is not cut by the limit


def test_trec_format_lines(corpus, corpus_dir, tmp_path):
    result = batch(corpus_dir, tmp_path, QUERIES_JSONL, "--format", "trec", "-n", "2")
    assert result.exit_code == 0
    rows = [line.split() for line in result.stdout.splitlines()]
    assert all(len(r) == 6 and r[1] == "Q0" and r[5] == "vnsearch" for r in rows)
    assert [(r[0], r[2], r[3]) for r in rows] == [
        ("q1", ids(corpus.search("vàng bạc"))[0], "1"),
        ("q1", ids(corpus.search("vàng bạc"))[1], "2"),
        ("7", ids(corpus.search("tổ chức"))[0], "1"),
        ("7", ids(corpus.search("tổ chức"))[1], "2"),
    ]
    scores = [float(r[4]) for r in rows if r[0] == "q1"]
    assert scores == sorted(scores, reverse=True)
    # A bad query is reported on stderr and leaves no line in the run.
    assert "bad" in result.stderr and "abc" in result.stderr


def test_filters_apply_to_every_query(corpus_dir, tmp_path):
    result = batch(corpus_dir, tmp_path, "vàng\nbạc\n", "--since", "2023-07-01", name="q.txt")
    lines = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [[h["id"] for h in line["hits"]] for line in lines] == [["d02"], ["d03"]]


def test_queries_from_stdin(corpus_dir):
    result = CliRunner().invoke(
        cli, ["search", "--queries", "-", "--index", str(corpus_dir)], input="bạc\n"
    )
    assert result.exit_code == 0
    assert {h["id"] for h in orjson.loads(result.stdout)["hits"]} == {"d03", "d04"}


@pytest.mark.parametrize("content", ['{"qid": "x"}\n', "{not json\n"])
def test_a_malformed_jsonl_line_is_a_one_line_error_naming_the_line(corpus_dir, tmp_path, content):
    result = batch(corpus_dir, tmp_path, "vàng\n" + content)
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and ":2:" in result.stderr


def test_a_missing_queries_file_is_an_error(corpus_dir, tmp_path):
    result = CliRunner().invoke(
        cli, ["search", "--queries", str(tmp_path / "none.txt"), "--index", str(corpus_dir)]
    )
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1


def test_a_bom_and_windows_line_ends_are_not_part_of_queries(corpus_dir, tmp_path):
    path = tmp_path / "queries.jsonl"
    path.write_bytes('\ufeff{"qid": "a", "query": "bạc"}\r\n\r\nvàng bạc\r\n'.encode())
    result = CliRunner().invoke(cli, ["search", "--queries", str(path), "--index", str(corpus_dir)])
    lines = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [(line["qid"], line["query"]) for line in lines] == [("a", "bạc"), ("3", "vàng bạc")]
    assert all(line["total"] > 0 for line in lines)


def test_a_utf16_queries_file_with_a_bom_is_read(corpus_dir, tmp_path):
    path = tmp_path / "queries.txt"
    path.write_bytes("bạc\n".encode("utf-16"))
    result = CliRunner().invoke(cli, ["search", "--queries", str(path), "--index", str(corpus_dir)])
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout)["query"] == "bạc"


@pytest.mark.parametrize("stdin", [False, True])
def test_a_queries_file_that_is_not_utf8_is_a_one_line_error(corpus_dir, tmp_path, stdin):
    data = "vàng\n".encode() + "giá\n".encode("latin-1")
    if stdin:
        args, kwargs = ["--queries", "-"], {"input": data}
    else:
        (tmp_path / "q.txt").write_bytes(data)
        args, kwargs = ["--queries", str(tmp_path / "q.txt")], {}
    result = CliRunner().invoke(cli, ["search", *args, "--index", str(corpus_dir)], **kwargs)
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and "UTF-8" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("query", ["null", "5", '["vàng"]', "true", '{"text": "vàng"}'])
def test_a_query_that_is_not_text_is_an_error_naming_the_line(corpus_dir, tmp_path, query):
    result = batch(corpus_dir, tmp_path, f'{{"qid": "a", "query": "vàng"}}\n{{"query": {query}}}\n')
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and ":2:" in result.stderr
    assert "None" not in result.stdout and "True" not in result.stdout


def test_a_null_qid_is_numbered_by_line_like_a_missing_one(corpus_dir, tmp_path):
    result = batch(corpus_dir, tmp_path, '{"qid": null, "query": "vàng"}\n{"query": "bạc"}\n')
    assert [orjson.loads(line)["qid"] for line in result.stdout.splitlines()] == ["1", "2"]


@pytest.mark.parametrize("qid", ['"topic 1"', '""', "[1]", "true"])
def test_a_qid_a_trec_run_cannot_hold_is_an_error_naming_the_line(corpus_dir, tmp_path, qid):
    content = f'{{"qid": "ok", "query": "vàng"}}\n{{"qid": {qid}, "query": "vàng"}}\n'
    result = batch(corpus_dir, tmp_path, content, "--format", "trec")
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and ":2:" in result.stderr
    for row in result.stdout.splitlines():
        assert len(row.split()) == 6


def test_a_query_argument_with_queries_is_a_usage_error_not_ignored(corpus_dir, tmp_path):
    result = batch(corpus_dir, tmp_path, "vàng\n", "bạc")
    assert result.exit_code == 2 and result.stdout == ""
    assert "--queries" in result.stderr and len(result.stderr.splitlines()) == 1


def test_fields_choose_the_keys_of_batch_hits(corpus_dir, tmp_path):
    result = batch(corpus_dir, tmp_path, "vàng\n", "--fields", "id,date")
    hits = orjson.loads(result.stdout)["hits"]
    assert hits and all(set(h) == {"id", "date"} for h in hits)


@pytest.fixture(scope="module")
def tied_dir(tmp_path_factory):
    """Four copies of one article: every query scores them the same."""
    from conftest import build

    from vnsearch import Document

    path = tmp_path_factory.mktemp("tied") / "ix"
    docs = [
        Document(id=f"t{n}", title="Giá vàng hôm nay", date=f"2023-0{n}-01",
                 body="Giá vàng miếng tăng nhẹ trong phiên sáng, người mua vàng còn ít.")
        for n in (1, 2, 3, 4)
    ]  # fmt: skip
    build(path, docs).close()
    return path


@pytest.mark.parametrize("args", [[], ["--sort", "date"], ["--offset", "1"]])
def test_trec_scores_fall_strictly_so_trec_eval_keeps_our_order(tied_dir, tmp_path, args):
    # trec_eval and ranx order a run by score (trec_eval breaks ties by docid, descending):
    # equal or rising scores would silently re-rank the run.
    result = batch(tied_dir, tmp_path, "vàng\n", "--format", "trec", *args, name="q.txt")
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.stdout.splitlines()]
    assert len(rows) == 4 - ("--offset" in args)
    scores = [float(r[4]) for r in rows]
    assert all(a > b for a, b in zip(scores, scores[1:])), scores
    assert [int(r[3]) for r in rows] == list(range(1 + ("--offset" in args), 5))
    json_hits = orjson.loads(batch(tied_dir, tmp_path, "vàng\n", *args, name="q.txt").stdout)
    assert [r[2] for r in rows] == [h["id"] for h in json_hits["hits"]]


def test_a_document_id_with_spaces_stops_a_trec_run_instead_of_breaking_its_columns(tmp_path):
    from conftest import build

    from vnsearch import Document

    build(tmp_path / "ix", [Document(id="press releases/a.txt", title="Giá vàng", body="vàng")])
    result = batch(tmp_path / "ix", tmp_path, "vàng\n", "--format", "trec", name="q.txt")
    assert result.exit_code == 2 and result.stdout == ""
    assert "press releases/a.txt" in result.stderr and len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    "args",
    [["--json"], ["--facets", "year"], ["--jsonl", "--format", "trec"]],
)
def test_single_query_options_with_queries_are_errors_not_ignored(corpus_dir, tmp_path, args):
    result = batch(corpus_dir, tmp_path, "vàng\n", *args)
    assert result.exit_code == 2 and "--queries" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_format_without_queries_is_an_error_not_ignored(corpus_dir):
    result = CliRunner().invoke(
        cli, ["search", "vàng", "--format", "trec", "--index", str(corpus_dir)]
    )
    assert result.exit_code == 2 and "--format" in result.stderr and result.stdout == ""
