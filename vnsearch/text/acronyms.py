"""Acronyms learned from the text itself: a full form followed by its acronym in parentheses.

Vietnamese press spells a term out once and then uses its acronym: ``an toàn giao thông
(ATGT)``, ``Hội đồng nhân dân (HĐND)``, ``Bảo hiểm xã hội (BHXH)``, ``TP. Hồ Chí Minh
(TP.HCM)``. :func:`acronym_pairs` finds these where the acronym's letters are the initials of
the syllables just before the parenthesis:

* ``Đ`` and ``D`` are one letter (``HĐND``/``HDND``), case is ignored in the full form;
* a word that is itself an abbreviation (``TP.``, ``UBND``) gives all its letters;
* ``&`` in an acronym stands for ``và`` (``GD&ĐT``: ``Giáo dục và Đào tạo``), ``-`` and ``.``
  are punctuation;
* a parenthesis holding anything else (``(2023)``, ``(ảnh)``, ``(SN 1997)``) or letters that
  are not the initials of the words before it is no acronym.

Pairs are ``(acronym key, full form)``: the acronym's letters folded and lower-cased
(:func:`acronym_key`: ``hdnd``), the full form's syllables lower-cased and ``_``-joined
(``hội_đồng_nhân_dân``).
A few acronyms the press never spells out are built in (:data:`BUILT_IN`).
"""

from __future__ import annotations

import re

from vnsearch.text.analysis import syllable_form
from vnsearch.text.normalize import fold, normalize

MIN_LETTERS = 2
MAX_LETTERS = 10
#: ``( ACRONYM )``: upper-case letters, with ``.``, ``&`` or ``-`` between them.
_PAREN_RE = re.compile(r"\(\s*([A-ZĐ][A-ZĐ.&\-]{0,14}[A-ZĐ.])\s*\)")
_WORD_RE = re.compile(r"[^\W\d_]+\.?")
#: Acronyms that are used but (nearly) never spelled out in articles.
BUILT_IN = {
    "tphcm": "thành_phố_hồ_chí_minh",
    "hcm": "hồ_chí_minh",
}


def _letters(acronym: str) -> list[str] | None:
    """The letters of an acronym, folded (``Đ`` is ``D``), ``&`` kept; None when too short."""
    out = [c for c in fold(acronym).upper() if c.isalpha() or c == "&"]
    n = sum(c != "&" for c in out)
    if n < MIN_LETTERS or n > MAX_LETTERS or out[0] == "&" or out[-1] == "&":
        return None
    return out


def _initials(word: str) -> str:
    """What a word of the full form contributes: its initial, or every letter of an
    abbreviation (``TP.``, ``UBND``)."""
    bare = word.rstrip(".")
    if len(bare) > 1 and bare.isupper():
        return fold(bare).upper()
    return fold(bare[:1]).upper()


def _match(letters: list[str], words: list[str]) -> list[str] | None:
    """The words at the end of ``words`` whose initials spell ``letters``, or None."""
    i, j = len(letters), len(words)
    while i > 0:
        if j == 0:
            return None
        if letters[i - 1] == "&":
            if fold(words[j - 1]).lower() != "va":
                return None
            i, j = i - 1, j - 1
            continue
        part = _initials(words[j - 1])
        if i < len(part) or "".join(letters[i - len(part) : i]) != part:
            return None
        i, j = i - len(part), j - 1
    found = words[j:]
    # one word spelling the whole acronym is the acronym itself, not a full form
    return found if len(found) > 1 else None


def acronym_pairs(text: str) -> list[tuple[str, str]]:
    """``(acronym, full form)`` pairs spelled out in ``text``, in index form, in order."""
    text = normalize(text)
    out = []
    for m in _PAREN_RE.finditer(text):
        letters = _letters(m.group(1))
        if letters is None:
            continue
        line_start = text.rfind("\n", 0, m.start()) + 1
        words = _WORD_RE.findall(text[line_start : m.start()])[-2 * len(letters) :]
        found = _match(letters, words)
        if found is None:
            continue
        full = "_".join(syllable_form(w.rstrip(".")) for w in found)
        out.append((acronym_key(m.group(1)), full))
    return out


def acronym_key(acronym: str) -> str:
    """The key of an acronym however it is written: its letters, folded and lower-cased
    (``TP.HCM`` → ``tphcm``, ``GD&ĐT`` → ``gddt``, ``HĐND`` and ``HDND`` → ``hdnd``)."""
    return "".join(c for c in fold(normalize(acronym)).lower() if c.isalpha())


def typed_acronym(surface: str) -> str:
    """The key of a word typed as an acronym (two or more letters, all capitals: ``UBND``,
    ``TP.HCM``), else ""."""
    letters = [c for c in surface if c.isalpha()]
    if len(letters) < MIN_LETTERS or not all(c.isupper() for c in letters):
        return ""
    return acronym_key(surface)


def pairs_for(analysis, learned: dict[str, int]) -> list[dict]:
    """The pairs of ``learned`` (``"key=full": documents``) that concern an analysed text
    (:func:`vnsearch.text.analysis.analyze`): a word typed as an acronym, or words spelling a
    full form; built-in pairs count no documents."""
    keys = {typed_acronym(t.text) for t in analysis.tokens} - {""}
    syllables = [s.text for t in analysis.tokens for s in t.syllables]
    runs = {"_".join(syllables[i:j]) for i in range(len(syllables))
            for j in range(i + 2, min(len(syllables), i + MAX_LETTERS) + 1)}
    out = []
    for pair, n in learned.items():
        key, _, full = pair.partition("=")
        if key in keys or full in runs:
            out.append({"acronym": key, "full": full, "documents": n})
    known = {p["acronym"] for p in out}
    for key in sorted(keys - known):
        if key in BUILT_IN:
            out.append({"acronym": key, "full": BUILT_IN[key], "documents": 0})
    return out
