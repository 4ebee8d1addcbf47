"""normalize_with_map: one normal form for documents and queries, and a map back to the text."""

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vnsearch.text.normalize import (
    fold,
    fold_char_preserving,
    normalize,
    normalize_with_map,
)


def NFD(s: str) -> str:
    return unicodedata.normalize("NFD", s)


def test_clean_nfc_text_takes_the_fast_path_with_an_identity_map():
    n = normalize_with_map("Ban Tổ chức Tỉnh ủy")
    assert n.offsets is None
    assert n.text == "Ban Tổ chức Tỉnh uỷ"  # same length: the tone moved, nothing shifted
    assert n.to_original(4, 11) == (4, 11)


@pytest.mark.parametrize(
    "original, expected",
    [
        (NFD("Tổ chức"), "Tổ chức"),
        ("\u00d0\u00f0", "Đđ"),
        ("a\u200bb\u200c\u200d\u2060\ufeffc\u00add", "abcd"),
        ("\u202eabc\u202c", "abc"),
        ("x\r\ny\rz\n", "x\ny\nz\n"),
        ("a\x00b\x1bc\x7fd\x85e\tf", "a b c d e\tf"),
        ("x\ud800y\udcffz", "x\ufffdy\ufffdz"),
        ("\u0301abc", "\u0301abc"),  # a mark with no base is kept, not glued to anything
        ("a\u200b\u0301", "á"),  # removed characters do not separate a letter from its mark
        ("\u1100\u200b\u1161", "\uac00"),  # Hangul jamo compose without combining marks
        ("\u212b", "\u00c5"),  # singleton decomposition (Angstrom sign)
        (NFD("hòa KHỎE thủy"), "hoà KHOẺ thuỷ"),
    ],
)
def test_normal_form(original, expected):
    assert normalize(original) == expected


def test_map_points_each_character_at_its_source():
    original = NFD("Tổ") + "\u200b chức\r\nĐảng"
    n = normalize_with_map(original)
    assert n.text == "Tổ chức\nĐảng"
    # "Tổ" came from 4 code points (T, o, circumflex, hook); the ZWSP after it is not included.
    assert n.to_original(0, 2) == (0, 4)
    assert original[slice(*n.to_original(3, 7))] == "chức"
    # The newline came from both characters of "\r\n".
    assert n.to_original(7, 8) == (10, 12)
    assert original[slice(*n.to_original(8, 12))] == "Đảng"
    assert n.to_original(12, 12) == (len(original), len(original))


def test_removed_characters_inside_a_span_stay_inside_it():
    original = "Thành\u00adphố"
    n = normalize_with_map(original)
    assert n.to_original(0, len(n.text)) == (0, len(original))


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(
            "aoeuyđĐÐðÒòỏọ\u0300\u0301\u0302\u0309\u0323\u031b\u200b\ufeff\u00ad\r\n\t\x00\x1b "
            "\ud800\u1100\u1161\u212b_q"
        ),
        max_size=40,
    )
)
def test_property_every_character_maps_to_a_source_that_normalises_to_it(text):
    n = normalize_with_map(text)
    assert unicodedata.is_normalized("NFC", n.text)
    for i, ch in enumerate(n.text):
        s, e = n.to_original(i, i + 1)
        assert 0 <= s < e <= len(text)
        if ch == "\n":
            assert text[s:e] in ("\n", "\r", "\r\n")
        elif unicodedata.combining(ch):
            assert ch in NFD(text[s:e])  # a mark left over from its cluster
        elif ch != " ":
            # Modulo the context-dependent tone move, the source normalises to this character.
            assert fold(ch) in fold(normalize(text[s:e]))


def test_terminal_escape_sequences_are_blanked_whole_not_glued_to_words():
    # Text scraped from a terminal keeps "ESC[31m": blanking only the ESC left "[31mkhẩn",
    # which pyvi reads as the one word "31mkhẩn", so "khẩn" could not be found.
    text = "Tin \x1b[31mkhẩn\x1b[0m \x1b]0;pwned\x07cấp"
    n = normalize_with_map(text)
    assert n.text.split() == ["Tin", "khẩn", "cấp"]
    at = n.text.index("khẩn")
    assert text[slice(*n.to_original(at, at + 4))] == "khẩn"


def test_fold_strips_every_vietnamese_diacritic():
    assert fold("Đảng Cộng sản Việt Nam") == "Dang Cong san Viet Nam"
    assert fold("ắằẳẵặ ấầẩẫậ ếềểễệ ốồổỗộ ớờởỡợ ứừửữự") == "aaaaa aaaaa eeeee ooooo ooooo uuuuu"
    assert fold("plain ascii") == "plain ascii"


def test_fold_char_preserving_keeps_length():
    text = "Đà Nẵng, İstanbul"
    folded = fold_char_preserving(text)
    assert len(folded) == len(text)
    assert folded == "Da Nang, Istanbul"
