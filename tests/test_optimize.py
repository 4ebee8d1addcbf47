"""Merging an index into one segment (`vnsearch optimize`, `Index.optimize`).

- every segment becomes one, every document is still found, and searches rank and score as
  before (the fields' total lengths carried over exactly);
- deleted documents are left out of the merged segment; a second run has nothing to do;
- the command prints what it did, as text or JSON; a missing index or a held lock is a one-line
  error with exit 2;
- killed in the middle of the merge, the index keeps its segments and every document, and the
  next run completes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner
from test_concurrency import hold_lock

from vnsearch import Document, Index
from vnsearch.cli import cli
from vnsearch.codec import merge

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOPICS = ["giá vàng tăng mạnh", "bão số 3 đổ bộ", "xây dựng Đảng", "giáo dục đại học"]
QUERIES = ["giá vàng", "bão đổ bộ", "xây dựng đảng", "gia vang", '"giáo dục"']


def article(i: int) -> Document:
    topic = TOPICS[i % len(TOPICS)]
    return Document(id=f"doc{i}", title=f"Tin số {i}: {topic}",
                    body=f"Bài {i} nói về {topic}. " * (1 + i % 5) + f"Số liệu {i * 7}.")


def in_segments(path, runs: int = 4, per_run: int = 30) -> Index:
    ix = Index.create(path)
    for r in range(runs):  # one segment a run
        ix.add([article(i) for i in range(r * per_run, (r + 1) * per_run)], jobs=1)
    return ix


def ranked(ix: Index) -> dict:
    return {q: [(h.id, h.score) for h in ix.search(q, limit=200).hits] for q in QUERIES}


def test_optimize_merges_every_segment_into_one_and_ranks_as_before(tmp_path):
    ix = in_segments(tmp_path / "ix")
    assert ix.stats()["segments"] == 4
    before = ranked(ix)

    got = ix.optimize()

    assert got["segments_before"] == 4 and got["segments"] == 1 and got["documents"] == 120
    assert ix.stats()["segments"] == 1
    after = ranked(Index.open(tmp_path / "ix"))
    for q in QUERIES:
        assert [d for d, _ in after[q]] == [d for d, _ in before[q]], q
        assert [s for _, s in after[q]] == pytest.approx([s for _, s in before[q]], rel=1e-6)
    assert Index.open(tmp_path / "ix").get("doc77").title == article(77).title


def test_deleted_documents_are_left_out_and_a_second_run_has_nothing_to_do(tmp_path):
    ix = in_segments(tmp_path / "ix", runs=2)
    assert ix.delete(["doc3", "doc40"]) == 2

    got = ix.optimize()

    assert got["segments"] == 1 and got["documents"] == 58
    assert {h.id for h in ix.search("bài", limit=100).hits} == {
        f"doc{i}" for i in range(60)} - {"doc3", "doc40"}
    again = ix.optimize()
    assert again["segments_before"] == again["segments"] == 1 and again["documents"] == 58
    # the merged index takes more documents as usual
    ix.add([article(i) for i in range(60, 65)], jobs=1)
    assert len(ix) == 63 and ix.search("gia vang", limit=1).total > 0


def test_the_command_says_what_it_merged(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    in_segments(tmp_path / "ix", runs=3)

    text = CliRunner().invoke(cli, ["optimize", "--index", "ix"])
    assert text.exit_code == 0, text.stderr
    assert text.stdout.startswith("merged 3 segments into 1 (90 documents) in ")

    again = CliRunner().invoke(cli, ["optimize", "--index", "ix"])
    assert again.exit_code == 0
    assert again.stdout == "nothing to merge: 90 documents in 1 segment\n"

    as_json = CliRunner().invoke(cli, ["optimize", "--index", "ix", "--json"])
    assert as_json.exit_code == 0
    got = json.loads(as_json.stdout)
    assert got["segments_before"] == got["segments"] == 1 and got["documents"] == 90


def test_optimize_in_two_processes_ranks_as_in_one(tmp_path, monkeypatch):
    # The second process merges the later half of the terms; the index it leaves is the same.
    monkeypatch.setattr(merge, "SPLIT_MIN_TERMS", 0)  # these segments are small
    halves = []
    real = merge._halfway
    monkeypatch.setattr(merge, "_halfway", lambda *a: halves.append(real(*a)) or halves[-1])
    monkeypatch.chdir(tmp_path)
    one = in_segments(tmp_path / "one")
    in_segments(tmp_path / "two")

    assert one.optimize(jobs=1)["segments"] == 1
    assert halves == []
    cli_run = CliRunner().invoke(cli, ["optimize", "--index", "two", "--jobs", "2"])

    assert cli_run.exit_code == 0, cli_run.stderr
    assert cli_run.stdout.startswith("merged 4 segments into 1 (120 documents) in ")
    assert len(halves) == 1 and halves[0] is not None
    assert ranked(Index.open(tmp_path / "two")) == ranked(Index.open(tmp_path / "one"))
    assert not [n for n in os.listdir(tmp_path / "two") if n.startswith(".")]


def test_a_missing_index_or_a_held_lock_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    missing = CliRunner().invoke(cli, ["optimize", "--index", "nowhere", "--json"])
    assert missing.exit_code == 2
    assert missing.stderr.count("\n") == 1 and "no index" in missing.stderr
    assert json.loads(missing.stdout)["exit_code"] == 2

    in_segments(tmp_path / "ix", runs=2)
    holder = hold_lock(tmp_path / "ix")
    try:
        locked = CliRunner().invoke(cli, ["optimize", "--index", "ix", "--lock-timeout", "0"])
    finally:
        holder.kill()
        holder.wait()
    assert locked.exit_code == 2
    assert locked.stderr.count("\n") == 1 and f"pid {holder.pid}" in locked.stderr
    assert Index.open(tmp_path / "ix").stats()["segments"] == 2


KILLED = textwrap.dedent("""
    import os, signal, sys
    from vnsearch import Index
    from vnsearch.codec import merge

    calls = [0]
    real = merge._merge_term
    parent = os.getpid()

    def dying(*args):  # the process is killed in the middle of writing the merged postings
        calls[0] += 1
        if calls[0] == 30 and os.getpid() == parent:
            os.kill(parent, signal.SIGKILL)
        return real(*args)

    merge._merge_term = dying
    merge.SPLIT_MIN_TERMS = 0  # a second process merges the later terms, and dies with us
    Index.open(sys.argv[1]).optimize(jobs=2)
""")


def test_an_optimize_killed_while_merging_leaves_the_index_as_it_was(tmp_path):
    path = tmp_path / "ix"
    before = ranked(in_segments(path))
    proc = subprocess.run([sys.executable, "-c", KILLED, str(path)], capture_output=True,
                          env={**os.environ, "PYTHONPATH": ROOT}, timeout=120)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]

    ix = Index.open(path)
    assert ix.stats()["segments"] == 4 and len(ix) == 120
    assert ranked(ix) == before
    got = ix.optimize()
    assert got["segments"] == 1 and got["documents"] == 120
    assert [d for d, _ in ranked(ix)["giá vàng"]] == [d for d, _ in before["giá vàng"]]
    assert not [n for n in os.listdir(path) if n.endswith((".trm", ".pst", ".tmp"))
                or n.startswith(".staging")]
