"""The zero-copy file that segment files are read through (vnsearch.codec.fixes.ViewFile)
behaves like the BytesIO Whoosh used, and an opened index reads through it."""

import io
import pickle

from vnsearch import Document, Index
from vnsearch.codec.fixes import ViewFile


def test_viewfile_reads_like_bytesio():
    data = pickle.dumps((1, 2.5, "x")) + b"line one\nline two\n" + pickle.dumps([3] * 300, 3)
    first = len(pickle.dumps((1, 2.5, "x")))
    for f in (io.BytesIO(data), ViewFile(memoryview(data))):
        assert pickle.load(f) == (1, 2.5, "x")
        assert f.tell() == first
        assert f.readline() == b"line one\n"
        assert list(iter(f.readline, b""))[0] == b"line two\n"
        f.seek(-len(pickle.dumps([3] * 300, 3)), 2)
        assert pickle.load(f) == [3] * 300
        f.seek(2)
        assert f.read(3) == data[2:5]
        f.seek(1, 1)
        assert f.read(2) == data[6:8]
        f.seek(len(data) - 1)
        assert f.read(10) == data[-1:] and f.read() == b""


def test_index_files_are_read_in_place(tmp_path):
    ix = Index.create(tmp_path / "ix")
    ix.add([Document(id="a", title="Giá vàng", body="giá vàng tăng mạnh hôm nay")])
    assert ix.search("giá vàng").total == 1
    reader = ix.searcher().reader()
    files = [seg._terms._postfile for seg, _ in reader.leaf_readers()]
    assert files and all(isinstance(f.file, ViewFile) for f in files)
