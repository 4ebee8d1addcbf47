"""The query language and the matching policy, through the Python API.

Every test runs against the small corpus of conftest.py; see the documents there to read why a
result is expected.
"""

from __future__ import annotations

import pytest
from conftest import ids

from vnsearch import QueryError
from vnsearch.search import rank as ranking
from vnsearch.search.parse import MAX_FUZZY_WORDS, MAX_QUERY_CHARS


def index_of(tmp_path, **bodies: str):
    """A fresh index of one document per keyword argument: ``id=body``."""
    from conftest import build

    from vnsearch import Document

    return build(tmp_path / "ix", [Document(id=k, body=v) for k, v in bodies.items()])


def found(index, query, **options) -> set[str]:
    return set(ids(index.search(query, limit=100, **options)))


# -- words, phrases, boolean operators --------------------------------------------------------
def test_a_word_finds_every_document_containing_it(corpus):
    assert found(corpus, "bạc") == {"d03", "d04"}


def test_multi_word_queries_rank_documents_with_all_words_first_but_keep_the_others(corpus):
    results = corpus.search("vàng bạc")
    assert ids(results)[0] == "d04"  # the only document with both words
    assert {"d02", "d03", "d12"} <= set(ids(results)[1:])  # one word missing is not excluded
    assert results.total == len(results.hits) == 4


def test_a_phrase_matches_adjacent_syllables_only(corpus):
    assert found(corpus, '"chủ nhà"') == {"d12"}
    assert found(corpus, '"nhà chủ"') == set()
    assert found(corpus, '"vàng bạc"') == {"d04"}


def test_a_phrase_matches_across_pyvi_word_boundaries(seeds_index):
    # pyvi segments "Nguyễn_Chín chủ_trì": the phrase spans two words and still matches.
    assert len(seeds_index.search('"Chín chủ trì"').hits) == 1
    assert len(seeds_index.search('"Tỉnh ủy Nguyễn"').hits) == 1


def test_a_name_segmented_differently_in_context_is_still_found(seeds_index):
    from vnsearch.text.analysis import analyze

    # Alone pyvi reads one word "nguyễn_chín"; in the seed it reads "nguyễn", "chín chủ_trì".
    assert [t.word for t in analyze("Nguyễn Chín").tokens] == ["nguyễn_chín"]
    assert [t.word for t in analyze("Nguyễn Chín chủ trì").tokens][:2] == ["nguyễn", "chín"]
    assert len(seeds_index.search('"Nguyễn Chín"').hits) == 1
    assert len(seeds_index.search("Nguyễn Chín").hits) == 1


def test_a_phrase_is_found_whatever_pyvi_made_of_it_in_context(corpus):
    # In context pyvi joins "xây_dựng"; alone it may not: phrases are matched on syllables.
    for phrase in ('"dựng Đảng"', '"công tác tổ"', '"đông khách dịp"'):
        assert found(corpus, phrase), phrase


def test_a_phrase_slop_lets_words_stand_apart(corpus):
    # '"a b"~N': up to N-1 words between (Whoosh's slop); without it, side by side only.
    assert found(corpus, '"tổ xây"') == set()
    assert found(corpus, '"tổ xây"~2') == {"d01"}  # "tổ chức xây dựng"
    assert found(corpus, 'title:"tổ xây"~2') == {"d01"}
    assert found(corpus, '"to xay"~2') == {"d01"}


def test_and_or_not_minus_and_parentheses(corpus):
    assert found(corpus, "vàng AND bạc") == {"d04"}
    assert found(corpus, "bạc OR bình") == {"d03", "d04", "d05"}
    assert found(corpus, "vàng NOT bạc") == {"d02", "d12"}
    assert found(corpus, "vàng -bạc") == {"d02", "d12"}
    assert found(corpus, "(bạc OR bình) -sôi") == {"d03", "d05"}
    assert found(corpus, "(vàng OR bạc) AND sôi") == {"d04"}


def test_a_query_of_excluded_words_only_lists_the_documents_without_them(corpus):
    # As "NOT vàng" does; "-vàng" alone was refused as having "no searchable words".
    assert found(corpus, "-vàng") == found(corpus, "NOT vàng") == {
        d for d in found(corpus, "date:[2000-01-01 TO 2100-01-01]") if d not in {"d02", "d04", "d12"}
    }
    # several: the documents with none of them
    assert found(corpus, "-vàng -bạc") == found(corpus, "NOT vàng NOT bạc") == (
        found(corpus, "-vàng") - found(corpus, "bạc")
    )


def test_a_plus_marks_a_required_word_the_others_only_rank(corpus, monkeypatch):
    # What the words add to a score: the lead boost (a share of the whole query) left out.
    monkeypatch.setattr(ranking, "LEAD_WEIGHT", 0.0)
    results = corpus.search("+vàng bạc", limit=100)
    assert set(ids(results)) == found(corpus, "vàng")  # d03 has bạc only: out

    def score(res, doc_id):
        return next(h.score for h in res.hits if h.id == doc_id)

    assert score(results, "d04") > score(corpus.search("vàng"), "d04")  # bạc adds to d04
    assert score(results, "d02") == pytest.approx(score(corpus.search("vàng"), "d02"))


def test_phrases_ignore_tone_placement_and_case(corpus):
    for phrase in ('"hoà bình"', '"HÒA BÌNH"', '"hoa binh"'):
        assert "d05" in found(corpus, phrase), phrase


def test_an_excluded_word_is_matched_as_typed(corpus):
    # "-đá" drops "vàng bạc đá quý" (d04) but not "Đà Nẵng" (d05), which only folds like it;
    # typed without diacritics it drops every reading.
    assert found(corpus, "(bạc OR bình) -đá") == {"d03", "d05"}
    assert found(corpus, "(bạc OR bình) -da") == {"d03"}


def test_a_hyphen_inside_a_word_is_not_a_negation(tmp_path):
    ix = index_of(tmp_path,
        covid="Tỉnh ghi nhận thêm ca COVID-19 mới.",
        other="Tỉnh ghi nhận 19 ca sốt xuất huyết.",
    )  # fmt: skip
    assert ids(ix.search("COVID-19")) == ["covid"]


def test_a_lone_dash_is_punctuation_not_a_negation(tmp_path):
    ix = index_of(tmp_path,
        kh="Sở Kế hoạch - đầu tư (KH - ĐT) công bố kết luận thanh tra.",
    )  # fmt: skip
    assert ids(ix.search("Sở Kế hoạch - đầu tư (KH - ĐT) thanh tra")) == ["kh"]


def test_a_sign_before_a_number_is_not_an_operator(tmp_path):
    # Copied text leaves "S -300" and "8 -3"; temperatures are "-5 độ". Excluding or requiring
    # a number takes NOT / AND: a leading sign would throw away exactly the document wanted.
    ix = index_of(tmp_path,
        s300="Nga chuyển giao hệ thống tên lửa S-300 cho Syria.",
        other="Syria nhận thêm tên lửa phòng không.",
        cold="Nhiệt độ xuống -5 độ C ở Sa Pa, số điện thoại +84 912 345.",
    )  # fmt: skip
    assert ids(ix.search("tên lửa S -300 Syria"))[0] == "s300"
    assert ids(ix.search("-5 độ C Sa Pa")) == ["cold"]
    assert ids(ix.search("+84 912")) == ["cold"]
    assert ids(ix.search("Syria NOT 300")) == ["other"]
    assert ids(ix.search("Syria -nga")) == ["other"]


def test_i_and_y_after_a_consonant_are_the_same_letter(tmp_path):
    # Both spellings are in use (textbooks write Mĩ, kĩ, lí; newspapers Mỹ, kỹ, lý): either
    # finds the other, typed with or without diacritics; the spelling typed ranks first.
    ix = index_of(tmp_path,
        textbook="Lí do: kĩ thuật của Mĩ, công ti quí.",
        news="Lý do: kỹ thuật của Mỹ, công ty quý.",
        hand="Bàn tay, huy chương.",
        ear="Tai nghe, hui.",
    )  # fmt: skip
    assert ids(ix.search("lý")) == ["news", "textbook"]
    assert ids(ix.search("lí")) == ["textbook", "news"]
    for query in ("ly", "li", "Mỹ", "mi", "kĩ", "quý", "qui", "ty", '"cong ty"'):
        assert set(ids(ix.search(query))) == {"textbook", "news"}, query
    (body,) = ix.search("lý").hits[1].highlights  # the other spelling is highlighted too
    assert [body.text[a:b] for a, b in body.spans] == ["Lí"]
    # Other vowels written with y are not i: tay is not tai, huy is not hui.
    assert ids(ix.search("tay")) == ["hand"] and ids(ix.search("tai")) == ["ear"]
    assert ids(ix.search("huy")) == ["hand"] and ids(ix.search("hui")) == ["ear"]


def test_days_months_and_hours_match_with_or_without_a_leading_zero(tmp_path):
    # Press releases write "05/03/2023" and "08:30"; readers type "5/3" and "8:30" (and the
    # other way round). The phrase must match, and the snippet must highlight what is written.
    ix = index_of(tmp_path,
        padded="Ngày 05/03/2023, hội nghị khai mạc lúc 08:30 tại Hà Nội.",
        plain="Ngày 7/9, hội nghị bế mạc lúc 9:15 tại Đà Nẵng.",
        code="Mã số 2023 của hội nghị khác.",
    )  # fmt: skip
    assert ids(ix.search('"5/3/2023"')) == ["padded"]
    assert ids(ix.search('"8:30"')) == ["padded"]
    assert ids(ix.search('"07/09"')) == ["plain"]
    assert ids(ix.search('"09:15"')) == ["plain"]
    (body,) = ix.search("ngày 5/3").hits[0].highlights
    assert [body.text[a:b] for a, b in body.spans] == ["Ngày 05", "03"]


# -- fields -------------------------------------------------------------------------------------
def test_title_field_searches_titles_only(corpus):
    assert found(corpus, "vàng") == {"d02", "d04", "d12"}
    assert found(corpus, "title:vàng") == {"d02", "d04"}
    assert found(corpus, 'title:"vàng bạc"') == {"d04"}


def test_author_field_ignores_case_and_diacritics(corpus):
    expected = {"d02", "d03", "d04"}
    assert found(corpus, 'author:"Trần Thị Bình"') == expected
    assert found(corpus, 'author:"tran thi binh"') == expected
    assert found(corpus, "author:hoàng") == {"d05", "d10", "d12"}


def test_tag_field_matches_whole_tags(corpus):
    assert found(corpus, 'tag:"kinh tế"') == {"d02", "d03", "d04"}
    assert found(corpus, 'tag:"xây dựng đảng"') == {"d01", "d09"}
    assert found(corpus, "tag:kinh") == set()


def test_date_field_day_month_year_and_ranges(corpus):
    assert found(corpus, "date:2023-07-15") == {"d02", "d03"}
    assert found(corpus, "date:2023-07") == {"d02", "d03"}
    assert found(corpus, "date:2024") == {"d08", "d09", "d11"}
    assert found(corpus, "date:[2023-01-01 TO 2023-08-31]") == {
        "d01", "d02", "d03", "d04", "d06", "d07", "d12",
    }  # fmt: skip
    assert found(corpus, "date:[2024-01-11 TO 2024-12-31]") == {"d11"}


@pytest.mark.parametrize(
    "typed, meant",
    [("Title:vàng", "title:vàng"), ("TITLE:vàng", "title:vàng"), ("Author:hoàng", "author:hoàng"),
     ("TAG:vàng", "tag:vàng"), ("tags:vàng", "tag:vàng"), ("Date:2023-07", "date:2023-07")],
)  # fmt: skip
def test_field_names_ignore_case_and_tags_is_tag(corpus, typed, meant):
    # A capitalised field name (a phone keyboard, a habit) must not turn into a phrase search
    # for the words "title vàng" that finds nothing.
    assert found(corpus, typed) == found(corpus, meant) != set()


def test_open_and_exclusive_date_bounds_exclude_the_whole_period(corpus):
    # "before 2023" is before 2023-01-01, "after October 2023" from November: an excluded
    # year or month is excluded whole, not only its first or last day.
    assert found(corpus, "date:<2023") == {"d05"}
    assert found(corpus, "date:>2023-10") == {"d08", "d09", "d11"}
    assert found(corpus, "date:{2023-07 TO 2023-10}") == {"d01"}
    assert found(corpus, "date:>=2024-01") == {"d08", "d09", "d11"}
    assert found(corpus, "date:<=2022") == {"d05"}


def test_fields_combine_with_words(corpus):
    assert found(corpus, "bạc date:2023-06") == {"d03", "d04", "d12"}  # OR by default
    assert found(corpus, "vàng AND date:2023-06") == {"d04", "d12"}
    assert found(corpus, 'giá AND author:"tran thi binh"') == {"d02", "d03"}


# -- wildcards and fuzzy ------------------------------------------------------------------------
def test_wildcards_match_syllable_prefixes(corpus):
    assert {"d06", "d07", "d11"} <= found(corpus, "chuy*")
    assert found(corpus, "hộ*") == {"d01", "d02", "d05", "d12"}  # hội nghị, Hiệp hội, hội thảo
    assert found(corpus, "hoi*") == found(corpus, "hộ*")  # typed without diacritics
    with pytest.raises(QueryError):
        corpus.search("*")


def test_fuzzy_matches_a_misspelt_syllable(corpus):
    assert "d02" in found(corpus, "vàmg~")
    assert found(corpus, "vàmg") == set()


# -- errors and caps ----------------------------------------------------------------------------
@pytest.mark.parametrize("query", ["giá vàng (*)", "Giá vàng (**)", "(*) giá vàng", "giá (vàng)*"])
def test_a_star_not_attached_to_a_word_is_punctuation(corpus, query):
    # "(*)" marks a footnote in Vietnamese press titles; Whoosh read a "*" after ")" as
    # "match every document", then the whole query was refused.
    assert ids(corpus.search(query))[0] == "d02"


@pytest.mark.parametrize(
    "query",
    ["date:abc", "date:[2023-01-01 TO abc]", "title:[a TO b]", "*", "date:2023-13",
     "date:2023-02-30"],  # fmt: skip
)
def test_bad_queries_raise_query_error_with_one_line(corpus, query):
    with pytest.raises(QueryError) as e:
        corpus.search(query)
    assert "\n" not in str(e.value) and str(e.value)


def test_queries_longer_than_the_cap_are_refused(corpus):
    with pytest.raises(QueryError, match=str(MAX_QUERY_CHARS)):
        corpus.search("vàng " * (MAX_QUERY_CHARS // 5 + 1))
    corpus.search(("vàng " * (MAX_QUERY_CHARS // 5))[:MAX_QUERY_CHARS])  # at the cap: fine


def test_too_many_fuzzy_words_are_refused_not_waited_for(corpus):
    # Each "~" word scans the vocabulary (about 0.1 s on a few thousand articles).
    words = ["vàmg~", "bạc~", "giá~", "tăng~", "mạnh~", "nhẹ~", "thị~", "trường~", "đá~",
             "quý~"]  # fmt: skip
    assert corpus.search(" ".join(words[:MAX_FUZZY_WORDS])).total > 0
    with pytest.raises(QueryError, match="fuzzy"):
        corpus.search(" ".join(words[:MAX_FUZZY_WORDS] + ["khách~"]))


# -- matching policy ----------------------------------------------------------------------------
@pytest.mark.parametrize("query", ["Tổ chức", "tổ chức", "to chuc", "TỔ CHỨC", "To Chuc"])
def test_case_and_diacritics_do_not_hide_a_document(corpus, query):
    assert ids(corpus.search(query))[0] == "d01"


@pytest.mark.parametrize("query", ["hoà bình", "hòa bình", "HOÀ BÌNH", "hoa binh"])
def test_old_and_new_tone_placement_are_the_same_word(corpus, query):
    assert ids(corpus.search(query))[0] == "d05"  # the document spells it "Hòa bình"


@pytest.mark.parametrize(
    "query, exact, confusable",
    [("má", "d06", "d07"), ("mà", "d07", "d06"), ("đang", "d08", "d09"), ("đảng", "d09", "d08")],
)
def test_the_exact_diacritics_rank_above_a_word_that_only_folds_the_same(
    corpus, query, exact, confusable
):
    order = ids(corpus.search(query, limit=100))
    assert order.index(exact) < order.index(confusable)


def test_words_typed_without_diacritics_count_fully_in_a_query_with_some(tmp_path):
    # "tổ chuc dang": "chuc dang" is typed without diacritics, as in "to chuc dang", and must
    # weigh as much; it weighed as a diacritic-free fallback of accented words, and "Tổ dân
    # phố" (only "tổ") ranked above the article about "tổ chức đảng".
    from conftest import build

    from vnsearch import Document

    ix = build(tmp_path / "ix", [
        Document(id="party", title="Hội nghị", body="Công tác tổ chức đảng được chú trọng "
                 "trong năm nay tại tỉnh, với nhiều hoạt động thiết thực."),
        Document(id="street", title="Tổ dân phố", body="Tổ trưởng tổ dân phố."),
        Document(id="other", title="Khác", body="Một văn bản khác hoàn toàn không liên quan."),
    ])  # fmt: skip
    for query in ("tổ chức đảng", "to chuc dang", "tổ chuc dang", "to chức dang"):
        assert ids(ix.search(query))[0] == "party", query


def test_a_diacritic_free_query_finds_both_folded_readings(corpus):
    assert {"d06", "d07"} <= found(corpus, "ma")


def test_a_document_with_the_pyvi_word_ranks_above_one_with_the_syllables_apart(corpus):
    # d01 and d11 say "xây dựng"; d10 has "dựng lều" and "xây bếp".
    order = ids(corpus.search("xây dựng", limit=100))
    assert "d10" in order
    assert order.index("d10") > max(order.index("d01"), order.index("d11"))


def test_a_word_wrapped_in_terminal_colours_is_found(corpus):
    # d13's title is "Thông cáo ESC[31mkhẩnESC[0m về mưa lũ".
    assert ids(corpus.search("khẩn"))[0] == "d13"
    assert found(corpus, "pwned") == set()  # an escape sequence's payload is not text


def test_excluded_documents_are_neither_counted_nor_faceted(corpus):
    # d05 has "hòa" and "tổ chức": whoosh3's AndNotMatcher let it through unoptimised searches.
    results = corpus.search("hoà NOT tổ", facets=["year"])
    assert ids(results) == ["d12"] and results.total == 1
    assert results.facets == {"year": {"2023": 1}}
    assert corpus.search("hoà -tổ", limit=100).total == 1


def test_a_query_error_quotes_a_long_query_shortened_and_says_why(corpus):
    with pytest.raises(QueryError) as e:
        corpus.search("(" * 600 + "vàng" + ")" * 600)
    message = str(e.value)
    assert len(message) < 200 and "nested" in message and "\n" not in message
