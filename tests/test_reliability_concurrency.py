"""Two indexers on one new index: the index is made once, under the write lock, and holds both
runs' documents (the second waited for the first, or failed naming the lock)."""

from __future__ import annotations

import fcntl
import os
import time
import traceback

import orjson
import pytest
from reliability_util import doc_count, record, start, vnsearch, write_jsonl

PER_RUN = 60


@pytest.fixture
def two_feeds(tmp_path):
    write_jsonl(tmp_path / "A" / "a.jsonl", (record(n, "a") for n in range(PER_RUN)))
    write_jsonl(tmp_path / "B" / "b.jsonl", (record(n, "b") for n in range(PER_RUN)))
    return tmp_path


def _both(cwd, *extra):
    a = start("index", "A", "--index", "ix", "--quiet", "--jobs", "1", *extra, cwd=cwd)
    b = start("index", "B", "--index", "ix", "--quiet", "--jobs", "1", *extra, cwd=cwd)
    out = []
    for proc in (a, b):
        _, err = proc.communicate(timeout=300)
        out.append((proc.returncode, err.decode()))
    return out


def test_two_indexers_waiting_to_create_one_index_keep_both_runs(two_feeds):
    # Both indexers find no index and wait for the lock; whichever creates the index, the
    # other must not create it again over the first one's documents.
    ix = two_feeds / "ix"
    ix.mkdir()
    fd = os.open(ix / "write.lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.lockf(fd, fcntl.LOCK_EX)  # the lock protocol: a POSIX lock on <index>/write.lock
    try:
        a = start("index", "A", "--index", "ix", "--quiet", "--jobs", "1", cwd=two_feeds)
        b = start("index", "B", "--index", "ix", "--quiet", "--jobs", "1", cwd=two_feeds)
        time.sleep(3)  # both are past their checks, waiting for the lock
    finally:
        os.close(fd)
    for proc in (a, b):
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
    assert doc_count(ix) == 2 * PER_RUN


@pytest.mark.parametrize("attempt", range(3))
def test_two_indexers_started_together_on_a_new_index_keep_both_runs(two_feeds, attempt):
    for code, err in _both(two_feeds):
        assert code == 0, err
    assert doc_count(two_feeds / "ix") == 2 * PER_RUN


def test_two_rebuilds_started_together_leave_one_whole_run_each_time(two_feeds):
    # --rebuild starts the index over; two at once end as one of the two runs, complete,
    # never as a mix or a broken folder.
    for code, err in _both(two_feeds, "--rebuild"):
        assert code == 0, err
    proc = vnsearch("search", "tin", "-n", "1000", "--jsonl", "--fields", "id",
                    "--index", two_feeds / "ix")
    prefixes = {orjson.loads(line)["id"][0] for line in proc.stdout.splitlines()}
    assert doc_count(two_feeds / "ix") == PER_RUN and len(prefixes) == 1


def test_collapsed_searches_never_fail_while_an_indexer_commits(tmp_path):
    # Readers of the duplicate data (search --collapse, similar) during an indexing run: the
    # writer's commits hold them up for a moment, never fail them.
    from vnsearch import Index

    write_jsonl(tmp_path / "feed" / "a.jsonl",
                (record(n, "a" if n % 3 else "c") for n in range(400)))
    with Index.create(tmp_path / "ix") as ix:
        ix.search("hội nghị")  # the segmenter loaded before the race
    proc = start("index", "feed", "--index", "ix", "--quiet", "--jobs", "1",
                 "--batch-size", "40", cwd=tmp_path)
    errors, seen = [], set()
    try:
        while proc.poll() is None:
            try:
                with Index.open(tmp_path / "ix") as ix:
                    seen.add(ix.search("hội nghị", collapse=True, limit=5).total)
                    if len(ix):
                        ix.similar(ix.search("hội nghị", limit=1).hits[0].id)
            except Exception:  # noqa: BLE001 - any failure is what we are counting
                errors.append(traceback.format_exc())
    finally:
        proc.wait()
    assert proc.returncode == 0, proc.stderr.read().decode()
    assert errors == [] and len(seen) > 1
