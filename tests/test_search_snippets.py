"""Snippets: the best passages, every match highlighted, spans in code points, nothing cut.

A snippet is one or more passages of the stored text joined by " … "; each passage must start
and end at whitespace (or the text's ends) so no word or number (1.000.000, 60,52%) is cut.
"""

from __future__ import annotations

import re

import pytest
from conftest import CORPUS_BY_ID
from hypothesis import given, settings
from hypothesis import strategies as st

from vnsearch.search.highlight import (
    SNIPPET_CHARS,
    highlight_field,
    query_sets,
    syllable_spans,
)
from vnsearch.text.normalize import fold

ELLIPSIS = re.compile(r"^… | … | …$")


def passages(snippet: str) -> list[str]:
    return [p for p in ELLIPSIS.split(snippet) if p]


def assert_passages_are_whole(snippet: str, original: str) -> None:
    """Every passage is a piece of ``original`` (newlines shown as spaces) cut at whitespace."""
    flat = original.replace("\n", " ")
    for piece in passages(snippet):
        at = flat.find(piece)
        assert at >= 0, (piece, flat)
        end = at + len(piece)
        assert at == 0 or flat[at - 1].isspace() or piece[0].isspace(), (piece, flat[at - 1 : end])
        assert end == len(flat) or flat[end].isspace() or piece[-1].isspace(), (
            piece, flat[at : end + 1],
        )  # fmt: skip


def assert_every_match_is_highlighted(highlight, query_syllables: set[str]) -> None:
    """Spans cover exactly the syllables of the text that match the query (exactly or folded)."""
    exact, folded = query_sets(sorted(query_syllables))
    covered = set()
    for a, b in highlight.spans:
        covered.update(range(a, b))
    for s, e, syl in syllable_spans(highlight.text):
        matches = syl in exact or fold(syl) in folded
        inside = all(i in covered for i in range(s, e))
        assert matches == inside, (highlight.text[s:e], highlight.text)


# -- on the corpus ------------------------------------------------------------------------------
def test_spans_are_code_point_offsets_of_the_matched_words(corpus):
    hit = corpus.search("vàng").hits[0]
    assert hit.id == "d02"
    for h in hit.highlights:
        assert [h.text[a:b].lower() for a, b in h.spans] == ["vàng"] * len(h.spans)
        assert_every_match_is_highlighted(h, {"vàng"})


def test_adjacent_matches_form_one_span(corpus):
    hit = corpus.search("mua vàng tích trữ").hits[0]
    body = next(h for h in hit.highlights if h.field == "body")
    assert "mua vàng tích trữ" in [body.text[a:b] for a, b in body.spans]


def test_a_long_body_gives_passages_cut_at_whitespace(corpus):
    doc = CORPUS_BY_ID["d02"]
    assert len(doc.body) > 2 * SNIPPET_CHARS
    for query in ("vàng", "1.000.000", "60,52%", "thế giới", "đồng", "năm qua", "lãi suất"):
        hit = next(h for h in corpus.search(query).hits if h.id == "d02")
        body = next(h for h in hit.highlights if h.field == "body")
        assert len(body.text) < len(doc.body)
        assert_passages_are_whole(body.text, doc.body)


def test_numbers_are_matched_and_shown_whole(corpus):
    for query, number in (("1.000.000", "1.000.000"), ("60,52%", "60,52"), ("12,5%", "12,5")):
        hit = corpus.search(query).hits[0]
        body = next(h for h in hit.highlights if h.field == "body")
        assert [body.text[a:b] for a, b in body.spans] == [number], query


def test_the_snippet_is_the_best_passage_not_the_first(corpus):
    # "thế giới" only occurs at the end of a long body.
    hit = corpus.search("thế giới").hits[0]
    assert hit.snippet.startswith("… ") and "Giá vàng thế giới" in hit.snippet
    assert "Theo Hiệp hội" not in hit.snippet


def test_the_passage_with_the_words_together_beats_passages_with_them_apart():
    filler = "Đoạn giới thiệu chung về tình hình kinh tế xã hội của địa phương trong năm. " * 3
    text = (
        "Người dân xây nhà mới, công trình đường sá được dựng lại sau lũ. " + filler
        + "Họ xây bếp và dựng lều tạm ven đường để chờ nước rút. " + filler
        + "Tỉnh đẩy mạnh công tác xây dựng Đảng và chính quyền. " + filler
    )  # fmt: skip
    h = highlight_field("body", text, *query_sets(["xây", "dựng"]))
    assert "xây dựng" in [h.text[a:b] for a, b in h.spans]


def test_passages_are_joined_by_a_spaced_ellipsis(corpus):
    snippet = corpus.search("vàng").hits[0].snippet
    assert snippet.count("…") >= 1
    assert all(m.group() in (" … ", "… ", " …") for m in re.finditer(r"\s?…\s?", snippet))


def test_a_short_field_is_shown_whole(corpus):
    hit = corpus.search("bạc").hits[0]
    assert hit.id == "d03" and hit.snippet == CORPUS_BY_ID["d03"].body


def test_a_diacritic_free_query_highlights_the_accented_words(corpus):
    hit = corpus.search("to chuc").hits[0]
    title = next(h for h in hit.highlights if h.field == "title")
    assert [title.text[a:b] for a, b in title.spans] == ["tổ chức"]


def test_an_exact_query_does_not_highlight_other_words_that_fold_the_same(corpus):
    hit = corpus.search("đảng").hits[0]
    for h in hit.highlights:
        assert {h.text[a:b].lower() for a, b in h.spans} == {"đảng"}, h


def test_a_syllable_typed_half_accented_is_highlighted_next_to_exact_ones(tmp_path):
    # "đien" (the đ typed, the tone forgotten) and "cưu" match "điện" and "cứu" only without
    # diacritics, as in the ranking: they are highlighted too, not just their exact neighbours.
    from conftest import build

    from vnsearch import Document

    ix = build(tmp_path / "ix", [
        Document(id="t", title="Thủy điện nghiên cứu xả lũ",
                 body="Nhà máy thủy điện xả lũ. Đề tài nghiên cứu mới. Diễn đàn mở."),
    ])  # fmt: skip
    for query, expected in (("thuỷ đien", ["thủy điện"]), ("nghiên cưu", ["nghiên cứu"])):
        hit = ix.search(query).hits[0]
        for h in hit.highlights:
            assert [h.text[a:b].lower() for a, b in h.spans] == expected, (query, h)


@pytest.mark.parametrize(
    "query, matches",
    [
        ("hộ*", lambda syl: syl.startswith("hộ")),  # hội nghị, Hiệp hội, hội thảo
        ("hoi*", lambda syl: fold(syl).startswith("hoi")),  # typed without diacritics
        ("ng?y", lambda syl: len(syl) == 4 and syl.startswith("ng") and syl.endswith("y")),
        ("vàmg~", lambda syl: syl == "vàng"),  # one edit away
    ],
)
def test_wildcard_and_fuzzy_matches_are_highlighted(corpus, query, matches):
    results = corpus.search(query, limit=100)
    assert results.hits
    for hit in results.hits:
        assert hit.highlights, hit.id
        for h in hit.highlights:
            found = [h.text[a:b].lower() for a, b in h.spans]
            assert found and all(matches(syl) for span in found for syl in span.split()), found


def test_a_phrase_is_highlighted_where_it_occurs_not_its_words_elsewhere(tmp_path):
    # Only "tổ chức đảng" together matched the phrase; "Tổ chức" in "Ban Tổ chức" did not. A
    # date or code typed as one word is a phrase of its parts: "22/7", not every "7".
    from conftest import build

    from vnsearch import Document

    ix = build(tmp_path / "ix", [
        Document(id="p", title="Ban Tổ chức họp ngày 22/7",
                 body="Ban Tổ chức Tỉnh ủy họp. Công tác tổ chức đảng được chú trọng. "
                      "Có 7 đội và 22 người tham gia, đảng viên đông đủ."),
    ])  # fmt: skip

    def spans(query):
        hit = ix.search(query).hits[0]
        return {h.field: [h.text[a:b] for a, b in h.spans] for h in hit.highlights}

    assert spans('"tổ chức đảng"') == {"body": ["tổ chức đảng"]}
    assert spans('"to chuc dang"') == {"body": ["tổ chức đảng"]}
    assert spans('"tổ chức đảng" tổ') == {"title": ["Tổ"], "body": ["Tổ", "tổ chức đảng"]}
    assert spans("22/7") == {"title": ["22/7"]}
    # with slop, the words need not be side by side: each is highlighted
    assert spans('"tổ đảng"~2') == {"title": ["Tổ"], "body": ["Tổ", "tổ", "đảng", "đảng"]}


def test_a_word_found_exactly_in_one_field_is_not_stood_in_for_in_another(tmp_path):
    # "mà" is in the body: "Má" (mother) in the title is another word, not a match to show.
    from conftest import build

    from vnsearch import Document

    ix = build(tmp_path / "ix", [
        Document(id="m", title="Má tôi nấu cơm", body="Trời mưa mà đường vẫn đông."),
    ])  # fmt: skip
    hit = ix.search("mà").hits[0]
    assert {h.field: [h.text[a:b] for a, b in h.spans] for h in hit.highlights} == {
        "body": ["mà"]
    }


def test_a_word_without_diacritics_in_an_accented_query_is_that_word(tmp_path):
    # "vay", "nam", "ban" are words of their own: in "ngân hàng cho vay" they do not stand for
    # "vậy", "năm" or "bàn" (a query typed wholly without diacritics still means every reading).
    from conftest import build

    from vnsearch import Document

    ix = build(tmp_path / "ix", [
        Document(id="v", title="Cho vay", body="Ngân hàng cho vay vốn. Vậy là năm nay ai cũng vay."),
    ])  # fmt: skip
    hit = ix.search("ngân hàng cho vay").hits[0]
    shown = {h.text[a:b].lower() for h in hit.highlights for a, b in h.spans}
    assert shown == {"cho vay", "ngân hàng cho vay", "vay"}
    hit = ix.search("ngan hang cho vay").hits[0]
    assert "vậy" in {h.text[a:b].lower() for h in hit.highlights for a, b in h.spans}


def test_control_characters_from_documents_never_reach_the_snippet(corpus):
    hit = corpus.search("mưa lũ").hits[0]
    assert hit.id == "d13"
    for text in [hit.snippet, hit.title] + [h.text for h in hit.highlights]:
        assert not re.search("[\x00-\x1f\x7f-\x9f]", text), repr(text)
        assert "[1;31m" not in text and "pwned" not in text  # whole sequences, not just ESC
    # Replaced one for one, so spans still point at the words.
    title = next(h for h in hit.highlights if h.field == "title")
    assert [title.text[a:b] for a, b in title.spans] == ["mưa lũ"]


def test_bidi_controls_from_documents_never_reach_the_snippet(tmp_path):
    # U+202E and friends reorder what a terminal shows (the "Trojan Source" trick): a title
    # could display as something it is not. Shown as spaces, so spans still point at words.
    from conftest import build

    from vnsearch import Document

    bidi = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
    ix = build(tmp_path / "ix", [Document(
        id="b", title="Tin \u202ekhẩn\u202c cấp",
        body="Cảnh báo \u2067mưa lũ\u2069 diện rộng \u200fở miền Trung.",
    )])  # fmt: skip
    hit = ix.search("mưa lũ khẩn").hits[0]
    for text in [hit.snippet, hit.title] + [h.text for h in hit.highlights]:
        assert not any(c in bidi for c in text), repr(text)
    assert {h.text[a:b] for h in hit.highlights for a, b in h.spans} == {"khẩn", "mưa lũ"}


def test_a_hit_without_matches_shows_the_lead_cut_at_whitespace(corpus):
    hit = next(h for h in corpus.search("", tag="vàng").hits if h.id == "d02")
    assert hit.highlights == [] and hit.snippet.endswith(" …")
    assert_passages_are_whole(hit.snippet, CORPUS_BY_ID["d02"].body)


def test_decomposed_documents_give_nfc_text_and_spans_into_it(tmp_path):
    import unicodedata

    from conftest import build

    from vnsearch import Document

    nfd = unicodedata.normalize("NFD", "Giá vàng hôm nay tăng mạnh 🎉 𝔸 Lễ hội vàng miếng")
    ix = build(tmp_path / "ix", [Document(id="nfd", title=nfd[:8], body=nfd)])
    hit = ix.search("vàng").hits[0]
    assert unicodedata.is_normalized("NFC", hit.title)
    for h in hit.highlights:
        assert unicodedata.is_normalized("NFC", h.text)
        assert [h.text[a:b] for a, b in h.spans] == ["vàng"] * len(h.spans) and h.spans


def test_no_snippets_when_asked_for_none(corpus):
    hit = corpus.search("vàng", snippets=False).hits[0]
    assert hit.highlights == [] and hit.snippet  # still a lead for display


# -- property: any text, any query syllables ----------------------------------------------------
WORDS = ["vàng", "giá", "tăng", "Đảng", "đang", "hòa", "hoà", "1.000.000", "60,52%", "12,5",
         "3/8", "COVID-19", "UBND.", "người", "mua", "“trích dẫn”", "(ghi chú)", "Ảnh:",
         "—"]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    words=st.lists(st.sampled_from(WORDS), min_size=1, max_size=160),
    seps=st.lists(st.sampled_from([" ", ", ", ". ", "\n", "  "]), min_size=160, max_size=160),
    query=st.sets(
        st.sampled_from(["vàng", "đảng", "hoà", "1.000.000", "60,52", "mua", "dang"]), min_size=1
    ),
)  # fmt: skip
def test_any_text_gives_whole_passages_and_exact_spans(words, seps, query):
    text = "".join(w + s for w, s in zip(words, seps)).strip()
    exact, folded = query_sets(sorted(query))
    h = highlight_field("body", text, exact, folded)
    if h is None:
        assert not any(syl in exact or fold(syl) in folded for _, _, syl in syllable_spans(text))
        return
    assert h.spans and all(0 <= a < b <= len(h.text) for a, b in h.spans)
    assert h.spans == sorted(h.spans)
    assert_passages_are_whole(h.text, text)
    assert_every_match_is_highlighted(h, query)


# -- property: what a search hit highlights is what its query matched ---------------------------
HIT_WORDS = ["vàng", "Vàng", "vâng", "giá", "Đảng", "đang", "đảng", "hòa", "hoà", "hóa", "bình",
             "22/7", "7", "22", "tổ", "chức", "Tổ chức", "nghiên", "nghiêm", "cứu", "điện",
             "diễn", "COVID-19", "1.000.000"]  # fmt: skip
QUERY_WORDS = ["vàng", "vang", "đảng", "dang", "đien", "hoà", "hoa", "bình", "22/7", "tổ chức",
               "to chuc", "nghiê*", "nghien*", "vàmg~", "cứu", "COVID-19"]  # fmt: skip


@settings(max_examples=120, deadline=None)
@given(
    words=st.lists(st.sampled_from(HIT_WORDS), min_size=1, max_size=60),
    seps=st.lists(st.sampled_from([" ", ", ", ". ", "\n"]), min_size=60, max_size=60),
    parts=st.lists(st.sampled_from(QUERY_WORDS), min_size=1, max_size=3),
    quoted=st.booleans(),
)
def test_every_highlighted_syllable_is_one_the_query_matched(words, seps, parts, quoted):
    from vnsearch.search.highlight import find_matches_in_hit, match_rules
    from vnsearch.search.parse import parse

    text = "".join(w + s for w, s in zip(words, seps)).strip()
    plain = [p for p in parts if not p.endswith(("*", "~"))]
    query = " ".join(parts if not (quoted and plain) else [f'"{" ".join(plain)}"'])
    _, terms = parse(query)
    exact, folded = query_sets(terms.syllables)
    rules = match_rules(terms)
    typed = {fold(s) for s in terms.syllables}
    spans = find_matches_in_hit(text, exact, folded, rules)
    assert spans == sorted(spans) and all(0 <= a < b <= len(text) for a, b in spans)
    covered = set()
    for a, b in spans:
        # whole syllables only: never a piece of a word or a number
        assert (a == 0 or not text[a - 1].isalnum()) and (b == len(text) or not text[b].isalnum())
        covered.update(range(a, b))
        for _, _, syl in syllable_spans(text[a:b]):
            assert fold(syl) in typed or rules.matches(syl), (syl, query, text[a:b])
    # and every syllable typed exactly, outside a phrase, is highlighted wherever it occurs
    free = {s for s in exact if fold(s) not in rules.phrase_only}
    for s, e, syl in syllable_spans(text):
        if syl in free:
            assert set(range(s, e)) <= covered, (text[s:e], query)


def test_fold_text_matches_the_translate_table():
    """The array fold used to find candidate syllables is the translate table, character for
    character (offsets in the folded text are offsets in the original)."""
    from vnsearch.search.highlight import _fold_table, _fold_text

    samples = ["giá vàng hôm nay tăng mạnh", "ĐẢNG đảng Ứng ứng ǅ ß", "a\ud800b 😀 Đà",
               "".join(map(chr, range(0x20, 0x2000))), ""]
    for text in samples:
        lower = text.lower()
        assert _fold_text(lower) == lower.translate(_fold_table())
        assert len(_fold_text(lower)) == len(lower)
