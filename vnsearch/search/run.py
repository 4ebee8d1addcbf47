"""Running a search: parse, filter, rank, page, collapse duplicates, snippets, suggestion."""

from __future__ import annotations

import operator
import time
import unicodedata

import orjson
from whoosh import query as q

from vnsearch.codec import fixes as _whoosh_fixes
from vnsearch.codec.schema import key_form
from vnsearch.dedup.store import open_readonly
from vnsearch.errors import QueryError
from vnsearch.search.collapse import collapse_results
from vnsearch.search.highlight import (
    clean_for_display,
    hit_highlights,
    lead_snippet,
    match_rules,
    query_sets,
)
from vnsearch.search.parse import date_filter, parse
from vnsearch.search.rank import rank, scorer_for
from vnsearch.search.results import FACETS, MAX_LIMIT, SORTS, TEXT_FIELDS, Hit, Results
from vnsearch.search.suggest import suggest as make_suggestion


def _filters(author, tag, since, until):
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
    try:
        return operator.index(value)  # ints of any kind (numpy too), not 2.5 or "1"
    except TypeError:
        raise QueryError(f"--{name} must be a whole number, not {value!r}") from None


def _merge_spellings(counts: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """One author or tag bucket per spelling-insensitive form (``TRẦN THỊ BÌNH`` and ``Trần Thị
    Bình``), as ``--author``/``--tag`` match them: a facet count is what filtering by its value
    finds. The bucket keeps its most frequent spelling; most frequent first, then by value."""
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
        with open_readonly(index.path) as store:
            hits_raw, dups = collapse_results(searcher, run, offset, want, store)
    else:
        hits_raw = list(run(max(want, 1)))[offset:want]
    facet_counts = _merge_spellings(ranked.facets(facets)) if facets else {}
    hits = []
    exact: set[str] = set()
    folded: set[str] = set()
    rules = None
    if terms is not None:
        exact, folded = query_sets(terms.syllables)
        rules = match_rules(terms)
    for i, r in enumerate(hits_raw):  # ranked hits come ordered, ties broken (date, id)
        hits.append(_hit(r, offset + i + 1, exact, folded, snippets and terms is not None,
                         rules))
        hits[-1].duplicates = dups.get(hits[-1].id, [])
    suggestion = None
    if suggest and terms is not None and total < 3:
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
