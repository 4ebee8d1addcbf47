"""Reading never writes: every read command works on an index on read-only media (a read-only
bind mount stops root too, unlike chmod) and leaves a writable index byte for byte as it was
(no ``-wal``/``-shm`` files, no lock, no metadata update)."""

from __future__ import annotations

import pytest
from reliability_util import (
    can_mount,
    read_only_view,
    record,
    snapshot,
    vnsearch,
    write_jsonl,
)

from vnsearch import Index

READS = [
    ["search", "hội nghị"], ["search", "hội nghị", "--collapse"],
    ["search", "hội nghị", "--collapse", "--json"], ["search", "hội nghị", "--facets", "author"],
    ["similar", "doc1"], ["similar", "doc1", "--json"], ["duplicates"], ["duplicates", "--json"],
    ["duplicates", "--threshold", "0.5"], ["show", "doc1"], ["stats"],
]  # fmt: skip


def _build(base):
    docs = [record(n) for n in range(30)] + [{**record(1), "id": "copy1"}]
    write_jsonl(base / "feed" / "docs.jsonl", docs)
    proc = vnsearch("index", base / "feed", "--index", base / "ix", "--jobs", "1")
    assert proc.returncode == 0, proc.stderr.decode()
    return base / "ix"


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    return _build(tmp_path_factory.mktemp("rw"))


@pytest.fixture(scope="module")
def ro_index_dir(tmp_path_factory):
    """An index no reader has opened yet (only ever seen read-only)."""
    return _build(tmp_path_factory.mktemp("ro"))


@pytest.mark.parametrize("args", READS, ids=lambda a: " ".join(a))
def test_read_commands_leave_a_writable_index_untouched(index_dir, args):
    before = snapshot(index_dir)
    proc = vnsearch(*args, "--index", index_dir)
    assert proc.returncode == 0, proc.stderr.decode()
    assert snapshot(index_dir) == before


def test_the_python_api_reads_without_writing(index_dir):
    before = snapshot(index_dir)
    with Index.open(index_dir) as ix:
        assert ix.search("hội nghị", collapse=True).total
        assert ix.similar("doc1").hits is not None
        ix.get("doc1")
        ix.stats()
    assert snapshot(index_dir) == before


@pytest.mark.skipif(not can_mount(), reason="a read-only bind mount needs root")
@pytest.mark.parametrize("args", READS, ids=lambda a: " ".join(a))
def test_read_commands_work_on_read_only_media(ro_index_dir, tmp_path, args):
    with read_only_view(ro_index_dir, tmp_path / "cdrom") as ro:
        proc = vnsearch(*args, "--index", ro)
        assert proc.returncode == 0, proc.stderr.decode()
        assert proc.stdout


@pytest.mark.skipif(not can_mount(), reason="a read-only bind mount needs root")
def test_collapse_on_read_only_media_finds_the_copies(ro_index_dir, tmp_path):
    with read_only_view(ro_index_dir, tmp_path / "cdrom") as ro:
        with Index.open(ro) as ix:
            hits = ix.search("doc1 OR copy1 OR mã 1", collapse=True).hits
    grouped = [h for h in hits if h.id in ("doc1", "copy1")]
    assert len(grouped) == 1 and grouped[0].duplicates


@pytest.mark.skipif(not can_mount(), reason="a read-only bind mount needs root")
def test_indexing_on_read_only_media_is_one_line(index_dir, tmp_path):
    write_jsonl(tmp_path / "more" / "docs.jsonl", [record(99, "more")])
    with read_only_view(index_dir, tmp_path / "cdrom") as ro:
        proc = vnsearch("index", tmp_path / "more", "--index", ro)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "read-only" in err.lower(), err


@pytest.mark.skipif(not can_mount(), reason="a read-only bind mount needs root")
def test_optimize_on_read_only_media_is_one_line(index_dir, tmp_path):
    with read_only_view(index_dir, tmp_path / "cdrom") as ro:
        proc = vnsearch("optimize", "--index", ro)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "read-only" in err.lower(), err
