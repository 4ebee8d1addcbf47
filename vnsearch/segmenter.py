"""pyvi's word segmentation, reproduced with offsets and without scikit-learn.

``pyvi.ViTokenizer.tokenize`` returns one string with syllables joined by ``_``: no offsets, a
quadratic string build, and an import that pulls in scikit-learn (~1 s) and writes the model to a
temp file in every process. Here we read the same CRF model bytes out of pyvi's pickle, open them
in python-crfsuite in memory, pre-tokenise with pyvi's own regular expression via ``finditer``
(so each pre-token keeps its position), compute pyvi's exact features (each per-token value once)
and apply pyvi's join rule. ``tests/test_segmenter.py`` checks the output against
``ViTokenizer.tokenize`` on real text.
"""

from __future__ import annotations

import io
import os
import pickle
import re
import string
import threading
from functools import lru_cache

__all__ = ["PRETOKEN_RE", "segment", "model_version"]

# pyvi 0.1.1's sylabelize() pattern, verbatim (order matters: first alternative wins).
_patterns = [
    r"[A-ZĐ]+\.", r"Tp\.", r"Mr\.", r"Mrs\.", r"Ms\.", r"Dr\.", r"ThS\.",  # abbreviations
    r"==>", r"->", r"\.\.\.", r">>", "\n",  # specials
    r"\w+://[^\s]+",  # web
    r"([a-zA-Z0-9_.+-]+@([a-zA-Z0-9-]+\.)+[a-zA-Z0-9-]+)",  # email
    r"\d+([\.,_]\d+)+",  # numbers with separators
    r"[^\w\s]",  # single non-word character
    r"\w+",  # word
]
PRETOKEN_RE = re.compile("(" + "|".join(_patterns) + ")", re.UNICODE)

_PUNCT = string.punctuation
_lock = threading.Lock()


def _pyvi_dir() -> str:
    import importlib.util

    spec = importlib.util.find_spec("pyvi")
    if spec is None or not spec.submodule_search_locations:
        from .errors import VnsearchError

        raise VnsearchError("pyvi is not installed: pip install pyvi")
    return list(spec.submodule_search_locations)[0]


class _Stub:
    """Stands in for sklearn/numpy classes inside pyvi's pickle; keeps only the state."""

    def __init__(self, *args, **kwargs):
        self.state = None

    def __setstate__(self, state):
        self.state = state


class _ModelUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) == ("_codecs", "encode"):
            import codecs

            return codecs.encode
        return _Stub


class _Model:
    def __init__(self) -> None:
        import pycrfsuite

        base = os.path.join(_pyvi_dir(), "models")
        with open(os.path.join(base, "pyvi3.pkl"), "rb") as f:
            crf = _ModelUnpickler(io.BytesIO(f.read())).load()
        model_bytes = crf.state["modelfile"].state["__FILE_RESOURCE_DATA__"]
        if isinstance(model_bytes, str):  # pickled by Python 2
            model_bytes = model_bytes.encode("latin1")
        self.model_bytes = model_bytes
        self.tagger = pycrfsuite.Tagger()
        self.tagger.open_inmemory(model_bytes)
        bi, tri = set(), set()
        with open(os.path.join(base, "words.txt"), encoding="utf-8") as f:
            for line in f.read().split("\n"):
                n = len(line.split(" "))
                if n == 2:
                    bi.add(line)
                elif n == 3:
                    tri.add(line)
        self.bi_grams = frozenset(bi)
        self.tri_grams = frozenset(tri)


@lru_cache(maxsize=1)
def _model() -> _Model:
    return _Model()


def load_model() -> None:
    """Load the CRF model now (before forking workers, so they share it)."""
    _model()


def model_version() -> str:
    """A short fingerprint of the segmentation model, stored in the index."""
    import hashlib

    return hashlib.sha1(_model().model_bytes).hexdigest()[:12]


def _features(toks: list[str], m: _Model) -> list[list[str]]:
    """pyvi's word2features for every token, as crfsuite attribute lists (True → present)."""
    n = len(toks)
    low = [t.lower() for t in toks]
    title = [t.istitle() for t in toks]
    upper = [t.isupper() for t in toks]
    bi = [f"{low[k]} {low[k + 1]}" in m.bi_grams for k in range(n - 1)]
    tri = [f"{low[k]} {low[k + 1]} {low[k + 2]}" in m.tri_grams for k in range(n - 2)]
    items = []
    for i in range(n):
        f = ["bias", "word.lower():" + low[i]]
        if upper[i]:
            f.append("word.isupper()")
        if title[i]:
            f.append("word.istitle()")
        if toks[i].isdigit():
            f.append("word.isdigit()")
        if i > 0:
            f.append("-1:word.lower():" + low[i - 1])
            if title[i - 1]:
                f.append("-1:word.istitle()")
            if upper[i - 1]:
                f.append("-1:word.isupper()")
            if bi[i - 1]:
                f.append("-1:word.bi_gram()")
            if i > 1 and tri[i - 2]:
                f.append("-2:word.tri_gram()")
        if i < n - 1:
            f.append("+1:word.lower():" + low[i + 1])
            if title[i + 1]:
                f.append("+1:word.istitle()")
            if upper[i + 1]:
                f.append("+1:word.isupper()")
            if bi[i]:
                f.append("+1:word.bi_gram()")
            if i < n - 2 and tri[i]:
                f.append("+2:word.tri_gram()")
        items.append(f)
    return items


def segment(text: str) -> list[list[tuple[int, int]]]:
    """Segment one line of NFC text into words; each word is a list of pre-token spans.

    Spans are ``(start, end)`` code-point offsets into ``text``. Text containing newlines is
    segmented line by line (pyvi glues ``\\n`` to words, and one CRF call on a long text is slow).
    """
    if "\n" in text:
        words: list[list[tuple[int, int]]] = []
        pos = 0
        for line in text.split("\n"):
            for w in segment(line):
                words.append([(s + pos, e + pos) for s, e in w])
            pos += len(line) + 1
        return words
    spans = [m.span() for m in PRETOKEN_RE.finditer(text)]
    if not spans:
        return []
    toks = [text[s:e] for s, e in spans]
    m = _model()
    words = [[spans[0]]]
    for i, joined in enumerate(_joins(toks, _labels(toks, m)), start=1):
        if joined:
            words[-1].append(spans[i])
        else:
            words.append([spans[i]])
    return words


# Longest pre-token sequence given to the CRF at once. pyvi tags a whole input as one sequence;
# a paragraph is far shorter than this, but a megabyte without a newline would need hundreds of
# megabytes of feature strings, so such a line is tagged in pieces cut after a sentence end.
MAX_SEQUENCE = 4000
_SENTENCE_END = frozenset(".!?;")


def _labels(toks: list[str], m: _Model) -> list[str]:
    """B_W/I_W for every pre-token, tagging at most :data:`MAX_SEQUENCE` at a time. Features
    at a cut still see their neighbours across it, as in one sequence."""
    n = len(toks)
    if n <= MAX_SEQUENCE:
        return _tag(_features(toks, m), m)
    labels: list[str] = []
    a = 0
    while a < n:
        b = min(n, a + MAX_SEQUENCE)
        if b < n:
            for k in range(b - 1, a + MAX_SEQUENCE // 2, -1):
                if toks[k] in _SENTENCE_END:
                    b = k + 1
                    break
        lo = max(0, a - 2)
        feats = _features(toks[lo : b + 2], m)[a - lo : a - lo + (b - a)]
        labels.extend(_tag(feats, m))
        a = b
    return labels


def _tag(feats: list[list[str]], m: _Model) -> list[str]:
    with _lock:  # a crfsuite Tagger is not thread-safe
        return m.tagger.tag(feats)


def _joins(toks: list[str], labels: list[str]) -> list[bool]:
    """pyvi's rule for gluing token i to token i-1 (for i >= 1)."""
    out = []
    for i in range(1, len(toks)):
        cur, prev = toks[i], toks[i - 1]
        out.append(
            labels[i] == "I_W"
            and cur not in _PUNCT
            and prev not in _PUNCT
            and not cur[0].isdigit()
            and not prev[0].isdigit()
            and not (cur[0].istitle() and not prev[0].istitle())
        )
    return out


def tokenize_like_pyvi(text: str) -> str:
    """``ViTokenizer.tokenize``'s output string, built from :func:`segment` (for comparison)."""
    import unicodedata

    nfc = unicodedata.normalize("NFC", text)
    spans = [m.span() for m in PRETOKEN_RE.finditer(nfc)]
    if not spans:
        return text
    # pyvi runs one sequence over the whole input, newlines included as tokens.
    toks = [nfc[s:e] for s, e in spans]
    m = _model()
    joins = _joins(toks, _tag(_features(toks, m), m))  # one sequence, however long, like pyvi
    return toks[0] + "".join(("_" if j else " ") + t for j, t in zip(joins, toks[1:]))
