"""Vietnamese analysis: normalised, segmented, lower-cased, folded terms with exact offsets.

One analysis serves documents and queries:

1. :func:`vnsearch.text.normalize.normalize_with_map` (NFC, one tone placement, junk removed);
2. pyvi segmentation on the original case (:mod:`vnsearch.text.segmenter`), line by line;
3. lower-casing after segmenting, syllables split out of every word (phrases work on syllables
   even where segmentation differs), and diacritic-free forms of both.

Index terms per text field (see :mod:`vnsearch.codec.schema`): pyvi words, syllables with positions,
folded syllables, and folded adjacent-syllable pairs (proximity, and disambiguation of
queries typed without diacritics, where ``to chuc`` alone could be many words).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from functools import lru_cache

from vnsearch.text.normalize import Normalized, fold, normalize_with_map
from vnsearch.text.segmenter import PRETOKEN_RE, segment_line

__all__ = [
    "Syllable", "Token", "Analysis", "analyze", "index_terms", "IndexTerms", "syllables_of",
    "syllable_form", "fold_syllable", "folded_spellings",
]

_NUMBER_RE = re.compile(r"\d+(?:[.,_]\d+)+")
_SYLLABLE_RE = re.compile(r"[^\W_]+")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


#: Days, months and hours are written with and without a leading zero (``05/03/2023``,
#: ``5/3``, ``08:30``); pyvi splits them into separate numbers, so ``05`` is indexed and
#: queried as ``5`` and either form finds the other.
_LEADING_ZERO = {f"0{d}": str(d) for d in range(1, 10)}
_zero_get = _LEADING_ZERO.get


def syllable_form(syllable: str) -> str:
    """The index form of one syllable (or number) as written: lower-cased, ``07`` → ``7``."""
    return _zero_get(syllable) or syllable.lower()


def _encodable(text: str) -> str:
    """``text`` with lone surrogates (undecodable input bytes) as U+FFFD: same length, so
    offsets stay valid, and JSON/UTF-8 output cannot fail."""
    return _SURROGATE_RE.sub("\ufffd", text)


@dataclass(frozen=True, slots=True)
class Syllable:
    """One syllable (or number): ``text`` is its lower-cased normalised form."""

    text: str
    start: int
    end: int
    folded: str


@dataclass(frozen=True, slots=True)
class Token:
    """One pyvi word. ``text`` is the surface in the original string (``original[start:end]``);
    ``word`` is the index form: lower-cased normalised syllables joined by ``_``."""

    text: str
    start: int
    end: int
    word: str
    syllables: tuple[Syllable, ...]
    folded: str

    def to_dict(self) -> dict:
        d = asdict(self)
        d["text"] = _encodable(self.text)
        d["syllables"] = [s.text for s in self.syllables]
        return d


@dataclass(frozen=True)
class Analysis:
    """The result of :func:`analyze`: the original and normalised text, and the tokens."""

    text: str
    normalized: str
    tokens: list[Token]

    def to_dict(self) -> dict:
        return {
            "text": _encodable(self.text),
            "normalized": self.normalized,
            "tokens": [t.to_dict() for t in self.tokens],
        }


def _pretoken_syllables(tok: str) -> list[tuple[int, int]]:
    """Syllable spans inside one pre-token: a number stays whole, otherwise runs of letters and
    digits (``UBND.`` → ``UBND``; URLs, e-mails and ``a_b`` give their parts)."""
    if tok.isalnum():
        return [(0, len(tok))]
    if _NUMBER_RE.fullmatch(tok):
        return [(0, len(tok))]
    return [m.span() for m in _SYLLABLE_RE.finditer(tok)]


def _words(norm: str):
    """Yield the syllable spans in ``norm`` of each pyvi word that has any syllable."""
    pos = 0
    for line in norm.split("\n"):
        toks, spans, joins = segment_line(line)
        word: list[tuple[int, int]] = []
        for i, (tok, (s, _)) in enumerate(zip(toks, spans)):
            if i and not joins[i - 1] and word:
                yield word
                word = []
            s += pos
            if tok.isalnum():
                word.append((s, s + len(tok)))
            else:
                word.extend((s + a, s + b) for a, b in _pretoken_syllables(tok))
        if word:
            yield word
        pos += len(line) + 1


def _line_words(line: str) -> list[list[str]]:
    """The lower-cased syllables of each pyvi word of one line (the indexing fast path)."""
    toks, _, joins = segment_line(line)
    if not toks:
        return []
    # A pre-token of letters/digits is one syllable; others (punctuation, codes, e-mails, URLs)
    # are expanded below.
    lows = [syllable_form(t) if t.isalnum() else None for t in toks]
    bounds = [0, *(i for i, glued in enumerate(joins, 1) if not glued), len(toks)]
    words: list[list[str]] = []
    for a, b in zip(bounds, bounds[1:]):
        plain = [low for low in lows[a:b] if low is not None]
        if len(plain) == b - a:  # every pre-token one syllable
            words.append(plain)
            continue
        syls: list[str] = []
        for k in range(a, b):
            low = lows[k]
            if low is not None:
                syls.append(low)
            else:
                tok = toks[k]
                syls.extend(syllable_form(tok[x:y]) for x, y in _pretoken_syllables(tok))
        if syls:
            words.append(syls)
    return words


#: After a consonant, ``i`` and ``y`` are one vowel and both spellings are in use (``lý``/``lí``,
#: ``kỹ``/``kĩ``, ``Mỹ``/``Mĩ``, ``quý``/``quí``, ``công ty``/``công ti``). The diacritic-free
#: forms spell it ``i``, so either spelling finds the other; the exact forms keep what was
#: written, which ranks first. (``ay``, ``ây``, ``uy`` are other vowels and keep their ``y``.)
_CONSONANT = r"(?:[bcdghklmnprstvx]|ch|gh|kh|ng|ngh|nh|ph|qu|th|tr)"
_CONSONANT_Y_RE = re.compile(_CONSONANT + "y")
_CONSONANT_I_RE = re.compile(_CONSONANT + "i")


@lru_cache(maxsize=65536)
def fold_syllable(syllable: str) -> str:
    """The diacritic-free form of one lower-cased syllable: :func:`~vnsearch.text.normalize.fold`,
    with ``y`` after a consonant spelt ``i`` (``mỹ`` → ``mi``, ``tay`` → ``tay``)."""
    f = fold(syllable)
    if f[-1:] == "y" and _CONSONANT_Y_RE.fullmatch(f):
        return f[:-1] + "i"
    return f


def folded_spellings(key: str) -> list[str]:
    """The diacritic-free spellings in a text that :func:`syllable_form` and
    :func:`fold_syllable` turn into the folded ``key`` (``5``: ``5``, ``05``; ``mi``: ``mi``,
    ``my``), for finding a key in raw text."""
    if len(key) == 1 and "1" <= key <= "9":
        return [key, "0" + key]
    if key[-1:] == "i" and _CONSONANT_I_RE.fullmatch(key):
        return [key, key[:-1] + "y"]
    return [key]


def analyze(text: str) -> Analysis:
    """Analyse ``text`` with offsets into ``text`` itself (for highlighting and ``analyze``)."""
    nm: Normalized = normalize_with_map(text)
    norm = nm.text
    tokens = []
    for spans in _words(norm):
        syls = []
        for s, e in spans:
            low = syllable_form(norm[s:e])
            os_, oe = nm.to_original(s, e)
            syls.append(Syllable(low, os_, oe, fold_syllable(low)))
        start, end = syls[0].start, syls[-1].end
        word = "_".join(s.text for s in syls)
        folded = "_".join(s.folded for s in syls)
        tokens.append(Token(text[start:end], start, end, word, tuple(syls), folded))
    return Analysis(text, norm, tokens)


@dataclass
class IndexTerms:
    """Terms of one field value, in order: ``words`` (pyvi words) and ``syllables``.

    ``syllable_breaks`` holds the indexes in ``syllables`` where a new line or paragraph starts,
    so that adjacent-pair terms do not bridge paragraphs."""

    words: list[str]
    syllables: list[str]
    syllable_breaks: list[int]


def index_terms(text: str) -> IndexTerms:
    """The lower-cased words and syllables of ``text`` (no offsets: the indexing fast path)."""
    norm = normalize_with_map(text).text
    words: list[str] = []
    syllables: list[str] = []
    breaks: list[int] = []
    for line in norm.split("\n"):
        if not line.strip():
            continue
        if syllables:
            breaks.append(len(syllables))
        for syls in _line_words(line):
            syllables.extend(syls)
            words.append("_".join(syls))
    return IndexTerms(words, syllables, breaks)


def syllable_spans(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, lower-cased normalised syllable)`` for every syllable of ``text``."""
    nm = normalize_with_map(text)
    norm = nm.text
    low = norm.lower()  # Vietnamese letters keep their length when lower-cased
    lower = low if len(low) == len(norm) else None
    identity = nm.offsets is None
    to_original = nm.to_original
    out: list[tuple[int, int, str]] = []
    append = out.append
    for m in PRETOKEN_RE.finditer(norm):
        base = m.start()
        tok = m.group()
        pieces: list[tuple[int, int]] | tuple[tuple[int, int]]
        if tok.isalnum():  # most pre-tokens are one plain syllable
            pieces = ((0, len(tok)),)
        else:
            pieces = _pretoken_syllables(tok)
        for a, b in pieces:
            a += base
            b += base
            syl = syllable_form(lower[a:b] if lower is not None else norm[a:b])
            if identity:
                append((a, b, syl))
            else:
                s, e = to_original(a, b)
                append((s, e, syl))
    return out


def syllables_of(text: str) -> list[str]:
    """Lower-cased normalised syllables of ``text`` without segmentation (cheap)."""
    return [syllable for _, _, syllable in syllable_spans(text)]
