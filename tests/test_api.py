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


def test_paging_and_facet_arguments_take_what_python_callers_pass(corpus):
    import pytest

    from vnsearch import QueryError

    # Facets as a comma string, like --facets; a whole number of any int type as the limit.
    assert corpus.search("vàng", facets="author,year").facets["year"] == {"2023": 3}
    limit = corpus.search("vàng", limit=True).limit
    assert limit == 1 and type(limit) is int
    # None means "not given", as for the filters.
    assert corpus.search(None, author="Lê Hoàng", facets=None).total == 3
    for bad in ({"limit": 2.5}, {"offset": "1"}, {"limit": None}):
        with pytest.raises(QueryError, match="whole number"):
            corpus.search("vàng", **bad)


def test_to_dict_refuses_unknown_fields_instead_of_dropping_them(corpus):
    import pytest

    from vnsearch import QueryError

    results = corpus.search("vàng")
    assert results.to_dict(["id", "score"])["hits"][0].keys() == {"id", "score"}
    for res in (results, corpus.search("từkhôngcó")):
        with pytest.raises(QueryError, match="titel"):
            res.to_dict(["id", "titel"])


def test_public_api_is_documented():
    import inspect

    import vnsearch

    for name in vnsearch.__all__:
        obj = getattr(vnsearch, name)
        assert inspect.getdoc(obj), name
        if inspect.isclass(obj):
            for attr, value in vars(obj).items():
                if attr.startswith("_") or not callable(getattr(value, "__func__", value)):
                    continue
                assert inspect.getdoc(getattr(obj, attr)), f"{name}.{attr}"


def test_normalize_and_fold_are_callable_however_the_package_was_imported():
    # Importing the vnsearch.text.normalize module (any search does) binds the package attribute
    # "normalize" to the module; the exported name must still normalise text.
    import vnsearch.text.normalize  # noqa: F401
    from vnsearch import analyze, fold, normalize

    assert normalize("Thủy HÒA") == "Thuỷ HOÀ" and fold("Đảng") == "Dang"
    assert [t.word for t in analyze("Hòa bình").tokens] == ["hoà_bình"]


def test_an_id_typed_in_nfc_finds_a_file_whose_name_is_nfd(tmp_path):
    # Files copied from macOS keep decomposed (NFD) names; people type composed text.
    import unicodedata

    from click.testing import CliRunner

    from vnsearch.cli import cli

    folder = tmp_path / "press"
    folder.mkdir()
    name = unicodedata.normalize("NFD", "Tiếng Việt.txt")
    (folder / name).write_text("Lễ hội pháo hoa\n\nKhán giả đông kín bờ sông.\n", encoding="utf-8")
    (folder / "khác.txt").write_text(
        "Giá vàng tăng\n\nPháo hoa bờ sông, giá vàng miếng tăng mạnh trong phiên sáng.\n", "utf-8"
    )
    ix = Index.create(tmp_path / "ix")
    ix.index_paths([str(folder)], jobs=1)
    typed = "press/Tiếng Việt.txt"
    assert ix.get(typed).id == "press/" + name  # the id as stored, found as typed
    ix.similar(typed)  # no DocumentNotFoundError
    for command in ("show", "similar"):
        result = CliRunner().invoke(cli, [command, typed, "--index", str(tmp_path / "ix")])
        assert result.exit_code in (0, 1) and "no document" not in result.output


def test_the_public_methods_take_named_keyword_parameters():
    import inspect

    for method in (Index.search, Index.similar, Index.near_copies, Index.duplicate_groups,
                   Index.add, Index.index_paths, Index.delete):
        kinds = {p.kind for p in inspect.signature(method).parameters.values()}
        assert inspect.Parameter.VAR_KEYWORD not in kinds, method.__name__
    assert "collapse" in inspect.signature(Index.search).parameters
    assert inspect.signature(Index.delete).return_annotation in (int, "int")
