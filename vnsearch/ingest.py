"""Turning files on disk into Documents: folder walking, decoding, the press-release text format,
JSON / JSON Lines (optionally gzipped), dates, authors and tags.

The contract: one bad file or one bad line never stops a run. Everything that could not be
used comes out as an :class:`IngestProblem` (``path[:line]: reason``) next to the documents,
so the caller can count and print them.

Typical use::

    report = IngestReport()
    for doc in iter_documents(["seeds"], report=report):
        index.add(doc)
    print(report.summary(), file=sys.stderr)
"""

from __future__ import annotations

import gzip
import io
import json
import math
import os
import re
import stat
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from vnsearch.dates import find_full_date, lead_date, lead_day_month, parse_date_value
from vnsearch.document import Document
from vnsearch.encodings import (
    SNIFF_SIZE,
    DecodeError,
    decode_bytes,
    detect_misdecoded,
    sniff_encoding,
    undecodable_reason,
)
from vnsearch.errors import EXIT_ERROR, EXIT_OK, EXIT_PARTIAL

#: Files larger than this (bytes on disk, compressed size for .gz) are skipped with a warning.
DEFAULT_MAX_FILE_SIZE = 50 * 1024 * 1024  # "50 MB" in `vnsearch index --help`

#: Extensions read, by kind. Matching is case-insensitive; longest suffix wins.
TEXT_EXTENSIONS = (".txt", ".md")
JSON_EXTENSIONS = (".json", ".json.gz")
JSONL_EXTENSIONS = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
EXTENSIONS = TEXT_EXTENSIONS + JSON_EXTENSIONS + JSONL_EXTENSIONS

#: A .json.gz is parsed whole; past this many bytes decompressed it is skipped (gzip bombs).
MAX_WHOLE_FILE_BYTES = 512 * 1024 * 1024

#: A JSON Lines record longer than this is reported and skipped without being loaded.
MAX_RECORD_BYTES = 64 * 1024 * 1024

#: A one-line paragraph ending in a photo credit and no longer than this is a caption.
MAX_CAPTION_LENGTH = 300

#: Bad lines of one JSONL file reported one by one; the rest are summed up in one problem.
MAX_LINE_PROBLEMS = 20

SKIPPED = "skipped"
FAILED = "failed"


@dataclass(frozen=True)
class SourceFile:
    """One file found on disk.

    ``rel`` is the path users see and the base of document ids: the path as given on the
    command line when that was relative (``seeds/x.txt`` whether ``seeds`` or ``seeds/x.txt``
    or ``.`` from the parent was given), else the given folder's own name plus the path inside
    it (``/data/seeds`` gives ``seeds/x.txt``).
    """

    path: str  # absolute path
    rel: str
    size: int
    mtime_ns: int

    @property
    def kind(self) -> str:
        """'text', 'json' or 'jsonl'."""
        return file_kind(self.path) or "text"


@dataclass(frozen=True)
class IngestProblem:
    """Something that could not be used. ``skipped`` is a warning (hidden, binary, too large,
    empty); ``failed`` means the data was meant to be read and could not be."""

    path: str
    line: int | None
    reason: str
    severity: str = FAILED

    def __post_init__(self) -> None:
        # A path that is not UTF-8 is shown with U+FFFD: reports must print and dump as JSON.
        object.__setattr__(self, "path", _printable(self.path))

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.reason}"


@dataclass
class IngestReport:
    """Counts for the end-of-run summary. ``indexed`` is for the indexer to fill in."""

    files: int = 0
    documents: int = 0
    indexed: int = 0
    skipped: int = 0
    failed: int = 0
    problems: list[IngestProblem] = field(default_factory=list)

    def count(self, item: SourceFile | Document | IngestProblem) -> None:
        if isinstance(item, SourceFile):
            self.files += 1
        elif isinstance(item, Document):
            self.documents += 1
        else:
            self.problems.append(item)
            if item.severity == SKIPPED:
                self.skipped += 1
            else:
                self.failed += 1

    def summary(self) -> str:
        return (
            f"{self.files} files read, {self.documents} documents, {self.indexed} indexed, "
            f"{self.skipped} skipped, {self.failed} failed"
        )

    @property
    def exit_code(self) -> int:
        """0: no failures (warnings allowed); 3: some failures, other documents read;
        2: failures and no document at all."""
        if self.failed == 0:
            return EXIT_OK
        return EXIT_PARTIAL if self.documents else EXIT_ERROR


def file_kind(name: str) -> str | None:
    """'text', 'json' or 'jsonl' from the file name, None for files we do not read."""
    lower = name.lower()
    if lower.endswith(JSONL_EXTENSIONS):
        return "jsonl"
    if lower.endswith(JSON_EXTENSIONS):
        return "json"
    if lower.endswith(TEXT_EXTENSIONS):
        return "text"
    return None


# --------------------------------------------------------------------------------------------
# Walking
# --------------------------------------------------------------------------------------------
def is_index_dir(path: str) -> bool:
    """Whether ``path`` is a vnsearch index (its metadata file and Whoosh's table of contents)."""
    from .index import META_FILE

    if not os.path.isfile(os.path.join(path, META_FILE)):
        return False
    try:
        return any(name.endswith(".toc") for name in os.listdir(path))
    except OSError:
        return False


def _display_root(given: str) -> str:
    norm = os.path.normpath(given)
    if norm == ".":
        return ""
    if os.path.isabs(norm) or norm == ".." or norm.startswith(".." + os.sep):
        return os.path.basename(os.path.abspath(norm))
    return norm.replace(os.sep, "/")


def _join(rel: str, name: str) -> str:
    return f"{rel}/{name}" if rel else name


def walk_paths(
    paths: Iterable[str], *, max_file_size: int = DEFAULT_MAX_FILE_SIZE
) -> Iterator[SourceFile | IngestProblem]:
    """Every readable file under ``paths`` (files or folders), in sorted order.

    Hidden entries (``.name``) inside folders, files over ``max_file_size``, symbolic-link
    loops, broken links and second routes to a file or folder already seen come out as
    ``skipped`` problems; paths that do not exist or cannot be listed as ``failed``. Files
    with other extensions are ignored silently inside folders, reported when named directly.
    """
    seen_dirs: dict[tuple[int, int], str] = {}
    seen_files: dict[tuple[int, int], str] = {}
    for given in paths:
        rel = _display_root(given)
        shown = rel or given
        try:
            st = os.stat(given)
        except FileNotFoundError:
            yield IngestProblem(given, None, "no such file or folder", FAILED)
            continue
        except OSError as err:
            yield IngestProblem(given, None, f"cannot open: {err.strerror or err}", FAILED)
            continue
        if stat.S_ISDIR(st.st_mode):
            if is_index_dir(given):
                yield IngestProblem(shown, None, "a vnsearch index folder, not documents", SKIPPED)
                continue
            yield from _walk_dir(
                os.path.abspath(given), rel, st, seen_dirs, seen_files, max_file_size
            )
        elif stat.S_ISREG(st.st_mode):
            if file_kind(given) is None:
                yield IngestProblem(
                    shown, None, f"unsupported file type (reads {' '.join(EXTENSIONS)})", FAILED
                )
                continue
            rel = rel or os.path.basename(given)
            yield _file_or_problem(os.path.abspath(given), rel, st, seen_files, max_file_size)
        else:
            yield IngestProblem(shown, None, "not a regular file or folder", FAILED)


def _printable(path: str) -> str:
    """``path`` with bytes that are not UTF-8 (lone surrogates from ``os.fsdecode``) as U+FFFD."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _file_or_problem(
    path: str, rel: str, st: os.stat_result, seen_files: dict, max_file_size: int
) -> SourceFile | IngestProblem:
    if _printable(rel) != rel:  # ids come from names: one that is not UTF-8 cannot be shown
        return IngestProblem(rel, None, "file name is not UTF-8 (rename it)", FAILED)
    key = (st.st_dev, st.st_ino)
    if key in seen_files:
        return IngestProblem(rel, None, f"same file as {seen_files[key]}", SKIPPED)
    seen_files[key] = rel
    if st.st_size > max_file_size:
        return IngestProblem(
            rel, None, f"file too large ({_mb(st.st_size)} > limit {_mb(max_file_size)})", SKIPPED
        )
    return SourceFile(path, rel, st.st_size, st.st_mtime_ns)


def _mb(size: int) -> str:
    return f"{size / 1048576:.1f} MB" if size >= 104858 else f"{size} bytes"


def _walk_dir(
    root: str,
    root_rel: str,
    root_st: os.stat_result,
    seen_dirs: dict,
    seen_files: dict,
    max_file_size: int,
) -> Iterator[SourceFile | IngestProblem]:
    # Iterative depth-first walk (deep trees must not hit the recursion limit); the stack holds
    # the folders being listed, so a link back to one of them is a loop.
    root_key = (root_st.st_dev, root_st.st_ino)
    if root_key in seen_dirs:
        yield IngestProblem(
            root_rel or root,
            None,
            f"folder already walked as {seen_dirs[root_key] or '.'}",
            SKIPPED,
        )
        return
    seen_dirs[root_key] = root_rel
    stack: list[tuple[Iterator[os.DirEntry], str, tuple[int, int]]] = []
    listing = _list_dir(root, root_rel)
    if isinstance(listing, IngestProblem):
        yield listing
        return
    stack.append((listing, root_rel, root_key))
    while stack:
        entries, rel_dir, _ = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
            continue
        rel = _join(rel_dir, entry.name)
        try:
            is_dir = entry.is_dir()
            is_file = not is_dir and entry.is_file()
        except OSError as err:
            yield IngestProblem(rel, None, f"cannot open: {err.strerror or err}", FAILED)
            continue
        if entry.name.startswith("."):
            if is_dir:
                yield IngestProblem(rel, None, "hidden folder", SKIPPED)
            elif file_kind(entry.name):
                yield IngestProblem(rel, None, "hidden file", SKIPPED)
            continue
        if not is_dir and not is_file:
            if entry.is_symlink() and not os.path.exists(entry.path):
                yield IngestProblem(rel, None, "broken symbolic link", SKIPPED)
            elif file_kind(entry.name):
                yield IngestProblem(rel, None, "not a regular file", SKIPPED)
            continue
        try:
            st = entry.stat()  # follows symbolic links
        except OSError as err:
            yield IngestProblem(rel, None, f"cannot open: {err.strerror or err}", FAILED)
            continue
        key = (st.st_dev, st.st_ino)
        if is_dir:
            if is_index_dir(entry.path):  # `vnsearch index .` next to ./index: not documents
                continue
            if any(key == k for _, _, k in stack):
                yield IngestProblem(rel, None, "symbolic link loop", SKIPPED)
                continue
            if key in seen_dirs:
                yield IngestProblem(
                    rel, None, f"folder already walked as {seen_dirs[key] or '.'}", SKIPPED
                )
                continue
            seen_dirs[key] = rel
            listing = _list_dir(entry.path, rel)
            if isinstance(listing, IngestProblem):
                yield listing
            else:
                stack.append((listing, rel, key))
        elif file_kind(entry.name):
            yield _file_or_problem(os.path.abspath(entry.path), rel, st, seen_files, max_file_size)


def _list_dir(path: str, rel: str) -> Iterator[os.DirEntry] | IngestProblem:
    try:
        with os.scandir(path) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as err:
        return IngestProblem(
            rel or path, None, f"cannot list folder: {err.strerror or err}", FAILED
        )
    return iter(entries)


# --------------------------------------------------------------------------------------------
# Reading files
# --------------------------------------------------------------------------------------------
class RecordError(ValueError):
    """A JSON record that cannot become a Document; str() is the reason."""

    def __init__(self, reason: str, severity: str = FAILED):
        super().__init__(reason)
        self.severity = severity


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
            yield from _read_text(src)
    except OSError as err:
        if isinstance(err, gzip.BadGzipFile):
            yield IngestProblem(src.rel, None, "not a gzip file", FAILED)
        else:
            yield IngestProblem(src.rel, None, f"cannot read: {err.strerror or err}", FAILED)
    except (EOFError, zlib.error):
        yield IngestProblem(src.rel, None, "truncated or corrupt gzip data", FAILED)


def _read_whole(src: SourceFile) -> str | IngestProblem:
    with _open_bytes(src.path) as f:
        data = f.read(MAX_WHOLE_FILE_BYTES + 1)
    if len(data) > MAX_WHOLE_FILE_BYTES:
        limit = _mb(MAX_WHOLE_FILE_BYTES)
        return IngestProblem(
            src.rel, None, f"over {limit} once decompressed: use JSON Lines (.jsonl.gz)", SKIPPED
        )
    if not data.strip():
        return IngestProblem(src.rel, None, "empty file", SKIPPED)
    try:
        text = decode_bytes(data)
    except DecodeError as err:
        return IngestProblem(src.rel, None, str(err), SKIPPED if err.binary else FAILED)
    if not text.strip():
        return IngestProblem(src.rel, None, "empty file", SKIPPED)
    accident = detect_misdecoded(text)
    if accident:
        return IngestProblem(src.rel, None, f"{accident}: convert to Unicode", FAILED)
    return text


def _read_text(src: SourceFile) -> Iterator[Document | IngestProblem]:
    text = _read_whole(src)
    if isinstance(text, IngestProblem):
        yield text
        return
    yield parse_press_release(text, src.rel, src.rel)


def _read_json(src: SourceFile) -> Iterator[Document | IngestProblem]:
    text = _read_whole(src)
    if isinstance(text, IngestProblem):
        yield text
        return
    text = text.lstrip("\ufeff")
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
        yield from _records_from_lines(src, enumerate(_bounded_lines(stream), 1))


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


def _bounded_lines(stream) -> Iterator[bytes | str | None]:
    """The lines of ``stream``; None for a line over MAX_RECORD_BYTES, which is skipped
    without being held in memory (a .gz may hide one huge line)."""
    while True:
        line = stream.readline(MAX_RECORD_BYTES + 1)
        if len(line) <= MAX_RECORD_BYTES or line[-1:] in (b"\n", "\n"):
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
        return IngestProblem(src.rel, lineno, f"record over {_mb(MAX_RECORD_BYTES)}", FAILED)
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


def _loads(raw: bytes | str) -> Any:
    """``orjson.loads``, also reading what Python's ``json.dumps`` writes by default: ``NaN``,
    ``Infinity`` and numbers past a double (pandas exports are full of them) become null, that
    is absent, instead of costing the whole record."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        marks = (b"NaN", b"Infinity") if isinstance(raw, bytes) else ("NaN", "Infinity")
        if not ("infinity" in err.msg or any(m in raw for m in marks)):
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
        extra[key] = value
    for name, keys in FIELD_KEYS.items():
        for key in keys:
            value = record.get(key)
            if value is None or value == "" or value == []:
                continue
            if name in values:
                extra[key] = value  # an alias shadowed by an earlier one: keep it anyway
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
        _date_from_lead(doc, doc.summary or doc.body, (doc.summary, doc.body))
    return doc


def _date_from_lead(doc: Document, lead: str, others: tuple[str, ...]) -> None:
    if lead is not doc.body and doc.body and lead_day_month(lead) is None:
        lead = doc.body  # a summary that is a teaser: the dateline is in the body
    date = lead_date(lead, doc.title, others)
    if date:
        doc.date, doc.date_source = date, "lead"


# --------------------------------------------------------------------------------------------
# The press-release text format
# --------------------------------------------------------------------------------------------
_BYLINE_RE = re.compile(r"^\s*(?P<name>[^|\d\n]{1,80}?)\s*\|\s*(?P<rest>[^\n]*?)\s*$")
_TAGS_RE = re.compile(
    r"^\s*(?:tags?|từ\s+khóa|từ\s+khoá)(?:\s*:\s*(?P<inline>.*?))?\s*$", re.IGNORECASE
)
_CREDIT_RE = re.compile(
    r"\s*[(\[]?\s*(?:ảnh|nguồn\s+ảnh|photo)\s*:\s*(?P<credit>[^()\[\]\n:]{1,60}?)\s*[)\]]?\s*$",
    re.IGNORECASE,
)
_HEADING_RE = re.compile(r"^#{1,6}\s+")


_NAME_SPLIT_RE = re.compile(r"[\s,&/\-–]+")


def _is_byline(line: str) -> re.Match | None:
    m = _BYLINE_RE.match(line)
    if m is None:
        return None
    name = m.group("name")
    words = [w.strip("()[]'\".") for w in _NAME_SPLIT_RE.split(name)]
    words = [w for w in words if w]
    if not words or len(words) > 10 or name.rstrip().endswith((":", "?", "!", ";")):
        return None
    # Names: every word capitalised ("NGUYÊN ĐOAN", "Lê Văn Bình", "HOÀNG MAI - PHƯƠNG LINH").
    if not all(w[0].isupper() or w in ("và", "cùng") for w in words):
        return None
    return m


def parse_press_release(text: str, doc_id: str, path: str = "") -> Document:
    """Parse the seed text format (see DESIGN.md):

    title (first non-empty line), optional byline ``NAME | [date/time]``, paragraphs, photo
    captions written twice in a row (kept once in ``captions``, without the ``Ảnh: credit``,
    which goes to ``extra['photo_credits']``), optional trailing ``TAGS`` section (one per line
    or comma-separated). The first paragraph is the lead and becomes ``summary``; the others
    form ``body``, separated by blank lines. A Markdown front matter block (``---`` /
    ``key: value`` / ``---``) at the top gives metadata that wins over the layout.
    Date: metadata, else byline, else the lead, else none.
    """
    text = _newlines(text.lstrip("\ufeff"))
    lines = text.split("\n")
    n = len(lines)
    doc = Document(id=doc_id, path=path)
    meta, i = _front_matter(lines)
    while i < n and not lines[i].strip():
        i += 1
    if i < n and (not meta.get("title") or _HEADING_RE.match(lines[i])):
        doc.title = _HEADING_RE.sub("", lines[i].strip())
        i += 1

    j = i
    while j < n and not lines[j].strip():
        j += 1
    byline_date = None
    if j < n and (m := _is_byline(lines[j])):
        doc.author = m.group("name").strip()
        rest = m.group("rest")
        if rest:
            byline_date = find_full_date(rest)
            if byline_date is None:
                doc.extra["byline_note"] = rest
        i = j + 1

    end = n
    for k in range(n - 1, i - 1, -1):
        tags_match = _TAGS_RE.match(lines[k])
        if tags_match:
            end = k
            tag_text = "\n".join([tags_match.group("inline") or "", *lines[k + 1 :]])
            doc.tags = _as_list("tags", tag_text, _TAG_SPLIT_RE)
            break

    paragraphs, captions, credits = _split_content(lines[i:end])
    doc.captions = captions
    if credits:
        doc.extra["photo_credits"] = credits
    if paragraphs:
        doc.summary = paragraphs[0]
        doc.body = "\n\n".join(paragraphs[1:])

    if meta:
        _apply_front_matter(doc, meta)
    if doc.date is None and byline_date:
        doc.date, doc.date_source = byline_date, "byline"
    if doc.date is None:
        _date_from_lead(doc, doc.summary, (doc.body, *captions))
    return doc


_FRONT_KEY_RE = re.compile(r"^(?P<key>[A-Za-z_][\w-]*)\s*:\s*(?P<value>.*?)\s*$")
_FRONT_ITEM_RE = re.compile(r"^\s+-\s+(?P<value>.*?)\s*$|^-\s+(?P<top>.*?)\s*$")


def _front_matter(lines: list[str]) -> tuple[dict[str, Any], int]:
    """``key: value`` metadata between ``---`` lines at the top of a file (Markdown front
    matter), with ``- item`` lists and ``[a, b]`` inline lists; ({}, 0) when there is none."""
    if not lines or lines[0].strip() != "---":
        return {}, 0
    meta: dict[str, Any] = {}
    key = None
    for k in range(1, min(len(lines), 200)):
        line = lines[k]
        if line.strip() in ("---", "..."):
            return meta, k + 1
        item = _FRONT_ITEM_RE.match(line)
        if item and key is not None:
            value = _unquote(
                item.group("value") if item.group("value") is not None else item.group("top")
            )
            meta[key] = [*(meta[key] if isinstance(meta[key], list) else []), value]
            continue
        m = _FRONT_KEY_RE.match(line)
        if m is None:
            if line.strip():
                return {}, 0  # not front matter after all: read the file as plain text
            continue
        key, value = m.group("key").lower(), m.group("value")
        if value.startswith("[") and value.endswith("]"):
            meta[key] = [_unquote(v.strip()) for v in value[1:-1].split(",") if v.strip()]
        else:
            meta[key] = _unquote(value) if value else []
    return {}, 0


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _apply_front_matter(doc: Document, meta: dict[str, Any]) -> None:
    """Front-matter values win over what the text layout suggested (they are metadata)."""
    for name, keys in FIELD_KEYS.items():
        key = next((k for k in keys if meta.get(k) not in (None, "", [])), None)
        if key is None:
            continue
        value = meta[key]
        if name == "date":
            doc.date = parse_date_value(value if isinstance(value, str) else None)
            if doc.date:
                doc.date_source = "metadata"
            else:
                doc.extra["date_raw"] = value
        elif name in ("tags", "captions"):
            setattr(doc, name, _as_list(key, value, _TAG_SPLIT_RE if name == "tags" else None))
        else:
            setattr(doc, name, _as_text(key, value, ", ").strip())
    known = {k for keys in FIELD_KEYS.values() for k in keys}
    doc.extra.update(
        {k: v for k, v in meta.items() if k not in known and k != "id" and v not in ("", [])}
    )


def _split_content(lines: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(paragraphs, distinct captions, distinct credits).

    Blank lines separate paragraphs; in a text with no blank line inside, every line is a
    paragraph. A line repeated on the next line is a photo caption, and so is a one-line
    paragraph ending in a photo credit (``... Ảnh: TTXVN``).
    """
    paragraphs: list[str] = []
    captions: list[str] = []
    credits: list[str] = []
    current: list[str] = []

    def add_caption(line: str) -> None:
        caption, credit = _split_credit(line)
        if caption not in captions:
            captions.append(caption)
        if credit and credit not in credits:
            credits.append(credit)

    def close_paragraph() -> None:
        if not current:
            return
        text = "\n".join(current).strip()
        current.clear()
        if "\n" not in text and len(text) <= MAX_CAPTION_LENGTH and _split_credit(text)[1]:
            add_caption(text)
        else:
            paragraphs.append(text)

    filled = [bool(line.strip()) for line in lines]
    one_per_line = True in filled and all(
        filled[filled.index(True) : len(filled) - filled[::-1].index(True)]
    )
    k, n = 0, len(lines)
    while k < n:
        line = lines[k].strip()
        if not line:
            close_paragraph()
            k += 1
            continue
        if k + 1 < n and lines[k + 1].strip() == line and any(c.isalpha() for c in line):
            close_paragraph()
            while k < n and lines[k].strip() == line:
                k += 1
            add_caption(line)
            continue
        current.append(lines[k])
        k += 1
        if one_per_line:
            close_paragraph()
    close_paragraph()
    return paragraphs, captions, credits


def _split_credit(caption: str) -> tuple[str, str | None]:
    m = _CREDIT_RE.search(caption)
    if m is None or m.start() == 0:
        return caption, None
    return caption[: m.start()].rstrip(), m.group("credit")


# --------------------------------------------------------------------------------------------
# Convenience
# --------------------------------------------------------------------------------------------
def iter_documents(
    paths: Iterable[str],
    *,
    report: IngestReport | None = None,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
) -> Iterator[Document]:
    """Walk ``paths`` and read every file; documents come out, problems go to ``report``."""
    report = report if report is not None else IngestReport()
    for found in walk_paths(paths, max_file_size=max_file_size):
        report.count(found)
        if isinstance(found, IngestProblem):
            continue
        for item in read_source(found):
            report.count(item)
            if isinstance(item, Document):
                yield item
