"""Running searches: ranking, filters, sorting, facets, snippets, suggestions.

``Index.search`` and the CLI both call :func:`search`, which returns :class:`Results` holding
:class:`Hit` objects; ``to_dict()`` gives the JSON contract of DESIGN.md (schema_version 1).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from vnsearch.errors import QueryError

SCHEMA_VERSION = 1
SORTS = ("relevance", "date", "-date")
FACETS = ("author", "tags", "year", "month")
MAX_LIMIT = 10_000
TEXT_FIELDS = ("title", "summary", "body", "captions")
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


def _filters(author, tag, since, until):
    from whoosh import query as q

    from vnsearch.codec.schema import key_form
    from vnsearch.search.parse import date_filter

    parts = []
    for name, values in (("author", author), ("tags", tag)):
        if not values:
            continue
        if isinstance(values, str):
            values = [values]
        alts = []
        for v in values:
            key = key_form(v)
            if not key:
                raise QueryError(f"empty --{'tag' if name == 'tags' else name} value")
            if name == "tags":
                alts.append(q.Term("tags", key))
            else:
                words = key.split("_")
                alts.append(q.Phrase("author", words) if len(words) > 1 else q.Term("author", key))
        parts.append(q.Or(alts) if len(alts) > 1 else alts[0])
    df = date_filter(since, until)
    if df is not None:
        parts.append(df)
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else q.And(parts)


def _whole(value, name: str) -> int:
    import operator

    try:
        return operator.index(value)  # ints of any kind (numpy too), not 2.5 or "1"
    except TypeError:
        raise QueryError(f"--{name} must be a whole number, not {value!r}") from None


def _merge_spellings(counts: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """One author or tag bucket per spelling-insensitive form (``TRẦN THỊ BÌNH`` and ``Trần Thị
    Bình``), as ``--author``/``--tag`` match them: a facet count is what filtering by its value
    finds. The bucket keeps its most frequent spelling; most frequent first, then by value."""
    from vnsearch.codec.schema import key_form

    out = dict(counts)
    for name in ("author", "tags"):
        if name not in counts:
            continue
        merged: dict[str, list] = {}  # key form -> [total, first (most frequent) spelling]
        for value, c in counts[name].items():  # most frequent spelling first
            merged.setdefault(key_form(value) or value, [0, value])[0] += c
        buckets = sorted(((v, total) for total, v in merged.values()),
                         key=lambda kv: (-kv[1], kv[0]))
        out[name] = dict(buckets)
    return out


def search(
    index,
    query: str | None = "",
    *,
    limit: int = 10,
    offset: int = 0,
    sort: str = "relevance",
    author: str | list[str] | None = None,
    tag: str | list[str] | None = None,
    since: str | None = None,
    until: str | None = None,
    facets: str | list[str] | tuple[str, ...] | None = (),
    snippets: bool = True,
    sections: tuple[str, ...] | None = None,
    suggest: bool = True,
    collapse: bool = False,
) -> Results:
    """Search ``index``. An empty ``query`` with filters lists the filtered documents.

    ``limit`` hits (at most :data:`MAX_LIMIT`; ``Results.limit`` says what was applied) after
    skipping ``offset``; ``author``/``tag`` (one value or a list: any of them), ``since``/
    ``until`` (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``, inclusive) filter; ``facets`` names
    (a list or a comma string) among :data:`FACETS`. Bad values raise :class:`QueryError`.

    ``collapse``: one hit per near-duplicate group (the best ranked); ``Hit.duplicates`` lists
    the other matching copies. ``total`` still counts documents.
    """
    from vnsearch.codec import fixes as _whoosh_fixes
    from vnsearch.search.parse import parse
    from vnsearch.search.rank import rank, scorer_for

    _whoosh_fixes.apply()
    t0 = time.perf_counter()
    query, facets = query or "", facets or ()
    limit, offset = _whole(limit, "limit"), _whole(offset, "offset")
    if limit < 0 or offset < 0:
        raise QueryError("--limit and --offset must not be negative")
    limit = min(limit, MAX_LIMIT)
    if isinstance(facets, str):
        facets = [f.strip() for f in facets.split(",") if f.strip()]
    for f in facets:
        if f not in FACETS:
            raise QueryError(f"unknown facet {f!r}: use {', '.join(FACETS)}")
    flt = _filters(author, tag, since, until)
    if sort not in SORTS:
        raise QueryError(f"unknown sort {sort!r}: use one of {', '.join(SORTS)}")
    terms = None
    wq = None
    searcher = index.searcher()  # once per search: each call checks the index generation on disk
    if query.strip():
        wq, terms = parse(query, sections)
    elif flt is None:
        raise QueryError("empty query")
    # A listing (filters, no words) scores every document the same: newest first, then id.
    if terms is None and sort == "relevance":
        sort = "-date"
    ranked = rank(searcher, wq, flt, scorer_for(searcher))
    total = ranked.total
    want = offset + limit
    if sort == "relevance":
        run = ranked.top
    else:
        def run(n):
            return ranked.by_date(n, reverse=(sort == "-date"))
    dups: dict[str, list[str]] = {}
    if collapse:
        from vnsearch.dedup.store import open_readonly
        from vnsearch.search.collapse import collapse_results

        with open_readonly(index.path) as store:
            hits_raw, dups = collapse_results(searcher, run, offset, want, store)
    else:
        hits_raw = list(run(max(want, 1)))[offset:want]
    facet_counts = _merge_spellings(ranked.facets(facets)) if facets else {}
    hits = []
    exact, folded, rules = set(), set(), None
    if terms is not None:
        from vnsearch.search.highlight import match_rules, query_sets

        exact, folded = query_sets(terms.syllables)
        rules = match_rules(terms)
    for i, r in enumerate(hits_raw):  # ranked hits come ordered, ties broken (date, id)
        hits.append(_hit(r, offset + i + 1, exact, folded, snippets and terms is not None,
                         rules))
        hits[-1].duplicates = dups.get(hits[-1].id, [])
    suggestion = None
    if suggest and terms is not None and total < 3:
        from vnsearch.search.suggest import suggest as make_suggestion

        suggestion = make_suggestion(index, query, terms)
    return Results(
        query=query,
        total=total,
        offset=offset,
        limit=limit,
        took_ms=(time.perf_counter() - t0) * 1000,
        hits=hits,
        suggestion=suggestion,
        facets=facet_counts,
    )


def _hit(
    r, rank: int, exact: set[str], folded: set[str], with_snippets: bool, rules=None
) -> Hit:
    import unicodedata

    import orjson

    from vnsearch.search.highlight import (
        clean_for_display,
        hit_highlights,
        lead_snippet,
    )

    stored = r.fields()
    doc = orjson.loads(stored["doc"])
    highlights = []
    if with_snippets:
        texts = {fld: "\n".join(doc.get("captions") or []) if fld == "captions"
                 else doc.get(fld) or "" for fld in TEXT_FIELDS}  # fmt: skip
        highlights = hit_highlights(texts, exact, folded, rules)
    snippet_h = next((h for h in highlights if h.field != "title"), None)
    if snippet_h is not None:
        snippet = snippet_h.text
    else:
        snippet = lead_snippet(doc.get("summary") or doc.get("body") or "")
    return Hit(
        id=doc["id"],
        rank=rank,
        score=float(r.score or 0.0),
        title=unicodedata.normalize("NFC", clean_for_display(doc.get("title") or "")),
        author=doc.get("author") or "",
        date=doc.get("date"),
        tags=doc.get("tags") or [],
        path=doc.get("path") or "",
        snippet=snippet,
        highlights=highlights,
    )
