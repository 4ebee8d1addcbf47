"""Very common terms are left out of free-text queries on large indexes (speed, not recall)."""

from vnsearch import Document, Index
from vnsearch.search import rank as ranking


def _index(tmp_path):
    ix = Index.create(tmp_path / "ix")
    docs = [Document(id=f"d{i}", body=f"Tin số {i} của tỉnh.") for i in range(8)]
    docs.append(Document(id="hn", body="Hội nghị của tỉnh về chuyển đổi số."))
    ix.add(docs, jobs=1)
    return ix


def test_on_a_small_index_every_term_counts(tmp_path):
    ix = _index(tmp_path)
    assert ix.search("hội nghị của tỉnh", limit=20).total == 9


def test_on_a_large_index_common_terms_do_not_drag_in_every_document(tmp_path, monkeypatch):
    ix = _index(tmp_path)
    monkeypatch.setattr(ranking, "MIN_DF_CAP", 1)
    monkeypatch.setattr(ranking, "MAX_DF_RATIO", 0.5)  # "của", "tỉnh" are in all 9 documents
    results = ix.search("hội nghị của tỉnh", limit=20)
    assert [h.id for h in results.hits] == ["hn"]


def test_a_query_of_only_common_words_still_finds_documents(tmp_path, monkeypatch):
    ix = _index(tmp_path)
    monkeypatch.setattr(ranking, "MIN_DF_CAP", 1)
    monkeypatch.setattr(ranking, "MAX_DF_RATIO", 0.5)
    assert ix.search("của tỉnh").total == 9


def test_by_default_common_words_still_count_only_common_syllables_are_left_out(
    tmp_path, monkeypatch
):
    ix = _index(tmp_path)
    monkeypatch.setattr(ranking, "MIN_DF_CAP", 1)  # as if the index were large
    results = ix.search("hội nghị của tỉnh", limit=20)
    assert results.total == 9  # the pyvi words "của" and "tỉnh" are kept, however common
    assert results.hits[0].id == "hn"


def test_a_query_without_diacritics_keeps_its_common_syllables(tmp_path, monkeypatch):
    # Folding merges words (bao: bão, báo, bảo), so folded syllables are common; they are
    # still all such a query has, and none is left out.
    ix = _index(tmp_path)
    monkeypatch.setattr(ranking, "MIN_DF_CAP", 1)
    monkeypatch.setattr(ranking, "MAX_DF_RATIO", 0.5)
    results = ix.search("hoi nghi cua tinh", limit=20)
    assert results.total == 9
    assert results.hits[0].id == "hn"
    assert ix.search("hội nghị của tỉnh", limit=20).total == 1  # with diacritics: pruned
