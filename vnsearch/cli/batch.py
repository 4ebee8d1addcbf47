"""Batch search for scripts and evaluation: many queries, one open index, one line each."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator

from vnsearch.errors import QueryError, VnsearchError
from vnsearch.text.normalize import display_name

#: Keys of each hit in a batch JSONL line unless ``--fields`` says otherwise.
BATCH_HIT_FIELDS = ("id", "rank", "score", "title")


def read_queries(path: str) -> Iterator[tuple[str, str]]:
    """``(qid, query)`` pairs from JSONL (``{"qid", "query"}``) or plain lines (qid = line no.).

    ``query`` must be a JSON string and ``qid`` a string or an integer (missing or null: the
    line number). A line that breaks these rules stops the batch with an error naming it.
    """
    for n, qid, query in _numbered_queries(path):
        yield qid, query


def _numbered_queries(path: str) -> Iterator[tuple[int, str, str]]:
    import orjson

    for n, line in _lines(path):
        line = line.strip()
        if not line:
            continue
        if not line.startswith("{"):
            yield n, str(n), line
            continue
        try:
            obj = orjson.loads(line)
        except ValueError:
            obj = None
        if not isinstance(obj, dict) or not isinstance(obj.get("query"), str):
            raise QueryError(f"{path}:{n}: not a JSON object with a \"query\" string")
        qid = obj.get("qid")
        if qid is None:
            qid = n
        elif isinstance(qid, bool) or not isinstance(qid, (str, int)):
            raise QueryError(f"{path}:{n}: \"qid\" must be a string or an integer")
        yield n, str(qid), obj["query"]


def _lines(path: str) -> Iterator[tuple[int, str]]:
    """Numbered text lines of a queries file (UTF-8, or UTF-16 with a BOM) or of stdin
    (``-``, UTF-8), read as they come: a file of any size takes no more memory than its
    longest line, and a pipe or FIFO can feed queries one at a time."""
    from vnsearch.ingest.encodings import SNIFF_SIZE, DecodeError, sniff_encoding

    if path == "-":
        yield from _utf8_lines(sys.stdin.buffer, "<stdin>")
        return
    try:
        f = open(path, "rb")
    except OSError as e:
        raise VnsearchError(f"cannot read queries file {path}: {e.strerror}") from None
    with f:
        try:
            codec = sniff_encoding(f.peek(SNIFF_SIZE)[:SNIFF_SIZE])  # what is there, unread
        except DecodeError as e:
            raise VnsearchError(f"{path}: {e}") from None
        if codec == "utf-16":
            # Not universal newlines: a query may hold U+2028 or a form feed; only newlines
            # end a line.
            text = io.TextIOWrapper(f, encoding="utf-16", newline="\n")
            n = 0
            try:
                for n, line in enumerate(text, 1):
                    yield n, line
            except UnicodeDecodeError:
                raise VnsearchError(f"{path}:{n + 1}: invalid UTF-16") from None
            finally:
                text.detach()
        else:
            yield from _utf8_lines(f, path)


def _utf8_lines(stream, name: str) -> Iterator[tuple[int, str]]:
    from vnsearch.ingest.encodings import undecodable_reason

    for n, raw in enumerate(stream, 1):
        try:
            yield n, raw.decode("utf-8-sig" if n == 1 else "utf-8")
        except UnicodeDecodeError as e:
            raise VnsearchError(f"{name}:{n}: {undecodable_reason(raw, e)}") from None


def run_batch(
    index, path: str, fmt: str, options: dict, emit: Callable[[str], None],
    fields: list[str] | None = None,
) -> None:
    """Search every query in ``path``; a bad query gives an ``error`` line, not a stop.

    ``fmt`` is ``jsonl`` (one ``{qid, query, total, hits}`` line per query, hits holding
    ``fields``, by default :data:`BATCH_HIT_FIELDS`) or ``trec`` (see
    :func:`vnsearch.cli.render.trec_lines`).
    """
    from vnsearch.cli.render import dumps, trec_lines

    keys = list(fields or BATCH_HIT_FIELDS)
    snippets = fmt == "jsonl" and bool({"snippet", "highlights"} & set(keys))
    for n, qid, query in _numbered_queries(path):
        if fmt == "trec" and (not qid or any(c.isspace() for c in qid)):
            raise QueryError(f"{path}:{n}: qid {qid!r} is empty or has spaces: a TREC run "
                             "cannot hold it")
        try:
            res = index.search(query, snippets=snippets, suggest=False, **options)
        except QueryError as e:
            if fmt == "jsonl":
                emit(dumps({"qid": qid, "query": query, "error": str(e)}))
            else:
                print(display_name(f"vnsearch: query {qid}: {e}"), file=sys.stderr)
            continue
        if fmt == "trec":
            for line in trec_lines(qid, res):
                emit(line)
        else:
            emit(dumps({"qid": qid, "query": query, "total": res.total,
                        "hits": [h.to_dict(keys) for h in res.hits]}))
