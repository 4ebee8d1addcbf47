"""The unit of indexing: one press release or article, with its metadata."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Document:
    """A parsed article. Text fields hold the text exactly as stored (offsets point into it)."""

    id: str
    title: str = ""
    summary: str = ""  # lead / sapo
    body: str = ""
    captions: list[str] = field(default_factory=list)
    author: str = ""
    date: str | None = None  # ISO 8601 date, YYYY-MM-DD
    date_source: str = "none"  # metadata | byline | lead | none
    tags: list[str] = field(default_factory=list)
    category: str = ""
    source: str = ""
    url: str = ""
    path: str = ""  # file the document came from, relative to the indexed root
    encoding_source: str = ""  # legacy encoding converted to Unicode (tcvn3, vni...), if any
    extra: dict[str, Any] = field(default_factory=dict)  # unknown JSON keys, kept

    def to_dict(self) -> dict[str, Any]:
        """Every field as plain JSON-ready values (what ``vnsearch show --json`` prints)."""
        return asdict(self)


#: The most text one document holds (title, summary, body and captions together, in that
#: order), in characters: analysing a document takes memory in proportion to its text (about
#: 80 bytes a character), so a 50 MB single-line file would take gigabytes. Text past it is cut
#: at a space and the run reports it (docs/ingest.md).
MAX_DOCUMENT_CHARS = 1_000_000


def text_length(doc: Document) -> int:
    return len(doc.title) + len(doc.summary) + len(doc.body) + sum(map(len, doc.captions))


def cut_to_size(doc: Document, limit: int = MAX_DOCUMENT_CHARS) -> Document:
    """``doc`` itself when its text fits in ``limit`` characters, else a copy whose text is
    cut there (at a space when one is near), later fields first dropped."""
    from dataclasses import replace

    if text_length(doc) <= limit:
        return doc
    left = limit

    def take(text: str) -> str:
        nonlocal left
        if len(text) <= left:
            left -= len(text)
            return text
        cut = text[:left]
        space = max(cut.rfind(" ", max(0, left - 200)), cut.rfind("\n", max(0, left - 200)))
        cut = cut[:space] if space > 0 else cut
        left = 0
        return cut

    title, summary, body = take(doc.title), take(doc.summary), take(doc.body)
    captions = [c for c in (take(c) for c in doc.captions) if c]
    return replace(doc, title=title, summary=summary, body=body, captions=captions)
