"""The sections of a document and the term forms analysis makes of each section's text, with
the suffix of the index field that holds each form (``body_w`` holds the pyvi words of the
body). One definition for the schema, the query parser, the ranker and the snippets."""

from __future__ import annotations

#: Text sections of a document, in reading order.
SECTIONS = ("title", "summary", "body", "captions")

#: Term forms, as index field suffixes.
SYLLABLES = ""  # lower-cased syllables, with positions (phrases, wildcards, fuzzy)
WORDS = "_w"  # pyvi words (exact words score above syllable-only matches)
FOLDED = "_f"  # diacritic-free syllables, with positions (queries typed without diacritics)
PAIRS = "_fb"  # diacritic-free adjacent syllable pairs (proximity, disambiguation)
FORMS = (SYLLABLES, WORDS, FOLDED, PAIRS)


def field_name(section: str, form: str) -> str:
    """The index field holding ``form`` terms of ``section``: ``field_name("body", WORDS)``
    is ``body_w``."""
    return section + form
