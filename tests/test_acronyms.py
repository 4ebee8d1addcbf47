"""Acronyms learned at index time: a full form followed by its acronym in parentheses
(vnsearch.text.acronyms), kept in the index, used by the ranking both ways; and a rare name
beside a long compound."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from vnsearch import Document, Index
from vnsearch.cli import cli
from vnsearch.text.acronyms import acronym_key, acronym_pairs


@pytest.mark.parametrize("text, pair", [
    ("Ban An toàn giao thông (ATGT) tỉnh", ("atgt", "an_toàn_giao_thông")),
    ("Ủy ban nhân dân (UBND) tỉnh Nghệ An", ("ubnd", "uỷ_ban_nhân_dân")),
    ("Hội đồng nhân dân (HĐND) khóa mới", ("hdnd", "hội_đồng_nhân_dân")),
    ("Hội đồng nhân dân (HDND)", ("hdnd", "hội_đồng_nhân_dân")),
    ("Sở Giáo dục và Đào tạo (GD&ĐT) Hà Nội", ("gddt", "giáo_dục_và_đào_tạo")),
    ("tại thành phố Hồ Chí Minh (TP.HCM)", ("tphcm", "thành_phố_hồ_chí_minh")),
    ("tại TP. Hồ Chí Minh (TP.HCM)", ("tphcm", "tp_hồ_chí_minh")),
    ("học sinh trường Trung học phổ thông (THPT) Quỳnh Lưu", ("thpt", "trung_học_phổ_thông")),
    ("đóng Bảo hiểm xã hội ( BHXH ) đầy đủ", ("bhxh", "bảo_hiểm_xã_hội")),
])
def test_a_full_form_followed_by_its_acronym_is_a_pair(text, pair):
    assert acronym_pairs(text) == [pair]


@pytest.mark.parametrize("text", [
    "Năm nay (2023) tỉnh đã",          # a year
    "Cầu Rồng về đêm (ảnh)",           # a lower-case word
    "Thủ đô Hà Nội (VN) đón khách",    # letters that are not the initials before it
    "chị Phạm Thị Huyền Tr. (SN 1997)",  # not an acronym
    "Tổ chức Y tế Thế giới (WHO)",     # an English acronym: the initials do not match
    "Theo nguồn (A) tin",              # one letter
    "Cảnh sát\ngiao thông (CSGT)",      # a full form does not continue over a line break
])
def test_near_misses_are_not_pairs(text):
    assert acronym_pairs(text) == []


def test_acronym_keys_ignore_dots_case_and_the_stroke_of_d():
    assert acronym_key("TP.HCM") == acronym_key("tphcm") == "tphcm"
    assert acronym_key("HĐND") == acronym_key("HDND") == "hdnd"
    assert acronym_key("GD&ĐT") == "gddt"


@pytest.fixture
def index(tmp_path):
    ix = Index.create(tmp_path / "ix")
    ix.add([
        Document(id="spelled", body="Ủy ban nhân dân (UBND) tỉnh vừa họp. UBND tỉnh quyết định."),
        Document(id="full", body="Ủy ban nhân dân tỉnh Quảng Nam ban hành kế hoạch mới."),
        Document(id="acronym", body="UBND tỉnh Quảng Nam ban hành kế hoạch mới."),
        Document(id="other", body="Hội nghị tỉnh Quảng Nam bàn kế hoạch."),
    ], jobs=1)
    return ix


def test_a_query_with_the_acronym_finds_the_full_form_typed_form_first(index):
    ids = [h.id for h in index.search("UBND Quảng Nam").hits]
    assert ids.index("acronym") < ids.index("full")
    assert "full" in ids[:3]


def test_a_query_with_the_full_form_finds_the_acronym_typed_form_first(index):
    ids = [h.id for h in index.search("ủy ban nhân dân Quảng Nam").hits]
    assert ids.index("full") < ids.index("acronym")
    assert ids.index("acronym") < ids.index("other")


def test_both_forms_are_highlighted(index):
    hit = next(h for h in index.search("UBND Quảng Nam").hits if h.id == "full")
    marked = [hl.text[a:b] for hl in hit.highlights for a, b in hl.spans]
    assert "Ủy ban nhân dân" in marked or {"Ủy", "ban", "nhân", "dân"} <= set(marked)


def test_stats_count_the_pairs_learned_and_analyze_shows_them(index):
    assert index.stats()["acronym_pairs"] == 1
    runner = CliRunner()
    out = runner.invoke(cli, ["analyze", "UBND", "--json", "--index", str(index.path)])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["acronyms"] == [
        {"acronym": "ubnd", "full": "uỷ_ban_nhân_dân", "documents": 1}]
    out = runner.invoke(cli, ["analyze", "ủy ban nhân dân", "--index", str(index.path)])
    assert "acronym: ubnd = uỷ ban nhân dân (1 documents)" in out.output


# -- names and compounds ------------------------------------------------------------------------
@pytest.fixture
def fire_index(tmp_path):
    ix = Index.create(tmp_path / "ix")
    ix.add([
        Document(id="compound", body="Cảnh sát phòng cháy chữa cháy diễn tập phòng cháy chữa cháy "
                                     "tại khu công nghiệp. Ảnh: THANH HÀ"),
        Document(id="name", body="Đại úy Thành, cảnh sát phòng cháy chữa cháy, kiểm tra các khu "
                                 "chợ trước Tết, nhắc tiểu thương cẩn thận."),
        Document(id="credit", body="Người lao động nhận lương tháng mười ba. Ảnh: THANH LONG"),
        *[Document(id=f"p{i}", body=f"Tin số {i}: đội phòng cháy chữa cháy của quận tập huấn.")
          for i in range(4)],
    ], jobs=1)
    return ix


def test_a_rare_name_beside_a_long_compound_counts(fire_index):
    # The compound repeated (and THANH in a photo credit) does not outweigh the name.
    for query in ("đại úy Thành phòng cháy chữa cháy", "phòng cháy chữa cháy ông Thành"):
        assert [h.id for h in fire_index.search(query).hits][0] == "name", query
