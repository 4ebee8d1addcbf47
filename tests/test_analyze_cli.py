"""`vnsearch analyze TEXT [--json]`: what the analysis makes of a text, offsets included."""

import orjson
from click.testing import CliRunner

from vnsearch.cli import cli


def run(*args):
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_json_output_has_the_documented_shape_and_exact_offsets():
    text = "\ufeffBan Tổ chức Tỉnh ủy họp ngày 3/8"
    data = orjson.loads(run("analyze", text, "--json"))
    assert set(data) >= {"text", "normalized", "tokens"}
    assert data["text"] == text
    assert data["normalized"] == "Ban Tổ chức Tỉnh uỷ họp ngày 3/8"
    tokens = data["tokens"]
    for t in tokens:
        assert set(t) >= {"text", "start", "end", "syllables", "folded"}
        assert text[t["start"] : t["end"]] == t["text"]
    by_text = {t["text"]: t for t in tokens}
    assert by_text["Tổ chức"]["syllables"] == ["tổ", "chức"]
    assert by_text["Tổ chức"]["folded"] == "to_chuc"
    assert (by_text["Tổ chức"]["start"], by_text["Tổ chức"]["end"]) == (5, 12)
    assert by_text["Tỉnh ủy"]["syllables"] == ["tỉnh", "uỷ"]
    assert [t["text"] for t in tokens][-2:] == ["3", "8"]


def test_json_output_survives_undecodable_input():
    # Invalid UTF-8 in argv arrives as lone surrogates: still valid JSON, offsets unchanged.
    data = orjson.loads(run("analyze", "a\udcffb Đảng", "--json"))
    assert data["text"] == "a\ufffdb Đảng"
    assert [t["text"] for t in data["tokens"]][-1] == "Đảng"


def test_json_for_empty_text_has_no_tokens():
    assert orjson.loads(run("analyze", "  ", "--json"))["tokens"] == []


def test_human_output_shows_normalised_text_words_syllables_and_folded_forms():
    out = run("analyze", "Sức khỏe CỘNG ĐỒNG")
    lines = out.splitlines()
    assert lines[0] == "normalized: Sức khoẻ CỘNG ĐỒNG"
    assert len(lines) == 3
    assert lines[1].split()[:2] == ["0-8", "Sức"]
    assert "word=sức_khoẻ" in lines[1] and "syllables=[sức khoẻ]" in lines[1]
    assert "folded=suc_khoe" in lines[1]
    assert "word=cộng_đồng" in lines[2] and "folded=cong_dong" in lines[2]


def test_human_output_hides_control_characters():
    out = run("analyze", "a\x1b[31mb")
    assert "\x1b" not in out
