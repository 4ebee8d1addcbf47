"""Analysis of the cases in NOTES-vietnamese.md: words, syllables, folded forms and offsets.

Every token is checked against the ORIGINAL text: ``text[start:end]`` is its surface, and each
syllable's slice normalises (and lower-cases) to the syllable's index form.
"""

import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vnsearch.text.analysis import (
    analyze,
    fold_syllable,
    index_terms,
    syllable_form,
    syllables_of,
)
from vnsearch.text.normalize import fold, normalize


def NFD(s: str) -> str:
    return unicodedata.normalize("NFD", s)


# (case id, input, [(start, surface, word) or (start, surface, word, [syllables])]).
# Syllables default to the word split on "_".
CASES = [
    ('nfc', 'Tổ chức Đảng', [(0, 'Tổ chức', 'tổ_chức'), (8, 'Đảng', 'đảng')]),
    ('nfd', NFD("Tổ chức Đảng"), [(0, NFD('Tổ chức'), 'tổ_chức'), (12, NFD('Đảng'), 'đảng')]),
    ('nfd_name', NFD("Nguyễn Chín chủ trì hội nghị"), [(0, NFD('Nguyễn'), 'nguyễn'), (9, NFD('Chín'), 'chín'), (15, NFD('chủ trì'), 'chủ_trì'), (25, NFD('hội nghị'), 'hội_nghị')]),
    ('old_tone_hoa', 'hòa bình', [(0, 'hòa bình', 'hoà_bình')]),
    ('old_tone_hoa_upper', 'HÒA BÌNH', [(0, 'HÒA BÌNH', 'hoà_bình')]),
    ('new_tone_hoa', 'Hoà Bình', [(0, 'Hoà Bình', 'hoà_bình')]),
    ('old_tone_thuy', 'thủy lợi', [(0, 'thủy lợi', 'thuỷ_lợi')]),
    ('old_tone_thuy_upper', 'THỦY LỢI', [(0, 'THỦY LỢI', 'thuỷ_lợi')]),
    ('old_tone_khoe', 'sức khỏe', [(0, 'sức khỏe', 'sức_khoẻ')]),
    ('old_tone_khoe_upper', 'SỨC KHỎE', [(0, 'SỨC KHỎE', 'sức_khoẻ')]),
    ('qu_is_not_uy', 'quý khách', [(0, 'quý khách', 'quý_khách')]),
    ('old_tone_tinh_uy', 'Trưởng ban Tổ chức Tỉnh ủy Nguyễn Chín', [(0, 'Trưởng', 'trưởng'), (7, 'ban', 'ban'), (11, 'Tổ chức', 'tổ_chức'), (19, 'Tỉnh ủy', 'tỉnh_uỷ'), (27, 'Nguyễn Chín', 'nguyễn_chín')]),
    ('eth_upper', 'ÐẢNG bộ', [(0, 'ÐẢNG bộ', 'đảng_bộ')]),
    ('eth_title', 'Ðà Nẵng', [(0, 'Ðà Nẵng', 'đà_nẵng')]),
    ('zwsp', 'tổ\u200bchức', [(0, 'tổ\u200bchức', 'tổchức')]),
    ('bom', '\ufeffBan Tổ chức', [(1, 'Ban', 'ban'), (5, 'Tổ chức', 'tổ_chức')]),
    ('soft_hyphen', 'Thành\xadphố Hội An', [(0, 'Thành\xadphố', 'thànhphố'), (10, 'Hội An', 'hội_an')]),
    ('word_joiner', 'ban\u2060ngày', [(0, 'ban\u2060ngày', 'banngày')]),
    ('crlf', 'Dòng một\r\nDòng hai', [(0, 'Dòng', 'dòng'), (5, 'một', 'một'), (10, 'Dòng', 'dòng'), (15, 'hai', 'hai')]),
    ('cr', 'Dòng một\rDòng hai', [(0, 'Dòng', 'dòng'), (5, 'một', 'một'), (9, 'Dòng', 'dòng'), (14, 'hai', 'hai')]),
    ('tabs', 'tab\tngăn\tcách', [(0, 'tab', 'tab'), (4, 'ngăn\tcách', 'ngăn_cách')]),
    ('nul_and_escape', 'a\x00b\x1bc', [(0, 'a', 'a'), (2, 'b', 'b'), (4, 'c', 'c')]),
    ('lone_surrogate', 'x\udcffy', [(0, 'x', 'x'), (2, 'y', 'y')]),
    ('leading_combining_mark', '\u0301abc', [(1, 'abc', 'abc')]),
    ('literal_underscores', 'biến_số snake_case', [(0, 'biến_số', 'biến_số'), (8, 'snake_case', 'snake_case')]),
    ('underscore_number', '1_000 đồng', [(0, '1_000', '1_000', ['1_000']), (6, 'đồng', 'đồng')]),
    ('url', 'xem https://baomoi.com/tin-moi/a_b.epi nhé', [(0, 'xem', 'xem'), (4, 'https://baomoi.com/tin-moi/a_b.epi', 'https_baomoi_com_tin_moi_a_b_epi'), (39, 'nhé', 'nhé')]),
    ('email', 'Liên hệ: ban.tochuc@quangnam.gov.vn ngay', [(0, 'Liên hệ', 'liên_hệ'), (9, 'ban.tochuc@quangnam.gov.vn', 'ban_tochuc_quangnam_gov_vn'), (36, 'ngay', 'ngay')]),
    ('abbrev_dot', 'UBND. tỉnh', [(0, 'UBND', 'ubnd'), (6, 'tỉnh', 'tỉnh')]),
    ('roman_dot', 'Đại hội XII. Đảng', [(0, 'Đại hội', 'đại_hội'), (8, 'XII', 'xii'), (13, 'Đảng', 'đảng')]),
    ('tp_dot', 'Tp. Hồ Chí Minh', [(0, 'Tp', 'tp'), (4, 'Hồ Chí Minh', 'hồ_chí_minh')]),
    ('mr_dot', 'Ông Nguyễn Văn A, Mr. Smith', [(0, 'Ông', 'ông'), (4, 'Nguyễn Văn', 'nguyễn_văn'), (15, 'A', 'a'), (18, 'Mr. Smith', 'mr_smith')]),
    ('date_full', 'từ ngày 1/6/2023', [(0, 'từ', 'từ'), (3, 'ngày', 'ngày'), (8, '1', '1'), (10, '6', '6'), (12, '2023', '2023')]),
    ('date_short', 'chiều 3/8', [(0, 'chiều', 'chiều'), (6, '3', '3'), (8, '8', '8')]),
    ('decimal_percent', 'tăng 60,52%', [(0, 'tăng', 'tăng'), (5, '60,52', '60,52')]),
    ('covid', 'dịch COVID-19', [(0, 'dịch', 'dịch'), (5, 'COVID', 'covid'), (11, '19', '19')]),
    ('resolution_code', 'Nghị quyết 18-NQ/TW', [(0, 'Nghị quyết', 'nghị_quyết'), (11, '18', '18'), (14, 'NQ', 'nq'), (17, 'TW', 'tw')]),
    ('regulation_number', 'Quy định 114', [(0, 'Quy định', 'quy_định'), (9, '114', '114')]),
    ('thousands', '1.000.000 đồng', [(0, '1.000.000', '1.000.000'), (10, 'đồng', 'đồng')]),
    ('year_range', '2023 – 2025', [(0, '2023', '2023'), (7, '2025', '2025')]),
    ('arrows_ellipsis', '==> kết quả...', [(4, 'kết quả', 'kết_quả')]),
    ('all_caps_title', 'NHIỀU CHUYỂN BIẾN TÍCH CỰC TRONG CÔNG TÁC TỔ CHỨC', [(0, 'NHIỀU', 'nhiều'), (6, 'CHUYỂN BIẾN', 'chuyển_biến'), (18, 'TÍCH CỰC', 'tích_cực'), (27, 'TRONG', 'trong'), (33, 'CÔNG TÁC', 'công_tác'), (42, 'TỔ CHỨC', 'tổ_chức')]),
    ('empty', '', []),
    ('spaces', '   ', []),
    ('whitespace_mix', ' \n\t\r\n ', []),
    ('mixed_scripts', 'Hello 世界 Привет Ελλάδα', [(0, 'Hello', 'hello'), (6, '世界', '世界'), (9, 'Привет Ελλάδα', 'привет_ελλάδα')]),
    ('emoji', 'Vui quá 😀 nhé', [(0, 'Vui', 'vui'), (4, 'quá', 'quá'), (10, 'nhé', 'nhé')]),
    ('dotted_capital_i', 'İstanbul và Hà Nội', [(0, 'İstanbul', 'i\u0307stanbul'), (9, 'và', 'và'), (12, 'Hà Nội', 'hà_nội')]),
]


def assert_consistent(text, analysis):
    """The invariants every analysis keeps, whatever the input."""
    end = 0
    for t in analysis.tokens:
        assert end <= t.start < t.end <= len(text)
        end = t.end
        assert t.text == text[t.start : t.end]
        assert t.syllables and t.start == t.syllables[0].start and t.end == t.syllables[-1].end
        assert t.word == "_".join(s.text for s in t.syllables)
        assert t.folded == "_".join(fold_syllable(s.text) for s in t.syllables)
        syl_end = t.start
        for s in t.syllables:
            assert syl_end <= s.start < s.end <= t.end
            syl_end = s.end
            # The slice is the syllable, plus any combining mark that could not be composed
            # onto its last letter (``Ạ`` + grave): highlighting covers the whole glyph.
            # Numbers 01-09 are indexed without their zero ("01" → "1").
            surface = normalize(text[s.start : s.end]).lower()
            if not surface.startswith(s.text):
                surface = syllable_form(surface)
            assert surface.startswith(s.text)
            assert all(unicodedata.combining(c) for c in surface[len(s.text) :])
            assert s.folded == fold_syllable(s.text)


def test_the_table_has_at_least_forty_cases():
    assert len(CASES) >= 40
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case_id, text, expected", CASES, ids=[c[0] for c in CASES])
def test_tokens_and_offsets(case_id, text, expected):
    a = analyze(text)
    got = []
    for t in a.tokens:
        syllables = [s.text for s in t.syllables]
        if syllables == t.word.split("_"):
            got.append((t.start, t.text, t.word))
        else:
            got.append((t.start, t.text, t.word, syllables))
    assert got == expected
    assert_consistent(text, a)


def test_index_terms_agree_with_analyze():
    text = "Ban Tổ chức Tỉnh ủy\r\n\r\nhòa bình, thủy lợi, 60,52% và 1/6/2023."
    terms = index_terms(text)
    tokens = analyze(text).tokens
    assert terms.words == [t.word for t in tokens]
    assert terms.syllables == [s.text for t in tokens for s in t.syllables]
    # The second paragraph starts at "hoà": pairs must not bridge paragraphs.
    assert terms.syllable_breaks == [terms.syllables.index("hoà")]
    assert syllables_of(text) == terms.syllables


def test_syllables_and_folded_forms_of_a_word():
    (tok,) = analyze("ĐẢNG BỘ").tokens
    assert [(s.text, s.folded) for s in tok.syllables] == [("đảng", "dang"), ("bộ", "bo")]
    assert tok.folded == "dang_bo"


def test_a_one_megabyte_line_is_analysed_sentence_by_sentence_without_drift():
    sentence = "Ban Tổ chức Tỉnh ủy tham mưu thực hiện Quy định 114 từ ngày 1/6/2023. "
    reps = 1_000_000 // len(sentence) + 1
    line = sentence * reps
    assert len(line) >= 1_000_000 and "\n" not in line
    first = analyze(sentence).tokens
    tokens = analyze(line).tokens
    assert len(tokens) == reps * len(first)
    for k in (0, reps // 2, reps - 1):
        shift = k * len(sentence)
        chunk = tokens[k * len(first) : (k + 1) * len(first)]
        assert [(t.word, t.start - shift, t.end - shift) for t in chunk] == [
            (t.word, t.start, t.end) for t in first
        ]
    assert tokens[-1].text == line[tokens[-1].start : tokens[-1].end] == "2023"


# Text that exercises the normaliser and the segmenter: Vietnamese letters, both tone
# placements, NFD marks, look-alikes, invisible characters, controls, CRLF, punctuation,
# digits, other scripts, emoji and lone surrogates.
_ALPHABET = (
    "aăâbcdđeêghiklmnoôơpqrstuưvxyAĂÂĐEÊOÔƠUƯY"
    "àáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
    "ÀÁẢÃẠÒÓỎÕỌÙÚỦŨỤÌÍỈĨỊ"
    "\u0300\u0301\u0303\u0309\u0323\u0302\u0306\u031b"
    "\u00d0\u00f0\u200b\u200c\u200d\u2060\ufeff\u00ad\u202e"
    "\x00\x01\x1b\x7f\x85\r\n\t  "
    "0123456789.,;:/-_%@()[]\"'!?–…"
    "ıİßΣσςЖ世😀\ud800\udcff"
)
vietnamese_like = st.text(alphabet=st.sampled_from(_ALPHABET), max_size=80)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(vietnamese_like)
def test_property_offsets_point_into_the_original(text):
    assert_consistent(text, analyze(text))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_property_any_unicode_never_raises_and_stays_in_order(text):
    a = analyze(text)
    end = 0
    for t in a.tokens:
        assert end <= t.start < t.end <= len(text) and t.text == text[t.start : t.end]
        end = t.end
        for s in t.syllables:
            assert t.start <= s.start < s.end <= t.end


@settings(max_examples=200, deadline=None)
@given(vietnamese_like)
def test_property_normalisation_is_idempotent(text):
    once = normalize(text)
    assert normalize(once) == once
    assert unicodedata.is_normalized("NFC", once)


# -- matching policy: what a user types must meet what the document says -------------------


@pytest.mark.parametrize(
    "a, b",
    [
        ("hoà", "hòa"),
        ("thuỷ", "thủy"),
        ("khoẻ", "khỏe"),
        ("HOÀ", "HÒA"),
        ("THUỶ", "THỦY"),
        ("Hoà Bình", NFD("Hòa Bình")),
        ("Đảng", "\u00d0ảng"),
        ("tổ chức", "tổ\u00adchức".replace("\u00ad", " ")),
    ],
)
def test_spelling_variants_analyse_the_same(a, b):
    assert normalize(a) == normalize(b)
    assert [t.word for t in analyze(a).tokens] == [t.word for t in analyze(b).tokens]


def test_new_tone_placement_is_the_one_kept():
    assert normalize("hòa thủy khỏe HÒA") == "hoà thuỷ khoẻ HOÀ"
    # "qu" + y is a consonant and a vowel: the tone stays on the y.
    assert normalize("quý quỳ") == "quý quỳ"
    # Only open syllables differ between conventions.
    assert normalize("hoàng toán") == "hoàng toán"


@pytest.mark.parametrize(
    "typed, written",
    [
        ("to chuc", "tổ chức"),
        ("TO CHUC", "TỔ CHỨC"),
        ("dang", "đảng"),
        ("Da Nang", "Đà Nẵng"),
        ("hoa binh", "hòa bình"),
        ("thuy loi", "thủy lợi"),
    ],
)
def test_folding_meets_text_typed_without_diacritics(typed, written):
    folded_syllables = [s.folded for t in analyze(written).tokens for s in t.syllables]
    assert folded_syllables == [s.text for t in analyze(typed).tokens for s in t.syllables]


def test_folding_maps_d_with_stroke_to_d():
    assert fold("đ Đ") == "d D"
    assert fold(normalize("\u00d0")) == "D"


def test_lower_case_queries_meet_title_case_text():
    lower = [s.text for t in analyze("tổ chức tỉnh ủy").tokens for s in t.syllables]
    title = [s.text for t in analyze("Tổ chức Tỉnh ủy").tokens for s in t.syllables]
    assert lower == title == ["tổ", "chức", "tỉnh", "uỷ"]


def test_folding_alone_conflates_different_words():
    # ma / má / mà fold together, which is why exact forms are indexed too.
    exact = {s.text for t in analyze("ma má mà").tokens for s in t.syllables}
    folded = {s.folded for t in analyze("ma má mà").tokens for s in t.syllables}
    assert exact == {"ma", "má", "mà"} and folded == {"ma"}
