"""Running a search: parse, filter, rank, page, collapse duplicates, snippets, suggestion."""

from __future__ import annotations

import operator
import re
import time
import unicodedata
from collections.abc import Callable

import orjson

from vnsearch.codec import fixes as _whoosh_fixes
from vnsearch.codec.schema import key_form
from vnsearch.dedup.store import DuplicateStore
from vnsearch.errors import QueryError, QueryTypeError, expect
from vnsearch.search.collapse import collapse_results
from vnsearch.search.highlight import (
    clean_for_display,
    hit_highlights,
    lead_snippet,
    match_rules,
    query_sets,
)
from vnsearch.search.parse import filters, parse
from vnsearch.search.rank import rank, scorer_for
from vnsearch.search.results import FACETS, MAX_LIMIT, SORTS, Hit, Results
from vnsearch.search.suggest import suggest as make_suggestion
from vnsearch.text.forms import SECTIONS

#: Metadata field names for --where and facets ("category", "source", a key of the records).
_FIELD_NAME_RE = re.compile(r"[A-Za-z_][\w.-]{0,63}")


def _where(where) -> dict[str, list[str]]:
    """``{field: [values]}`` from a dict (a value or a list of values each) or from
    ``FIELD=VALUE`` strings (one or a list; the same field twice means either value)."""
    if not where:
        return {}
    items: list[tuple[str, str]] = []
    if isinstance(where, dict):
        for name, values in where.items():
            for v in [values] if isinstance(values, (str, int, float)) else values:
                items.append((str(name), str(v)))
    else:
        for text in [where] if isinstance(where, str) else where:
            name, eq, value = str(text).partition("=")
            if not eq:
                raise QueryError(f"--where wants FIELD=VALUE, got {text!r}")
            items.append((name.strip(), value.strip()))
    out: dict[str, list[str]] = {}
    for name, value in items:
        if not _FIELD_NAME_RE.fullmatch(name):
            raise QueryError(f"bad field name {name!r} in --where")
        if name in ("author", "tags", "tag", "date", "year", "month"):
            raise QueryError(f"--where {name}=...: use --{'tag' if name == 'tags' else name} "
                             "(or --since/--until for dates)")  # fmt: skip
        if not key_form(value):
            raise QueryError(f"empty value for {name!r} in --where")
        out.setdefault(name, []).append(value)
    return out


def _check_option_types(query, author, tag, since, until, sort, snippets, facets) -> None:
    """TypeErrors for values of the wrong type (``search(123)``), before anything uses them."""
    text = (str, type(None))
    expect(query, text, "query", "a str (or None)", QueryTypeError)
    for name, value in (("author", author), ("tag", tag), ("facets", facets)):
        if isinstance(value, (list, tuple)):
            for v in value:
                expect(v, str, name, "a str or a list of str", QueryTypeError)
        else:
            expect(value, text, name, "a str or a list of str", QueryTypeError)
    for name, value in (("since", since), ("until", until)):
        expect(value, text, name, "a date as a str (YYYY, YYYY-MM or YYYY-MM-DD)", QueryTypeError)
    expect(sort, str, "sort", f"one of {', '.join(SORTS)}", QueryTypeError)
    expect(snippets, bool, "snippets", "True or False", QueryTypeError)


def _whole(value, name: str) -> int:
    try:
        return operator.index(value)  # ints of any kind (numpy too), not 2.5 or "1"
    except TypeError:
        raise QueryTypeError(f"--{name} must be a whole number, not {value!r}") from None


def _merge_spellings(counts: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """One author, tag or metadata bucket per spelling-insensitive form (``TRẦN THỊ BÌNH``
    and ``Trần Thị Bình``), as ``--author``/``--tag``/``--where`` match them: a facet count is
    what filtering by its value finds. The bucket keeps its most frequent spelling; most
    frequent first, then by value."""
    out = dict(counts)
    for name in counts:
        if name in ("year", "month"):
            continue
        merged: dict[str, list] = {}  # key form -> [total, first (most frequent) spelling]
        for value, c in counts[name].items():  # most frequent spelling first
            merged.setdefault(key_form(value) or value, [0, value])[0] += c
        buckets = sorted(((v, total) for total, v in merged.values()),
                         key=lambda kv: (-kv[1], kv[0]))
        out[name] = dict(buckets)
    return out


def search(
    searcher,
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
    where: dict | str | list[str] | None = None,
    duplicates: Callable[[], DuplicateStore] | None = None,
) -> Results:
    """Search with a Whoosh ``searcher`` of a vnsearch index (what :meth:`Index.search
    <vnsearch.index.Index.search>` runs). An empty ``query`` with filters lists the filtered
    documents.

    ``limit`` hits (at most :data:`MAX_LIMIT`; ``Results.limit`` says what was applied) after
    skipping ``offset``; ``author``/``tag`` (one value or a list: any of them), ``since``/
    ``until`` (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``, inclusive) filter; ``facets`` names
    (a list or a comma string) among :data:`FACETS`, or any stored metadata field
    (``category``, ``source``, a key the records carried). ``where`` keeps documents whose
    metadata fields have the values given (``{"category": "Thời sự"}`` or
    ``["category=Thời sự"]``; case and accents ignored). Bad values raise :class:`QueryError`.

    ``collapse``: one hit per near-duplicate group (the best ranked); ``Hit.duplicates`` lists
    the other matching copies. ``total`` still counts documents. ``duplicates`` opens the
    index's duplicate store (needed only to collapse).
    """
    _whoosh_fixes.apply()
    t0 = time.perf_counter()
    _check_option_types(query, author, tag, since, until, sort, snippets, facets)
    query = query or ""
    limit, offset = _paging(limit, offset)
    facets = _facet_names(facets)
    flt = filters(author, tag, since, until)
    meta = _where(where)
    if sort not in SORTS:
        raise QueryError(f"unknown sort {sort!r}: use one of {', '.join(SORTS)}")
    terms = None
    wq = None
    if query.strip():
        wq, terms = parse(query, sections)
    elif flt is None and not meta:
        raise QueryError("empty query")
    # A listing (filters, no words) scores every document the same: newest first, then id.
    if terms is None and sort == "relevance":
        sort = "-date"
    scorer = scorer_for(searcher)
    ranked = rank(searcher, wq, flt, scorer, where=meta)
    total = ranked.total
    want = offset + limit
    if sort == "relevance":
        run = ranked.top
    else:
        def run(n):
            return ranked.by_date(n, reverse=(sort == "-date"))
    dups: dict[str, list[str]] = {}
    if collapse and total:  # nothing to collapse needs no duplicate data (a new index)
        if duplicates is None:
            raise ValueError("collapse=True needs the duplicate store (duplicates=...)")
        with duplicates() as store:
            hits_raw, dups = collapse_results(searcher, run, offset, want, store)
    else:
        hits_raw = list(run(max(want, 1)))[offset:want]
    facet_counts = _merge_spellings(ranked.facets(facets)) if facets else {}
    # highlighted: the query's words, and the acronyms or full forms they matched as
    shown = None if terms is None else scorer.with_alternatives(wq, terms)
    hits = _page(hits_raw, offset, shown, snippets, dups)
    suggestion = None
    if suggest and terms is not None and total < 3:
        suggestion = make_suggestion(searcher, query, terms)
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


def _paging(limit, offset) -> tuple[int, int]:
    """``limit`` (capped at :data:`MAX_LIMIT`) and ``offset``, checked."""
    limit, offset = _whole(limit, "limit"), _whole(offset, "offset")
    if limit < 0 or offset < 0:
        raise QueryError("--limit and --offset must not be negative")
    return min(limit, MAX_LIMIT), offset


def _facet_names(facets: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """Facet names from a list or a comma string, each one of :data:`FACETS`."""
    if isinstance(facets, str):
        facets = [f.strip() for f in facets.split(",") if f.strip()]
    for f in facets or ():
        if f not in FACETS and not _FIELD_NAME_RE.fullmatch(f):
            raise QueryError(f"unknown facet {f!r}: use {', '.join(FACETS)} or a metadata field")
    return list(facets or ())


def _page(hits_raw, offset: int, terms, snippets: bool, dups: dict[str, list[str]]) -> list[Hit]:
    """The page's :class:`Hit` objects, with snippets when asked and the query has words."""
    exact: set[str] = set()
    folded: set[str] = set()
    rules = None
    if terms is not None:
        exact, folded = query_sets(terms.syllables)
        rules = match_rules(terms)
    hits = []
    for i, r in enumerate(hits_raw):  # ranked hits come ordered, ties broken (date, id)
        hit = _hit(r, offset + i + 1, exact, folded, snippets and terms is not None, rules)
        hit.duplicates = dups.get(hit.id, [])
        hits.append(hit)
    return hits


def _hit(
    r, rank: int, exact: set[str], folded: set[str], with_snippets: bool, rules=None
) -> Hit:
    stored = r.fields()
    doc = orjson.loads(stored["doc"])
    highlights = []
    if with_snippets:
        texts = {fld: "\n".join(doc.get("captions") or []) if fld == "captions"
                 else doc.get(fld) or "" for fld in SECTIONS}  # fmt: skip
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
