"""Filters, sorting, facets and paging, through the Python API and the CLI."""

from __future__ import annotations

import orjson
import pytest
from click.testing import CliRunner
from conftest import CORPUS, ids

from vnsearch import QueryError
from vnsearch.cli import cli


def cli_json(index_dir, *args):
    result = CliRunner().invoke(cli, ["search", *args, "--index", str(index_dir), "--json"])
    assert result.exit_code in (0, 1), result.output
    return orjson.loads(result.stdout)


def dated(*id_list):
    """The documents of ``id_list`` ordered as a filter-only listing must be: date desc, id."""
    by_id = {d.id: d for d in CORPUS}
    # A stable sort keeps the id order among equal dates, reverse=True included.
    return sorted(sorted(id_list), key=lambda i: by_id[i].date, reverse=True)


# -- filters ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "author", ["Trần Thị Bình", "trần thị bình", "TRAN THI BINH", "tran  thi binh"]
)
def test_author_filter_ignores_case_accents_and_spacing(corpus, author):
    # d04 stores the name in capitals: the filter still groups it with the others.
    assert set(ids(corpus.search("", author=author))) == {"d02", "d03", "d04"}


def test_author_filter_matches_names_in_order(corpus):
    # Part of a name narrows like a search (Elasticsearch's match_phrase), in the right order.
    assert set(ids(corpus.search("", author="Thị Bình"))) == {"d02", "d03", "d04"}
    assert ids(corpus.search("", author="Bình Thị")) == []
    assert ids(corpus.search("", author="Trần Văn An")) == []


def test_author_filter_narrows_a_query(corpus):
    assert set(ids(corpus.search("giá", author="tran thi binh"))) == {"d02", "d03"}
    assert ids(corpus.search("vàng", author="Lê Hoàng")) == ["d12"]


def test_several_authors_or_tags_mean_any_of_them(corpus):
    assert set(ids(corpus.search("", author=["Lê Hoàng", "Võ Thanh Tùng"]))) == {
        "d05", "d08", "d09", "d10", "d12",
    }  # fmt: skip
    assert set(ids(corpus.search("", tag=["du lịch", "giao thông"]))) == {"d08", "d12"}


def test_tag_filter_is_case_and_accent_insensitive_and_whole(corpus):
    assert set(ids(corpus.search("", tag="Xây dựng Đảng"))) == {"d01", "d09"}
    assert set(ids(corpus.search("", tag="xay dung dang"))) == {"d01", "d09"}
    assert ids(corpus.search("", tag="xây dựng")) == []


def test_since_and_until_are_inclusive(corpus):
    assert set(ids(corpus.search("", since="2024-01-10"))) == {"d08", "d09", "d11"}
    assert set(ids(corpus.search("", until="2022-12-01"))) == {"d05"}
    assert set(ids(corpus.search("", since="2023-07-15", until="2023-07-15"))) == {"d02", "d03"}
    assert set(ids(corpus.search("vàng", since="2023-07-01"))) == {"d02"}


def test_bad_filter_values_are_query_errors(corpus):
    for kwargs in ({"since": "tomorrow"}, {"since": "2024-01-01", "until": "2023-01-01"},
                   {"since": "2023-13-45"}, {"until": "2023-02-30"},
                   {"author": "  "}, {"sort": "title"}, {"facets": ["no such field!"]},
                   {"where": "colour"}, {"where": {"tags": "x"}}):  # fmt: skip
        with pytest.raises(QueryError):
            corpus.search("vàng", **kwargs)


def test_filters_through_the_cli(corpus_dir):
    out = cli_json(corpus_dir, "vàng", "--author", "TRAN THI BINH", "--since", "2023-07-01")
    assert [h["id"] for h in out["hits"]] == ["d02"]
    out = cli_json(corpus_dir, "--tag", "kinh tế", "--until", "2023-06-30")
    assert [h["id"] for h in out["hits"]] == ["d04"]


# -- sorting ------------------------------------------------------------------------------------
def test_a_filter_only_listing_is_newest_first_then_by_id(corpus):
    listing = ids(corpus.search("", tag="kinh tế"))
    assert listing == dated("d02", "d03", "d04") == ["d02", "d03", "d04"]


def test_equal_scores_break_ties_by_date_desc_then_id(corpus):
    # All matches of a date range score the same.
    results = corpus.search("date:[2023-01-01 TO 2023-08-31]", limit=100)
    assert len({round(h.score, 6) for h in results.hits}) == 1
    assert ids(results) == dated("d01", "d02", "d03", "d04", "d06", "d07", "d12")


def test_sort_by_date_both_ways_with_id_tie_break(corpus):
    newest = ids(corpus.search("", author="Phạm Minh Châu", sort="-date"))
    assert newest == ["d06", "d07"]  # same day: by id
    asc = [h.date for h in corpus.search("vàng OR bạc", sort="date").hits]
    desc = [h.date for h in corpus.search("vàng OR bạc", sort="-date").hits]
    assert asc == sorted(asc) and desc == sorted(desc, reverse=True) and len(asc) == 4


def test_hits_sorted_by_date_keep_their_relevance_scores(corpus):
    relevance = {h.id: h.score for h in corpus.search("vàng OR bạc").hits}
    by_date = {h.id: h.score for h in corpus.search("vàng OR bạc", sort="-date").hits}
    assert by_date == relevance and all(s > 0 for s in by_date.values())


def test_sort_by_date_through_the_cli(corpus_dir):
    out = cli_json(corpus_dir, "vàng", "--sort", "date")
    assert [h["date"] for h in out["hits"]] == ["2023-06-20", "2023-06-20", "2023-07-15"]
    assert [h["rank"] for h in out["hits"]] == [1, 2, 3]


def test_relevance_order_is_the_same_every_time(corpus):
    first = ids(corpus.search("tổ chức hội nghị", limit=100))
    assert all(ids(corpus.search("tổ chức hội nghị", limit=100)) == first for _ in range(3))


# -- facets -------------------------------------------------------------------------------------
def test_facets_count_the_whole_result_set_not_the_page(corpus):
    results = corpus.search("vàng OR bạc", limit=1, facets=["author", "tags", "year", "month"])
    assert len(results.hits) == 1 and results.total == 4
    assert results.facets["author"]["Lê Hoàng"] == 1
    assert sum(results.facets["author"].values()) == 4
    assert results.facets["tags"] == {"kinh tế": 3, "vàng": 2, "du lịch": 1, "lễ hội": 1}
    assert results.facets["year"] == {"2023": 4}
    assert results.facets["month"] == {"2023-06": 2, "2023-07": 2}


def test_facet_values_count_what_filtering_by_them_finds(corpus):
    # d02 and d03 are by "Trần Thị Bình", d04 by "TRẦN THỊ BÌNH": --author matches all three,
    # so the facet has one bucket of 3, under the most frequent spelling.
    results = corpus.search("vàng OR bạc", facets=["author", "tags"])
    assert results.facets["author"] == {"Trần Thị Bình": 3, "Lê Hoàng": 1}
    for name, option in (("author", "author"), ("tags", "tag")):
        for value, count in results.facets[name].items():
            assert corpus.search("vàng OR bạc", **{option: value}).total == count, value


def test_facets_follow_the_filters(corpus):
    results = corpus.search("", since="2024-01-01", facets=["author", "month"])
    assert results.facets == {
        "author": {"Võ Thanh Tùng": 2, "Nguyễn Văn An": 1},
        "month": {"2024-01": 2, "2024-02": 1},
    }


def test_no_facets_unless_asked(corpus):
    assert corpus.search("vàng").facets == {}


def test_facets_through_the_cli_with_limit_1(corpus_dir):
    out = cli_json(corpus_dir, "--tag", "thiên tai", "--facets", "author,year", "--limit", "1")
    assert len(out["hits"]) == 1 and out["total"] == 2
    assert out["facets"] == {
        "author": {"Ban Chỉ huy \x1b[2Jphòng chống thiên tai": 1, "Lê Hoàng": 1},
        "year": {"2023": 2},
    }


# -- paging and fields --------------------------------------------------------------------------
def test_limit_and_offset_page_through_the_same_ranking(corpus):
    everything = ids(corpus.search("tổ chức hội nghị vàng", limit=100))
    assert len(everything) > 4
    pages = [ids(corpus.search("tổ chức hội nghị vàng", limit=2, offset=o)) for o in (0, 2, 4)]
    assert sum(pages, []) == everything[:6]
    page = corpus.search("tổ chức hội nghị vàng", limit=2, offset=2)
    assert [h.rank for h in page.hits] == [3, 4]
    assert page.total == len(everything) and (page.offset, page.limit) == (2, 2)


def test_an_offset_past_the_end_gives_no_hits_but_the_total(corpus):
    results = corpus.search("vàng", offset=50)
    assert results.hits == [] and results.total == 3


def test_limit_and_offset_through_the_cli(corpus_dir):
    out = cli_json(corpus_dir, "vàng", "-n", "1", "--offset", "1")
    assert (out["total"], out["offset"], out["limit"], len(out["hits"])) == (3, 1, 1, 1)
    assert out["hits"][0]["rank"] == 2


def test_fields_keep_only_the_named_keys_of_each_hit(corpus_dir):
    out = cli_json(corpus_dir, "vàng", "--fields", "id,title")
    assert out["hits"] and all(set(h) == {"id", "title"} for h in out["hits"])
    assert "total" in out and "schema_version" in out  # the envelope is untouched
    result = CliRunner().invoke(
        cli, ["search", "vàng", "--index", str(corpus_dir), "--jsonl", "--fields", "id"]
    )
    assert [orjson.loads(line) for line in result.stdout.splitlines()] == [
        {"id": h["id"]} for h in out["hits"]
    ]


def test_limit_0_gives_counts_and_facets_only(corpus_dir):
    out = cli_json(corpus_dir, "vàng", "-n", "0", "--facets", "year")
    assert (out["hits"], out["total"], out["facets"]) == ([], 3, {"year": {"2023": 3}})


def test_unknown_fields_are_an_error_not_empty_hits(corpus_dir):
    result = CliRunner().invoke(
        cli, ["search", "vàng", "--fields", "id,bogus", "--index", str(corpus_dir)]
    )
    assert result.exit_code == 2 and "bogus" in result.stderr
    assert len(result.stderr.splitlines()) == 1
