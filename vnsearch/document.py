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
