"""One normalisation for documents and queries, with a map back to the original text.

Vietnamese text arrives in many byte-level disguises of the same words: NFD combining marks,
old vs new tone placement (``hòa``/``hoà``), the Icelandic eth ``Ð`` instead of ``Đ``,
zero-width spaces and soft hyphens from web editors, ``\\r\\n``. Search must see one form, while
highlighting must point into the text the user stored, so every function here that changes the
text also returns, for each output character, the index of the original character it came from.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["Normalized", "normalize", "normalize_with_map", "fold", "fold_char_preserving"]

# Removed outright: zero-width space/joiners, word joiner, BOM, soft hyphen, bidi marks.
_DELETE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f\u202a\u202b\u202c\u202d\u202e")
# Look-alikes mapped to the Vietnamese letter (one code point each, so offsets stay aligned).
_LOOKALIKE = {"\u00d0": "\u0110", "\u00f0": "\u0111", "\u0189": "\u0110"}

# Tone placement: pyvi's dictionary (and most of our matching) uses the "new" convention,
# tone mark on the main vowel: hoà, khoẻ, thuỷ. Old-style open syllables oa/oe/uy carry it on
# the first vowel (hòa, khỏe, thủy). Only open syllables differ (hoàng is the same in both), and
# "qu" + y is a consonant + vowel, not the uy glide, so it is left alone.
_TONES = "\u0300\u0301\u0309\u0303\u0323"  # huyền, sắc, hỏi, ngã, nặng


def _compose(base: str, tone: str) -> str:
    return unicodedata.normalize("NFC", base + tone)


def _tone_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for first, second in (("o", "a"), ("o", "e"), ("u", "y")):
        for up1 in (False, True):
            for up2 in (False, True):
                a = first.upper() if up1 else first
                b = second.upper() if up2 else second
                for tone in _TONES:
                    table[_compose(a, tone) + b] = a + _compose(b, tone)
    return table


_TONE_MAP = _tone_table()
_OLD_TONE_RE = re.compile(
    "(?<![qQ])(" + "|".join(sorted(map(re.escape, _TONE_MAP), key=len, reverse=True)) + r")(?!\w)"
)
# Characters that make a string need more than the fast path.
_NEEDS_WORK_RE = re.compile(
    "[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u00d0\u00f0\u0189\u200b-\u200f\u2060"
    "\u202a-\u202e\ufeff\u0300-\u036f\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"
)


@dataclass(frozen=True)
class Normalized:
    """Normalised text plus ``offsets``: ``offsets[i]`` is the original index of ``text[i]``.

    ``offsets`` has one extra entry, ``len(original)``, so a span ``[s, e)`` in ``text`` maps to
    ``[offsets[s], offsets[e])`` in the original, the end included. ``offsets`` is ``None`` when
    the text did not change length or alignment (identity map), the common case.
    """

    original: str
    text: str
    offsets: list[int] | None

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a ``[start, end)`` span of :attr:`text` to the original string."""
        if self.offsets is None:
            return start, end
        o = self.offsets
        if end <= start:
            return o[start], o[start]
        # The end maps to just past the original char that produced text[end - 1].
        return o[start], _next_boundary(o, end)


def _next_boundary(o: list[int], end: int) -> int:
    last = o[end - 1]
    j = end
    while j < len(o) - 1 and o[j] == last:
        j += 1
    return o[j] if o[j] > last else last + 1


def _fix_tones(text: str) -> str:
    # Same-length replacement: alignment is untouched.
    return _OLD_TONE_RE.sub(lambda m: _TONE_MAP[m.group(1)], text)


def normalize_with_map(text: str) -> Normalized:
    """Normalise ``text`` (see module doc) and keep the map back to it."""
    if (
        "\r" not in text
        and not _NEEDS_WORK_RE.search(text)
        and unicodedata.is_normalized("NFC", text)
    ):
        # Fast path: only same-length tone rewrites can apply, so the map is the identity.
        return Normalized(text, _fix_tones(text), None)
    out: list[str] = []
    offsets: list[int] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\r":
            out.append("\n")
            offsets.append(i)
            i += 2 if i + 1 < n and text[i + 1] == "\n" else 1
            continue
        if ch in _DELETE:
            i += 1
            continue
        if ch in _LOOKALIKE:
            ch = _LOOKALIKE[ch]
        elif ch != "\n" and ch != "\t" and unicodedata.category(ch) == "Cc":
            ch = " "
        # A base character with its following combining marks is composed as one cluster.
        j = i + 1
        while j < n and unicodedata.combining(text[j]):
            j += 1
        if j - i > 1 or unicodedata.combining(ch):
            cluster = unicodedata.normalize("NFC", ch + text[i + 1 : j])
        else:
            cluster = unicodedata.normalize("NFC", ch) if ord(ch) > 0x7F else ch
        for c in cluster:
            out.append(c)
            offsets.append(i)
        i = j
    offsets.append(n)
    return Normalized(text, _fix_tones("".join(out)), offsets)


def normalize(text: str) -> str:
    """Normalised text only (queries, comparisons)."""
    return normalize_with_map(text).text


# Diacritic folding: strip combining marks after NFD, and đ/Đ → d/D (not a combining mark).
_FOLD_EXTRA = str.maketrans({"đ": "d", "Đ": "D", "ð": "d", "Ð": "D"})


def fold(text: str) -> str:
    """Remove Vietnamese diacritics (``Đảng`` → ``Dang``). Not length-preserving in general."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text.translate(_FOLD_EXTRA))
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


_fold_cache: dict[str, str] = {}


def fold_char_preserving(text: str) -> str:
    """Fold NFC text one character at a time, so offsets stay valid (used for highlighting)."""
    out = []
    cache = _fold_cache
    for c in text:
        if c.isascii():
            out.append(c)
            continue
        f = cache.get(c)
        if f is None:
            f = fold(c)
            if len(f) != 1:
                f = c
            cache[c] = f
        out.append(f)
    return "".join(out)
