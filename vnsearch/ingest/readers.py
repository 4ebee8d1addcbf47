"""Reading one file: decoding, gzip, JSON and JSON Lines streaming; problems in order."""

from __future__ import annotations

import gzip
import hashlib
import io
import zlib
from collections.abc import Iterable, Iterator
from typing import Protocol

import orjson

from vnsearch.document import Document
from vnsearch.ingest.encodings import (
    SNIFF_SIZE,
    DecodeError,
    decode_text,
    sniff_encoding,
)
from vnsearch.ingest.extracted import Unreadable
from vnsearch.ingest.formats import extract, sniff_kind, to_document
from vnsearch.ingest.press_release import parse_press_release
from vnsearch.ingest.records import (
    _json_reason,
    _json_type,
    _line_error,
    _loads,
    _record_or_problem,
)
from vnsearch.ingest.walk import (
    DEFAULT_MAX_FILE_SIZE,
    FAILED,
    MAX_LINE_PROBLEMS,
    MAX_RECORD_BYTES,
    MAX_WHOLE_FILE_BYTES,
    SKIPPED,
    IngestProblem,
    SourceFile,
    _mb,
    walk_paths,
)


def _open_bytes(path: str):
    if path.lower().endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")


def read_source(src: SourceFile) -> Iterator[Document | IngestProblem]:
    """The documents in one file, streaming (JSON Lines are read line by line, never whole).

    Problems come out in order among the documents; a bad JSONL line does not stop the file.
    """
    kind = src.kind
    try:
        if kind == "jsonl":
            yield from _read_jsonl(src)
        elif kind == "json":
            yield from _read_json(src)
        else:
            yield from _read_file(src, kind)
    except OSError as err:
        if isinstance(err, gzip.BadGzipFile):
            yield IngestProblem(src.rel, None, "not a gzip file", FAILED)
        else:
            yield IngestProblem(src.rel, None, f"cannot read: {err.strerror or err}", FAILED)
    except (EOFError, zlib.error):
        yield IngestProblem(src.rel, None, "truncated or corrupt gzip data", FAILED)


def _read_bytes(src: SourceFile) -> bytes | IngestProblem:
    with _open_bytes(src.path) as f:
        data = f.read(MAX_WHOLE_FILE_BYTES + 1)
    if len(data) > MAX_WHOLE_FILE_BYTES:
        limit = _mb(MAX_WHOLE_FILE_BYTES)
        return IngestProblem(
            src.rel, None, f"over {limit} once decompressed: use JSON Lines (.jsonl.gz)", SKIPPED
        )
    if not data.strip():
        return IngestProblem(src.rel, None, "empty file", SKIPPED)
    return data


def _read_whole(src: SourceFile, data: bytes | None = None) -> str | IngestProblem:
    """The file as text (legacy encodings converted; see :func:`decode_text`)."""
    found = _decode_whole(src, data)
    return found if isinstance(found, IngestProblem) else found[0]


def _decode_whole(src: SourceFile, data: bytes | None = None) -> tuple[str, str] | IngestProblem:
    raw = _read_bytes(src) if data is None else data
    if isinstance(raw, IngestProblem):
        return raw
    try:
        text, source = decode_text(raw)
    except DecodeError as err:
        return IngestProblem(src.rel, None, str(err), SKIPPED if err.binary else FAILED)
    if not text.strip():
        return IngestProblem(src.rel, None, "empty file", SKIPPED)
    return text, source


def _read_file(
    src: SourceFile, kind: str, data: bytes | None = None, doc_id: str | None = None
) -> Iterator[Document | IngestProblem]:
    """A text press release, or a document in an office or web format (by content first)."""
    raw = _read_bytes(src) if data is None else data
    if isinstance(raw, IngestProblem):
        yield raw
        return
    doc_id = doc_id or src.rel
    kind = sniff_kind(raw, kind)
    if kind == "text":
        decoded = _decode_whole(src, raw)
        if isinstance(decoded, IngestProblem):
            yield decoded
            return
        doc = parse_press_release(decoded[0], doc_id, src.rel)
        doc.encoding_source = decoded[1]
        yield doc
        return
    try:
        found = extract(raw, kind)
    except Unreadable as err:
        yield IngestProblem(src.rel, None, str(err), SKIPPED if err.skipped else FAILED)
        return
    yield to_document(found, doc_id, src.rel)


def _read_json(src: SourceFile, whole: str | None = None) -> Iterator[Document | IngestProblem]:
    read = _read_whole(src) if whole is None else whole
    if isinstance(read, IngestProblem):
        yield read
        return
    text = read.lstrip("\ufeff")
    try:
        value = _loads(text)
    except orjson.JSONDecodeError as err:
        if err.msg.startswith("unexpected content after document") or _starts_with_a_line_record(
            text
        ):
            # JSON Lines saved as .json: read it as such.
            yield from _records_from_lines(src, enumerate(text.split("\n"), 1))
            return
        yield IngestProblem(src.rel, err.lineno, _json_reason(err), FAILED)
        return
    if isinstance(value, dict):
        yield _record_or_problem(value, src, src.rel, None, "")
    elif isinstance(value, list):
        for number, item in enumerate(value, 1):
            yield _record_or_problem(item, src, f"{src.rel}#{number}", None, f"item {number}: ")
    else:
        yield IngestProblem(
            src.rel,
            None,
            f"expected a JSON object or a list of objects, got {_json_type(value)}",
            FAILED,
        )


def _starts_with_a_line_record(text: str) -> bool:
    """Whether ``text`` is several lines, the first a whole JSON object (JSON Lines)."""
    first, newline, rest = text.lstrip().partition("\n")
    if not (newline and rest.strip()):
        return False
    try:
        return isinstance(_loads(first), dict)
    except orjson.JSONDecodeError:
        return False


def _read_jsonl(src: SourceFile) -> Iterator[Document | IngestProblem]:
    with _open_bytes(src.path) as f:
        head = _read_head(f)
        if not head.strip():
            yield IngestProblem(src.rel, None, "empty file", SKIPPED)
            return
        try:
            codec = sniff_encoding(head)
        except DecodeError as err:
            yield IngestProblem(src.rel, None, str(err), SKIPPED if err.binary else FAILED)
            return
        f.seek(0)
        stream = io.TextIOWrapper(f, encoding="utf-16", newline="\n") if codec == "utf-16" else f
        yield from _records_from_lines(
            src, enumerate(_bounded_lines(stream, src.record_limit), 1)
        )


def _read_head(f) -> bytes:
    """The first SNIFF_SIZE bytes, or those a damaged .gz gives before its damage (the lines
    there are read, and the damage reported at its line)."""
    try:
        return f.read(SNIFF_SIZE)
    except (EOFError, zlib.error):
        f.seek(0)
    head = b""
    try:
        while len(head) < SNIFF_SIZE and (chunk := f.read(512)):
            head += chunk
    except (EOFError, zlib.error):
        if not head:
            raise
    return head


def _bounded_lines(stream, limit: int = MAX_RECORD_BYTES) -> Iterator[bytes | str | None]:
    """The lines of ``stream``; None for a line over ``limit`` bytes, which is skipped
    without being held in memory (a .gz may hide one huge line)."""
    while True:
        line = stream.readline(limit + 1)
        if len(line) <= limit or line[-1:] in (b"\n", "\n"):
            if not line:
                return
            yield line
            continue
        while line and line[-1:] not in (b"\n", "\n"):
            line = stream.readline(1 << 20)
        yield None


def _records_from_lines(
    src: SourceFile, numbered: Iterable[tuple[int, bytes | str | None]]
) -> Iterator[Document | IngestProblem]:
    bad = 0
    lineno = 0
    try:
        for lineno, raw in numbered:
            item = _record_from_line(src, lineno, raw)
            if item is None:
                continue
            if isinstance(item, IngestProblem) and item.severity == FAILED:
                bad += 1
                if bad > MAX_LINE_PROBLEMS:
                    continue
            yield item
    except (EOFError, zlib.error, gzip.BadGzipFile):
        yield IngestProblem(src.rel, lineno + 1, "truncated or corrupt gzip data", FAILED)
    except UnicodeDecodeError as err:
        yield IngestProblem(src.rel, lineno + 1, f"invalid UTF-16: {err.reason}", FAILED)
    if bad > MAX_LINE_PROBLEMS:
        yield IngestProblem(
            src.rel,
            None,
            f"{bad - MAX_LINE_PROBLEMS} more bad lines not listed ({bad} in all)",
            FAILED,
        )


def _record_from_line(
    src: SourceFile, lineno: int, raw: bytes | str | None
) -> Document | IngestProblem | None:
    """The document on one JSON Lines line, its problem, or None for a blank line."""
    if raw is None:
        return IngestProblem(src.rel, lineno, f"record over {_mb(src.record_limit)}", FAILED)
    if lineno == 1 and raw[:3] == b"\xef\xbb\xbf":  # UTF-8 BOM (the UTF-16 codec eats its own)
        raw = raw[3:]
    raw = raw.strip()
    if not raw:
        return None
    try:
        value = _loads(raw)
    except orjson.JSONDecodeError as err:
        return IngestProblem(src.rel, lineno, _line_error(raw, err), FAILED)
    return _record_or_problem(value, src, f"{src.rel}#{lineno}", lineno, "")


# --------------------------------------------------------------------------------------------
# Standard input
# --------------------------------------------------------------------------------------------
#: The name standard input goes by in problems and document paths.
STDIN = "<stdin>"


def read_stream(
    stream, *, name: str = STDIN, max_size: int = DEFAULT_MAX_FILE_SIZE
) -> Iterator[Document | IngestProblem]:
    """The documents in a binary stream (``vnsearch index -``): JSON Lines, streamed record
    by record (each capped at ``max_size`` bytes), when the first line is a JSON object; else
    one input read whole (up to ``max_size``): a JSON object or list of objects, a text press
    release, or a file in an office or web format. Records and documents without an id get
    one from their content, so piping the same feed twice replaces, never duplicates."""
    src = SourceFile(name, name, 0, 0, max_size, content_ids=True)
    head = stream.read(SNIFF_SIZE)
    first = head.lstrip(b"\xef\xbb\xbf \t\r\n").split(b"\n", 1)[0]
    if first.startswith(b"{") and b"\n" in head.lstrip():
        try:
            is_record = isinstance(_loads(first), dict)
        except orjson.JSONDecodeError:
            is_record = False
        if is_record:
            lines = io.BufferedReader(_Prefixed(head, stream))
            yield from _records_from_lines(src, enumerate(_bounded_lines(lines, max_size), 1))
            return
    data = head + stream.read(max_size + 1 - len(head)) if len(head) == SNIFF_SIZE else head
    if len(data) > max_size:
        yield IngestProblem(name, None, f"input too large (over limit {_mb(max_size)}): "
                            "send JSON Lines, capped per record", SKIPPED)  # fmt: skip
        return
    if not data.strip():
        yield IngestProblem(name, None, "empty input", SKIPPED)
        return
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        text = _read_whole(src, data)
        if isinstance(text, IngestProblem):
            yield text
        else:
            yield from _read_json(src, text)
        return
    doc_id = "doc-" + hashlib.blake2b(data, digest_size=8).hexdigest()
    yield from _read_file(src, "text", data, doc_id=doc_id)


class _Prefixed(io.RawIOBase):
    """``head`` (already read) followed by the rest of ``stream``."""

    def __init__(self, head: bytes, stream):
        self.head, self.stream = head, stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n], self.head = self.head[:n], self.head[n:]
            return n
        read = getattr(self.stream, "read1", self.stream.read)
        data = read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


# --------------------------------------------------------------------------------------------
# Convenience
# --------------------------------------------------------------------------------------------
class Tally(Protocol):
    """What :func:`iter_documents` counts into (:class:`vnsearch.write.report.IndexReport`)."""

    def count(self, item: SourceFile | Document | IngestProblem) -> None: ...


def iter_documents(
    paths: Iterable[str],
    *,
    report: Tally | None = None,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
) -> Iterator[Document]:
    """Walk ``paths`` and read every file; documents come out, files and problems are counted
    into ``report`` (problems are dropped without one)."""
    for found in walk_paths(paths, max_file_size=max_file_size):
        if report is not None:
            report.count(found)
        if isinstance(found, IngestProblem):
            continue
        for item in read_source(found):
            if report is not None:
                report.count(item)
            if isinstance(item, Document):
                yield item
