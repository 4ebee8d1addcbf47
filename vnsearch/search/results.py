"""What a search returns: :class:`Results` holding :class:`Hit` objects, and their JSON
(``to_dict()``: the contract in docs/design.md, ``schema_version`` 1).

Light on purpose (no Whoosh): the CLI reads the limits and hit keys here at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vnsearch.errors import QueryError

SCHEMA_VERSION = 1
SORTS = ("relevance", "date", "-date")
FACETS = ("author", "tags", "year", "month")
MAX_LIMIT = 10_000
#: Keys of a hit in JSON (``--fields`` picks among them).
HIT_FIELDS = ("id", "rank", "score", "title", "author", "date", "tags", "path", "snippet",
              "highlights", "duplicates", "duplicate_ids")


def check_fields(fields) -> None:
    """Raise :class:`QueryError` for names that are not hit keys (a typo would silently drop
    the key from every hit)."""
    unknown = [k for k in fields or () if k not in HIT_FIELDS]
    if unknown:
        raise QueryError(f"unknown --fields {', '.join(unknown)}: use {', '.join(HIT_FIELDS)}")


@dataclass
class Hit:
    """One ranked document: its rank (from 1, counting the offset), score, metadata and the
    snippet and highlighted passages (spans in code points into each passage's text)."""

    id: str
    rank: int
    score: float
    title: str = ""
    author: str = ""
    date: str | None = None
    tags: list[str] = field(default_factory=list)
    path: str = ""
    snippet: str = ""
    highlights: list = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)

    def to_dict(self, fields: list[str] | None = None) -> dict[str, Any]:
        """The hit as JSON (``--jsonl`` lines); ``fields`` keeps only those keys."""
        check_fields(fields)
        d = {
            "id": self.id,
            "rank": self.rank,
            "score": round(self.score, 4),
            "title": self.title,
            "author": self.author,
            "date": self.date,
            "tags": self.tags,
            "path": self.path,
            "snippet": self.snippet,
            "highlights": [h.to_dict() for h in self.highlights],
        }
        if self.duplicates:
            d["duplicates"] = len(self.duplicates)
            d["duplicate_ids"] = self.duplicates
        if fields:
            d = {k: v for k, v in d.items() if k in fields}
        return d


@dataclass
class Results:
    """A page of hits, the total number of matching documents, facet counts and a "did you
    mean" suggestion; iterating it yields the :class:`Hit` objects."""

    query: str
    total: int
    offset: int
    limit: int
    took_ms: float
    hits: list[Hit]
    suggestion: str | None = None
    facets: dict[str, dict[str, int]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.hits)

    def __iter__(self):
        return iter(self.hits)

    def to_dict(self, fields: list[str] | None = None) -> dict[str, Any]:
        """The ``search --json`` envelope (schema_version 1); ``fields`` applies to each hit."""
        check_fields(fields)  # even with no hits to apply them to
        return {
            "schema_version": SCHEMA_VERSION,
            "query": self.query,
            "total": self.total,
            "offset": self.offset,
            "limit": self.limit,
            "took_ms": round(self.took_ms, 2),
            "hits": [h.to_dict(fields) for h in self.hits],
            "suggestion": self.suggestion,
            "facets": self.facets,
        }
