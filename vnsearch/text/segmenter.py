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

import codecs
import hashlib
import importlib.util
import io
import os
import pickle
import re
import string
import threading
import unicodedata
from functools import lru_cache

import pycrfsuite

from vnsearch.errors import VnsearchError

__all__ = ["PRETOKEN_RE", "pretokens", "segment", "segment_line", "model_version", "load_model"]

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


def _after_fork_in_child() -> None:
    """A worker forked while another thread of the parent was tagging (a server searching
    while it indexes) inherits ``_lock`` held, by a thread it does not have, and would wait
    for it forever: it gets a lock of its own, and a Tagger of its own if the one inherited
    was in use."""
    global _lock
    held = _lock.locked()
    _lock = threading.Lock()
    if held and _model.cache_info().currsize:
        m = _model()
        m.tagger = pycrfsuite.Tagger()
        m.tagger.open_inmemory(m.model_bytes)


os.register_at_fork(after_in_child=_after_fork_in_child)


def _pyvi_dir() -> str:
    spec = importlib.util.find_spec("pyvi")
    if spec is None or not spec.submodule_search_locations:
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
            return codecs.encode
        return _Stub


class _Model:
    def __init__(self) -> None:
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
    return hashlib.sha1(_model().model_bytes).hexdigest()[:12]


# Per-token feature strings, computed once per distinct token (news text repeats its syllables):
# (lower-cased token, own attributes, attributes as the previous token, as the next token).
_token_cache: dict[str, tuple[str, list[str], list[str], list[str]]] = {}
_TOKEN_CACHE_LIMIT = 200_000


def _token_parts(tok: str) -> tuple[str, list[str], list[str], list[str]]:
    low = tok.lower()
    title = tok.istitle()
    upper = tok.isupper()
    own = ["bias", "word.lower():" + low]
    prev = ["-1:word.lower():" + low]
    nxt = ["+1:word.lower():" + low]
    if upper:
        own.append("word.isupper()")
    if title:
        own.append("word.istitle()")
        prev.append("-1:word.istitle()")
        nxt.append("+1:word.istitle()")
    if upper:
        prev.append("-1:word.isupper()")
        nxt.append("+1:word.isupper()")
    if tok.isdigit():
        own.append("word.isdigit()")
    return low, own, prev, nxt


def _features(toks: list[str], m: _Model) -> list[list[str]]:
    """pyvi's word2features for every token, as crfsuite attribute lists (True → present,
    False → absent, which scores the same as crfsuite's weight 0), in pyvi's order."""
    cache = _token_cache
    parts = []
    for t in toks:
        p = cache.get(t)
        if p is None:
            if len(cache) >= _TOKEN_CACHE_LIMIT:
                cache.clear()
            p = cache[t] = _token_parts(t)
        parts.append(p)
    n = len(toks)
    low = [p[0] for p in parts]
    bi_grams, tri_grams = m.bi_grams, m.tri_grams
    bi = [f"{a} {b}" in bi_grams for a, b in zip(low, low[1:])]
    tri = [f"{a} {b} {c}" in tri_grams for a, b, c in zip(low, low[1:], low[2:])]
    bi.append(False)
    tri.extend((False, False))
    items = []
    for i in range(n):
        f = parts[i][1].copy()
        if i:
            f += parts[i - 1][2]
            if bi[i - 1]:
                f.append("-1:word.bi_gram()")
            if i > 1 and tri[i - 2]:
                f.append("-2:word.tri_gram()")
        if i < n - 1:
            f += parts[i + 1][3]
            if bi[i]:
                f.append("+1:word.bi_gram()")
            if tri[i]:
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
    toks, spans, joins = segment_line(text)
    if not toks:
        return []
    words = [[spans[0]]]
    for span, joined in zip(spans[1:], joins):
        if joined:
            words[-1].append(span)
        else:
            words.append([span])
    return words


_NON_SPACE_RE = re.compile(r"\S+")


def pretokens(line: str) -> tuple[list[str], list[tuple[int, int]]]:
    """pyvi's pre-tokens of one line (no ``\\n``) and their spans.

    Same result as ``PRETOKEN_RE.finditer(line)``, only faster: no pre-token contains
    whitespace, so each whitespace-separated chunk is matched on its own, and a chunk of
    letters and digits only (most of them) is one ``\\w+`` pre-token without trying the other
    alternatives."""
    toks: list[str] = []
    spans: list[tuple[int, int]] = []
    for chunk in _NON_SPACE_RE.finditer(line):
        text = chunk.group()
        if text.isalnum():
            toks.append(text)
            spans.append(chunk.span())
            continue
        base = chunk.start()
        for m in PRETOKEN_RE.finditer(text):
            toks.append(m.group())
            s, e = m.span()
            spans.append((base + s, base + e))
    return toks, spans


def segment_line(line: str) -> tuple[list[str], list[tuple[int, int]], list[bool]]:
    """Pre-tokens of one line (no ``\\n``), their spans, and for each pre-token after the
    first whether pyvi glues it to the one before (same word)."""
    toks, spans = pretokens(line)
    if not toks:
        return toks, spans, []
    return toks, spans, _joins(toks, _labels(toks, _model()))


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
    """pyvi's rule for gluing token i to token i-1 (for i >= 1): the CRF says I_W, neither is
    ASCII punctuation nor starts with a digit, and no capital follows a non-capital."""
    punct = _PUNCT
    out = []
    prev = toks[0]
    prev_ok = prev not in punct and not prev[0].isdigit()
    prev_title = prev[0].istitle()
    for cur, label in zip(toks[1:], labels[1:]):
        cur_ok = cur not in punct and not cur[0].isdigit()
        cur_title = cur[0].istitle()
        out.append(label == "I_W" and cur_ok and prev_ok and not (cur_title and not prev_title))
        prev_ok, prev_title = cur_ok, cur_title
    return out


def tokenize_like_pyvi(text: str) -> str:
    """``ViTokenizer.tokenize``'s output string, built from :func:`segment` (for comparison)."""
    nfc = unicodedata.normalize("NFC", text)
    spans = [m.span() for m in PRETOKEN_RE.finditer(nfc)]
    if not spans:
        return text
    # pyvi runs one sequence over the whole input, newlines included as tokens.
    toks = [nfc[s:e] for s, e in spans]
    m = _model()
    joins = _joins(toks, _tag(_features(toks, m), m))  # one sequence, however long, like pyvi
    return toks[0] + "".join(("_" if j else " ") + t for j, t in zip(joins, toks[1:]))
