"""Crash safety: a real `vnsearch index` killed with -9 at any moment leaves an index that
opens, answers queries and holds exactly a committed state; the next run completes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from test_indexing import write_corpus

from vnsearch import Index
from vnsearch.write.state import IndexState

ROOT = Path(__file__).resolve().parent.parent
DOCS = 240
BATCH = 20


def start_indexer(cwd: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "vnsearch", "index", "press", "--index", "ix", "--quiet",
         "--batch-size", str(BATCH), *extra],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def committed_docs(path: Path) -> int:
    if not Index.exists(path):
        return 0
    with Index.open(path) as ix:
        return len(ix)


def check_consistent(path: Path) -> int:
    """The index opens, searches, holds a whole number of batches, and the state agrees.

    A kill before the index was created (a slow start on a loaded machine) committed nothing.
    """
    from whoosh import index as windex

    if not Index.exists(path):
        return 0
    with Index.open(path) as ix:
        n = len(ix)
        results = ix.search("xây dựng", limit=5)
        assert results.total <= n
        hits = ix.search("", since="1900-01-01", limit=DOCS * 2).hits
        assert len({h.id for h in hits}) == len(hits) == n  # no document twice
    assert n % BATCH == 0 or n == DOCS
    with IndexState(path) as state:
        state.recover(windex.open_dir(str(path)).latest_generation())
        assert len(state) == n
    return n


def test_kill_9_at_several_points_then_resume(tmp_path):
    write_corpus(tmp_path / "press", DOCS)
    ix = tmp_path / "ix"
    seen = []
    # kill early (model loading / first analyses), then mid-run whenever the index has just
    # grown (a commit has landed and the next batch is being analysed or committed)
    for target in (None, 1, 40, 100):
        proc = start_indexer(tmp_path, "--jobs", "2")
        if target is None:
            time.sleep(0.8)
        else:
            deadline = time.monotonic() + 60
            start = committed_docs(ix)
            while committed_docs(ix) < start + target and time.monotonic() < deadline:
                if proc.poll() is not None:
                    break
                time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        seen.append(check_consistent(ix))
    assert seen == sorted(seen)  # nothing committed was lost
    proc = start_indexer(tmp_path, "--json")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert check_consistent(ix) == DOCS
    import orjson

    report = orjson.loads(out)
    assert report["added"] == DOCS - seen[-1] and report["unchanged"] == seen[-1]


def test_a_kill_between_the_index_commit_and_the_state_commit_is_recovered(tmp_path):
    """Simulated: the Whoosh commit landed but the state still holds the batch as pending."""
    write_corpus(tmp_path / "press", 30)
    ix = Index.create(tmp_path / "ix")
    ix.batch_size = 10
    real_apply = IndexState.apply
    calls = {"n": 0}

    def crash_on_second_apply(self):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # the process "dies" right after the Whoosh commit
        real_apply(self)

    IndexState.apply = crash_on_second_apply
    try:
        try:
            ix.index_paths([str(tmp_path / "press")], jobs=1)
        except KeyboardInterrupt:
            pass
    finally:
        IndexState.apply = real_apply
    assert len(Index.open(ix.path)) == 20  # the second batch is in the index
    report = Index.open(ix.path).index_paths([str(tmp_path / "press")], jobs=1)
    assert (report.added, report.unchanged) == (10, 20)  # not added twice
    assert len(Index.open(ix.path)) == 30
