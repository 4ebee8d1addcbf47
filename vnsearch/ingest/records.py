"""A JSON record (a dict) → a Document: field keys, values, dates from the lead."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from vnsearch.document import Document
from vnsearch.ingest.dates import lead_date, lead_day_month, parse_date_value
from vnsearch.ingest.encodings import (
    undecodable_reason,
)
from vnsearch.ingest.walk import FAILED, SKIPPED, IngestProblem, SourceFile


class RecordError(ValueError):
    """A JSON record that cannot become a Document; str() is the reason."""

    def __init__(self, reason: str, severity: str = FAILED):
        super().__init__(reason)
        self.severity = severity



def _loads(raw: bytes | str) -> Any:
    """``orjson.loads``, also reading what Python's ``json.dumps`` writes by default: ``NaN``,
    ``Infinity`` and numbers past a double (pandas exports are full of them) become null, that
    is absent, instead of costing the whole record."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        if not ("infinity" in err.msg or "NaN" in text or "Infinity" in text):
            raise
        try:
            value = json.loads(
                raw, parse_constant=lambda _: None, parse_float=_finite_or_none,
                parse_int=_int_like_orjson,
            )
            orjson.dumps(value)  # what orjson refuses besides (lone surrogates) stays refused
        except (ValueError, TypeError, RecursionError):
            raise err from None
        return value


def _finite_or_none(text: str) -> float | None:
    number = float(text)
    return number if math.isfinite(number) else None


def _int_like_orjson(text: str) -> int | float | None:
    number = int(text)
    return number if -(2**63) <= number < 2**64 else _finite_or_none(text)


def _line_error(raw: bytes | str, err: orjson.JSONDecodeError) -> str:
    if isinstance(raw, bytes):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as uerr:
            return undecodable_reason(raw, uerr)
    return _json_reason(err)


def _json_reason(err: orjson.JSONDecodeError) -> str:
    """orjson's message without the ", expected ..." detail that newer releases append, so the
    report is the same whatever orjson is installed."""
    return f"invalid JSON: {err.msg.split(', expected')[0]} (column {err.colno})"


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else "null"
    )


def _record_or_problem(
    value: Any, src: SourceFile, fallback_id: str, line: int | None, prefix: str
) -> Document | IngestProblem:
    if not isinstance(value, dict):
        return IngestProblem(
            src.rel, line, f"{prefix}expected a JSON object, got {_json_type(value)}", FAILED
        )
    if src.content_ids:
        fallback_id = _content_id(value)
    try:
        return record_to_document(value, fallback_id=fallback_id, path=src.rel)
    except RecordError as err:
        return IngestProblem(src.rel, line, f"{prefix}{err}", err.severity)


# --------------------------------------------------------------------------------------------
# JSON records
# --------------------------------------------------------------------------------------------
#: Document field -> JSON keys accepted for it, first non-empty wins.
FIELD_KEYS: dict[str, tuple[str, ...]] = {
    "title": ("title",),
    "summary": ("summary", "sapo", "lead"),
    "body": ("body", "content"),
    "author": ("author", "authors"),
    "date": ("date", "published_at", "publish_date"),
    "tags": ("tags",),
    "category": ("category",),
    "source": ("source",),
    "url": ("url",),
    "captions": ("captions",),
}
_KNOWN_KEYS = frozenset(k for keys in FIELD_KEYS.values() for k in keys) | {"id"}
_TAG_SPLIT_RE = re.compile(r"[,;\n]")


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _as_text(key: str, value: Any, joiner: str = "\n\n") -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return _newlines(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return joiner.join(_newlines(v) for v in value if v)
    raise RecordError(f"field '{key}' must be text, got {_shape(value)}")


def _as_list(
    key: str, value: Any, split: re.Pattern | None, *, fold_case: bool = True
) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        parts = split.split(value) if split else value.split("\n")
    elif isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        parts = [str(v) for v in value]
    else:
        raise RecordError(f"field '{key}' must be text or a list of text, got {_shape(value)}")
    return _distinct((_newlines(p).strip() for p in parts), fold_case=fold_case)


def _shape(value: Any) -> str:
    """``a list holding an object`` for a list with a wrong item, else the JSON type."""
    odd = [v for v in value if not isinstance(v, (str, int, float))] if isinstance(
        value, list
    ) else []
    return f"a list holding {_json_type(odd[0])}" if odd else _json_type(value)


def _distinct(items: Iterable[str], *, fold_case: bool = True) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        key = item.casefold() if fold_case else item
        if item and key not in seen:
            seen.add(key)
            out.append(item)
    return out


#: Values of unknown keys nested deeper than this are refused: the stored document could not
#: be written back as JSON (writers stop at 255 levels).
MAX_NESTING = 100


def _nested_deeper(value: Any, limit: int) -> bool:
    """Whether lists and objects in ``value`` nest more than ``limit`` deep (no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((v, depth + 1) for v in children)
    return False


#: orjson, which writes stored documents, holds integers in 64 bits.
_INT_RANGE = (-(2**63), 2**64 - 1)


def _storable(value: Any) -> Any:
    """``value`` with integers too large for a 64-bit JSON writer kept as their digits.

    A record read by Python's json module, or a dict given to ``Index.add``, can hold any
    integer; storing it as text keeps it instead of failing the document (values are already
    checked to nest at most :data:`MAX_NESTING` levels).
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if _INT_RANGE[0] <= value <= _INT_RANGE[1] else str(value)
    if isinstance(value, list):
        return [_storable(v) for v in value]
    if isinstance(value, dict):
        return {k: _storable(v) for k, v in value.items()}
    return value


def record_to_document(record: dict[str, Any], *, fallback_id: str, path: str = "") -> Document:
    """A Document from one JSON object (keys and aliases in :data:`FIELD_KEYS`).

    ``null`` and empty values count as absent; numbers in text fields are stringified; keys we
    do not know are kept in ``Document.extra``. Raises :class:`RecordError` for a record that
    cannot be used (an object where text is expected, no text at all).
    """
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in record.items():
        if value is None or value == "" or value == []:
            continue
        if key in _KNOWN_KEYS:
            continue
        if _nested_deeper(value, MAX_NESTING):
            raise RecordError(f"{key!r} is nested more than {MAX_NESTING} levels deep")
        extra[key] = _storable(value)
    for name, keys in FIELD_KEYS.items():
        for key in keys:
            value = record.get(key)
            if value is None or value == "" or value == []:
                continue
            if name in values:
                extra[key] = _storable(value)  # an alias shadowed by an earlier one: keep it
            else:
                values[name] = (key, value)

    def text(name: str, joiner: str = "\n\n") -> str:
        key, value = values.get(name, (name, None))
        return _as_text(key, value, joiner)

    raw_id = record.get("id")
    if raw_id is None or raw_id == "":
        doc_id = fallback_id
    elif isinstance(raw_id, float) and math.isfinite(raw_id):  # pandas: 42.0 for 42
        doc_id = str(int(raw_id)) if raw_id.is_integer() else repr(raw_id)
    elif isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool):
        doc_id = str(raw_id).strip() or fallback_id
    else:
        raise RecordError(f"field 'id' must be text or a number, got {_json_type(raw_id)}")

    doc = Document(
        id=doc_id,
        title=text("title").strip(),
        summary=text("summary"),
        body=text("body"),
        author=text("author", ", ").strip(),
        category=text("category", ", ").strip(),
        source=text("source", ", ").strip(),
        url=text("url").strip(),
        path=path,
        extra=extra,
    )
    key, tags = values.get("tags", ("tags", None))
    doc.tags = _as_list(key, tags, _TAG_SPLIT_RE)
    key, captions = values.get("captions", ("captions", None))
    doc.captions = _as_list(key, captions, None, fold_case=False)
    if not (doc.title or doc.summary.strip() or doc.body.strip() or doc.captions):
        raise RecordError("no text (title, summary or body)", SKIPPED)

    key, raw_date = values.get("date", ("date", None))
    if raw_date is not None:
        doc.date = parse_date_value(raw_date)
        if doc.date:
            doc.date_source = "metadata"
        else:
            extra["date_raw"] = raw_date  # kept for the user; we do not guess from it
    if doc.date is None:
        _date_from_lead(doc, doc.summary or doc.body)
    return doc


def _date_from_lead(doc: Document, lead: str) -> None:
    if lead is not doc.body and doc.body and lead_day_month(lead) is None:
        lead = doc.body  # a summary that is a teaser: the dateline is in the body
    date = lead_date(lead, doc.title)
    if date:
        doc.date, doc.date_source = date, "lead"


def as_documents(items: Any, report: Any = None, *, source: str = "") -> Iterator[Document]:
    """Documents from a Document, a record dict (the JSON record shape), or an iterable of
    those, for ``Index.add``. A dict without an ``id`` gets one from its content (adding the
    same record twice replaces it, never duplicates it). A record that cannot become a
    document is reported in ``report`` (``problems``, ``skipped``/``failed``) and left out;
    without a report it raises :class:`~vnsearch.errors.IngestError`."""
    from vnsearch.errors import IngestError

    if isinstance(items, (Document, dict)):
        items = [items]
    for number, item in enumerate(items, 1):
        if isinstance(item, Document):
            yield item
            continue
        if isinstance(item, IngestProblem):  # from a reader (read_stream)
            if report is None:
                raise IngestError(str(item))
            _count(report, item)
            continue
        where = f"{source}#{number}" if source else f"item {number}"
        if not isinstance(item, dict):
            problem = IngestProblem(where, None, f"expected a Document or a record (dict), "
                                    f"got {type(item).__name__}", FAILED)  # fmt: skip
        else:
            try:
                yield record_to_document(item, fallback_id=_content_id(item), path=source)
                continue
            except RecordError as err:
                problem = IngestProblem(where, None, str(err), err.severity)
        if report is None:
            raise IngestError(str(problem))
        _count(report, problem)


def _count(report: Any, problem: IngestProblem) -> None:
    report.problems.append(problem)
    if problem.severity == SKIPPED:
        report.skipped += 1
    else:
        report.failed += 1


def _content_id(record: dict[str, Any]) -> str:
    import hashlib

    data = orjson.dumps(record, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS,
                        default=str)  # fmt: skip
    return "doc-" + hashlib.blake2b(data, digest_size=8).hexdigest()
