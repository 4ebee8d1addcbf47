"""The segmenter reproduces pyvi's ViTokenizer exactly, without scikit-learn or temp files."""

import gzip
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from vnsearch.text.segmenter import PRETOKEN_RE, segment, tokenize_like_pyvi

REPO = Path(__file__).resolve().parent.parent
SEED_DIR = REPO / "seeds"
BAOMOI = Path("/work/shared/data/baomoi-35k.jsonl.gz")


@pytest.fixture(scope="module")
def vi_tokenize():
    from pyvi import ViTokenizer  # slow import (scikit-learn): only in this module

    return ViTokenizer.tokenize


def seed_lines() -> list[str]:
    lines = []
    for path in sorted(SEED_DIR.glob("*.txt")):
        lines.extend(line for line in path.read_text(encoding="utf-8").split("\n") if line.strip())
    assert lines, "the repository ships seed articles"
    return lines


def generated_lines(n: int = 500) -> list[str]:
    """Lines built from the seed's sentences and syllables: recombined, re-cased, with
    numbers, codes and punctuation, so the comparison always runs on varied text."""
    rng = random.Random(20231)
    lines = seed_lines()
    sentences = [s.strip() for line in lines for s in re.split(r"(?<=[.;:!?])\s+", line) if s.strip()]
    syllables = [m.group() for line in lines for m in re.finditer(r"\w+", line)]
    extras = ["1/6/2023", "3/8", "60,52%", "COVID-19", "18-NQ/TW", "UBND.", "Tp.", "1.000.000",
              "(", ")", ",", ".", "...", "–", "ThS.", "https://baomoi.com/a_b", "ban@tinh.vn"]
    out = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            line = " ".join(rng.sample(sentences, k=min(3, len(sentences))))
        elif kind == 1:
            line = " ".join(rng.choice(syllables) for _ in range(rng.randint(3, 25)))
        elif kind == 2:
            words = rng.choice(sentences).split()
            at = rng.randrange(len(words) + 1)
            line = " ".join(words[:at] + [rng.choice(extras)] + words[at:])
        else:
            line = rng.choice(sentences)
        case = rng.random()
        if case < 0.15:
            line = line.upper()
        elif case < 0.3:
            line = line.lower()
        elif case < 0.4:
            line = line.title()
        out.append(line)
    return out


def baomoi_lines(n: int = 600) -> list[str]:
    lines = []
    with gzip.open(BAOMOI, "rt", encoding="utf-8") as f:
        for record in f:
            doc = json.loads(record)
            for field in ("title", "summary", "body"):
                for line in (doc.get(field) or "").split("\n"):
                    if line.strip():
                        lines.append(line[:3000])
            if len(lines) >= n:
                return lines[:n]
    return lines


def assert_same_as_pyvi(lines, vi_tokenize):
    different = [line for line in lines if tokenize_like_pyvi(line) != vi_tokenize(line)]
    assert not different, f"{len(different)} of {len(lines)} lines differ, e.g. {different[0]!r}"


def test_identical_to_pyvi_on_the_seed(vi_tokenize):
    assert_same_as_pyvi(seed_lines(), vi_tokenize)


def test_identical_to_pyvi_on_500_lines_built_from_the_seed(vi_tokenize):
    lines = generated_lines(500)
    assert len(set(lines)) >= 400
    assert_same_as_pyvi(lines, vi_tokenize)


@pytest.mark.skipif(not BAOMOI.exists(), reason="baomoi sample not available")
def test_identical_to_pyvi_on_500_real_news_lines(vi_tokenize):
    lines = baomoi_lines(600)
    assert len(lines) >= 500
    assert_same_as_pyvi(lines, vi_tokenize)


@pytest.mark.parametrize(
    "line",
    ["", "   ", "\n", "a_b c", "Tổ\nchức", "x@y.vn và https://a.vn/b_c", "1_000 và 1.000,5", "ÐẢNG"],
)
def test_identical_to_pyvi_on_odd_input(vi_tokenize, line):
    assert tokenize_like_pyvi(line) == vi_tokenize(line)


def test_words_are_spans_of_pretokens():
    text = "Ban Tổ chức Tỉnh ủy họp ngày 3/8."
    words = segment(text)
    surfaces = [" ".join(text[s:e] for s, e in w) for w in words]
    assert surfaces == ["Ban", "Tổ chức", "Tỉnh ủy", "họp", "ngày", "3", "/", "8", "."]
    assert [m.span() for m in PRETOKEN_RE.finditer(text)] == [span for w in words for span in w]


def test_newlines_split_segmentation_and_keep_offsets():
    text = "Tổ\nchức Đảng"
    assert [[text[s:e] for s, e in w] for w in segment(text)] == [["Tổ"], ["chức"], ["Đảng"]]


def test_empty_and_whitespace_give_no_words():
    assert segment("") == [] and segment(" \t ") == [] and segment("\n\n") == []


def test_long_lines_are_tagged_in_pieces_with_the_same_result(monkeypatch):
    import vnsearch.text.segmenter as seg

    text = " ".join(generated_lines(40))
    whole = seg.segment(text)
    monkeypatch.setattr(seg, "MAX_SEQUENCE", 50)
    assert seg.segment(text) == whole


def _run(code: str, env=None) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_analysis_does_not_import_scikit_learn_or_pyvi_tokenizer():
    out = _run(
        "import sys\n"
        "from vnsearch.text.analysis import analyze\n"
        "from vnsearch.text.segmenter import segment\n"
        "assert analyze('Tổ chức Đảng').tokens\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'sklearn_crfsuite',"
        " 'scipy') or m == 'pyvi.ViTokenizer'))\n"
    )
    assert out == "[]"


def test_loading_the_model_leaves_no_temp_file(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out = _run(
        "import os, tempfile\n"
        "d = tempfile.gettempdir()\n"
        "before = set(os.listdir(d))\n"
        "from vnsearch.text.segmenter import load_model, segment\n"
        "load_model()\n"
        "assert segment('Tổ chức Đảng')\n"
        "print(d, sorted(set(os.listdir(d)) - before))\n",
        env={"TMPDIR": str(tmp)},
    )
    assert out == f"{tmp} []"
