"""The Python API in a few lines, as the README shows it."""

from vnsearch import Document, Index


def test_add_search_get_stats(tmp_path):
    ix = Index.create(tmp_path / "ix")
    report = ix.add(
        [
            Document(id="a", title="Hội nghị tổ chức xây dựng Đảng", body="Ban Tổ chức Tỉnh ủy họp."),
            Document(id="b", title="Giá vàng hôm nay", body="Giá vàng tăng mạnh."),
        ],
        jobs=1,
    )
    assert (report.added, report.failed) == (2, 0)
    results = ix.search("xây dựng đảng")
    assert [h.id for h in results.hits] == ["a"]
    assert results.to_dict()["hits"][0]["title"] == "Hội nghị tổ chức xây dựng Đảng"
    assert ix.get("b").body == "Giá vàng tăng mạnh."
    assert ix.stats()["documents"] == 2


def test_adding_the_same_documents_again_changes_nothing(tmp_path):
    ix = Index.create(tmp_path / "ix")
    docs = [Document(id="a", body="Tổ chức hội nghị.")]
    ix.add(docs, jobs=1)
    again = ix.add(docs, jobs=1)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 1)
    assert len(ix) == 1
