"""Readers during writes and one writer at a time: searches never fail while an indexer
commits, a second indexer waits and then names the holder, a killed holder's lock is gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_crash import BATCH, ROOT, start_indexer
from test_indexing import write_corpus

from vnsearch import Document, Index
from vnsearch.cli import cli
from vnsearch.errors import IndexLockedError
from vnsearch.write.lock import WriteLock

DOCS = 160


def test_searches_never_fail_while_an_indexer_commits(tmp_path):
    write_corpus(tmp_path / "press", DOCS)
    with Index.create(tmp_path / "ix") as ix:  # load the segmenter before the race starts, so
        ix.search("xây dựng đảng")             # a loaded machine still sees several commits
    proc = start_indexer(tmp_path, "--jobs", "1")
    totals, errors = [], []
    long_lived = Index.open(tmp_path / "ix")
    try:
        while proc.poll() is None:
            try:
                with Index.open(tmp_path / "ix") as ix:  # a fresh reader each time...
                    everything = ix.search("", since="1900-01-01", limit=DOCS)
                    ix.search("xây dựng đảng", limit=3)
                n = everything.total  # one search sees one committed state, whole
                assert len(everything.hits) == n
                totals.append(n)
                reused = len(long_lived)  # ...and one reader reused across commits
                assert reused % BATCH == 0 and reused >= n
            except Exception as e:  # noqa: BLE001 - any failure is what we are counting
                errors.append(repr(e))
    finally:
        proc.wait()
    assert proc.returncode == 0, proc.stderr.read().decode()
    assert errors == []
    assert totals == sorted(totals)  # each reader saw a committed state, never going back
    assert all(n % BATCH == 0 for n in totals) and len(set(totals)) > 1
    assert len(Index.open(tmp_path / "ix")) == DOCS


def hold_lock(path: Path) -> subprocess.Popen:
    code = (
        "import sys, time\n"
        "from vnsearch.write.lock import WriteLock\n"
        "WriteLock(sys.argv[1]).acquire()\n"
        "print('locked', flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout.readline() == b"locked\n"
    return proc


def test_a_second_indexer_waits_then_names_the_holder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_corpus(tmp_path / "press", 3)
    Index.create("ix")
    holder = hold_lock(tmp_path / "ix")
    try:
        t0 = time.monotonic()
        result = CliRunner().invoke(cli, ["index", "press", "--index", "ix",
                                          "--lock-timeout", "0.5"])
        waited = time.monotonic() - t0
        assert result.exit_code == 2
        assert result.stderr.count("\n") == 1
        assert f"pid {holder.pid}" in result.stderr and "--lock-timeout" in result.stderr
        assert waited >= 0.5
        with pytest.raises(IndexLockedError):
            WriteLock("ix", timeout=0).acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # the holder died without releasing anything: the lock is free, its owner notes are stale
    assert "pid=" in (tmp_path / "ix" / "write.lock").read_text()
    result = CliRunner().invoke(cli, ["index", "press", "--index", "ix", "--lock-timeout", "0"])
    assert result.exit_code == 0, result.stderr
    assert len(Index.open("ix")) == 3


def test_a_waiting_indexer_proceeds_once_the_holder_finishes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_corpus(tmp_path / "press", 3)
    Index.create("ix")
    holder = hold_lock(tmp_path / "ix")
    import threading

    threading.Timer(0.5, holder.kill).start()
    try:
        result = CliRunner().invoke(cli, ["index", "press", "--index", "ix",
                                          "--lock-timeout", "30"])
    finally:
        holder.wait()
    assert result.exit_code == 0, result.stderr
    assert len(Index.open("ix")) == 3


def test_opening_an_index_while_a_commit_removes_the_files_just_listed_retries(
    tmp_path, monkeypatch
):
    from whoosh.index import TOC

    ix = Index.create(tmp_path / "ix")
    ix.add([Document(id="a", title="Một")], jobs=1)
    ix.add([Document(id="b", title="Hai")], jobs=1)  # the first commit's files are gone now
    real = TOC._latest_generation.__func__
    stale = iter([real(TOC, ix._ix.storage, "MAIN") - 1])

    def listed_before_the_commit(cls, storage, indexname):
        return next(stale, None) or real(cls, storage, indexname)

    monkeypatch.setattr(TOC, "_latest_generation", classmethod(listed_before_the_commit))
    with Index.open(tmp_path / "ix") as reopened:
        assert len(reopened) == 2


def test_another_thread_of_the_same_process_waits_for_the_write_lock(tmp_path):
    import threading

    outcome = []

    def second_writer():
        try:
            with WriteLock(tmp_path, timeout=0):
                outcome.append("got it")
        except IndexLockedError as e:
            outcome.append(str(e))

    with WriteLock(tmp_path):  # nesting is for the thread that holds it, not for others
        with WriteLock(tmp_path, timeout=0):
            thread = threading.Thread(target=second_writer)
            thread.start()
            thread.join()
    assert len(outcome) == 1 and "another thread of this process" in outcome[0]
    thread = threading.Thread(target=second_writer)
    thread.start()
    thread.join()
    assert outcome[1] == "got it"


def test_threads_adding_to_one_index_take_turns(tmp_path):
    import threading

    Index.create(tmp_path / "ix").add([Document(id="first", title="Khởi động")], jobs=1)
    errors = []

    def add(k):
        try:
            Index.open(tmp_path / "ix").add(
                [Document(id=f"{k}-{i}", title=f"Tin {i}", body="Hội nghị tổng kết.")
                 for i in range(30)], jobs=1,
            )
        except Exception as e:  # noqa: BLE001 - any failure is what we are counting
            errors.append(repr(e))

    threads = [threading.Thread(target=add, args=(k,)) for k in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(Index.open(tmp_path / "ix")) == 91
