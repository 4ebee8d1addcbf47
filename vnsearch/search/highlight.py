"""Snippets: the best passages of a hit, every match highlighted, spans in code points.

Matching is done on syllables found with pyvi's own pre-tokeniser over the normalised text and
mapped back to the stored text, so it costs no CRF call and offsets are exact. Passages are cut
only at syllable boundaries (never inside a word or a number such as ``1.000.000`` or
``60,52%``), and control characters are replaced so nothing raw reaches a terminal.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from vnsearch.text.analysis import (
    _pretoken_syllables,
    fold_syllable,
    folded_spellings,
    syllable_form,
    syllable_spans,
)
from vnsearch.text.normalize import (
    clean_for_display,
    fold,
    letter_marks,
    normalize_with_map,
)
from vnsearch.text.segmenter import PRETOKEN_RE

SNIPPET_CHARS = 220
MAX_PASSAGES = 2
_WORD_RE = re.compile(r"[^\W_]+")


@dataclass
class Highlight:
    field: str
    text: str
    spans: list[tuple[int, int]]

    def to_dict(self) -> dict:
        return {"field": self.field, "text": self.text, "spans": [list(s) for s in self.spans]}


@dataclass(frozen=True)
class MatchRules:
    """What a query matches beyond its plain syllables: query words that stand for many
    syllables, ``*``/``?`` patterns (lower-cased; one without diacritics matches syllables
    folded, as the query does) and fuzzy words with their maximum edit distance (the first
    letter fixed, as in the query); and ``phrases`` (folded syllables), whose syllables in
    ``phrase_only`` (folded) match only where the whole phrase does."""

    wildcards: tuple[str, ...] = ()
    fuzzy: tuple[tuple[str, int], ...] = ()
    phrases: tuple[tuple[str, ...], ...] = ()
    phrase_only: frozenset[str] = frozenset()

    @property
    def expands(self) -> bool:
        """Whether some query word stands for many syllables (wildcards, fuzzy words)."""
        return bool(self.wildcards or self.fuzzy)

    def matches(self, syllable: str) -> bool:
        folded = _fold_cached(syllable)
        for pattern, regex in _wildcard_res(self.wildcards):
            if regex.fullmatch(folded if pattern.isascii() else syllable):
                return True
        for word, dist in self.fuzzy:
            if _within(syllable, word, dist) or _within(folded, _fold_cached(word), dist):
                return True
        return False

    def alternatives(self) -> tuple[str, ...]:
        """Regex alternatives that find candidates in the folded, lower-cased text."""
        alts = [_pattern_re(fold(p)) for p in self.wildcards]
        alts += [re.escape(_fold_cached(w)[:1]) + r"[^\W_]*" for w, _ in self.fuzzy if w]
        return tuple(alts)


def match_rules(terms) -> MatchRules:
    """The :class:`MatchRules` of a parsed query's :class:`~vnsearch.search.parse.QueryTerms`."""
    typed = Counter(_fold_cached(s) for s in terms.syllables)
    in_phrases = Counter(k for p in terms.phrases for k in p)
    # A syllable also typed outside the phrases matches anywhere.
    only = frozenset(k for k, n in in_phrases.items() if n >= typed[k])
    return MatchRules(tuple(terms.wildcards), tuple(terms.fuzzy), tuple(terms.phrases), only)


def _pattern_re(pattern: str) -> str:
    return "".join(
        r"[^\W_]*" if c == "*" else r"[^\W_]" if c == "?" else re.escape(c) for c in pattern
    )


@lru_cache(maxsize=256)
def _wildcard_res(patterns: tuple[str, ...]):
    return [(p, re.compile(_pattern_re(p))) for p in patterns]


def _within(a: str, b: str, dist: int) -> bool:
    """Whether ``a`` is at most ``dist`` edits from ``b`` with the same first letter."""
    if not a or not b or a[0] != b[0] or abs(len(a) - len(b)) > dist:
        return False
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        if min(cur) > dist:
            return False
        prev = cur
    return prev[-1] <= dist


def _chunk_syllables(nm, lower: str, chunks):
    """``syllable_spans`` restricted to some chunks ``(start, end)`` of the normalised text."""
    identity = nm.offsets is None
    for cs, ce in chunks:
        for m in PRETOKEN_RE.finditer(nm.text, cs, ce):
            base = m.start()
            tok = m.group()
            pieces = ((0, len(tok)),) if tok.isalnum() else _pretoken_syllables(tok)
            for a, b in pieces:
                a += base
                b += base
                syl = syllable_form(lower[a:b])
                if identity:
                    yield a, b, syl
                else:
                    s, e = nm.to_original(a, b)
                    yield s, e, syl


_folded: dict[str, str] = {}


def _fold_cached(syllable: str) -> str:
    f = _folded.get(syllable)
    if f is None:
        if len(_folded) > 200_000:
            _folded.clear()
        f = _folded[syllable] = fold_syllable(syllable)
    return f


_FOLD_TABLE: dict[int, str] | None = None


def _fold_table() -> dict[int, str]:
    """``str.translate`` table folding each precomposed Latin letter to its ASCII base letter
    (length-preserving, so offsets in the folded text are offsets in the original)."""
    global _FOLD_TABLE
    if _FOLD_TABLE is None:
        table = {}
        for cp in list(range(0xC0, 0x250)) + list(range(0x1E00, 0x1F00)):
            base = fold(chr(cp)).lower()
            if len(base) == 1 and base.isascii():
                table[cp] = base
        _FOLD_TABLE = table
    return _FOLD_TABLE


_FOLD_CODES = None  # _fold_table as an array indexed by code point (below _FOLD_LIMIT)
_FOLD_LIMIT = 0x1F00


def _fold_text(lower: str) -> str:
    """``lower.translate(_fold_table())``, by one array lookup per code point: ``translate``
    with a dict costs a dictionary lookup per character, a few times more on long bodies."""
    global _FOLD_CODES
    if _FOLD_CODES is None:
        codes = np.arange(_FOLD_LIMIT, dtype=np.uint32)
        for cp, base in _fold_table().items():
            codes[cp] = ord(base)
        _FOLD_CODES = codes
    points = np.frombuffer(lower.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    mapped = np.where(points < _FOLD_LIMIT, _FOLD_CODES[np.minimum(points, _FOLD_LIMIT - 1)],
                      points)
    return mapped.astype("<u4").tobytes().decode("utf-32-le", "surrogatepass")


@lru_cache(maxsize=256)
def _candidates_re(keys: frozenset[str], extra: tuple[str, ...] = ()):
    """Whitespace-delimited chunks of folded text holding a possible match of ``keys`` (or of
    the ``extra`` regex alternatives)."""
    alts = "|".join([re.escape(k) for k in sorted(keys, key=len, reverse=True)] + list(extra))
    return re.compile(rf"(?<!\S)\S*?(?<![0-9a-z])(?:{alts})(?![0-9a-z])\S*")


def find_matches(text: str, syllables: set[str], folded: set[str],
                 rules: MatchRules | None = None) -> list[tuple[int, int]]:
    """Spans of syllables of ``text`` that match the query: exactly, after folding for
    query syllables typed without diacritics, or by the ``rules`` (wildcards, fuzzy words;
    a syllable typed only in a phrase only where the phrase is). Adjacent matches are merged
    into one span."""
    return _matches(text, syllables, folded, rules, fold_missing=False)


def find_matches_in_hit(text: str, syllables: set[str], folded: set[str],
                        rules: MatchRules | None = None, missing: set[str] | None = None,
                        pieces: list | None = None):
    """:func:`find_matches`, plus, for each query syllable that the hit lacks (``missing``; by
    default those ``text`` lacks), the syllables it matched without diacritics (the ranking
    counts those): the ones carrying every mark that was typed (``đien`` → ``điện``, not
    ``diễn``; ``chuc`` → ``chức``), else all that fold the same (``mà`` → ``má``).
    ``pieces``: ``text``'s candidate syllables for these query sets, if already found."""
    return _matches(text, syllables, folded, rules, fold_missing=True, missing=missing,
                    pieces=pieces)


def hit_highlights(texts: dict[str, str], syllables: set[str], folded: set[str],
                   rules: MatchRules | None = None) -> list[Highlight]:
    """The highlights of a search hit's fields (``texts``: field → text). A word found as typed
    somewhere in the hit is not stood in for elsewhere by words that only fold like it ("mà"
    in the body: "Má" in the title is another word). Each text is scanned once."""
    pieces, missing = _hit_pieces(texts, syllables, folded, rules)
    out = []
    for field, text in texts.items():
        h = highlight_field(field, text, syllables, folded, fold_missing=True, rules=rules,
                            missing=missing, pieces=pieces.get(field))
        if h is not None:
            out.append(h)
    return out


def whole_text_highlights(texts: dict[str, str], syllables: set[str], folded: set[str],
                          rules: MatchRules | None = None) -> list[Highlight]:
    """Each non-empty text of a hit whole (line breaks kept, control characters blanked, NFC)
    with every match a search hit shows (:func:`hit_highlights`), for reading a document."""
    pieces, missing = _hit_pieces(texts, syllables, folded, rules)
    out = []
    for field, text in texts.items():
        if text:
            spans = find_matches_in_hit(text, syllables, folded, rules, missing, pieces[field])
            out.append(Highlight(field, *nfc_with_spans(clean_for_display(text), spans)))
    return out


def _hit_pieces(texts, syllables, folded, rules):
    """Each text's candidate syllables, and the query syllables found as typed in none."""
    keys = syllables | folded
    pieces = {f: list(_candidate_syllables(t, keys, rules)) for f, t in texts.items() if t}
    present = {syl for ps in pieces.values() for _, _, syl in ps if syl in syllables}
    return pieces, syllables - present


def _matches(text, syllables, folded, rules, fold_missing: bool,
             missing: set[str] | None = None, pieces: list | None = None
             ) -> list[tuple[int, int]]:
    if pieces is None:
        pieces = list(_candidate_syllables(text, syllables | folded, rules))
    expands = rules is not None and rules.expands
    hits = [i for i, (_, _, syl) in enumerate(pieces)
            if syl in syllables or (folded and _fold_cached(syl) in folded)
            or (expands and rules.matches(syl))]  # fmt: skip
    if fold_missing:
        if missing is None:
            missing = syllables - {syl for _, _, syl in pieces if syl in syllables}
        for lacking in missing:
            key = _fold_cached(lacking)
            if key in folded:
                continue  # already matched by folding
            near = [i for i, (_, _, syl) in enumerate(pieces) if _fold_cached(syl) == key]
            typed = [i for i in near if _carries_marks_of(pieces[i][2], lacking)]
            hits += typed or near
    hits = sorted(set(hits))
    glued: set[int] = set()
    if rules is not None and rules.phrases:
        hits, glued = _in_phrases(text, pieces, hits, rules)
    out: list[tuple[int, int]] = []
    for k, i in enumerate(hits):
        s, e = pieces[i][:2]
        if out and ((i - 1 in glued and hits[k - 1] == i - 1)
                    or _only_space_between(text, out[-1][1], s)):
            out[-1] = (out[-1][0], e)  # one phrase ("22/7"), or words a space apart
        else:
            out.append((s, e))
    return out


def _in_phrases(text: str, pieces, hits: list[int], rules: MatchRules):
    """``hits`` without the phrase-only syllables that are not part of a whole phrase (every
    syllable of it a hit, nothing but punctuation and spaces between them), and the pieces
    glued to the next one by a phrase."""
    keys = [_fold_cached(syl) for _, _, syl in pieces]
    is_hit = set(hits)
    linked = [
        not any(c.isalnum() for c in text[pieces[i][1] : pieces[i + 1][0]])
        for i in range(len(pieces) - 1)
    ]
    whole: set[int] = set()
    glued: set[int] = set()
    for phrase in rules.phrases:
        n = len(phrase)
        for i in range(len(pieces) - n + 1):
            if (tuple(keys[i : i + n]) == phrase and all(linked[i : i + n - 1])
                    and all(j in is_hit for j in range(i, i + n))):
                whole.update(range(i, i + n))
                glued.update(range(i, i + n - 1))
    return [i for i in hits if keys[i] not in rules.phrase_only or i in whole], glued


def _carries_marks_of(found: str, typed: str) -> bool:
    """Whether ``found`` is ``typed`` with (perhaps) more diacritics, letter by letter."""
    if len(found) != len(typed):
        return False
    for f, t in zip(found, typed):
        if f != t:
            (fb, fm), (tb, tm) = letter_marks(f), letter_marks(t)
            if fb != tb or not tm <= fm:
                return False
    return True


def _candidate_syllables(text: str, query: set[str], rules: MatchRules | None = None):
    """``(start, end, lower-cased normalised syllable)`` for the syllables of ``text`` that may
    match ``query`` (a superset: callers filter).

    Only the whitespace-separated chunks where a regex over the diacritic-free text finds a
    possible match are split into syllables (no syllable contains whitespace), so long
    documents cost one C-speed scan instead of a Python loop over every syllable."""
    keys = frozenset(s for x in query if x for s in folded_spellings(_fold_cached(x.lower())))
    extra = rules.alternatives() if rules is not None and rules.expands else ()
    if not keys and not extra:
        return ()
    nm = normalize_with_map(text)
    norm = nm.text
    lower = norm.lower()
    if len(lower) != len(norm):
        return syllable_spans(text)  # rare letters that change length when lower-cased
    flat = _fold_text(lower)
    found = [m.span() for m in _candidates_re(keys, extra).finditer(flat)]
    if not found:
        return ()
    return _chunk_syllables(nm, lower, found)


def _only_space_between(text: str, a: int, b: int) -> bool:
    return b - a <= 2 and not text[a:b].strip()


#: The longest run without whitespace a passage edge walks over to avoid cutting a word.
_MAX_WORD = 64


def _passage(text: str, spans, start_span: int, starts=None, ends=None):
    """The window of about SNIPPET_CHARS starting before ``spans[start_span]``, and the spans
    inside it (``starts``/``ends``: the spans' sorted edges, to find them by bisection)."""
    s0 = spans[start_span][0]
    start = max(0, s0 - 40)
    end = min(len(text), start + SNIPPET_CHARS)
    # Snap to whitespace so no word or number is cut. Every search is bounded to a few dozen
    # characters around the window (a search back to the text's start, for each match, made
    # one long line with thousands of matches take minutes).
    if start > 0:
        ws = text.rfind(" ", max(0, s0 - 80), start + 1)
        nl = text.rfind("\n", max(0, s0 - 80), start + 1)
        cut = max(ws, nl)
        start = cut + 1 if cut >= 0 and s0 - cut < 80 else start
        if start > s0:
            start = s0
        stop = max(0, start - _MAX_WORD)
        while start > stop and not text[start - 1].isspace():
            start -= 1
    if end < len(text):
        cut = max(text.rfind(" ", start, end), text.rfind("\n", start, end))
        if cut > s0:
            end = cut
        else:
            stop = min(len(text), end + _MAX_WORD)
            while end < stop and not text[end].isspace():
                end += 1
    if starts is None:
        inside = [(a, b) for a, b in spans if a >= start and b <= end]
    else:  # spans are sorted and do not overlap
        inside = spans[bisect_left(starts, start) : bisect_right(ends, end)]
    return start, end, inside


def best_passages(text: str, spans: list[tuple[int, int]], n: int = MAX_PASSAGES):
    """Pick up to ``n`` non-overlapping passages with the most distinct matched syllables,
    then the most matches, then the fewest spans (the query's words side by side)."""
    if not spans:
        return []
    candidates = []
    starts = [a for a, _ in spans]
    ends = [b for _, b in spans]
    # Syllables of each span: "xây dựng" is one span but two matched syllables.
    keys = {(a, b): _WORD_RE.findall(text[a:b].lower()) for a, b in spans}
    for i in range(len(spans)):
        start, end, inside = _passage(text, spans, i, starts, ends)
        distinct = len({w for x in inside for w in keys[x]})
        matched = sum(len(keys[x]) for x in inside)
        candidates.append((-distinct, -matched, len(inside), start, end, inside))
    candidates.sort()
    chosen: list[tuple[int, int, list]] = []
    for _, _, _, start, end, inside in candidates:
        if all(end <= s or start >= e for s, e, _ in chosen):
            chosen.append((start, end, inside))
        if len(chosen) == n:
            break
    chosen.sort()
    return chosen


def highlight_field(field: str, text: str, syllables: set[str], folded: set[str],
                    whole: bool = False, fold_missing: bool = False,
                    rules: MatchRules | None = None,
                    missing: set[str] | None = None, pieces: list | None = None
                    ) -> Highlight | None:
    """The highlight of one field: the whole (short) text, or its best passages.

    ``fold_missing``: match as :func:`find_matches_in_hit` (a search hit, which lacks the
    ``missing`` syllables), not only exactly."""
    if not text:
        return None
    if fold_missing:
        spans = find_matches_in_hit(text, syllables, folded, rules, missing, pieces)
    else:
        spans = find_matches(text, syllables, folded, rules)
    if not spans:
        return None
    if whole or len(text) <= SNIPPET_CHARS:
        clean = clean_for_display(text.replace("\n", " "))
        return Highlight(field, *nfc_with_spans(clean, spans))
    parts: list[str] = []
    out_spans: list[tuple[int, int]] = []
    pos = 0
    passages = best_passages(text, spans)
    for k, (start, end, inside) in enumerate(passages):
        prefix = " … " if k > 0 else ("… " if start > 0 else "")
        piece = text[start:end]
        parts.append(prefix + piece)
        offset = pos + len(prefix) - start
        out_spans += [(a + offset, b + offset) for a, b in inside]
        pos += len(prefix) + len(piece)
    tail = " …" if passages and passages[-1][1] < len(text) else ""
    snippet = clean_for_display(("".join(parts) + tail).replace("\n", " "))
    return Highlight(field, *nfc_with_spans(snippet, out_spans))


def lead_snippet(text: str, chars: int = SNIPPET_CHARS) -> str:
    """The start of ``text`` for a hit without matches, cut at whitespace, not in a word."""
    flat = " ".join(text.split())
    if len(flat) > chars:
        cut = flat.rfind(" ", 0, chars + 1)
        flat = (flat[:cut] if cut > 0 else flat[:chars]) + " …"
    return unicodedata.normalize("NFC", clean_for_display(flat))


def nfc_with_spans(text: str, spans):
    """``text`` in NFC with ``spans`` moved along (documents may be stored decomposed; the
    contract's spans point into NFC text). Each piece between span edges is composed alone:
    edges fall on syllable boundaries, which never split a letter from its marks."""
    if unicodedata.is_normalized("NFC", text):
        return text, spans
    out, new_spans, pos = [], [], 0
    for a, b in spans:
        out.append(unicodedata.normalize("NFC", text[pos:a]))
        start = sum(map(len, out))
        out.append(unicodedata.normalize("NFC", text[a:b]))
        new_spans.append((start, start + len(out[-1])))
        pos = b
    out.append(unicodedata.normalize("NFC", text[pos:]))
    return "".join(out), new_spans


def query_sets(query_syllables: list[str]) -> tuple[set[str], set[str]]:
    """Exact syllables, and the folded forms that match any reading: those of a query typed
    wholly without diacritics. In a query with some, a word without them is that word ("vay"
    in "ngân hàng cho vay" is not "vậy"); a hit lacking it shows its readings instead (see
    :func:`find_matches_in_hit`)."""
    exact = set(query_syllables)
    folded = set(exact) if all(fold(s) == s for s in exact) else set()
    return exact, folded
