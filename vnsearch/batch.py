"""Batch search for scripts and evaluation: many queries, one open index, one line each."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator

from .errors import QueryError, VnsearchError


def read_queries(path: str) -> Iterator[tuple[str, str]]:
    """``(qid, query)`` pairs from JSONL (``{"qid", "query"}``) or plain lines (qid = line no.)."""
    import orjson

    stream = sys.stdin if path == "-" else None
    try:
        f = stream or open(path, encoding="utf-8-sig")
    except OSError as e:
        raise VnsearchError(f"cannot read queries file {path}: {e.strerror}") from None
    with f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            if line.startswith("{"):
                try:
                    obj = orjson.loads(line)
                    yield str(obj.get("qid", n)), str(obj["query"])
                except (ValueError, KeyError, AttributeError):
                    raise QueryError(f"{path}:{n}: not a JSON object with a \"query\"") from None
            else:
                yield str(n), line


def run_batch(index, path: str, fmt: str, options: dict, emit: Callable[[str], None]) -> None:
    """Search every query in ``path``; a bad query gives an ``error`` line, not a stop."""
    from .output import dumps, trec_lines

    for qid, query in read_queries(path):
        try:
            res = index.search(query, snippets=False, suggest=False, **options)
        except QueryError as e:
            if fmt == "jsonl":
                emit(dumps({"qid": qid, "query": query, "error": str(e)}))
            else:
                print(f"vnsearch: query {qid}: {e}", file=sys.stderr)
            continue
        if fmt == "trec":
            for line in trec_lines(qid, res):
                emit(line)
        else:
            emit(dumps({"qid": qid, "query": query, "total": res.total,
                        "hits": [h.to_dict(["id", "rank", "score", "title"]) for h in res.hits]}))
