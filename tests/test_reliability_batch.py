"""``--queries FILE`` streams: each query is answered as its line arrives (a FIFO fed one line
at a time gets its first answer before the writer is done), so a file of any size takes no
more memory than its longest line."""

from __future__ import annotations

import os
import select
import subprocess
import sys

import orjson
import pytest
from reliability_util import env, record, vnsearch, write_jsonl


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    base = tmp_path_factory.mktemp("batch")
    write_jsonl(base / "feed" / "docs.jsonl", [record(n) for n in range(10)])
    assert vnsearch("index", base / "feed", "--index", base / "ix", "--jobs", "1").returncode == 0
    return base / "ix"


def _read_line(proc, timeout: float) -> bytes:
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "no answer before the queries file was finished: it was read whole"
    return proc.stdout.readline()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_a_queries_fifo_is_answered_line_by_line(index_dir, tmp_path, encoding):
    fifo = tmp_path / "queries"
    os.mkfifo(fifo)
    proc = subprocess.Popen(
        [sys.executable, "-m", "vnsearch", "search", "--queries", str(fifo),
         "--index", str(index_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(),
    )  # fmt: skip
    try:
        with open(fifo, "wb", buffering=0) as w:
            first = "hội nghị\n".encode(encoding)  # utf-16: with its BOM, like a file would
            w.write(first)
            line = orjson.loads(_read_line(proc, 120))
            assert line["query"] == "hội nghị" and line["total"] > 0
            second = "kinh tế\n".encode(encoding)
            w.write(second[2:] if encoding == "utf-16" else second)  # one BOM per file
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err.decode()
    assert [orjson.loads(x)["qid"] for x in out.splitlines()] == ["2"]


def test_a_bad_line_late_in_a_large_file_is_named_after_the_earlier_answers(index_dir, tmp_path):
    q = tmp_path / "q.txt"
    with open(q, "wb") as f:
        f.write("hội nghị\n".encode() + b"\n" * 200_000 + "giá\n".encode("latin-1"))
    proc = vnsearch("search", "--queries", q, "--index", index_dir)
    assert proc.returncode == 2
    assert len(proc.stdout.splitlines()) == 1
    assert f"{q}:200002:" in proc.stderr.decode() and "UTF-8" in proc.stderr.decode()
