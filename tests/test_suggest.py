"""Did you mean: a suggestion is the user's own query with some words corrected.

The words are corrected from the index's vocabulary (diacritics restored, misspellings fixed);
everything else the user typed — quotes, operators, fields, excluded words, capitals, words
past the first few — stays as typed, so running the suggestion asks the same question.
"""

from __future__ import annotations

import pytest


def test_a_suggestion_keeps_phrases_exclusions_and_fields(corpus):
    assert corpus.search('"gia vang" -bac').suggestion == '"giá vàng" -bac'
    assert corpus.search("title:vàmg OR tag:kinh").suggestion == "title:vàng OR tag:kinh"


def test_a_suggestion_keeps_the_capitals_as_typed(corpus):
    assert corpus.search('"Hiep Hoi Kinh Doanh"').suggestion == '"Hiệp Hội Kinh Doanh"'
    assert corpus.search('"HIEP HOI"').suggestion == '"HIỆP HỘI"'


def test_a_suggestion_keeps_every_word_of_a_long_query(corpus):
    query = '"theo hiep hoi kinh doanh vang sang 15/7 gia vang mieng duoc niem yet"'
    suggestion = corpus.search(query).suggestion
    assert suggestion is not None and suggestion.startswith('"theo hiệp hội kinh doanh vàng')
    assert suggestion.endswith(' niem yet"')  # past the words it restores: as typed


@pytest.mark.parametrize("query", ["đ", "x", "ba", "vn", "http://x.vn", "e-mail"])
def test_one_and_two_letter_words_are_not_corrected_into_other_words(corpus, query):
    # "ba" (three) is a word even if this index lacks it; "ở" or "bộ" would be a guess.
    assert corpus.search(query).suggestion is None


def test_a_code_typed_without_its_đ_gets_it_back(tmp_path):
    # Abbreviations put đ anywhere: NĐ-CP (nghị định), QĐ (quyết định).
    from conftest import build

    from vnsearch import Document

    ix = build(tmp_path / "ix", [
        Document(id="nd", title="Nghị định 15/2023/NĐ-CP", body="Theo Quyết định 12/QĐ-UBND."),
    ])  # fmt: skip
    assert ix.search("15/2023/nd-cp").suggestion == "15/2023/nđ-cp"
    assert ix.search("12/qd-ubnd").suggestion == "12/qđ-ubnd"


def test_a_query_typed_partly_without_diacritics_gets_the_rest_back(corpus):
    # The accented words are kept and help choose the others ("dang" next to "xây dựng" is
    # "đảng"); a one-edit spelling fix would have made it "dựng" or "đang".
    assert corpus.search('"tổ chuc xay dung dang"').suggestion == '"tổ chức xây dựng đảng"'
    assert corpus.search('"to chức xây dựng"').suggestion == '"tổ chức xây dựng"'
    assert corpus.search('"vàmg mieng"').suggestion == '"vàng miếng"'  # and spelt right


@pytest.mark.parametrize("typed, meant", [("qúy", "quý"), ("gỉai", "giải"), ("QÚY", "QUÝ")])
def test_a_tone_mark_on_the_wrong_vowel_is_moved_not_replaced(corpus, typed, meant):
    # "qúy" is one edit from "quy" but means "quý" (đá quý): same letters, same tone.
    assert corpus.search(typed).suggestion == meant


def test_a_number_or_unknown_word_does_not_stop_the_others_being_restored(corpus):
    assert corpus.search('"gia vang mieng 2099"').suggestion == '"giá vàng miếng 2099"'
    assert corpus.search('"gia vang mieng xyzq"').suggestion == '"giá vàng miếng xyzq"'


def test_a_three_letter_word_is_not_guessed_into_another(tmp_path):
    # "bac" (bạc, bác, bắc...) is one edit from "ban" too; without a reading of it in the
    # index there is nothing to suggest.
    from conftest import build

    from vnsearch import Document

    ix = build(tmp_path / "ix", [Document(id="b", title="Ban chỉ đạo họp", body="Ban họp.")])
    assert ix.search("bac").suggestion is None


def test_a_suggestion_for_a_decomposed_query_is_nfc(corpus):
    import unicodedata

    query = unicodedata.normalize("NFD", '"giá vang miêng"')
    suggestion = corpus.search(query).suggestion
    assert suggestion == '"giá vàng miếng"' and unicodedata.is_normalized("NFC", suggestion)
