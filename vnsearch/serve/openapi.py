"""The OpenAPI 3.1 description of the API, built from :data:`vnsearch.serve.endpoints.ENDPOINTS`
(the same table the server checks parameters with) and the JSON shapes of the ``--json``
objects."""

from __future__ import annotations

from typing import Any

from vnsearch import __version__
from vnsearch.serve.endpoints import ENDPOINTS, Param

_STR = {"type": "string"}
_NSTR = {"type": ["string", "null"]}
_INT = {"type": "integer"}
_STRS = {"type": "array", "items": _STR}


def _obj(props: dict, required=None, extra: bool = True) -> dict:
    out: dict[str, Any] = {
        "type": "object", "properties": props, "required": list(required or props)
    }
    if not extra:
        out["additionalProperties"] = False
    return out


_HIGHLIGHT = _obj({
    "field": {"type": "string", "enum": ["title", "summary", "body", "captions"]},
    "text": _STR,
    "spans": {"type": "array", "description": "[start, end) in code points of text",
              "items": {"type": "array", "items": _INT, "minItems": 2, "maxItems": 2}},
})
_REPORT = _obj({k: _INT for k in ("read", "indexed", "added", "updated", "removed",
                                  "unchanged", "skipped", "failed", "files", "files_changed",
                                  "files_removed")}
               | {"seconds": {"type": "number"}, "problems": _STRS})
_MEMBER = _obj({"id": _STR, "title": _STR, "date": _NSTR, "source": _STR})
_COPY = _obj({"id": _STR, "title": _STR, "date": _NSTR,
              "similarity": {"type": ["number", "null"]}})

_RESULTS = {
    "schema_version": {"const": 1}, "query": _STR, "total": _INT, "offset": _INT,
    "limit": _INT, "took_ms": {"type": "number"},
    "hits": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}},
    "suggestion": _NSTR,
    "facets": {"type": "object", "description": "facet -> value -> count",
               "additionalProperties": {"type": "object", "additionalProperties": _INT}},
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": _obj({"error": {"type": "string", "description": "one line, for people"},
                   "status": _INT}),
    "Highlight": _HIGHLIGHT,
    "Hit": _obj({
        "id": _STR, "rank": _INT, "score": {"type": "number"}, "title": _STR, "author": _STR,
        "date": _NSTR, "tags": _STRS, "path": _STR, "snippet": _STR,
        "highlights": {"type": "array", "items": {"$ref": "#/components/schemas/Highlight"}},
        "duplicates": {"type": "integer", "description": "with collapse: other copies"},
        "duplicate_ids": _STRS,
    }, required=[]),
    "SearchResults": _obj(_RESULTS),
    "Document": _obj({
        "id": _STR, "title": _STR, "summary": _STR, "body": _STR, "captions": _STRS,
        "author": _STR, "date": _NSTR, "date_source": _STR, "tags": _STRS, "category": _STR,
        "source": _STR, "url": _STR, "path": _STR, "extra": {"type": "object"},
    }),
    "Highlights": _obj({
        "schema_version": {"const": 1}, "id": _STR, "query": _STR,
        "highlights": {"type": "array", "items": {"$ref": "#/components/schemas/Highlight"}},
    }),
    "Similar": _obj({"copies": {"type": ["array", "null"], "items": _COPY,
                                "description": "null: the index keeps no duplicate data"},
                     **_RESULTS}),
    "Duplicates": _obj({
        "schema_version": {"const": 1},
        "groups": {"type": "array", "items": _obj({
            "group": _INT, "size": _INT, "threshold": {"type": "number"},
            "members": {"type": "array", "items": _MEMBER}})},
    }),
    "Analysis": _obj({
        "text": _STR, "normalized": _STR,
        "tokens": {"type": "array", "items": _obj({
            "text": _STR, "start": _INT, "end": _INT, "word": _STR, "syllables": _STRS,
            "folded": _STR}, required=["text", "start", "end", "syllables", "folded"])},
        "acronyms": {"type": "array", "items": _obj({
            "acronym": _STR, "full": _STR, "documents": _INT})},
    }),
    "Stats": _obj({
        "path": _STR, "documents": _INT, "segments": _INT, "fields": _STRS,
        "size_bytes": _INT, "created": _NSTR, "updated": _NSTR, "format_version": _INT,
        "analysis_version": _INT,
    }),
    "Health": _obj({"status": {"const": "ok"}, "version": _STR, "schema_version": _INT,
                    "documents": _INT}),
    "IndexReport": _REPORT,
    "Deleted": _obj({"schema_version": {"const": 1}, "deleted": _INT}),
    "DocumentsBody": {
        "description": "One record, a list of records or {\"documents\": [...]}; keys as in "
                       "JSON files for vnsearch index (title, summary/sapo/lead, body/content, "
                       "author, date, tags, category, source, url, captions; others kept in "
                       "extra).",
        "oneOf": [{"type": "object", "required": ["id"]},
                  {"type": "array", "items": {"type": "object", "required": ["id"]}},
                  _obj({"documents": {"type": "array", "items": {"type": "object"}}})],
    },
    "IdsBody": _obj({"ids": {"type": "array", "items": _STR, "minItems": 1}}),
}

_STATUS_TEXT = {
    400: "Bad request: a parameter, the query or the body is wrong",
    401: "No bearer token (writes)",
    403: "Writes are off, or the token is wrong",
    404: "No such document (or no duplicate data)",
    409: "Another writer holds the index, or nothing to re-index",
    413: "Request body or batch too large",
    415: "The body is not JSON",
    503: "The index cannot be opened, or the request took longer than the time limit",
}


def _param_schema(p: Param, limits: dict) -> dict:
    base: dict[str, Any]
    if p.kind in ("int", "float"):
        base = {"type": "integer" if p.kind == "int" else "number"}
        if p.minimum is not None:
            base["exclusiveMinimum" if p.exclusive_minimum else "minimum"] = p.minimum
        maximum = limits.get(p.name, p.maximum)
        if maximum is not None:
            base["maximum"] = maximum
    elif p.kind == "bool":
        base = {"type": "boolean"}
    elif p.kind == "list":
        base = {"type": "array", "items": {"type": "string"}}
    elif p.kind == "csv":
        base = {"type": "string", "description": "comma-separated"
                + (": " + ", ".join(p.choices) if p.choices else "")}
    else:
        base = {"type": "string", "maxLength": p.max_chars}
        if p.choices:
            base["enum"] = list(p.choices)
    if p.default not in (None, [], ""):
        base["default"] = p.default
    return base


def build(limits: dict | None = None, *, writes: bool = False) -> dict:
    """The OpenAPI document; ``limits`` are the server's caps (``limit`` maximum...)."""
    limits = limits or {}
    paths: dict[str, dict] = {}
    for ep in ENDPOINTS:
        op: dict[str, Any] = {
            "operationId": ep.name,
            "summary": ep.summary,
            "tags": list(ep.tags),
            "parameters": [
                {"name": p.name, "in": "query", "required": p.required,
                 "description": p.help, "schema": _param_schema(p, limits),
                 **({"explode": True} if p.kind == "list" else {})}
                for p in ep.params
            ],
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {
                    "schema": {"$ref": f"#/components/schemas/{ep.schema}"}}}},
                **{str(s): {"description": _STATUS_TEXT[s], "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"}}}}
                   for s in (*ep.statuses, 503)},
            },
        }
        if ep.description:
            op["description"] = ep.description
        if ep.body_schema:
            op["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{ep.body_schema}"}}}}
        if ep.write:
            op["security"] = [{"bearer": []}]
            if not writes:
                op["description"] = (op.get("description", "") + " Off on this server "
                                     "(start it with --allow-writes).").strip()
        paths.setdefault(ep.path, {})[ep.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "vnsearch",
            "version": __version__,
            "description": "Full-text search over Vietnamese press releases. Every body is "
                           "the object the matching `vnsearch … --json` command prints "
                           "(schema_version 1); errors are {\"error\", \"status\"}.",
        },
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
