"""The Whoosh schema, and how a :class:`~vnsearch.document.Document` becomes field values.

Analysis runs once per text (:func:`vnsearch.text.analysis.index_terms`); the Whoosh fields then
receive already-analysed, space-separated terms through :class:`PreAnalyzed`, so segmentation
is never repeated per field. Each text section (title, summary, body, captions) gets:

``<sec>``      syllables, with positions (phrases, wildcards, fuzzy)
``<sec>_w``    pyvi words                  (exact words score above syllable-only matches)
``<sec>_f``    folded syllables, positions (queries typed without diacritics)
``<sec>_fb``   folded adjacent pairs       (proximity, and disambiguation without diacritics)
"""

from __future__ import annotations

import orjson
from whoosh import fields

from vnsearch.codec.analyzer import PreAnalyzed
from vnsearch.codec.formats import Counts, PositionList
from vnsearch.codec.segment_writer import Terms
from vnsearch.document import Document
from vnsearch.errors import IndexFormatError
from vnsearch.text.acronyms import acronym_pairs
from vnsearch.text.analysis import fold_syllable, index_terms
from vnsearch.text.forms import FOLDED, FORMS, PAIRS, SECTIONS, SYLLABLES, WORDS, field_name
from vnsearch.text.normalize import fold, normalize

#: Bumped when the schema or the meaning of stored terms changes: old indexes must be rebuilt.
FORMAT_VERSION = 4  # 2: frequencies only as weights, positions as ints (codec/formats.py);
# 3: posting lists as raw arrays, not pickled blocks (codec/blocks.py); 4: arrays compressed
# with zstd, not zlib
#: Older formats this version reads and writes to as they are: the first write marks the
#: index FORMAT_VERSION, so that an older vnsearch, which cannot read what it adds, refuses it.
UPGRADABLE_FORMATS = (3,)
#: Bumped when analysis output changes (normalisation, segmentation rules, term forms).
ANALYSIS_VERSION = 3  # 2: numbers 01-09 without the zero; 3: folded y after a consonant is i

#: Acronym pairs learned from a document's text (``ubnd=uỷ_ban_nhân_dân``; see
#: :mod:`vnsearch.text.acronyms`). Every index of format 2 has the field.
ACRONYMS = "acronyms"


def _text(analyzer, positions: bool, **kwargs):
    """A pre-analysed text field in our compact formats (positions where phrases need them)."""
    field = fields.TEXT(analyzer=analyzer, phrase=positions, **kwargs)
    field.format = PositionList() if positions else Counts()
    return field


def _keyword(analyzer, **kwargs):
    field = fields.KEYWORD(analyzer=analyzer, **kwargs)
    field.format = Counts()
    return field


def build_schema():
    pre = PreAnalyzed()
    f: dict = {
        "id": fields.ID(stored=True, unique=True),
        "path": fields.ID(stored=True),
        "doc": fields.STORED(),
        "content_hash": fields.ID(stored=True),
        "author": _text(pre, positions=True),  # folded syllables of the name
        "author_facet": fields.ID(stored=False, sortable=True),
        "tags": _keyword(pre, scorable=True),  # folded whole tags, '_'-joined
        "tags_facet": fields.KEYWORD(commas=True, lowercase=False, vector=True),
        "date": fields.ID(stored=True, sortable=True),
        "year": fields.ID(sortable=True),
        "month": fields.ID(sortable=True),
        "dup_group": fields.ID(stored=True),
        ACRONYMS: _keyword(pre),
    }
    for sec in SECTIONS:
        for form in FORMS:  # positions where phrases are matched: syllables, folded syllables
            f[field_name(sec, form)] = _text(pre, positions=form in (SYLLABLES, FOLDED))
    return fields.Schema(**f)


def pairs(syllables: list[str], breaks: list[int]) -> list[str]:
    """Adjacent syllable pairs ``a_b``, not bridging line breaks."""
    if len(syllables) < 2:
        return []
    cut = set(breaks)
    return [
        f"{syllables[i]}_{syllables[i + 1]}"
        for i in range(len(syllables) - 1)
        if (i + 1) not in cut
    ]


def section_terms(sec: str, text: str) -> dict[str, list[str]]:
    """Terms of each field of one text section, in order."""
    if not text or not text.strip():
        return {}
    terms = index_terms(text)
    syl = terms.syllables
    folded = [fold_syllable(s) for s in syl]
    return {
        field_name(sec, SYLLABLES): syl,
        field_name(sec, WORDS): terms.words,
        field_name(sec, FOLDED): folded,
        field_name(sec, PAIRS): pairs(folded, terms.syllable_breaks),
    }


def section_values(sec: str, text: str) -> dict[str, str]:
    """Field values for one text section."""
    return {name: " ".join(terms) for name, terms in section_terms(sec, text).items()}


def key_form(value: str) -> str:
    """Case-, accent- and spacing-insensitive form of a name or tag (filters, ``author:``)."""
    return "_".join(fold(normalize(value)).lower().split())


def document_fields(doc: Document, content_hash: str = "", as_terms: bool = False) -> dict:
    """Everything Whoosh stores and indexes for ``doc``.

    With ``as_terms``, pre-analysed fields hold :class:`~vnsearch.codec.segment_writer.Terms` (for
    :class:`~vnsearch.codec.segment_writer.FastSegmentWriter`) instead of space-joined terms."""
    values: dict = {
        "id": doc.id,
        "path": doc.path,
        # str, not bytes: Whoosh pickles stored values with protocol 2, which spells bytes as
        # a latin-1 str (two UTF-8 bytes for each byte >= 0x80; 10% more once compressed).
        "doc": orjson.dumps(doc.to_dict()).decode(),
        "content_hash": content_hash,
    }
    terms: dict[str, list[str]] = {}
    learned: dict[str, None] = {}
    for sec in SECTIONS:
        text = "\n".join(doc.captions) if sec == "captions" else getattr(doc, sec)
        terms.update(section_terms(sec, text))
        if text:
            learned.update((f"{key}={full}", None) for key, full in acronym_pairs(text))
    if learned:
        terms[ACRONYMS] = list(learned)
    if doc.author:
        terms["author"] = fold(normalize(doc.author)).lower().split()
        values["author_facet"] = doc.author.strip()
    if doc.tags:
        terms["tags"] = [key_form(t) for t in doc.tags if t.strip()]
        values["tags_facet"] = ",".join(t.strip().replace(",", " ") for t in doc.tags if t.strip())
    if doc.date:
        values["date"] = doc.date
        values["year"] = doc.date[:4]
        values["month"] = doc.date[:7]
    if as_terms:
        for name, field_terms in terms.items():
            values[name] = Terms(field_terms)
    else:
        for name, field_terms in terms.items():
            values[name] = " ".join(field_terms)
    return values



def stored_document(searcher, doc_id: str) -> Document | None:
    """The document stored under exactly ``doc_id``, or None."""
    fields = searcher.document(id=doc_id)
    if fields is None:
        return None
    try:
        data = orjson.loads(fields["doc"])
    except (KeyError, ValueError) as e:  # pragma: no cover - corrupt index
        raise IndexFormatError(
            f"a stored document is unreadable ({e}): run `vnsearch index --rebuild`"
        ) from None
    return Document(**data)
