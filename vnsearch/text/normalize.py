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
from functools import lru_cache

__all__ = [
    "Normalized", "normalize", "normalize_with_map", "fold", "fold_char_preserving", "display_name",
]

# Removed outright: zero-width space/joiners, word joiner, BOM, soft hyphen, bidi marks.
_DELETE = frozenset(
    "\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
)
# Look-alikes mapped to the Vietnamese letter (one code point each, so offsets stay aligned).
_LOOKALIKE = {"\u00d0": "\u0110", "\u00f0": "\u0111", "\u0189": "\u0110"}

# Tone placement: pyvi's dictionary (and most of our matching) uses the "new" convention,
# tone mark on the main vowel: hoà, khoẻ, thuỷ. Old-style open syllables oa/oe/uy carry it on
# the first vowel (hòa, khỏe, thủy). Only open syllables differ (hoàng is the same in both), and
# "qu" + y is a consonant + vowel, not the uy glide, so it is left alone.
#: The five tone marks (combining): huyền, sắc, hỏi, ngã, nặng.
TONE_MARKS = "\u0300\u0301\u0309\u0303\u0323"


def letter_marks(ch: str) -> tuple[str, frozenset[str]]:
    """A letter's lower-case base and its combining diacritics (``đ`` is ``d`` with a stroke,
    U+0335): ``ở`` → ``("o", {horn, hook above})``."""
    if ch in "đĐ":
        return "d", frozenset("\u0335")
    d = unicodedata.normalize("NFD", ch)
    return d[0].lower(), frozenset(d[1:])


def _with_tone(base: str, tone: str) -> str:
    return unicodedata.normalize("NFC", base + tone)


def _tone_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for first, second in (("o", "a"), ("o", "e"), ("u", "y")):
        for up1 in (False, True):
            for up2 in (False, True):
                a = first.upper() if up1 else first
                b = second.upper() if up2 else second
                for tone in TONE_MARKS:
                    table[_with_tone(a, tone) + b] = a + _with_tone(b, tone)
    return table


_TONE_MAP = _tone_table()
# An old-style pair at the end of a syllable (not followed by a letter or digit; ``_`` ends a
# syllable too, as in analysis). The character classes are a cheap pre-filter; the table
# decides (``ủa`` is not an old-style pair).
_OLD_TONE_RE = re.compile(
    "(?<![qQ])([\u00f2\u00f3\u1ecf\u00f5\u1ecd\u00d2\u00d3\u1ece\u00d5\u1ecc][aAeE]"
    "|[\u00f9\u00fa\u1ee7\u0169\u1ee5\u00d9\u00da\u1ee6\u0168\u1ee4][yY])(?![^\\W_])"
)
# Characters that are removed or replaced one by one: controls (``\r`` included), zero-width
# characters, BOM, soft hyphen, bidi marks, look-alikes, and lone surrogates (from undecodable
# bytes; they cannot be encoded to UTF-8, so they become U+FFFD).
_SPECIAL_RE = re.compile(
    "[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u00d0\u00f0\u0189\u200b-\u200f\u2060"
    "\u202a-\u202e\ufeff\ud800-\udfff]"
)
# Terminal escape sequences (CSI "ESC [ ... m", OSC "ESC ] ... BEL"): blanking only the ESC
# would leave "[31m" glued to the next word. A terminal also reads ESC + any character as a
# sequence; text keeps that character (a lone ESC is more likely junk before a letter).
_CSI_OSC = r"\[[0-?]*[ -/]*[@-~]?|\][^\x07\x1b]*(?:\x07|\x1b\\)?"
_ESCAPE_RE = re.compile(rf"\x1b(?:{_CSI_OSC})")
_TERMINAL_ESCAPE_RE = re.compile(rf"\x1b(?:{_CSI_OSC}|[ -~]?)")


#: What a name must not carry to a terminal: C0 and C1 controls (escape sequences, newlines,
#: tabs), DEL, bidi controls, and the Unicode line and paragraph separators.
_NAME_CONTROL_RE = re.compile(
    "[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
_NAME_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def display_name(text: str) -> str:
    """A name to print (a file name, a path, an id, an error message holding them): each
    control character shown as an escape (``\\n``, ``\\x1b``, ``\\u202e``), so that no escape
    sequence reaches the terminal and the name stays on its line. Text output only: JSON
    carries names as they are."""
    return _NAME_CONTROL_RE.sub(_escape_control, text)


def _escape_control(m: re.Match) -> str:
    c = m.group()
    return _NAME_ESCAPES.get(c) or (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")


def blank_escapes(text: str, terminal: bool = False) -> str:
    """``text`` with each escape sequence replaced by as many spaces (same length);
    ``terminal``: every sequence a terminal would act on, two-character ones too."""
    if "\x1b" not in text:
        return text
    pattern = _TERMINAL_ESCAPE_RE if terminal else _ESCAPE_RE
    return pattern.sub(lambda m: " " * len(m.group()), text)


# A run of non-ASCII characters with the character before it: the only places NFC can change.
_NON_ASCII_RUN_RE = re.compile(r"[\x00-\x7f]?[^\x00-\x7f]+", re.S)


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
        """Map a ``[start, end)`` span of :attr:`text` to the original string.

        The span covers every original character that produced ``text[start:end]`` (a whole
        NFD cluster, both characters of ``\\r\\n``), but not removed characters (zero-width
        spaces, soft hyphens) that merely follow it."""
        if self.offsets is None:
            return start, end
        o = self.offsets
        if end <= start:
            return o[start], o[start]
        last = o[end - 1]
        j = end
        while j < len(o) - 1 and o[j] == last:
            j += 1
        stop = o[j] if o[j] > last else last + 1
        original = self.original
        while stop - 1 > last and original[stop - 1] in _DELETE:
            stop -= 1
        return o[start], stop


def _fix_tones(text: str) -> str:
    # Same-length replacement: alignment is untouched.
    return _OLD_TONE_RE.sub(lambda m: _TONE_MAP.get(m.group(1), m.group(1)), text)


def _replacement(ch: str) -> str:
    if ch in _DELETE:
        return ""
    if ch in _LOOKALIKE:
        return _LOOKALIKE[ch]
    if "\ud800" <= ch <= "\udfff":
        return "\ufffd"
    return " "  # any other control character


def _clean(text: str) -> tuple[str, list[int]]:
    """Step 1: one-for-one replacements and removals, ``\\r\\n`` → ``\\n``, with the map."""
    pieces: list[str] = []
    offsets: list[int] = []
    pos = 0
    n = len(text)
    for m in _SPECIAL_RE.finditer(text):
        i = m.start()
        if i < pos:  # the \n of a \r\n pair is never matched, but be safe
            continue
        pieces.append(text[pos:i])
        offsets.extend(range(pos, i))
        ch = text[i]
        pos = i + 1
        if ch == "\r":
            pieces.append("\n")
            offsets.append(i)
            if pos < n and text[pos] == "\n":
                pos += 1
            continue
        rep = _replacement(ch)
        if rep:
            pieces.append(rep)
            offsets.append(i)
    pieces.append(text[pos:])
    offsets.extend(range(pos, n))
    return "".join(pieces), offsets


def _starts_cluster(prev: str, ch: str) -> bool:
    """Whether ``ch`` begins a new NFC cluster after ``prev`` (it neither is a combining mark
    nor composes with ``prev``, as Hangul jamo do)."""
    if unicodedata.combining(ch):
        return False
    return unicodedata.is_normalized("NFC", prev + ch) or not unicodedata.is_normalized("NFC", ch)


def _compose_exact(text: str, src: list[int]) -> tuple[str, list[int]]:
    """NFC cluster by cluster, checking every character (any script; slow)."""
    pieces: list[str] = []
    offsets: list[int] = []
    pos = 0
    for m in _NON_ASCII_RUN_RE.finditer(text):
        a, b = m.span()
        pieces.append(text[pos:a])
        offsets.extend(src[pos:a])
        k = a
        while k < b:
            j = k + 1
            while j < b and not _starts_cluster(text[j - 1], text[j]):
                j += 1
            cluster = text[k:j]
            out = unicodedata.normalize("NFC", cluster)
            pieces.append(out)
            _map_cluster(cluster, out, src, k, offsets)
            k = j
        pos = b
    pieces.append(text[pos:])
    offsets.extend(src[pos:])
    return "".join(pieces), offsets


def _map_cluster(cluster: str, out: str, src, a: int, offsets: list[int]) -> None:
    """Offsets of ``out`` = NFC(``cluster``), the cluster starting at ``a`` in ``src``'s text.

    Characters composed with the base point at the cluster's start; a base that composed with
    nothing keeps its own position (a newline followed by stray marks stays a newline), and
    marks left over at the end keep theirs."""
    if out == cluster:
        offsets.extend(src[a : a + len(cluster)])
        return
    m = 0
    limit = min(len(out), len(cluster)) - 1
    while m < limit and out[-1 - m] == cluster[-1 - m]:
        m += 1
    head = len(out) - m
    if out[0] == cluster[0]:  # only the marks after the base were reordered
        offsets.append(src[a])
        offsets.extend([src[a + 1]] * (head - 1))
    else:
        offsets.extend([src[a]] * head)
    if m:
        b = a + len(cluster)
        offsets.extend(src[b - m : b])


@lru_cache(maxsize=1)
def _cluster_re() -> re.Pattern:
    """ASCII runs not followed by a combining mark, or one character with its combining marks.

    Built on first use (a scan of the Unicode planes that have combining marks)."""
    ranges: list[str] = []
    first = last = -2
    for c in range(0x300, 0x20000):
        if unicodedata.combining(chr(c)):
            if c != last + 1:
                if first >= 0:
                    ranges.append(f"{re.escape(chr(first))}-{re.escape(chr(last))}")
                first = c
            last = c
    ranges.append(f"{re.escape(chr(first))}-{re.escape(chr(last))}")
    cls = "[" + "".join(ranges) + "]"
    return re.compile(f"[\\x00-\\x7f]+(?!{cls})|.{cls}*", re.S)


def _compose(text: str, src) -> tuple[str, list[int]]:
    """Step 2: NFC, one base character and its combining marks at a time, so every output
    character knows its source (``src[i]`` is the original index of ``text[i]``). Falls back
    to :func:`_compose_exact` for the rare compositions without combining marks (Hangul jamo,
    some Indic vowel signs)."""
    pieces: list[str] = []
    offsets: list[int] = []
    cache: dict[str, str] = {}
    nfc = unicodedata.normalize
    a = 0
    for chunk in _cluster_re().findall(text):
        b = a + len(chunk)
        if chunk.isascii():
            pieces.append(chunk)
            offsets.extend(src[a:b])
        else:
            out = cache.get(chunk)
            if out is None:
                out = cache[chunk] = nfc("NFC", chunk)
            pieces.append(out)
            _map_cluster(chunk, out, src, a, offsets)
        a = b
    result = "".join(pieces)
    if not unicodedata.is_normalized("NFC", result):
        return _compose_exact(text, list(src))
    return result, offsets


def normalize_with_map(text: str) -> Normalized:
    """Normalise ``text`` (see module doc) and keep the map back to it."""
    needs_cleaning = _SPECIAL_RE.search(text) is not None
    if not needs_cleaning and unicodedata.is_normalized("NFC", text):
        # Fast path: only same-length tone rewrites can apply, so the map is the identity.
        return Normalized(text, _fix_tones(text), None)
    if needs_cleaning:
        clean, offsets = _clean(blank_escapes(text))  # same length: offsets stay valid
    else:
        clean, offsets = text, list(range(len(text)))
    if not unicodedata.is_normalized("NFC", clean):
        clean, offsets = _compose(clean, offsets)
    offsets = list(offsets)
    offsets.append(len(text))
    return Normalized(text, _fix_tones(clean), offsets)


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


# Control characters, and the bidi controls that make a terminal show text reordered
# (embeddings, overrides, isolates, direction marks).
_CONTROL_RE = re.compile(
    "[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def clean_for_display(text: str) -> str:
    """Replace control characters (bidi controls too) and whole ANSI escape sequences by
    spaces, keeping offsets."""
    return _CONTROL_RE.sub(" ", blank_escapes(text, terminal=True))
