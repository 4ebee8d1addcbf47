"""Indexes written by earlier versions of the package say, in one line, to rebuild.

``tests/fixtures/index-a77a6a0`` was built by commit a77a6a0 (before the package layout, index
format 1) from two short press releases. Whoosh pickled its schema with the analyzer's old
module path, ``vnsearch._whoosh_analyzer``. Format 2 stores postings differently
(``vnsearch/codec/formats.py``): the old index is refused before Whoosh reads it, with a
one-line error naming ``--rebuild``, and ``vnsearch index --rebuild`` replaces it.

``tests/fixtures/index-35b8a5f`` was built by commit 35b8a5f (index format 2: posting blocks
as zlib-compressed pickles) from two short press releases; format 3 reads posting lists as raw
arrays (``vnsearch/codec/blocks.py``) and refuses it the same way.

``tests/fixtures/index-66610ef`` was built by commit 66610ef (index format 3: arrays
zlib-compressed) from 120 short notices (``Thông báo lịch tiếp công dân tháng N``, ids
``tb-000`` to ``tb-119``, UBND in each body). Format 4 compresses with zstd and still reads
zlib, so that index is searched and written to as it is, and marked format 4 by the first
write (an older vnsearch cannot read what it adds).
"""

from __future__ import annotations

import pathlib
import shutil

import orjson
import pytest
from click.testing import CliRunner

from vnsearch import Index
from vnsearch.cli import cli
from vnsearch.errors import IndexFormatError

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "index-a77a6a0"
FORMAT_2 = pathlib.Path(__file__).parent / "fixtures" / "index-35b8a5f"
FORMAT_3 = pathlib.Path(__file__).parent / "fixtures" / "index-66610ef"


def run(*args):
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_the_fixture_names_the_old_analyzer_module():
    (toc,) = FIXTURE.glob("*.toc")
    assert b"vnsearch._whoosh_analyzer" in toc.read_bytes()
    assert b"vnsearch.codec" not in toc.read_bytes()


@pytest.mark.parametrize(("fixture", "version"), [(FIXTURE, 1), (FORMAT_2, 2)])
def test_an_old_index_says_in_one_line_to_rebuild(tmp_path, fixture, version):
    path = tmp_path / "old"
    shutil.copytree(fixture, path)
    with pytest.raises(IndexFormatError) as e:
        Index.open(path)
    message = str(e.value)
    assert "\n" not in message and f"format {version}/" in message and "--rebuild" in message
    code, out, err = run("search", "cầu Đà Nẵng", "--index", str(path))
    assert code == 2 and out == "" and err.count("\n") == 1 and "--rebuild" in err


@pytest.mark.parametrize("fixture", [FIXTURE, FORMAT_2])
def test_rebuilding_an_old_index_replaces_it(tmp_path, fixture):
    path = tmp_path / "old"
    shutil.copytree(fixture, path)
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.md").write_text("# Khánh thành cầu Đà Nẵng\n\nỦy ban nhân dân (UBND) thành phố "
                              "khánh thành cây cầu mới nối hai bờ sông Hàn.\n", encoding="utf-8")
    code, _, err = run("index", str(src), "--index", str(path), "--rebuild", "--jobs", "1")
    assert code == 0, err
    ix = Index.open(path)
    assert [h.id for h in ix.search("cầu Đà Nẵng").hits] == ["src/a.md"]
    assert ix.stats()["documents"] == 1
    assert ix.stats()["acronym_pairs"] == 1  # the field the format-1 index lacked
    (toc,) = path.glob("*.toc")
    assert b"vnsearch.codec.blocks" in toc.read_bytes()  # the format-3 codec of each segment


def test_new_indexes_name_the_codec_module(tmp_path):
    Index.create(tmp_path / "new")
    (toc,) = (tmp_path / "new").glob("*.toc")
    assert b"vnsearch.codec.analyzer" in toc.read_bytes()
    assert b"vnsearch.codec.formats" in toc.read_bytes()


def test_a_format_3_index_is_searched_and_written_to_without_a_rebuild(tmp_path):
    path = tmp_path / "v3"
    shutil.copytree(FORMAT_3, path)
    ix = Index.open(path)
    assert ix.stats()["format_version"] == 3
    assert ix.search("tiếp công dân UBND", limit=200).total == 120
    assert ix.search('"lịch tiếp công dân tháng 12"').total == 10  # positions of format 3
    ix.close()

    src = tmp_path / "src"
    src.mkdir()
    (src / "new.md").write_text("# Thông báo lịch tiếp công dân tháng 1 năm 2024\n\nUBND tỉnh "
                                "Quảng Nam tiếp công dân tại trụ sở.\n", encoding="utf-8")
    code, _, err = run("index", str(src), "--index", str(path), "--jobs", "1")
    assert code == 0, err
    assert orjson.loads((path / "vnsearch.json").read_bytes())["format_version"] == 4
    code, _, err = run("optimize", "--index", str(path))  # joins zlib and zstd lists
    assert code == 0, err
    ix = Index.open(path)
    assert ix.stats()["format_version"] == 4 and ix.stats()["segments"] == 1
    assert ix.search("tiếp công dân UBND", limit=200).total == 121
    assert ix.search('"lịch tiếp công dân tháng 1"').total == 11
    assert "src/new.md" in [h.id for h in ix.search("tháng 1 năm 2024", limit=3).hits]
