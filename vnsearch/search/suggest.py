""""Did you mean": corrections drawn from the index's own vocabulary.

Two cases users hit all the time: a query typed without diacritics (``to chuc dang`` →
``tổ chức đảng``), and a misspelt syllable. Diacritics are restored syllable by syllable from the
accented syllables that fold to the typed one, choosing the sequence whose adjacent pairs occur
most often as phrases in the index (``tổ chức đảng`` beats ``tổ chức đang``).
"""

from __future__ import annotations

import itertools
import math
import unicodedata
from functools import lru_cache

import numpy as np

from vnsearch.search.rank import scorer_for
from vnsearch.text.analysis import fold_syllable, syllable_spans
from vnsearch.text.forms import PAIRS, field_name
from vnsearch.text.normalize import TONE_MARKS, fold, letter_marks, normalize

CANDIDATES = 3
MAX_SYLLABLES = 8
MIN_CORRECTED = 4  # letters a syllable needs before it is spell-corrected ("bac" ≠ "ban")


_QUALITY = {"a": "aăâ", "e": "eê", "o": "oôơ", "u": "uư"}
_VOWELS = set("aeiouyăâêôơư")
_TONE_SET = frozenset(TONE_MARKS)
MAX_BASES = 64


@lru_cache(maxsize=4096)
def accented_variants(folded: str) -> tuple[str, ...]:
    """Every spelling with diacritics that folds to ``folded`` (a lower-case ASCII syllable),
    in the index's normal form: ``dang`` → dang, đang, đảng, dạng, ... (checked against the
    index's vocabulary by the caller, so the index need not be scanned)."""
    if not (folded.isascii() and folded.isalpha()) or len(folded) > 7:
        return (folded,)
    # A syllable starts with đ, but abbreviations have it anywhere (NĐ-CP, QĐ).
    choices = ["dđ" if c == "d" else _QUALITY.get(c, c) for c in folded]
    out = dict.fromkeys([folded])
    for base in itertools.islice(map("".join, itertools.product(*choices)), MAX_BASES):
        out[base] = None
        vowels = [i for i, c in enumerate(base) if c in _VOWELS]
        for tone in TONE_MARKS:
            for i in vowels:
                marked = unicodedata.normalize("NFC", base[: i + 1] + tone + base[i + 1 :])
                out[normalize(marked)] = None
    return tuple(out)


def _text_fields(scorer) -> list[str]:
    return [f for f in ("body", "title", "summary") if f in scorer.fields]


def _pair_count(scorer, a: str, b: str) -> int:
    """Documents where ``a b`` occur side by side, near enough: both syllables present and
    their diacritic-free pair adjacent (id intersections, no positions to decode)."""
    pair = f"{fold_syllable(a)}_{fold_syllable(b)}"
    total = 0
    for f in _text_fields(scorer):
        ids = [scorer.doc_ids(field_name(f, PAIRS), pair), scorer.doc_ids(f, a),
               scorer.doc_ids(f, b)]
        if any(x is None for x in ids):
            continue
        both = np.intersect1d(np.intersect1d(ids[0], ids[1], assume_unique=True), ids[2],
                              assume_unique=True)
        total += len(both)
    return total


def restore_diacritics(searcher, syllables: list[str]) -> list[str] | None:
    """The most likely accented form of ``syllables``, or None if none is known. Syllables
    typed with diacritics, numbers and words the index lacks in any form are kept as typed
    (the first help choose their neighbours)."""
    scorer = scorer_for(searcher)
    fields = _text_fields(scorer)
    cands = []
    known = False
    for s in syllables[:MAX_SYLLABLES]:
        options = []
        if fold(s) == s and s.isalpha():
            for v in accented_variants(s):
                df = sum(scorer.doc_frequency(f, v) for f in fields)
                if df:
                    options.append((df, v))
        known = known or bool(options)
        if not options:
            options = [(max(1, sum(scorer.doc_frequency(f, s) for f in fields)), s)]
        cands.append(sorted(options, reverse=True)[:CANDIDATES])
    if not known:
        return None
    # Beam search over candidates, scored by unigram df and how often pairs are adjacent.
    beams: list[tuple[float, list[str]]] = [(0.0, [])]
    for options in cands:
        new = []
        for score, seq in beams:
            for df, syl in options:
                sc = score + 0.1 * math.log1p(df)
                if seq:
                    sc += math.log1p(_pair_count(scorer, seq[-1], syl))
                new.append((sc, seq + [syl]))
        new.sort(key=lambda x: -x[0])
        beams = new[:CANDIDATES]
    return beams[0][1] if beams else None


_LETTERS = "abcdefghijklmnopqrstuvwxyzđ" + "".join(sorted(set(
    "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ")))


def _edits1(word: str) -> set[str]:
    """Every string one edit (delete, transpose, replace, insert) away, Vietnamese letters."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {a + b[1:] for a, b in splits if b}
    out |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    out |= {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
    out |= {a + c + b for a, b in splits for c in _LETTERS}
    out.discard(word)
    return out


def correct_spelling(searcher, syllables: list[str]) -> list[str] | None:
    """Replace syllables absent from the index by their closest indexed neighbour: the most
    frequent syllable one edit away (checked by dictionary lookups), else Whoosh's corrector
    for longer syllables (two edits)."""
    scorer = scorer_for(searcher)
    fields = _text_fields(scorer)

    def df(term: str) -> int:
        return sum(scorer.doc_frequency(f, term) for f in fields)

    changed = False
    out = []
    for s in syllables:
        if not s.isalpha() or df(s):  # numbers and codes are not misspellings
            out.append(s)
            continue
        moved = [(df(v), v) for v in accented_variants(fold(s)) if _tone_moved(v, s)]
        if moved and max(moved)[0]:  # "qúy" → "quý", not the one-edit "quy"
            out.append(max(moved)[1])
            changed = True
            continue
        if len(s) < MIN_CORRECTED:  # too short to guess from: "ba" is one edit from "bộ"
            out.append(s)
            continue
        near = {normalize(e) for e in _edits1(s)}
        found = sorted(((df(e), e) for e in near), reverse=True)
        best = found[0][1] if found and found[0][0] else None
        if best is None and _max_edits(s) > 1:
            for fld in fields:
                sug = searcher.corrector(fld).suggest(s, limit=1, maxdist=2)
                if sug:
                    best = sug[0]
                    break
        if best is None:
            out.append(s)
        else:
            out.append(best)
            changed = True
    return out if changed else None


def _marks(syllable: str) -> tuple[str, str]:
    """The vowel-quality marks in place, and the tone marks, of a syllable (NFD)."""
    quality, tones = [], []
    for ch in syllable:
        base, marks = letter_marks(ch)
        quality.append(base + "".join(sorted(marks - _TONE_SET)))
        tones += sorted(marks & _TONE_SET)
    return "".join(quality), "".join(tones)


def _tone_moved(candidate: str, typed: str) -> bool:
    """Whether ``candidate`` is ``typed`` with its tone mark on another vowel."""
    return candidate != typed.lower() and _marks(candidate) == _marks(typed)


def _max_edits(syllable: str) -> int:
    """Syllables are short: two edits turn "vàng" into "đảng", so allow two only from 6 letters."""
    return 1 if len(syllable) < 6 else 2


def suggest(searcher, query: str, terms) -> str | None:
    """A better query for ``query`` (whose analysed syllables are ``terms.syllables``): the
    query as typed, with the corrected syllables replaced in place."""
    syllables = terms.syllables
    if not syllables:
        return None
    restored = None
    if any(fold(s) == s and s.isalpha() for s in syllables):  # some typed without diacritics
        restored = restore_diacritics(searcher, syllables)
    if restored:
        # and the words still absent spelt right ("vàmg bac" → "vàng bạc"); words past the
        # restored ones stay as typed, not half restored by spelling
        proposal = (correct_spelling(searcher, restored) or restored) + syllables[len(restored):]
    else:
        proposal = correct_spelling(searcher, syllables) or syllables
    if proposal == syllables:
        return None
    text = _rewrite(query, syllables, proposal)
    return text if text.strip() != query.strip() else None


def _rewrite(query: str, syllables: list[str], proposal: list[str]) -> str:
    """``query`` with its ``syllables`` (in typed order) replaced by ``proposal``, the typed
    capitals kept; what is not one of them (quotes, operators, field names, excluded words)
    is left as typed."""
    out, pos, k = [], 0, 0
    for start, end, syl in syllable_spans(query):
        if k >= len(proposal):
            break
        if syl != syllables[k]:
            continue  # a field name, an excluded word, an operator
        new = proposal[k]
        k += 1
        if new == syl:
            continue
        typed = query[start:end]
        if typed.isupper():
            new = new.upper()
        elif typed[:1].isupper():
            new = new[:1].upper() + new[1:]
        out += [query[pos:start], new]
        pos = end
    if any(a != b for a, b in zip(syllables[k:], proposal[k:])):
        return " ".join(proposal)  # the typed text did not line up with the syllables
    out.append(query[pos:])
    return unicodedata.normalize("NFC", "".join(out))
