"""`vnsearch search/show/similar/stats`: exit codes, the JSON contract, errors, suggestions.

Driven through click's CliRunner (stdout and stderr kept apart); test_cli_terminal.py covers
what needs a real process (TTY, closed pipes).
"""

from __future__ import annotations

import orjson
import pytest
from click.testing import CliRunner
from conftest import CORPUS_BY_ID, SEED_FILE

from vnsearch.cli import cli
from vnsearch.search.parse import MAX_QUERY_CHARS
from vnsearch.text.analysis import syllables_of
from vnsearch.text.normalize import fold

NUMBER = (int, float)
ENVELOPE = {
    "schema_version": int, "query": str, "total": int, "offset": int, "limit": int,
    "took_ms": NUMBER, "hits": list, "suggestion": (str, type(None)), "facets": dict,
}  # fmt: skip
HIT = {
    "id": str, "rank": int, "score": NUMBER, "title": str, "author": str,
    "date": (str, type(None)), "tags": list, "path": str, "snippet": str, "highlights": list,
}  # fmt: skip
HIT_OPTIONAL = {"duplicates": int, "duplicate_ids": list}  # only on hits with near-copies
HIGHLIGHT = {"field": str, "text": str, "spans": list}


def run(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


def check_types(obj: dict, schema: dict, optional: dict | None = None) -> None:
    optional = optional or {}
    assert set(schema) <= set(obj) <= set(schema) | set(optional), sorted(obj)
    for key, value in obj.items():
        want = schema.get(key) or optional[key]
        assert isinstance(value, want), (key, value)
        if want is int or want == NUMBER:
            assert not isinstance(value, bool), key


def check_envelope(out: dict) -> None:
    """Every key and type of `search --json` (docs/design.md's JSON contract), spans included."""
    check_types(out, ENVELOPE)
    assert out["schema_version"] == 1
    assert out["total"] >= len(out["hits"]) and out["took_ms"] >= 0
    for n, hit in enumerate(out["hits"]):
        check_hit(hit, rank=out["offset"] + n + 1)
    for name, counts in out["facets"].items():
        assert isinstance(name, str)
        assert all(isinstance(k, str) and type(v) is int and v > 0 for k, v in counts.items())


def check_hit(hit: dict, rank: int) -> None:
    check_types(hit, HIT, HIT_OPTIONAL)
    assert hit["rank"] == rank
    assert all(isinstance(t, str) for t in hit["tags"])
    for h in hit["highlights"]:
        check_types(h, HIGHLIGHT)
        assert h["field"] in ("title", "summary", "body", "captions")
        for span in h["spans"]:
            assert isinstance(span, list) and len(span) == 2
            assert all(type(x) is int for x in span)
            assert 0 <= span[0] < span[1] <= len(h["text"])


def matched_syllables(highlight: dict) -> list[str]:
    """The folded syllables under the spans of a highlight, sliced in code points."""
    return [fold(s) for a, b in highlight["spans"] for s in syllables_of(highlight["text"][a:b])]


# -- issue 2: "done when" -----------------------------------------------------------------------
def test_the_seed_document_comes_first_with_title_author_and_exact_spans(seeds_dir):
    result = run("search", "xây dựng Đảng", "--json", "--index", seeds_dir)
    assert result.exit_code == 0, result.output
    out = orjson.loads(result.stdout)
    check_envelope(out)
    top = out["hits"][0]
    assert top["rank"] == 1 and top["path"].endswith(SEED_FILE)
    assert top["title"] == "Nhiều chuyển biển tích cực trong công tác tổ chức xây dựng Đảng"
    assert top["author"] == "NGUYÊN ĐOAN"
    assert "xây dựng Đảng" in top["snippet"]
    snippet_h = next(h for h in top["highlights"] if h["text"] == top["snippet"])
    assert snippet_h["spans"]
    for h in top["highlights"]:
        assert set(matched_syllables(h)) <= {"xay", "dung", "dang"}, h
    # The title span is exactly the matched words.
    title_h = next(h for h in top["highlights"] if h["field"] == "title")
    assert [title_h["text"][a:b] for a, b in title_h["spans"]] == ["xây dựng Đảng"]


def test_a_word_absent_from_the_index_exits_1(seeds_dir):
    result = run("search", "từkhôngcótrongvănbản", "--index", seeds_dir)
    assert result.exit_code == 1
    result = run("search", "từkhôngcótrongvănbản", "--index", seeds_dir, "--json")
    assert result.exit_code == 1
    out = orjson.loads(result.stdout)
    check_envelope(out)
    assert (out["total"], out["hits"]) == (0, [])


def test_a_missing_index_exits_2_with_exactly_one_line_on_stderr(tmp_path):
    result = run("search", "x", "--index", "/nonexistent")
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and "/nonexistent" in result.stderr
    assert result.stdout == ""


def test_with_no_index_and_a_seeds_folder_search_builds_the_index_first(seeds_workdir):
    (seeds_workdir / "index").mkdir()  # as in a fresh clone: the folder is kept, empty
    (seeds_workdir / "index" / ".gitkeep").write_text("")
    first = run("search", "xây dựng Đảng")
    assert first.exit_code == 0, first.output
    assert "indexing ./seeds" in first.stderr
    assert "xây dựng Đảng" in first.stdout
    assert (seeds_workdir / "index" / "vnsearch.json").is_file()
    again = run("search", "xây dựng Đảng")
    assert again.exit_code == 0 and "indexing" not in again.stderr


def test_an_explicit_missing_index_is_not_built_from_seeds(seeds_workdir):
    result = run("search", "x", "--index", "elsewhere")
    assert result.exit_code == 2 and not (seeds_workdir / "elsewhere").exists()


# -- errors -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "query",
    ["date:abc", "date:[2023-01-01 TO nope]", "title:[a TO b]", "*", "x" * (MAX_QUERY_CHARS + 1)],
)
def test_bad_queries_exit_2_with_one_line(corpus_dir, query):
    result = run("search", query, "--index", corpus_dir)
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("vnsearch: error:")
    assert "Traceback" not in result.output and result.stdout == ""


def test_errors_under_json_also_print_a_json_error_object(corpus_dir):
    result = run("search", "date:abc", "--index", corpus_dir, "--json")
    assert result.exit_code == 2
    error = orjson.loads(result.stdout)
    assert set(error) == {"error", "exit_code"} and error["exit_code"] == 2
    assert "abc" in error["error"]
    assert len(result.stderr.splitlines()) == 1
    missing = run("search", "x", "--index", "/nonexistent", "--jsonl")
    assert orjson.loads(missing.stdout)["exit_code"] == 2


@pytest.mark.parametrize(
    "args",
    [["--offset", "-1"], ["-n", "ten"], ["--sort", "title"], ["--colour", "never"],
     ["--queries", "."]],
)  # fmt: skip
def test_bad_options_are_errors_like_any_other(corpus_dir, args):
    # One line on stderr, exit 2, and the JSON error object scripts parse under --json.
    result = run("search", "vàng", *args, "--index", corpus_dir, "--json")
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("vnsearch: error:")
    assert "--help" in result.stderr
    error = orjson.loads(result.stdout)
    assert set(error) == {"error", "exit_code"} and error["exit_code"] == 2
    assert run("search", "vàng", *args, "--index", corpus_dir).stdout == ""


def test_unquoted_words_are_one_query(corpus_dir):
    # As typed at a shell without quotes: the same query, the same JSON, not an argument error.
    quoted = run("search", "giá vàng", "--index", corpus_dir, "--json")
    unquoted = run("search", "giá", "vàng", "--index", corpus_dir, "--json")
    assert unquoted.exit_code == quoted.exit_code == 0, unquoted.output
    ids = [[h["id"] for h in orjson.loads(r.stdout)["hits"]] for r in (quoted, unquoted)]
    assert ids[0] == ids[1] and ids[0]
    assert orjson.loads(unquoted.stdout)["query"] == "giá vàng"


def test_a_query_starting_with_minus_gets_a_hint_about_double_dash(corpus_dir):
    result = run("search", "-vàng bạc", "--index", corpus_dir)
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1
    assert "after '--'" in result.stderr
    result = run("search", "--index", corpus_dir, "--json", "--", "-vàng bạc")
    assert result.exit_code == 0
    assert [h["id"] for h in orjson.loads(result.stdout)["hits"]] == ["d03"]


def test_help_and_version_still_exit_0(corpus_dir):
    for args in (["--help"], ["search", "--help"], ["--version"]):
        result = run(*args)
        assert result.exit_code == 0 and result.stdout and result.stderr == ""
    assert run("nosuchcommand").exit_code == 2
    bare = run()  # plain `vnsearch` shows the help (on stderr, as click does), not an error line
    assert "Commands:" in bare.stderr and "search" in bare.stderr


@pytest.mark.parametrize(
    "args",
    [["search", "v\udce0ng", "--json"], ["search", "vàng", "--author", "L\udcea", "--json"],
     ["show", "d\udcff1", "--json"], ["similar", "d\udcff1", "--json"]],
)  # fmt: skip
def test_arguments_that_are_not_utf8_are_a_one_line_error(corpus_dir, args):
    # Bytes from a Latin-1 terminal arrive as lone surrogates: no traceback, no search for
    # mojibake. (`analyze` shows them as U+FFFD instead: see test_analyze_cli.py.)
    result = run(*args, "--index", corpus_dir)
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and "UTF-8" in result.stderr
    assert orjson.loads(result.stdout)["exit_code"] == 2


def test_the_query_cap_is_documented_in_the_message(corpus_dir):
    result = run("search", "vàng " * MAX_QUERY_CHARS, "--index", corpus_dir)
    assert result.exit_code == 2 and str(MAX_QUERY_CHARS) in result.stderr


def test_json_and_jsonl_together_are_a_usage_error(corpus_dir):
    assert run("search", "vàng", "--json", "--jsonl", "--index", corpus_dir).exit_code == 2


def test_search_without_a_query_or_filter_is_a_usage_error(corpus_dir):
    assert run("search", "--index", corpus_dir).exit_code == 2
    assert run("search", "   ", "--index", corpus_dir).exit_code == 2


def test_a_filter_alone_lists_documents(corpus_dir):
    result = run("search", "--author", "Lê Hoàng", "--index", corpus_dir, "--json")
    assert result.exit_code == 0
    assert {h["id"] for h in orjson.loads(result.stdout)["hits"]} == {"d05", "d10", "d12"}


# -- the output contract ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["vàng bạc"],
        ["tổ chức", "--facets", "author,tags,year,month", "--limit", "2", "--offset", "1"],
        ["vàng", "--sort", "-date"],
        ["", "--tag", "kinh tế", "--facets", "tags"],
        ["mưa lũ"],
        ["vàng", "--no-snippets"],
    ],
)
def test_json_envelope_keys_and_types(corpus_dir, args):
    result = run("search", *args, "--index", corpus_dir, "--json")
    assert result.exit_code == 0, result.output
    out = orjson.loads(result.stdout)
    check_envelope(out)
    assert out["hits"]


def test_json_is_utf8_without_escapes(corpus_dir):
    result = CliRunner().invoke(cli, ["search", "tổ chức", "--index", str(corpus_dir), "--json"])
    raw = result.stdout_bytes
    assert b"\\u" not in raw
    assert "Hội nghị tổ chức xây dựng Đảng".encode() in raw
    assert result.stdout.count("\n") == 1  # one JSON document, one line


def test_jsonl_prints_one_hit_per_line_and_nothing_else(corpus_dir):
    env = orjson.loads(run("search", "vàng bạc", "--index", corpus_dir, "--json").stdout)
    result = run("search", "vàng bạc", "--index", corpus_dir, "--jsonl")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == len(env["hits"]) == 4
    hits = [orjson.loads(line) for line in lines]
    for n, hit in enumerate(hits):
        check_hit(hit, rank=n + 1)
    assert [h["id"] for h in hits] == [h["id"] for h in env["hits"]]
    assert b"\\u" not in result.stdout_bytes


def test_jsonl_with_no_results_prints_nothing_and_exits_1(corpus_dir):
    result = run("search", "từkhôngcótrongvănbản", "--index", corpus_dir, "--jsonl")
    assert result.exit_code == 1 and result.stdout == ""


def test_the_python_api_returns_what_the_cli_prints(corpus, corpus_dir):
    api = corpus.search("vàng bạc", facets=["year"]).to_dict()
    cli_out = orjson.loads(
        run("search", "vàng bạc", "--facets", "year", "--index", corpus_dir, "--json").stdout
    )
    for d in (api, cli_out):
        d.pop("took_ms")
    assert api == cli_out
    hit = corpus.search("vàng bạc").hits[0]
    assert (hit.id, hit.rank, hit.title) == ("d04", 1, CORPUS_BY_ID["d04"].title)


def test_human_output_lists_rank_title_date_author_and_a_marked_snippet(corpus_dir):
    result = run("search", "bạc", "--index", corpus_dir, "--color", "never")
    assert result.exit_code == 0
    out = result.stdout
    assert " 1. Giá [bạc] giảm nhẹ" in out
    assert "2023-07-15 · Trần Thị Bình" in out
    assert "Giá [bạc] trên thị trường" in out
    assert "2 results" in out and "\x1b" not in out


# -- did you mean -------------------------------------------------------------------------------
def test_a_query_without_diacritics_gets_them_back_as_a_suggestion(seeds_dir):
    result = run("search", "to chuc dang", "--index", seeds_dir, "--json")
    out = orjson.loads(result.stdout)
    assert out["suggestion"] is not None and out["suggestion"].lower() == "tổ chức đảng"
    assert "did you mean: tổ chức đảng" in result.stderr.lower()
    assert len(result.stderr.splitlines()) == 1


def test_a_misspelt_word_gets_a_correction(corpus_dir):
    result = run("search", "vàmg", "--index", corpus_dir, "--json")
    assert result.exit_code == 1
    assert orjson.loads(result.stdout)["suggestion"] == "vàng"
    assert "did you mean: vàng" in result.stderr


def test_a_word_the_index_lacks_is_not_corrected_into_a_different_word(seeds_index):
    # "vàng" (gold) is two edits from "đảng", which the seed is full of: no suggestion.
    assert seeds_index.search("vàng").suggestion is None


def test_a_query_that_finds_plenty_needs_no_suggestion(corpus):
    assert corpus.search("vàng bạc").suggestion is None
    assert corpus.search("tổ chức").suggestion is None


# -- show / similar / stats ---------------------------------------------------------------------
def test_show_prints_the_full_document(corpus_dir):
    result = run("show", "d02", "--index", corpus_dir)
    assert result.exit_code == 0
    doc = CORPUS_BY_ID["d02"]
    for part in (doc.title, doc.author, doc.date, doc.body, "kinh tế, vàng"):
        assert part in result.stdout


def test_show_json_is_the_stored_document(corpus_dir):
    result = run("show", "d05", "--index", corpus_dir, "--json")
    assert result.exit_code == 0
    assert orjson.loads(result.stdout) == CORPUS_BY_ID["d05"].to_dict()


def test_show_never_prints_control_characters_from_the_document(corpus_dir):
    result = run("show", "d13", "--index", corpus_dir)
    assert result.exit_code == 0 and "mưa lũ" in result.stdout
    assert not any(ord(c) < 32 and c != "\n" or 0x7F <= ord(c) <= 0x9F for c in result.stdout)


@pytest.mark.parametrize("command", ["show", "similar"])
@pytest.mark.parametrize("as_json", [False, True])
def test_an_unknown_id_exits_2_with_one_line(corpus_dir, command, as_json):
    result = run(command, "no-such-id", "--index", corpus_dir, *(["--json"] if as_json else []))
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and "no-such-id" in result.stderr
    if as_json:
        assert orjson.loads(result.stdout)["exit_code"] == 2


def test_similar_finds_related_articles_but_not_the_document_itself(corpus, corpus_dir):
    results = corpus.similar("d02")
    assert "d02" not in [h.id for h in results.hits]
    assert results.hits and results.hits[0].id == "d03"  # the other precious-metal price report
    result = run("similar", "d02", "--index", corpus_dir, "--json")
    assert result.exit_code == 0
    out = orjson.loads(result.stdout)
    assert out.pop("copies") in (None, [])  # near-identical copies are listed apart
    check_envelope(out)
    assert "d02" not in [h["id"] for h in out["hits"]]


def test_similar_respects_the_limit(corpus):
    assert len(corpus.similar("d01", limit=1).hits) == 1


def test_stats_reports_the_documents(corpus_dir):
    result = run("stats", "--index", corpus_dir, "--json")
    assert result.exit_code == 0
    stats = orjson.loads(result.stdout)
    assert stats["documents"] == len(CORPUS_BY_ID)
    assert type(stats["size_bytes"]) is int and stats["size_bytes"] > 0
    assert "body" in stats["fields"] and stats["format_version"] >= 1
    text = run("stats", "--index", corpus_dir)
    assert f"documents: {len(CORPUS_BY_ID)}" in text.stdout


def test_stats_of_a_missing_index_exits_2(tmp_path):
    result = run("stats", "--index", tmp_path / "none")
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1
