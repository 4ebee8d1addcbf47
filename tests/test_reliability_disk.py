"""A full disk: indexing stops with one line naming where it could not write (exit 2), what was
committed stays searchable, and a re-run after freeing space completes; `vnsearch optimize`
stops the same way and leaves the index's files as they were. A full standard output
(``>/dev/full``) is one line on stderr, exit 2, whatever the output format."""

from __future__ import annotations

import os
import shutil

import orjson
import pytest
from reliability_util import (
    can_mount,
    doc_count,
    one_line_error,
    record,
    tmpfs,
    vnsearch,
    write_jsonl,
)

DOCS = 600

needs_mount = pytest.mark.skipif(not can_mount(), reason="mounting a tmpfs needs root")


@pytest.fixture
def feed(tmp_path):
    long = [{**record(n), "body": record(n)["body"] * 6} for n in range(DOCS)]
    write_jsonl(tmp_path / "feed" / "docs.jsonl", long)
    return tmp_path / "feed"


@needs_mount
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_disk_that_fills_up_while_indexing_is_one_line_and_keeps_the_last_commit(
    tmp_path, feed, jobs
):
    with tmpfs(tmp_path / "disk", "700k") as disk:
        proc = vnsearch("index", feed, "--index", disk / "ix", "--batch-size", "50",
                        "--jobs", jobs, "--quiet")
        assert proc.returncode == 2, proc.stderr.decode()
        line = one_line_error(proc)
        assert "no space left" in line.lower() and str(disk) in line, line
        committed = doc_count(disk / "ix") if (disk / "ix" / "vnsearch.json").exists() else 0
        assert committed % 50 == 0 and committed < DOCS
        if committed:
            assert vnsearch("search", "hội nghị", "--index", disk / "ix").returncode == 0
        # Free space: move the index to a roomier disk and carry on from the last commit.
        shutil.copytree(disk / "ix", tmp_path / "ix")
    proc = vnsearch("index", feed, "--index", tmp_path / "ix", "--jobs", jobs, "--quiet")
    assert proc.returncode == 0, proc.stderr.decode()
    assert doc_count(tmp_path / "ix") == DOCS


@pytest.fixture(scope="module")
def small_index(tmp_path_factory):
    path = tmp_path_factory.mktemp("full") / "ix"
    write_jsonl(path.parent / "feed" / "docs.jsonl", [record(n) for n in range(40)])
    assert vnsearch("index", path.parent / "feed", "--index", path, "--jobs", "1").returncode == 0
    return path


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", [
    ["search", "hội nghị", "--jsonl"], ["search", "hội nghị", "--json"], ["search", "hội nghị"],
    ["search", "hội nghị", "-n", "40", "--jsonl"], ["show", "doc1"], ["show", "doc1", "--json"],
    ["stats"], ["stats", "--json"], ["duplicates", "--json"], ["similar", "doc1", "--json"],
    ["analyze", "hội nghị", "--json"],
])  # fmt: skip
def test_a_full_standard_output_is_one_line_on_stderr_and_exit_2(small_index, args):
    with open("/dev/full", "wb") as full:
        proc = vnsearch(*args, "--index", small_index, stdout=full, stderr=-1) \
            if args[0] != "analyze" else vnsearch(*args, stdout=full, stderr=-1)
    assert proc.returncode == 2, proc.stderr.decode()
    line = one_line_error(proc)
    assert "no space left" in line.lower() and "output" in line, line


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_indexing_with_json_to_a_full_output_still_indexes_and_says_so(tmp_path):
    write_jsonl(tmp_path / "feed" / "docs.jsonl", [record(n) for n in range(3)])
    with open("/dev/full", "wb") as full:
        proc = vnsearch("index", "feed", "--index", "ix", "--json", "--jobs", "1",
                        cwd=tmp_path, stdout=full, stderr=-1)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "Traceback" not in err and "output" in err.splitlines()[-1], err
    assert doc_count(tmp_path / "ix") == 3


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_batch_to_a_full_output_is_one_line(small_index, tmp_path):
    (tmp_path / "q.txt").write_text("hội nghị\nkinh tế\n", encoding="utf-8")
    with open("/dev/full", "wb") as full:
        proc = vnsearch("search", "--queries", tmp_path / "q.txt", "--index", small_index,
                        stdout=full, stderr=-1)
    assert proc.returncode == 2
    assert "output" in one_line_error(proc)


@needs_mount
def test_a_disk_too_full_for_optimize_is_one_line_and_keeps_the_index(tmp_path, feed):
    proc = vnsearch("index", feed, "--index", tmp_path / "ix", "--batch-size", "200",
                    "--jobs", "1", "--quiet")  # three segments of 200
    assert proc.returncode == 0, proc.stderr.decode()
    size = sum(f.stat().st_size for f in (tmp_path / "ix").iterdir() if f.is_file())
    # room for the index, not for a merged copy of it beside its sources
    with tmpfs(tmp_path / "disk", f"{size * 13 // 10 // 1024}k") as disk:
        shutil.copytree(tmp_path / "ix", disk / "ix")
        files = sorted(os.listdir(disk / "ix"))
        proc = vnsearch("optimize", "--index", disk / "ix")
        assert proc.returncode == 2, proc.stderr.decode()
        line = one_line_error(proc)
        assert "no space left" in line.lower(), line
        assert sorted(os.listdir(disk / "ix")) == files  # what the merge wrote is removed
        assert doc_count(disk / "ix") == DOCS
        stats = orjson.loads(vnsearch("stats", "--index", disk / "ix", "--json").stdout)
        assert stats["segments"] == 3
        assert vnsearch("search", "hội nghị", "--index", disk / "ix").returncode == 0
    proc = vnsearch("optimize", "--index", tmp_path / "ix")
    assert proc.returncode == 0, proc.stderr.decode()
    assert doc_count(tmp_path / "ix") == DOCS
