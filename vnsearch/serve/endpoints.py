"""The HTTP API as data and plain functions: each endpoint's parameters (checked here, and
described in the OpenAPI document from the same table) and the function that answers it with the
object ``vnsearch … --json`` prints. No web framework is imported: the server
(:mod:`vnsearch.serve.app`) and the benchmark call these the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vnsearch import __version__
from vnsearch.errors import (
    DocumentNotFoundError,
    DuplicateStoreError,
    IndexFormatError,
    IndexLockedError,
    IndexNotFoundError,
    VnsearchError,
)
from vnsearch.ingest.records import RecordError, record_to_document
from vnsearch.search.highlight import (
    Highlight,
    match_rules,
    nfc_with_spans,
    query_sets,
    whole_text_highlights,
)
from vnsearch.search.parse import parse
from vnsearch.search.results import FACETS, HIT_FIELDS, SCHEMA_VERSION, SORTS
from vnsearch.serve import DEFAULT_MAX_LIMIT
from vnsearch.text.forms import SECTIONS
from vnsearch.text.normalize import clean_for_display

#: Caps (``vnsearch serve --max-limit`` changes the ``limit`` one).
MAX_OFFSET = 10_000
MAX_TEXT_CHARS = 10_000  # analyze's text; queries have the library's own cap (2,000)
MAX_ID_CHARS = 1_000
MAX_BATCH = 1_000  # documents (or ids) in one write request


class ApiError(Exception):
    """A request the API refuses: an HTTP status and a one-line message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def status_of(error: VnsearchError) -> int:
    """The HTTP status of a library error (the CLI's exit 2 splits by whose fault it is)."""
    if isinstance(error, DocumentNotFoundError):
        return 404
    if isinstance(error, DuplicateStoreError) and "no duplicate data" in str(error):
        return 404
    if isinstance(error, IndexLockedError):
        return 409
    if isinstance(error, (IndexNotFoundError, IndexFormatError)):
        return 503
    return 400


def error_body(status: int, message: str) -> dict:
    """The JSON of every error: the CLI's ``{"error": ...}`` with the HTTP status."""
    return {"error": message, "status": status}


# -- parameters ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Param:
    """One query-string parameter: ``kind`` is str, int, float, bool, list (repeatable) or csv
    (comma-separated, among ``choices`` when there are some)."""

    name: str
    kind: str = "str"
    default: Any = None
    help: str = ""
    required: bool = False
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None  # for int: a callable of the config may stand for it
    max_chars: int = 2_000
    exclusive_minimum: bool = False


def _bool(name: str, raw: str) -> bool:
    low = raw.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise ApiError(400, f"parameter '{name}' must be true or false, not {raw!r}")


def _number(p: Param, raw: str, maximum):
    try:
        value = int(raw) if p.kind == "int" else float(raw)
    except ValueError:
        what = "a whole number" if p.kind == "int" else "a number"
        raise ApiError(400, f"parameter '{p.name}' must be {what}, not {raw!r}") from None
    if p.kind == "float" and not math.isfinite(value):
        raise ApiError(400, f"parameter '{p.name}' must be a finite number, not {raw!r}")
    low = p.minimum
    if low is not None and (value <= low if p.exclusive_minimum else value < low):
        bound = "above" if p.exclusive_minimum else "at least"
        raise ApiError(400, f"parameter '{p.name}' must be {bound} {low:g}, not {raw}")
    if maximum is not None and value > maximum:
        raise ApiError(400, f"parameter '{p.name}' must be at most {maximum:g}, not {raw}")
    return value


def parse_params(params: tuple[Param, ...], multi: Mapping[str, list[str]],
                 limits: Mapping[str, float] | None = None) -> dict[str, Any]:
    """Check a query string (``name -> [values]``) against ``params``; unknown names, repeats of
    single values, bad numbers and choices raise :class:`ApiError` (400). ``limits`` overrides
    maxima by name (the server's configured caps)."""
    by_name = {p.name: p for p in params}
    for name in multi:
        if name not in by_name:
            known = ", ".join(by_name) or "none"
            raise ApiError(400, f"unknown parameter {name!r} (this endpoint takes: {known})")
    out: dict[str, Any] = {}
    for p in params:
        values = multi.get(p.name, [])
        for v in values:
            if len(v) > p.max_chars:
                raise ApiError(400, f"parameter '{p.name}' is {len(v)} characters long; "
                                    f"the limit is {p.max_chars}")
        if not values:
            if p.required:
                raise ApiError(400, f"parameter '{p.name}' is required")
            out[p.name] = list(p.default or []) if p.kind == "list" else p.default
            continue
        if p.kind == "list":
            out[p.name] = [v for v in values if v.strip()]
            continue
        if len(values) > 1:
            raise ApiError(400, f"parameter '{p.name}' given {len(values)} times; give it once")
        raw = values[0]
        if p.kind == "bool":
            out[p.name] = _bool(p.name, raw)
        elif p.kind in ("int", "float"):
            maximum = (limits or {}).get(p.name, p.maximum)
            out[p.name] = _number(p, raw, maximum)
        elif p.kind == "csv":
            items = [x.strip() for x in raw.split(",") if x.strip()]
            bad = [x for x in items if p.choices and x not in p.choices]
            if bad:
                raise ApiError(400, f"unknown {p.name} value {bad[0]!r}: use "
                                    f"{', '.join(p.choices)}")
            out[p.name] = items
        else:
            if p.choices and raw not in p.choices:
                raise ApiError(400, f"parameter '{p.name}' must be one of "
                                    f"{', '.join(p.choices)}, not {raw!r}")
            out[p.name] = raw
    return out


# -- endpoints ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Endpoint:
    """An API route: ``handler(index, params, body)`` returns the JSON object. ``schema`` names
    the response schema in :mod:`vnsearch.serve.openapi`. ``write``: needs ``--allow-writes``
    and the token; ``body``: takes a JSON request body (described by ``body_schema``)."""

    path: str
    method: str
    name: str
    summary: str
    handler: Callable[..., Any]
    schema: str
    params: tuple[Param, ...] = ()
    write: bool = False
    body_schema: str | None = None
    needs_index: bool = True
    statuses: tuple[int, ...] = (400,)
    description: str = ""
    tags: tuple[str, ...] = field(default=("read",))


_ID = Param("id", required=True, max_chars=MAX_ID_CHARS,
            help="Document id, as search hits give it (composed or decomposed).")

SEARCH_PARAMS = (
    Param("q", default="", help="The query: words, \"phrases\", AND/OR/NOT, -word, title:/"
          "author:/tag:/date:, date:[2023-01-01 TO 2023-08-31], wildcards* and fuzzy~ "
          "(at most 2,000 characters). May be empty when a filter is given."),
    Param("limit", "int", 10, "Hits to return.", minimum=0, maximum=DEFAULT_MAX_LIMIT),
    Param("offset", "int", 0, "Skip this many hits first (paging).", minimum=0,
          maximum=MAX_OFFSET),
    Param("sort", default="relevance", choices=SORTS,
          help="relevance; date: oldest first; -date: newest first."),
    Param("author", "list", help="Only this author (accents and case ignored); repeat for "
          "any of several."),
    Param("tag", "list", help="Only documents with this tag; repeat for any of several."),
    Param("since", help="Only documents dated on or after (YYYY, YYYY-MM or YYYY-MM-DD)."),
    Param("until", help="Only documents dated on or before (YYYY, YYYY-MM or YYYY-MM-DD)."),
    Param("where", "list", help="FIELD=VALUE: only documents whose metadata field (category, "
          "source, any key of the records) has the value (accents and case ignored); repeat: "
          "every field, any of a field's values."),
    Param("facets", "csv", [], "Count results by these fields (whole result set), "
          f"comma-separated: {', '.join(FACETS)} or any metadata field (category, source...)."),
    Param("fields", "csv", [], "Only these keys in each hit, comma-separated.",
          choices=HIT_FIELDS),
    Param("snippets", "bool", True, "Snippets and highlights (false is faster)."),
    Param("collapse", "bool", False, "One hit per group of near-identical copies."),
)


def search(ix, p: dict, body=None) -> dict:
    """``vnsearch search --json``."""
    results = ix.search(
        p["q"], limit=p["limit"], offset=p["offset"], sort=p["sort"],
        author=p["author"] or None, tag=p["tag"] or None, since=p["since"], until=p["until"],
        where=p["where"] or None, facets=p["facets"], snippets=p["snippets"],
        collapse=p["collapse"],
    )
    return results.to_dict(p["fields"] or None)


def show(ix, p: dict, body=None) -> dict:
    """``vnsearch show --json``."""
    return ix.get(p["id"]).to_dict()


def highlight(ix, p: dict, body=None) -> dict:
    """A document's whole text fields with the matches of a query (the page's document view)."""
    doc = ix.get(p["id"])
    return {
        "schema_version": SCHEMA_VERSION,
        "id": doc.id,
        "query": p["q"],
        "highlights": [h.to_dict() for h in document_highlights(doc, p["q"])],
    }


def document_highlights(doc, query: str) -> list[Highlight]:
    """Each non-empty text field of ``doc`` whole, with the matches of ``query`` (none for an
    empty query)."""
    texts = {f: "\n".join(doc.captions) if f == "captions" else getattr(doc, f) or ""
             for f in SECTIONS}
    if not query.strip():
        return [Highlight(f, *nfc_with_spans(clean_for_display(t), [])) for f, t in texts.items()
                if t]
    _, terms = parse(query)
    exact, folded = query_sets(terms.syllables)
    return whole_text_highlights(texts, exact, folded, match_rules(terms))


def similar(ix, p: dict, body=None) -> dict:
    """``vnsearch similar --json``: near-identical copies, then related articles."""
    copies = ix.near_copies(p["id"])
    results = ix.similar(p["id"], limit=p["limit"])
    return {"copies": copies, **results.to_dict()}


def duplicates(ix, p: dict, body=None) -> dict:
    """``vnsearch duplicates --json``."""
    return {"schema_version": SCHEMA_VERSION,
            "groups": ix.duplicate_groups(threshold=p["threshold"], min_size=p["min_size"])}


def analyze(ix, p: dict, body=None) -> dict:
    """``vnsearch analyze --json``: the analysis, and the acronym pairs the index learned."""
    return ix.analyze(p["text"])


def stats(ix, p: dict, body=None) -> dict:
    """``vnsearch stats --json``."""
    return ix.stats()


def health(ix, p: dict, body=None) -> dict:
    """Liveness and readiness: the index opens and can be searched."""
    return {"status": "ok", "version": __version__, "schema_version": SCHEMA_VERSION,
            "documents": len(ix)}


# -- writes -------------------------------------------------------------------------------------
def _records(body) -> list[dict]:
    if isinstance(body, dict) and isinstance(body.get("documents"), list):
        body = body["documents"]
    records = [body] if isinstance(body, dict) else body
    if not isinstance(records, list) or not records:
        raise ApiError(400, "the body must be a JSON object (one document), a list of them, "
                            "or {\"documents\": [...]}")
    if len(records) > MAX_BATCH:
        raise ApiError(413, f"{len(records)} documents in one request; the limit is {MAX_BATCH}")
    return records


def documents_from_body(body) -> list:
    """Documents from a write body, checked as ``vnsearch index`` checks JSON records, except
    that each needs an ``id`` (it is how a later request updates or deletes it)."""
    docs = []
    for i, rec in enumerate(_records(body)):
        where = f"document {i + 1}"
        if not isinstance(rec, dict):
            raise ApiError(400, f"{where}: expected a JSON object, got {type(rec).__name__}")
        if rec.get("id") in (None, ""):
            raise ApiError(400, f"{where}: an 'id' is required")
        try:
            docs.append(record_to_document(rec, fallback_id=""))
        except RecordError as e:
            raise ApiError(400, f"{where} ({rec.get('id')!r}): {e}") from None
    return docs


def add(ix, p: dict, body=None) -> dict:
    """Add or replace documents: ``vnsearch index --json``'s report."""
    docs = documents_from_body(body)
    return ix.add(docs, jobs=1).to_dict()


def delete(ix, p: dict, body=None) -> dict:
    """Delete documents by id."""
    ids = body.get("ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
        raise ApiError(400, "the body must be {\"ids\": [\"id\", ...]} (non-empty strings)")
    if len(ids) > MAX_BATCH:
        raise ApiError(413, f"{len(ids)} ids in one request; the limit is {MAX_BATCH}")
    return {"schema_version": SCHEMA_VERSION, "deleted": ix.delete(ids)}


def reindex(ix, p: dict, body=None, *, paths=()) -> dict:
    """Bring the index in line with the folders given to ``vnsearch serve --reindex-path``."""
    if not paths:
        raise ApiError(409, "no folders to re-index: start the server with --reindex-path DIR")
    return ix.index_paths(list(paths), jobs=1).to_dict()


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("/api/search", "GET", "search", "Search (vnsearch search --json)", search,
             "SearchResults", SEARCH_PARAMS,
             description="Ranked hits with snippets (spans are code-point offsets into each "
                         "highlight's text), facet counts and a \"did you mean\" suggestion. "
                         "No match is 200 with total 0."),
    Endpoint("/api/show", "GET", "show", "One document (vnsearch show --json)", show,
             "Document", (_ID,), statuses=(400, 404)),
    Endpoint("/api/highlight", "GET", "highlight",
             "A document's full text with the matches of a query", highlight, "Highlights",
             (_ID, Param("q", default="", help="The query whose matches to highlight.")),
             statuses=(400, 404)),
    Endpoint("/api/similar", "GET", "similar",
             "Near-identical copies, then related articles (vnsearch similar --json)",
             similar, "Similar",
             (_ID, Param("limit", "int", 10, "Related articles to return.", minimum=1,
                         maximum=DEFAULT_MAX_LIMIT)),
             statuses=(400, 404),
             description="copies is null when the index keeps no duplicate data."),
    Endpoint("/api/duplicates", "GET", "duplicates",
             "Groups of near-identical copies (vnsearch duplicates --json)", duplicates,
             "Duplicates",
             (Param("threshold", "float", None, "Estimated Jaccard similarity of copies "
                    "(default: the index's).", minimum=0, maximum=0.999999,
                    exclusive_minimum=True),
              Param("min_size", "int", 2, "Only groups of at least this many documents.",
                    minimum=2, maximum=1_000_000)),
             statuses=(400, 404)),
    Endpoint("/api/analyze", "GET", "analyze",
             "How a text is normalised, segmented and folded (vnsearch analyze --json)",
             analyze, "Analysis",
             (Param("text", required=True, max_chars=MAX_TEXT_CHARS,
                    help=f"The text (at most {MAX_TEXT_CHARS:,} characters)."),)),
    Endpoint("/api/stats", "GET", "stats", "Index statistics (vnsearch stats --json)", stats,
             "Stats", statuses=()),
    Endpoint("/api/health", "GET", "health", "Health check", health, "Health", statuses=()),
    Endpoint("/api/documents", "POST", "add", "Add or replace documents", add, "IndexReport",
             write=True, body_schema="DocumentsBody", statuses=(400, 401, 403, 409, 413, 415),
             description="A JSON object, a list of them or {\"documents\": [...]}: the record "
                         "format of JSON files given to vnsearch index, each with an id; a "
                         "document whose id exists is replaced. Visible to the next search.",
             tags=("write",)),
    Endpoint("/api/delete", "POST", "delete", "Delete documents by id", delete, "Deleted",
             write=True, body_schema="IdsBody", statuses=(400, 401, 403, 409, 413, 415),
             tags=("write",)),
    Endpoint("/api/reindex", "POST", "reindex",
             "Re-index the folders the server was started with (vnsearch index --json)",
             reindex, "IndexReport", write=True, statuses=(401, 403, 409),
             description="Incremental, as vnsearch index: new and changed files indexed, "
                         "documents of deleted files removed. The folders come from "
                         "--reindex-path; requests never name paths.",
             tags=("write",)),
)
