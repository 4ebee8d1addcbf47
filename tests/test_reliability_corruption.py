"""Every damaged index file gives one line that names the fix, `vnsearch index --rebuild`, and
``--rebuild`` does fix it."""

from __future__ import annotations

import os
import shutil
import sqlite3

import pytest
from reliability_util import doc_count, one_line_error, record, vnsearch, write_jsonl

GARBAGE = bytes(range(256)) * 12


def _sqlite_garbage(path):
    path.write_bytes(GARBAGE)


def _bad_settings(path):
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = 'many' WHERE key = 'num_perm'")
    db.close()


DAMAGE = {
    "vnsearch.json garbage": ("vnsearch.json", lambda p: p.write_bytes(b"xx{")),
    "vnsearch.json empty": ("vnsearch.json", lambda p: p.write_bytes(b"")),
    "vnsearch.json binary": ("vnsearch.json", lambda p: p.write_bytes(GARBAGE)),
    "vnsearch.json a list": ("vnsearch.json", lambda p: p.write_bytes(b"[1, 2]")),
    "duplicates.sqlite garbage": ("duplicates.sqlite", _sqlite_garbage),
    "duplicates.sqlite empty tables": ("duplicates.sqlite", lambda p: p.write_bytes(b"")),
    "duplicates.sqlite bad settings": ("duplicates.sqlite", lambda p: _bad_settings(p)),
    "state.sqlite garbage": ("state.sqlite", _sqlite_garbage),
    "table of contents garbage": ("_MAIN_1.toc", lambda p: p.write_bytes(GARBAGE)),
    "table of contents gone": ("_MAIN_1.toc", lambda p: p.unlink()),
}
COMMANDS = {
    "vnsearch.json": [["search", "hội nghị"], ["stats"], ["show", "doc1"],
                      ["index", "feed"]],
    "duplicates.sqlite": [["search", "hội nghị", "--collapse"], ["duplicates"],
                          ["similar", "doc1"], ["index", "feed"]],
    "state.sqlite": [["index", "feed"]],
    "_MAIN_1.toc": [["search", "hội nghị"], ["stats"], ["index", "feed"]],
}  # fmt: skip


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    base = tmp_path_factory.mktemp("pristine")
    write_jsonl(base / "feed" / "docs.jsonl", [record(n) for n in range(20)])
    proc = vnsearch("index", "feed", "--index", "ix", "--jobs", "1", cwd=base)
    assert proc.returncode == 0, proc.stderr.decode()
    assert (base / "ix" / "_MAIN_1.toc").exists()
    return base


@pytest.mark.parametrize("case", DAMAGE)
def test_a_damaged_index_file_names_the_fix_and_the_fix_works(pristine, tmp_path, case):
    shutil.copytree(pristine, tmp_path / "w")
    work = tmp_path / "w"
    name, damage = DAMAGE[case]
    damage(work / "ix" / name)
    for args in COMMANDS[name]:
        proc = vnsearch(*args, "--index", "ix", "--jobs", "1", cwd=work) if args[0] == "index" \
            else vnsearch(*args, "--index", "ix", cwd=work)
        if proc.returncode == 0 and name == "duplicates.sqlite" and (
            args[0] == "index" or (args[0] == "similar" and "empty" in case)
        ):
            continue  # the writer may remake its duplicate data; similar does without it
        assert proc.returncode == 2, (args, proc.stderr.decode())
        line = one_line_error(proc)
        fix = "`vnsearch index" if case == "duplicates.sqlite empty tables" else "--rebuild`"
        assert fix in line, (args, line)
    proc = vnsearch("index", "feed", "--index", "ix", "--rebuild", "--jobs", "1", cwd=work)
    assert proc.returncode == 0, proc.stderr.decode()
    assert doc_count(work / "ix") == 20
    for args in COMMANDS[name]:
        if args[0] != "index":
            assert vnsearch(*args, "--index", "ix", cwd=work).returncode == 0, args


def test_rebuild_needs_no_readable_metadata(pristine, tmp_path):
    shutil.copytree(pristine, tmp_path / "w")
    os.truncate(tmp_path / "w" / "ix" / "vnsearch.json", 3)
    proc = vnsearch("index", "feed", "--index", "ix", "--rebuild", "--jobs", "1",
                    cwd=tmp_path / "w")
    assert proc.returncode == 0, proc.stderr.decode()
