"""Fault matrix: the system refuses a write (ENOSPC, EIO, EACCES) at each write step of an
indexing run. Every cell must give one clean error line (exit 2), leave an index that opens
with its last commit (a whole number of batches, searchable, no document twice), and let a
re-run complete.

To extend it, add a row to STEPS: a name, how to inject (a file-system call whose path
matches, or a method that sqlite would fail in), and which occurrence fails (later ones let
earlier batches commit first)."""

from __future__ import annotations

import builtins
import errno
import os
import re
import sqlite3
from dataclasses import dataclass

import pytest
from click.testing import CliRunner
from reliability_util import record, write_jsonl

from vnsearch import Index
from vnsearch.cli import cli
from vnsearch.dedup.store import DuplicateStore
from vnsearch.write.state import IndexState

DOCS, BATCH = 60, 10

#: What sqlite says when the system refuses its write (sqlite's own I/O cannot be patched
#: through Python's os/open: its methods are made to raise what it raises).
SQLITE_SAYS = {
    errno.ENOSPC: "database or disk is full",
    errno.EIO: "disk I/O error",
    errno.EACCES: "attempt to write a readonly database",
}
#: Words the one-line error must hold for each refusal.
SAYS = {
    errno.ENOSPC: "no space left on device",
    errno.EIO: ("input/output error", "i/o error"),
    errno.EACCES: ("permission denied", "read-only"),
}


@dataclass(frozen=True)
class Step:
    """One write step of indexing and how a fault is injected into it.

    ``call`` is ``"open"``, ``"rename"`` or ``"replace"`` (file-system calls whose target path
    matches ``pattern``) or ``"Class.method"`` of a sqlite-backed store; ``nth`` is the
    occurrence that fails; ``jobs`` the worker processes of the run."""

    name: str
    call: str
    pattern: str = ""
    nth: int = 2
    jobs: int = 1


STEPS = [
    Step("segment write", "open", r"\.seg$"),
    Step("segment write in a worker", "open", r"\.seg$", jobs=2),
    Step("segment adopted into the index", "replace", r"MAIN_\w+\.seg$"),
    Step("commit: table of contents", "rename", r"_MAIN_\d+\.toc$"),
    Step("state: pending rows before the commit", "IndexState.prepare"),
    Step("state: applied after the commit", "IndexState.apply"),
    Step("duplicate store commit", "DuplicateStore.checkpoint"),
    Step("metadata update", "replace", r"vnsearch\.json$", nth=1),
]
ERRNOS = [errno.ENOSPC, errno.EIO, errno.EACCES]


def _inject(monkeypatch, step: Step, code: int, index_dir: str) -> list[int]:
    """Make ``step`` fail with ``code`` at its ``nth`` occurrence; returns the call counter."""
    calls = [0]
    root = os.path.realpath(index_dir)

    def due(path) -> bool:
        path = os.path.realpath(os.fspath(path))
        if not path.startswith(root) or not re.search(step.pattern, path):
            return False
        calls[0] += 1
        return calls[0] == step.nth

    def refuse(path=None):
        raise OSError(code, os.strerror(code), None if path is None else os.fspath(path))

    if step.call == "open":
        real_open = builtins.open

        def fake_open(file, mode="r", *args, **kwargs):
            if isinstance(file, (str, os.PathLike)) and any(m in mode for m in "wax+") \
                    and due(file):
                refuse(file)
            return real_open(file, mode, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", fake_open)
    elif step.call in ("rename", "replace"):
        real = getattr(os, step.call)

        def fake(src, dst, *args, **kwargs):
            if due(dst):
                refuse(dst)
            return real(src, dst, *args, **kwargs)

        monkeypatch.setattr(os, step.call, fake)
    else:
        owner, method = step.call.split(".")
        cls = {"IndexState": IndexState, "DuplicateStore": DuplicateStore}[owner]
        real_method = getattr(cls, method)

        def fake_method(self, *args, **kwargs):
            calls[0] += 1
            if calls[0] == step.nth:
                raise sqlite3.OperationalError(SQLITE_SAYS[code])
            return real_method(self, *args, **kwargs)

        monkeypatch.setattr(cls, method, fake_method)
    return calls


def _index(tmp_path, jobs: int):
    return CliRunner().invoke(cli, [
        "index", str(tmp_path / "feed"), "--index", str(tmp_path / "ix"), "--quiet",
        "--batch-size", str(BATCH), "--jobs", str(jobs),
    ])  # fmt: skip


def _check_committed(path) -> int:
    with Index.open(path) as ix:
        n = len(ix)
        hits = ix.search("tin", limit=DOCS * 2).hits
        assert len({h.id for h in hits}) == len(hits) == n  # no document twice
        assert ix.search("hội nghị", collapse=True).total <= n
    assert n % BATCH == 0 and n <= DOCS
    return n


@pytest.mark.parametrize("code", ERRNOS, ids=errno.errorcode.get)
@pytest.mark.parametrize("step", STEPS, ids=lambda s: s.name)
def test_a_write_refused_at_any_step_is_one_line_and_the_index_keeps_its_last_commit(
    tmp_path, monkeypatch, step, code
):
    write_jsonl(tmp_path / "feed" / "docs.jsonl", (record(n) for n in range(DOCS)))
    Index.create(tmp_path / "ix").close()
    with monkeypatch.context() as m:
        calls = _inject(m, step, code, str(tmp_path / "ix"))
        result = _index(tmp_path, step.jobs)
    assert calls[0] >= step.nth or step.jobs > 1, f"the fault was never injected ({step})"
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vnsearch: error: cannot write the index"), \
        result.stderr
    words = SAYS[code] if isinstance(SAYS[code], tuple) else (SAYS[code],)
    assert any(w in lines[0].lower() for w in words), lines[0]
    _check_committed(tmp_path / "ix")

    rerun = _index(tmp_path, step.jobs)
    assert rerun.exit_code == 0, rerun.stderr
    assert _check_committed(tmp_path / "ix") == DOCS
    groups = CliRunner().invoke(cli, ["duplicates", "--json", "--index", str(tmp_path / "ix")])
    assert groups.exit_code in (0, 1), groups.stderr
