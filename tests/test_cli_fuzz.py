"""Whatever a user types as a query, `vnsearch search` answers 0, 1 or 2 — never a traceback."""

from __future__ import annotations

import orjson
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vnsearch.cli import cli

FIXTURE = HealthCheck.function_scoped_fixture  # corpus_dir is session-wide and read-only

PIECES = [
    "vàng", "bạc", "tổ", "chức", "Đảng", "hoà", "hòa", "to", "chuc", "ma", "má", "mà", "1.000.000",
    "60,52%", "3/8", "COVID-19", "AND", "OR", "NOT", "TO", "-", "+", "*", "?", "~", "~2", '"', "'",
    ":", "(", ")", "[", "]", "{", "}", "^", "\\", "/", "title:", "author:", "tag:", "date:",
    "date:[", "2023-08-03", "2023-08", "2023", "body:", "x:", "*:*", "\u200b", "\x1b[31m", "\t",
    "ư", "Ð", "e\u0301", "𝔸", "",
]  # fmt: skip
QUERIES = st.one_of(
    st.lists(st.sampled_from(PIECES), max_size=8).map(" ".join),
    st.lists(st.sampled_from(PIECES), max_size=8).map("".join),
    st.text(alphabet=st.sampled_from(list("aăâđeêioôơuưy àáảãạ\"'():[]{}*?~-+^!&|/\\")),
            max_size=30),  # fmt: skip
    st.text(max_size=20),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[FIXTURE])
@given(query=QUERIES)
def test_any_query_exits_0_1_or_2_without_a_traceback(corpus_dir, query):
    # "--": a query starting with "-" is a query, not an option (as with grep and rg).
    result = CliRunner().invoke(cli, ["search", "--index", str(corpus_dir), "--json", "--", query])
    assert result.exit_code in (0, 1, 2), (query, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        query, result.exception,
    )  # fmt: skip
    assert "Traceback" not in result.output
    out = orjson.loads(result.stdout)  # always one JSON object: results or an error
    if result.exit_code == 2:
        assert set(out) == {"error", "exit_code"} and len(result.stderr.splitlines()) == 1
    else:
        assert out["total"] == len(out["hits"]) or len(out["hits"]) == 10
        assert (out["total"] == 0) == (result.exit_code == 1)


OPTIONS = st.lists(
    st.sampled_from([
        ["-n", "0"], ["-n", "3"], ["--offset", "2"], ["--offset", "100"], ["--sort", "date"],
        ["--sort", "-date"], ["--author", "lê hoàng"], ["--author", "x"], ["--tag", "kinh tế"],
        ["--since", "2023-07-01"], ["--until", "2023"], ["--facets", "author,tags,year,month"],
        ["--fields", "id,score"], ["--no-snippets"], ["--color", "always"], ["--collapse"],
        ["--jsonl"], ["--json"],
    ]),
    max_size=5,
).map(lambda groups: sum(groups, []))  # fmt: skip


@settings(max_examples=100, deadline=None, suppress_health_check=[FIXTURE])
@given(
    query=st.sampled_from(["vàng", "", "tổ chức -đảng", "date:2023", '"vàng bạc"', "to chuc", "*"]),
    options=OPTIONS,
)
def test_any_options_exit_0_1_or_2_with_one_line_errors(corpus_dir, query, options):
    result = CliRunner().invoke(cli, ["search", "--index", str(corpus_dir), *options, "--", query])
    assert result.exit_code in (0, 1, 2), (options, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    if result.exit_code == 2:
        assert len(result.stderr.splitlines()) == 1, result.stderr
