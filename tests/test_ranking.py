"""How free text is read and scored (vnsearch.search.rank): BM25F over the sections, typed text as
people type it (headlines with quotes and question marks, repeated words).

Each test builds a tiny index whose documents differ in just the property under test."""

from __future__ import annotations

import pytest

from vnsearch import Document, Index
from vnsearch.search import rank as ranking
from vnsearch.search.parse import parse, scored_words


def _index(tmp_path, docs) -> Index:
    ix = Index.create(tmp_path / "ix")
    ix.add(docs, jobs=1)
    return ix


def ids(results) -> list[str]:
    return [h.id for h in results.hits]


def test_a_trailing_question_mark_is_punctuation_not_a_wildcard(tmp_path):
    ix = _index(tmp_path, [Document(id="a", body="Ông A đã bị khởi tố hôm qua.")])
    assert ids(ix.search("Ai bị khởi tố?")) == ["a"]
    assert ids(ix.search("tố?")) == ["a"]


def test_a_question_mark_inside_a_word_is_still_a_wildcard(tmp_path):
    ix = _index(tmp_path, [Document(id="a", body="Ngày hội lớn.")])
    assert ids(ix.search("ng?y")) == ["a"]


def test_a_lone_star_is_a_bullet_not_match_everything(tmp_path):
    ix = _index(tmp_path, [Document(id="a", body="Đăng ký nguyện vọng xét tuyển."),
                           Document(id="b", body="Tin khác.")])
    assert ids(ix.search("* Đăng ký nguyện vọng ?")) == ["a"]


def test_single_quotes_are_emphasis_not_a_phrase(tmp_path):
    # Headlines put words in single quotes ('thi gan'); the words need not be adjacent.
    ix = _index(tmp_path, [Document(id="a", body="Cuộc thi kéo dài, ai cũng phải gan lì.")])
    assert ids(ix.search("'thi gan'")) == ["a"]
    assert ids(ix.search('"thi gan"')) == []  # double quotes: a phrase


def test_a_repeated_word_keeps_its_place_in_the_query():
    # Whoosh's parser drops repeats from an OR group; the words pyvi segments and the adjacent
    # pairs that reward proximity must be those typed.
    query, _ = parse("trong nhà giấu xác trong thùng")
    assert query.syllables == ["trong", "nhà", "giấu", "xác", "trong", "thùng"]
    assert "xac_trong" in query.pairs and "trong_thung" in query.pairs


@pytest.mark.parametrize("text, syllables", [
    ("lũ quét lũ", ["lũ", "quét", "lũ"]),
    ("lũ quét lũ lũ", ["lũ", "quét", "lũ", "lũ"]),
    ("bão lũ quét bão", ["bão", "lũ", "quét", "bão"]),
])
def test_a_repeated_word_at_the_end_of_the_query_is_kept(text, syllables):
    # The repeat after the last word Whoosh keeps is typed text too.
    query, terms = parse(text)
    assert query.syllables == syllables
    assert terms.syllables == syllables


def test_a_repeat_at_the_end_stops_at_the_next_operator_or_group():
    query, _ = parse("(lũ quét lũ) AND sạt")
    assert [w.syllables for w in query.parts] == [["lũ", "quét", "lũ"], ["sạt"]]
    query, _ = parse("lũ quét lũ -bão")
    assert query.positive.syllables == ["lũ", "quét", "lũ"]


def test_words_in_a_phrase_also_rank_documents_without_the_phrase(tmp_path):
    ix = _index(tmp_path, [
        Document(id="both", body="Giá bạc và vàng cùng tăng."),
        Document(id="apart", body="Vàng tăng, bạc thì giá giảm."),
        Document(id="gold", body="Vàng tăng."),
    ])
    results = ix.search('vàng "giá bạc"')
    assert ids(results)[0] == "both"
    # Found through "vàng"; it also holds "giá" and "bạc", so it ranks above plain "vàng".
    assert ids(results)[1:] == ["apart", "gold"]


def test_bm25f_a_word_in_the_title_outranks_the_same_word_in_the_body(tmp_path):
    ix = _index(tmp_path, [
        Document(id="body", title="Tin trong ngày", body="Lũ quét ở miền núi phía Bắc."),
        Document(id="title", title="Lũ quét ở miền núi", body="Tin trong ngày phía Bắc."),
    ])
    assert ids(ix.search("lũ quét")) == ["title", "body"]


def test_bm25f_saturates_across_sections(tmp_path):
    # One more mention in another section helps less than a second distinct query word.
    ix = _index(tmp_path, [
        Document(id="repeats", title="Bão số 3", summary="Bão số 3 mạnh lên",
                 body="Bão số 3 vào đất liền."),
        Document(id="both", title="Bão số 3", body="Bão gây lũ lớn ở đồng bằng."),
    ])
    assert ids(ix.search("bão lũ"))[0] == "both"


def test_a_diacritic_free_query_is_scored_on_folded_forms_and_pairs(tmp_path):
    ix = _index(tmp_path, [
        Document(id="pair", body="Hội nghị tổ chức Đảng bộ tỉnh."),
        Document(id="apart", body="Đang tổ chức, tờ báo chúc mừng."),
    ])
    assert ids(ix.search("to chuc dang")) == ["pair", "apart"]


def test_deleted_documents_are_never_scored(tmp_path):
    ix = _index(tmp_path, [Document(id=f"d{i}", body=f"Tin số {i} về bão.") for i in range(5)])
    ix.delete(["d2"])
    results = ix.search("bão")
    assert results.total == 4 and "d2" not in ids(results)


def test_the_scorer_is_reused_for_one_snapshot_and_renewed_after_a_write(tmp_path):
    ix = _index(tmp_path, [Document(id="a", body="Bão số 1.")])
    ix.search("bão")
    first = ranking.scorer_for(ix.searcher())
    assert ranking.scorer_for(ix.searcher()) is first
    ix.add([Document(id="b", body="Bão số 2.")], jobs=1)
    assert ids(ix.search("bão số 2"))[0] == "b"
    assert ranking.scorer_for(ix.searcher()) is not first


@pytest.mark.parametrize("query", ["lũ ở miền núi và lũ quét", "lu quet mien nui", "UBND tỉnh lũ quét",
                                   "lũ quét ở miền núi phía Bắc, lũ lớn ở miền núi và lũ quét ở "
                                   "miền núi phía Bắc tỉnh Lào Cai"])  # longer than a headline
def test_the_evidence_recombined_with_the_form_weights_is_the_score(tmp_path, query):
    # bench/ltr.py fits combinations of Scorer.evidence: the hand-set one must be the ranking.
    ix = _index(tmp_path, [
        Document(id="a", body="Lũ quét ở miền núi, lũ lớn."),
        Document(id="b", body="Ủy ban nhân dân (UBND) tỉnh họp về lũ."),
        Document(id="c", body="Miền núi phía Bắc.", tags=["lũ quét"]),
    ])
    node, _ = parse(query)
    scorer = ranking.scorer_for(ix.searcher())
    scores, matched = scorer.free_text(node)
    ev = scorer.evidence(node)
    weights = ranking.form_weights(node.ascii_only)
    again = ev.extra + sum(weights[f] * form for f, form in ev.forms.items())
    c = ranking.COORDINATION * min(1.0, ranking.HEADLINE_SYLLABLES / len(node.folded))
    again *= (1 - c) + c * ev.coverage
    assert (ev.matched == matched).all() and matched.sum() >= 2
    assert abs(again * matched - scores).max() < 1e-4 * scores.max()


def test_the_evidence_counts_a_repeated_word_once_and_weighs_coverage_by_idf(tmp_path):
    ix = _index(tmp_path, [
        Document(id="both", body="Lũ quét ở miền núi."),
        Document(id="common", body="Lũ lớn ở miền xuôi."),
        Document(id="other", body="Nắng nóng ở miền xuôi."),
        Document(id="more", body="Nắng nóng ở miền Trung."),
    ])
    node, _ = parse("lũ và lũ quét")
    scorer = ranking.scorer_for(ix.searcher())
    ev = scorer.evidence(node)
    num = {scorer.searcher.stored_fields(i)["id"]: i for i in range(scorer.n)}
    syllables = ev.forms[""]
    assert syllables[num["common"]] == pytest.approx(2 * ev.once[""][num["common"]])
    assert ev.idf_coverage[num["both"]] == pytest.approx(1.0)
    # "quét" (in one document) weighs more than "lũ" (in two): less than half is covered
    assert 0 < ev.idf_coverage[num["common"]] < 0.5
    assert ev.coverage[num["common"]] == pytest.approx(2 / 4)  # "lũ" typed twice, of 4


@pytest.mark.parametrize("query", ["bão", "bao", "bão OR lũ", "bão -lũ", '"bão số"', "bã*"])
def test_scores_are_positive_and_sorted(tmp_path, query):
    ix = _index(tmp_path, [Document(id=f"d{i}", body=f"Bão số {i}" + (", lũ." if i % 2 else "."))
                           for i in range(6)])
    hits = ix.search(query, limit=10).hits
    assert hits and all(h.score > 0 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


# -- phrases: vnsearch.search.rank matches them itself, exactly as Whoosh's Phrase query would ----
_PHRASE_DOCS = [
    "Hà Nội và thành phố Hồ Chí Minh là hai thành phố lớn.",
    "Thành phố Hà Nội có nhiều hồ, Hồ Gươm ở giữa phố cổ.",
    "Có thể có mưa, có thể không; phố Hà Nội vẫn đông.",
    "Nội thành Hà Nội cấm xe tải, phố nào cũng vậy.",
]
_WORDS = ["hà", "nội", "thành", "phố", "hồ", "có", "thể", "mưa", "xe"]


@pytest.fixture(scope="module")
def phrase_index(tmp_path_factory):
    ix = Index.create(tmp_path_factory.mktemp("phrases") / "ix")
    ix.add([Document(id=f"p{i}", body=t) for i, t in enumerate(_PHRASE_DOCS)], jobs=1)
    ix.add([Document(id="late", body="Phố Hà Nội về đêm.")], jobs=1)  # a second segment
    return ix


@pytest.mark.parametrize("slop", [1, 2, 3])
@pytest.mark.parametrize("words", [
    ["hà", "nội"], ["thành", "phố"], ["phố", "hà", "nội"], ["có", "thể", "có"],
    ["có", "có"], ["nội", "hà"], ["hồ", "phố"], ["xe", "mưa"], ["thành", "phố", "hồ"],
])
def test_phrases_match_the_same_documents_as_whoosh(phrase_index, words, slop):
    import numpy as np
    from whoosh import query as q

    searcher = phrase_index.searcher()
    mine = ranking.scorer_for(searcher).phrase("body", words, slop)
    theirs = set(q.Phrase("body", words, slop=slop).docs(searcher))
    assert set(np.flatnonzero(mine).tolist()) == theirs


def test_phrases_of_common_words_in_long_lists_match_the_same_documents_as_whoosh(tmp_path):
    """Long posting lists (several blocks and segments, words repeated within documents),
    where the positions of only the documents holding every word are read."""
    import random

    import numpy as np
    from whoosh import query as q

    vocab = ["có", "thể", "người", "dân", "mưa", "to"]
    rng = random.Random(7)
    ix = Index.create(tmp_path / "ix")
    for batch in range(3):
        ix.add([Document(id=f"r{batch}-{i}", body=" ".join(rng.choice(vocab) for _ in range(12)))
                for i in range(150)], jobs=1)
    searcher = ix.searcher()
    scorer = ranking.scorer_for(searcher)
    phrases = [["có", "thể"], ["người", "dân", "có", "thể"], ["có", "có"], ["mưa", "to", "mưa"],
               ["thể", "có", "thể", "có"]]
    for words in phrases:
        for slop in (1, 2, 4):
            mine = set(np.flatnonzero(scorer.phrase("body", words, slop)).tolist())
            theirs = set(q.Phrase("body", words, slop=slop).docs(searcher))
            assert mine == theirs, (words, slop)
            assert len(theirs) < 450 and (theirs or slop == 1), (words, slop)


def test_diacritics_are_restored_from_spellings_the_index_has():
    from vnsearch.search.suggest import accented_variants

    assert {"đảng", "đang", "dạng", "dang"} <= set(accented_variants("dang"))
    assert "hoà" in accented_variants("hoa")  # in the index's tone placement, not "hòa"
    assert accented_variants("covid19") == ("covid19",)  # not a syllable: left alone


# -- date order and facets come from columns, over every match ------------------------------
def _dated(tmp_path):
    docs = [Document(id=f"n{i:02d}", body=f"Tin bão số {i}.",
                     date=None if i % 3 == 0 else f"2023-0{1 + i % 4}-1{i % 2}",
                     author=["Lê Hoa", "Trần An"][i % 2], tags=["thời tiết", f"nhóm {i % 2}"])
            for i in range(14)]
    ix = Index.create(tmp_path / "ix")
    ix.add(docs[:7], jobs=1)
    ix.add(docs[7:], jobs=1)  # two segments
    return ix, docs


@pytest.mark.parametrize("sort", ["date", "-date"])
def test_date_order_breaks_ties_by_id_even_for_big_ties(tmp_path, monkeypatch, sort):
    ix, docs = _dated(tmp_path)
    expected = sorted(docs, key=lambda d: d.id)
    expected.sort(key=lambda d: d.date or "", reverse=(sort == "-date"))
    want = [d.id for d in expected]
    assert [h.id for h in ix.search("bão", sort=sort, limit=20).hits] == want
    monkeypatch.setattr(ranking, "MAX_ID_FETCH", 1)  # walk the id dictionary instead
    for offset in range(0, 14, 4):
        page = ix.search("bão", sort=sort, limit=4, offset=offset).hits
        assert [h.id for h in page] == want[offset : offset + 4]


def test_facets_count_every_match_from_columns_and_tag_postings(tmp_path):
    ix, docs = _dated(tmp_path)
    results = ix.search("bão", limit=1, facets=["author", "tags", "year", "month"])
    assert results.facets["author"] == {"Lê Hoa": 7, "Trần An": 7}
    assert results.facets["tags"] == {"thời tiết": 14, "nhóm 0": 7, "nhóm 1": 7}
    assert results.facets["year"] == {"2023": sum(1 for d in docs if d.date)}
    assert sum(results.facets["month"].values()) == results.facets["year"]["2023"]


def test_facets_of_an_index_without_tags_or_authors_are_empty(tmp_path):
    ix = _index(tmp_path, [Document(id="a", body="Bão số 1.")])
    facets = ix.search("bão", facets=["author", "tags", "year", "month"]).facets
    assert facets == {"author": {}, "tags": {}, "year": {}, "month": {}}


def test_an_article_with_the_query_in_its_lead_ranks_first(tmp_path, monkeypatch):
    # Same words, same length: only where the words are differs (press writing puts the
    # essentials first, and headlines and abstracts restate them).
    filler = " ".join(["Thời tiết hôm nay nắng nhẹ, gió nhẹ."] * 20)
    ix = _index(tmp_path, [Document(id="a-end", body=f"{filler} Lũ quét ở Lào Cai."),
                           Document(id="z-lead", body=f"Lũ quét ở Lào Cai. {filler}")])
    assert ids(ix.search("lũ quét Lào Cai")) == ["z-lead", "a-end"]
    assert ids(ix.search("lu quet lao cai")) == ["z-lead", "a-end"]  # typed without diacritics
    assert ids(ix.search("lũ quét Lào Cai", limit=1)) == ["z-lead"]
    monkeypatch.setattr(ranking, "LEAD_WEIGHT", 0.0)
    assert ids(ix.search("lũ quét Lào Cai")) == ["a-end", "z-lead"]  # a tie, broken by id


def test_a_query_longer_than_a_headline_counts_less_on_how_much_of_it_a_document_holds(
        tmp_path, monkeypatch):
    # An abstract or a pasted paragraph describes an article, which paraphrases part of it: a
    # document holding the query's everyday words but not what it is about must not win for
    # holding more of its syllables.
    common = ("người dân cho biết sáng nay trên đường về nhà thấy nhiều xe chạy rất nhanh qua "
              "khu vực chợ và trường học gần đó")
    ix = _index(tmp_path, [
        Document(id="about-it", body="Lũ quét ở Lào Cai cuốn trôi nhà cửa. Người dân cho biết"),
        Document(id="everyday-words", body=f"{common.capitalize()}."),
        *(Document(id=f"common-{i:02d}", body=f"Tin {i}: {common}") for i in range(18)),
        *(Document(id=f"other-{i:02d}", body=f"Tin thời tiết {i}.") for i in range(20)),
    ])
    query = f"Lũ quét ở Lào Cai, {common}"  # 30 syllables
    assert ids(ix.search(query, limit=2))[0] == "about-it"
    headline = "Lũ quét ở Lào Cai, người dân cho biết"  # 10 syllables: coordinated in full
    before = [(h.id, h.score) for h in ix.search(headline).hits]
    monkeypatch.setattr(ranking, "HEADLINE_SYLLABLES", 1000)  # every query as a headline
    assert ids(ix.search(query, limit=2))[0] == "everyday-words"
    assert [(h.id, h.score) for h in ix.search(headline).hits] == before


def test_a_long_query_split_by_a_quoted_phrase_is_still_as_long_as_typed():
    # Quotes make a phrase node of their own; the runs around it are parts of one long query,
    # and the coordination and the weighting of terms among the best go by the whole query.
    node, _ = parse('Người dân cho biết "lũ quét" ở Lào Cai đã cuốn trôi nhiều nhà cửa ven suối')
    runs = list(scored_words(node))
    assert len(runs) == 3
    assert {w.query_syllables for w in runs} == {17} == {sum(len(w.folded) for w in runs)}
    node, _ = parse("lũ quét -bão")  # a word excluded is not part of what is scored
    assert [w.query_syllables for w in scored_words(node)] == [2]


@pytest.mark.parametrize("block", [None, 1])  # 1: the best all in blocks of their own
def test_among_articles_on_one_story_a_word_only_one_of_them_holds_decides(tmp_path, monkeypatch,
                                                                           block):
    # The best matches all report one story and hold its names: an article repeating them
    # must not beat the one that also holds what else the query asks (searched the house).
    if block:
        monkeypatch.setattr(ranking, "TOP_BLOCK", block)
    story = "Công an tỉnh Điện Biên điều tra vụ án của Bùi Văn Công ở xã Thanh Nưa."
    names = "Bùi Văn Công bị bắt ở Điện Biên. Vợ Bùi Văn Công ở Thanh Nưa."
    ix = _index(tmp_path, [
        *(Document(id=f"story-{i:02d}", body=f"{story} Tin thứ {i} về vụ án" + " mới" * i)
          for i in range(20)),
        Document(id="names-repeated", body=f"{story} {names} {names} {names}"),
        Document(id="searched", body=f"{story} Cảnh sát đã khám xét nhà."),
        *(Document(id=f"other-{i:03d}", body=f"Thời tiết hôm nay nắng nhẹ, tin {i}."
                   + (" Cảnh sát khám xét nhà một người." if i < 44 else "")) for i in range(150)),
    ])
    query = "Công an Điện Biên khám xét nhà Bùi Văn Công ở Thanh Nưa"
    assert ids(ix.search(query, limit=2)) == ["searched", "names-repeated"]
    monkeypatch.setattr(ranking, "LOCAL_WEIGHT", 0.0)  # every term weighed as in the index
    assert ids(ix.search(query, limit=2)) == ["names-repeated", "searched"]


@pytest.mark.parametrize("n", [50_000, 2_000])  # lists short next to the index, then long
def test_a_terms_sections_sum_the_same_through_a_dense_vector_or_by_merging(n):
    import numpy as np

    rng = np.random.default_rng(3)
    parts = []
    for size in (300, 900, 1500):
        ids = np.sort(rng.choice(2_000, size, replace=False)).astype(np.int32)
        parts.append((ids, rng.random(size, dtype=np.float32)))
    merged = ranking._sum_sorted(parts)
    summed = ranking._sum_sections(parts, n)
    assert np.array_equal(merged[0], summed[0])
    assert np.allclose(merged[1], summed[1], rtol=1e-6, atol=0)
    assert merged[0].tolist() == sorted(set().union(*(p[0].tolist() for p in parts)))


@pytest.mark.parametrize("query", ["bão số 2 ở miền Trung", "bao so 2 o mien trung", "bão và lũ"])
def test_common_terms_score_the_same_as_dense_vectors_or_per_posting(tmp_path, monkeypatch, query):
    # Terms in a quarter of the documents or more are added to a query's scores as a dense
    # vector over the index (DENSE_SHARE); the scores must be exactly those of the postings.
    import numpy as np

    ix = _index(tmp_path, [
        Document(id=f"d{i}", body=f"Bão số {i % 4} đổ bộ vào miền {['Trung', 'Bắc'][i % 2]}"
                 + (", lũ lớn." if i % 3 else "."))
        for i in range(12)])
    ix.delete(["d2"])
    node, _ = parse(query)
    scorer = ranking.scorer_for(ix.searcher())
    monkeypatch.setattr(ranking, "DENSE_SHARE", 2.0)  # no term as a dense vector
    by_posting = scorer.free_text(node)
    monkeypatch.setattr(ranking, "DENSE_SHARE", 0.0)  # every term as a dense vector
    dense = scorer.free_text(node)
    assert np.array_equal(by_posting[1], dense[1]) and by_posting[1].sum() >= 3
    assert np.array_equal(by_posting[0], dense[0])
