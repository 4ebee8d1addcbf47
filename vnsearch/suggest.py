""""Did you mean": corrections drawn from the index's own vocabulary.

Two cases users hit all the time: a query typed without diacritics (``to chuc dang`` →
``tổ chức đảng``), and a misspelt syllable. Diacritics are restored syllable by syllable from the
accented syllables that fold to the typed one, choosing the sequence whose adjacent pairs occur
most often as phrases in the index (``tổ chức đảng`` beats ``tổ chức đang``).
"""

from __future__ import annotations

import math
from functools import lru_cache

from .normalize import fold

CANDIDATES = 3
MAX_SYLLABLES = 8


@lru_cache(maxsize=4)
def _fold_map(reader_key, reader) -> dict[str, list[tuple[int, str]]]:
    """folded syllable → [(doc frequency, accented syllable)], most frequent first."""
    out: dict[str, list[tuple[int, str]]] = {}
    for fieldname in ("body", "title", "summary"):
        try:
            terms = reader.iter_field(fieldname)
        except Exception:  # field absent in this segment set
            continue
        for term, info in terms:
            text = term.decode("utf-8") if isinstance(term, bytes) else term
            out.setdefault(fold(text), []).append((info.doc_frequency(), text))
    for k, v in out.items():
        merged: dict[str, int] = {}
        for df, t in v:
            merged[t] = merged.get(t, 0) + df
        out[k] = sorted(((df, t) for t, df in merged.items()), reverse=True)[:CANDIDATES]
    return out


def _pair_count(searcher, a: str, b: str) -> int:
    from whoosh import query as q

    total = 0
    for fld in ("body", "title", "summary"):
        total += len(searcher.search(q.Phrase(fld, [a, b]), limit=1))
    return total


def restore_diacritics(index, syllables: list[str]) -> list[str] | None:
    """The most likely accented form of ``syllables`` (folded), or None if unknown."""
    searcher = index.searcher()
    reader = searcher.reader()
    fmap = _fold_map(id(reader), reader)
    cands = []
    for s in syllables[:MAX_SYLLABLES]:
        options = fmap.get(fold(s))
        if not options:
            return None
        cands.append(options)
    # Beam search over candidates, scored by unigram df and pair phrase counts.
    beams: list[tuple[float, list[str]]] = [(0.0, [])]
    for options in cands:
        new = []
        for score, seq in beams:
            for df, syl in options:
                sc = score + 0.1 * math.log1p(df)
                if seq:
                    sc += math.log1p(_pair_count(searcher, seq[-1], syl))
                new.append((sc, seq + [syl]))
        new.sort(key=lambda x: -x[0])
        beams = new[:CANDIDATES]
    return beams[0][1] if beams else None


def correct_spelling(index, syllables: list[str]) -> list[str] | None:
    """Replace syllables absent from the index by their closest indexed neighbour."""
    searcher = index.searcher()
    reader = searcher.reader()
    changed = False
    out = []
    for s in syllables:
        if not s.isalpha() or any(
            reader.doc_frequency(f, s) for f in ("body", "title", "summary")
        ):  # numbers and codes are not misspellings
            out.append(s)
            continue
        best = None
        for fld in ("body", "title"):
            sug = searcher.corrector(fld).suggest(s, limit=1, maxdist=_max_edits(s))
            if sug:
                best = sug[0]
                break
        if best is None:
            out.append(s)
        else:
            out.append(best)
            changed = True
    return out if changed else None


def _max_edits(syllable: str) -> int:
    """Syllables are short: two edits turn "vàng" into "đảng", so allow two only from 6 letters."""
    return 1 if len(syllable) < 6 else 2


def suggest(index, query: str, terms) -> str | None:
    """A better query for ``query`` (whose analysed syllables are ``terms.syllables``)."""
    syllables = terms.syllables
    if not syllables:
        return None
    proposal = None
    if all(fold(s) == s for s in syllables):
        restored = restore_diacritics(index, syllables)
        if restored and restored != syllables[: len(restored)]:
            proposal = restored
    if proposal is None:
        proposal = correct_spelling(index, syllables)
    if not proposal:
        return None
    text = " ".join(proposal)
    return text if text != query.strip().lower() else None
