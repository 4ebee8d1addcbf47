"""Indexes written by earlier versions of the package still open.

``tests/fixtures/index-a77a6a0`` was built by commit a77a6a0 (before the package layout) from two
short press releases. Whoosh pickled its schema with the analyzer's old module path,
``vnsearch._whoosh_analyzer``; that name must stay importable.
"""

from __future__ import annotations

import pathlib
import shutil

from vnsearch import Index

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "index-a77a6a0"


def test_the_fixture_names_the_old_analyzer_module():
    (toc,) = FIXTURE.glob("*.toc")
    assert b"vnsearch._whoosh_analyzer" in toc.read_bytes()
    assert b"vnsearch.codec" not in toc.read_bytes()


def test_an_index_built_before_the_layout_opens_and_searches(tmp_path):
    path = tmp_path / "old"
    shutil.copytree(FIXTURE, path)
    ix = Index.open(path)
    results = ix.search("cầu Đà Nẵng")
    assert [h.id for h in results.hits] == ["oldsrc/a.md"]
    assert ix.get("oldsrc/b.md").title == "Hội nghị xây dựng Đảng"
    assert ix.stats()["documents"] == 2


def test_new_indexes_name_the_codec_module(tmp_path):
    Index.create(tmp_path / "new")
    (toc,) = (tmp_path / "new").glob("*.toc")
    assert b"vnsearch.codec.analyzer" in toc.read_bytes()
