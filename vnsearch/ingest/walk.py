"""Walking the paths given to ``vnsearch index``: the files to read (:class:`SourceFile`) and
what cannot be read (:class:`IngestProblem`), in a stable order, without following a symbolic
link loop or entering an index folder."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from vnsearch.folder import is_index_dir

#: Files larger than this (bytes on disk, compressed size for .gz) are skipped with a warning.
DEFAULT_MAX_FILE_SIZE = 50 * 1024 * 1024  # "50 MB" in `vnsearch index --help`

#: Extensions read, by kind. Matching is case-insensitive; longest suffix wins.
TEXT_EXTENSIONS = (".txt", ".md")
JSON_EXTENSIONS = (".json", ".json.gz")
JSONL_EXTENSIONS = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
#: Office and web formats (see vnsearch.ingest.formats), by kind.
FORMAT_EXTENSIONS = {
    ".docx": "docx", ".docm": "docx", ".odt": "odt", ".pdf": "pdf", ".rtf": "rtf",
    ".doc": "doc", ".html": "html", ".htm": "html", ".xhtml": "html",
}  # fmt: skip
EXTENSIONS = TEXT_EXTENSIONS + JSON_EXTENSIONS + JSONL_EXTENSIONS + tuple(FORMAT_EXTENSIONS)

#: A .json.gz is parsed whole; past this many bytes decompressed it is skipped (gzip bombs).
MAX_WHOLE_FILE_BYTES = 512 * 1024 * 1024

#: A JSON Lines record longer than this is reported and skipped without being loaded (the
#: default; ``--max-file-size`` sets it: JSON Lines are streamed, so the cap is per record).
MAX_RECORD_BYTES = DEFAULT_MAX_FILE_SIZE

#: A one-line paragraph ending in a photo credit and no longer than this is a caption.
MAX_CAPTION_LENGTH = 300

#: Bad lines of one JSONL file reported one by one; the rest are summed up in one problem.
MAX_LINE_PROBLEMS = 20

SKIPPED = "skipped"
FAILED = "failed"
#: Indexed, with a caveat (a document cut to MAX_DOCUMENT_CHARS): counted as neither.
WARNING = "warning"


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
    record_limit: int = MAX_RECORD_BYTES  # bytes of one JSON Lines record
    content_ids: bool = False  # records without an id get one from their content (stdin)

    @property
    def kind(self) -> str:
        """'text', 'json', 'jsonl', or a format of FORMAT_EXTENSIONS (by the file name; the
        reader checks the content)."""
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


def file_kind(name: str) -> str | None:
    """'text', 'json', 'jsonl' or a format kind ('docx', 'pdf'...) from the file name, None
    for files we do not read."""
    lower = name.lower()
    ext = os.path.splitext(lower)[1]
    if ext in FORMAT_EXTENSIONS:
        return FORMAT_EXTENSIONS[ext]
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

    Hidden entries (``.name``) inside folders, files over ``max_file_size`` (JSON Lines are
    streamed: for them it caps each record), symbolic-link
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
            if file_kind(given) is None and not _document_by_content(given):
                yield IngestProblem(
                    shown, None, f"unsupported file type (reads {' '.join(EXTENSIONS)})", FAILED
                )
                continue
            rel = rel or os.path.basename(given)
            yield _file_or_problem(os.path.abspath(given), rel, st, seen_files, max_file_size)
        else:
            yield IngestProblem(shown, None, "not a regular file or folder", FAILED)


#: How the formats read by content start (PDF, zip: .docx/.odt, OLE: Word .doc, RTF, HTML).
_DOCUMENT_STARTS = (b"%PDF-", b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"{\\rtf",
                    b"<!doctype html", b"<html")  # fmt: skip


def _document_by_content(path: str) -> bool:
    """Whether a file named directly, with an extension we do not know, is a document in one
    of the formats by its first bytes (a PDF saved as 'report', a .docx mailed as '.dat')."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError:
        return False
    head = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(_DOCUMENT_STARTS) or head.lower().startswith(_DOCUMENT_STARTS)


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
    if file_kind(path) == "jsonl":  # streamed: the size cap is per record
        return SourceFile(path, rel, st.st_size, st.st_mtime_ns, max_file_size)
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
