"""``Index``: the one object users embed — open or create an index, add, search, get, stats.

The façade joins the write side (:mod:`vnsearch.write`) and the read side
(:mod:`vnsearch.search`); each is imported by the methods that use it, so a command loads only
its half (``vnsearch search`` does not import the indexing pipeline, ``vnsearch index`` not the
query parser and ranker).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import sqlite3
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any, BinaryIO, TypeVar

import orjson
from whoosh import index as windex

from vnsearch.codec import schema
from vnsearch.codec.schema import stored_document
from vnsearch.codec.snapshot_cache import IndexCaches
from vnsearch.dedup.store import DuplicateStore, open_readonly, store_path
from vnsearch.document import Document
from vnsearch.errors import (
    ArgumentTypeError,
    DocumentNotFoundError,
    IndexFormatError,
    IndexNotFoundError,
    IndexWriteError,
    VnsearchError,
    expect,
)
from vnsearch.folder import META_FILE, has_metadata, is_index_or_partial
from vnsearch.ingest.walk import IngestProblem
from vnsearch.search.results import Results
from vnsearch.write.lock import DEFAULT_LOCK_TIMEOUT, LOCK_FILE, WriteLock
from vnsearch.write.report import IndexReport, ProgressCallback
from vnsearch.write.state import IndexState

__all__ = ["Index", "default_index_dir"]

_R = TypeVar("_R")


def default_index_dir() -> str:
    """``$VNSEARCH_INDEX`` or ``./index``."""
    return os.environ.get("VNSEARCH_INDEX") or "index"


def _write_json_atomic(path: str, data: dict) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(orjson.dumps(data, option=orjson.OPT_INDENT_2))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _open_whoosh(windex, path: str):
    """``open_dir`` that survives a commit landing while it opens: Whoosh lists the newest
    table of contents, then reads it, and a commit in between deletes the file it listed (its
    ``reader()`` retries the same way; opening does not)."""
    for attempt in range(10):
        try:
            return windex.open_dir(path)
        except FileNotFoundError:
            if attempt == 9:
                raise
            time.sleep(0.05)


class Index:
    """A vnsearch index directory.

    >>> ix = Index.create("my-index")            # doctest: +SKIP
    >>> ix.index_paths(["seeds"])                 # doctest: +SKIP
    >>> ix.search("xây dựng Đảng").hits[0].title  # doctest: +SKIP

    One ``Index`` may be used from several threads at once (searches, ``get``, ``similar``,
    writes): each thread reads through a Whoosh searcher of its own (Whoosh readers seek and
    read shared file handles), and the ranking data of each snapshot of the index (field
    lengths, columns, decoded postings) is built once and shared by all of them.
    """

    def __init__(self, path: str | os.PathLike | None = None):
        """Open an existing index (use :meth:`create` to make one)."""
        self.path = _index_path(path)
        self.meta = self._read_meta()

        try:
            self._ix = _open_whoosh(windex, self.path)
        except Exception as e:  # whoosh raises several unrelated types for damaged dirs
            raise IndexFormatError(
                f"cannot open index at {self.path}: {e.__class__.__name__}: {e}"
                " (run `vnsearch index --rebuild`)"
            ) from None
        self._local = threading.local()  # this thread's searcher
        self._epoch = 0  # bumped by close(): other threads' searchers are let go
        self._caches = IndexCaches()

    # -- lifecycle -----------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike | None = None) -> Index:
        """Open the index at ``path`` (default :func:`default_index_dir`); raises
        :class:`~vnsearch.errors.IndexNotFoundError` or ``IndexFormatError``."""
        return cls(path)

    @classmethod
    def create(
        cls, path: str | os.PathLike | None = None, *, overwrite: bool = False,
        lock_timeout: float | None = None,
    ) -> Index:
        """Create an empty index at ``path``, or open the one there (``overwrite=True``
        replaces it, waiting up to ``lock_timeout`` seconds for a running writer).

        Whether an index is there is decided under the write lock: two processes creating
        one new index make it once, and neither wipes what the other wrote."""
        path = _index_path(path)
        if cls.exists(path) and not overwrite:
            return cls._opened(path, lock_timeout)
        with cls.lock(path, lock_timeout):
            if overwrite or not cls.exists(path):
                try:
                    cls._create_in(path)
                except OSError as e:  # a read-only or full file system...
                    raise VnsearchError(
                        f"cannot create index at {path}: {e.strerror or e}"
                    ) from None
        return cls._opened(path, lock_timeout)

    @classmethod
    def _opened(cls, path: str, lock_timeout: float | None) -> Index:
        ix = cls(path)
        if lock_timeout is not None:
            ix.lock_timeout = lock_timeout
        return ix

    @staticmethod
    def lock(path: str | os.PathLike | None = None, timeout: float | None = None):
        """The write lock of the index at ``path`` (a context manager), for work that must not
        be interleaved with another writer's, such as making an index and filling it; writes
        made while it is held take it again without waiting. Refuses a folder of other
        files (making an index clears its folder) before leaving a lock file there."""
        path = _index_path(path)
        if os.path.exists(path) and not os.path.isdir(path):
            raise VnsearchError(f"cannot create index at {path}: not a folder")
        _check_ours(path)
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as e:  # a parent that is a file, a read-only or virtual file system...
            raise VnsearchError(f"cannot create index at {path}: {e.strerror or e}") from None
        return WriteLock(path, DEFAULT_LOCK_TIMEOUT if timeout is None else timeout)

    @staticmethod
    def _create_in(path: str) -> None:
        """Make an empty index in ``path`` (the caller holds the write lock)."""
        _check_ours(path)
        names = os.listdir(path)
        for name in names if is_index_or_partial(names) else ():
            full = os.path.join(path, name)
            if name not in (".gitkeep", LOCK_FILE) and os.path.isfile(full):
                os.remove(full)
        windex.create_in(path, schema.build_schema())
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        _write_json_atomic(
            os.path.join(path, META_FILE),
            {
                "format_version": schema.FORMAT_VERSION,
                "analysis_version": schema.ANALYSIS_VERSION,
                "created": now,
                "updated": now,
            },
        )

    @staticmethod
    def exists(path: str | os.PathLike | None = None) -> bool:
        """Whether ``path`` holds a vnsearch index (compatible or not)."""
        path = _index_path(path)
        return has_metadata(path)

    def _read_meta(self) -> dict:
        meta_path = os.path.join(self.path, META_FILE)
        if not os.path.isdir(self.path) or not os.path.exists(meta_path):
            raise IndexNotFoundError(
                f"no index at {self.path} (create one with `vnsearch index PATH`)"
            )
        try:
            with open(meta_path, "rb") as f:
                meta = orjson.loads(f.read())
        except (OSError, ValueError) as e:
            reason = e.strerror if isinstance(e, OSError) else e
            raise IndexFormatError(
                f"unreadable index metadata {meta_path} ({reason}): run `vnsearch index --rebuild`"
            ) from None
        if not isinstance(meta, dict):
            raise IndexFormatError(
                f"unreadable index metadata {meta_path}: not a JSON object (run `vnsearch "
                "index --rebuild`)"
            )
        fv, av = meta.get("format_version"), meta.get("analysis_version")
        if _newer(fv, schema.FORMAT_VERSION) or _newer(av, schema.ANALYSIS_VERSION):
            raise IndexFormatError(
                f"index at {self.path} was written by a newer vnsearch (format {fv}/analysis "
                f"{av}, this one reads {schema.FORMAT_VERSION}/{schema.ANALYSIS_VERSION}): "
                "upgrade vnsearch, or start it over with `vnsearch index --rebuild`"
            )
        if fv not in (schema.FORMAT_VERSION, *schema.UPGRADABLE_FORMATS) \
                or av != schema.ANALYSIS_VERSION:
            raise IndexFormatError(
                f"index at {self.path} has format {fv}/analysis {av}, this vnsearch needs "
                f"{schema.FORMAT_VERSION}/{schema.ANALYSIS_VERSION}: run `vnsearch index "
                "--rebuild`"
            )
        return meta

    def _upgrade_format(self) -> None:
        """Mark an index of an older format this version writes to (UPGRADABLE_FORMATS) as
        this version's before anything is written: an older vnsearch must not read segments
        it cannot decode."""
        if self.meta.get("format_version") != schema.FORMAT_VERSION:
            self.meta["format_version"] = schema.FORMAT_VERSION
            _write_json_atomic(os.path.join(self.path, META_FILE), self.meta)

    def _touch(self) -> None:
        self.meta["updated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        _write_json_atomic(os.path.join(self.path, META_FILE), self.meta)
        self._refresh()

    def _refresh(self) -> None:
        local = self._local
        searcher = getattr(local, "searcher", None)
        if searcher is not None and (local.epoch != self._epoch or not searcher.up_to_date()):
            # Not Searcher.refresh(): it reuses a segment's reader when only the segment's
            # deletions changed, so deleted documents would still be found. Not close() either:
            # a search or similar() may still be reading it (ReaderClosed while an indexer
            # commits); its files are released when the last user lets go.
            local.searcher = None

    def searcher(self) -> Any:
        """This thread's Whoosh searcher, reused across searches and reopened after writes
        (never share it with another thread: ask each thread's own)."""
        self._refresh()
        local = self._local
        searcher = getattr(local, "searcher", None)
        if searcher is None:
            try:
                searcher = self._ix.searcher()
                searcher._vnsearch_cache = self._caches.for_reader(searcher.reader())
            except Exception as e:  # damaged segment files: whoosh raises struct.error, EOF...
                raise IndexFormatError(
                    f"cannot read index at {self.path}: {e.__class__.__name__}: {e} (run "
                    "`vnsearch index --rebuild`)"
                ) from None
            local.searcher, local.epoch = searcher, self._epoch
        return searcher

    def close(self) -> None:
        """Release this thread's searcher (files and memory maps) and let the other threads'
        go when they next search; the index can still be used."""
        self._epoch += 1
        searcher = getattr(self._local, "searcher", None)
        if searcher is not None:
            self._local.searcher = None
            searcher.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------------
    #: Seconds a writer waits for another process's write to finish before giving up.
    lock_timeout: float = 30.0
    #: Documents per commit (an interrupted run keeps every committed batch).
    batch_size: int | None = None

    def _write(self, work: Callable[..., _R], progress=None) -> _R:
        """Run ``work(whoosh_index, state, duplicates, **options)`` holding the write lock."""
        from vnsearch.write import pipeline

        t0 = time.perf_counter()
        with WriteLock(self.path, self.lock_timeout), _write_failures(self.path), \
                IndexState(self.path) as state:
            self._upgrade_format()
            with self._duplicates() as dup:
                report = work(
                    self._ix, state, duplicates=dup, progress=progress,
                    batch_size=self.batch_size or pipeline.DEFAULT_BATCH_SIZE,
                )
            self._touch()
        if isinstance(report, IndexReport):
            report.seconds = time.perf_counter() - t0
        return report

    def add(
        self, documents: Document | dict[str, Any] | Iterable[Document | dict[str, Any]]
        | Iterable[Document | IngestProblem], *,
        jobs: int | None = None, progress: ProgressCallback | None = None,
    ) -> IndexReport:
        """Add documents, replacing any with the same id; unchanged documents are skipped
        without being analysed again. ``documents``: a :class:`Document`, a record dict (the
        JSON record shape: ``title``, ``body``, ``date``...), or an iterable of either; a
        record that cannot be a document is left out and listed in the report's problems."""
        from vnsearch.ingest.records import as_documents
        from vnsearch.write import pipeline

        _check_documents(documents)
        report = pipeline.IndexReport()
        return self._write(
            lambda ix, state, **kw: pipeline.write(
                ix, state, as_documents(documents, report), jobs=jobs, report=report, **kw
            ),
            progress,
        )

    def add_stream(
        self, stream: BinaryIO, *, jobs: int | None = None, max_size: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> IndexReport:
        """Add what a binary stream holds (standard input): JSON Lines, streamed, or one
        document (see :func:`vnsearch.ingest.readers.read_stream`); problems go to the
        report."""
        from vnsearch.ingest.readers import read_stream

        docs = read_stream(stream) if max_size is None else read_stream(stream, max_size=max_size)
        return self.add(docs, jobs=jobs, progress=progress)

    def index_paths(
        self, paths: str | os.PathLike | Iterable[str | os.PathLike], *, jobs: int | None = None,
        max_file_size: int | None = None, progress: ProgressCallback | None = None,
    ) -> IndexReport:
        """Bring the index in line with files and folders (see :mod:`vnsearch.ingest`): new
        and changed files are indexed, unchanged ones skipped, and documents of files deleted
        under these folders removed. ``progress`` is called with a
        :class:`vnsearch.write.report.Progress` as documents are written. One path may be
        given alone."""
        from vnsearch.write import pipeline

        paths = _paths(paths)
        return self._write(
            lambda ix, state, **kw: pipeline.index_files(
                ix, state, paths, jobs=jobs, max_file_size=max_file_size, **kw
            ),
            progress,
        )

    def delete(self, ids: str | Iterable[str]) -> int:
        """Delete documents by id (one id, or several); returns how many were removed."""
        from vnsearch.write import pipeline

        ids = [ids] if isinstance(ids, str) else list(_iterable(ids, "ids", "an id or ids"))
        for doc_id in ids:
            expect(doc_id, str, "an id", "a str")
        return self._write(
            lambda ix, state, duplicates, **kw: pipeline.delete(
                ix, state, ids, duplicates=duplicates
            )
        )

    def optimize(self, *, jobs: int | None = None) -> dict[str, Any]:
        """Merge the index's segments into one, as a finished archive is best searched: a
        search then reads one term dictionary and one posting list a term, and deleted
        documents' space is reclaimed. Rewrites every document (about 1 ms of CPU each), in
        two processes unless ``jobs`` is 1; an interrupted run leaves the index as it was.
        Returns ``segments_before``, ``segments``, ``documents`` and ``seconds``."""
        from vnsearch.write import pipeline

        t0 = time.perf_counter()
        before, after = self._write(
            lambda ix, state, **kw: pipeline.optimize(ix, state, jobs=jobs))
        return {"segments_before": before, "segments": after, "documents": len(self),
                "seconds": round(time.perf_counter() - t0, 3)}

    #: Keep near-duplicate signatures and groups (``duplicates.sqlite``) while indexing.
    track_duplicates = True

    def _duplicates(self):
        """The writable duplicate store (a context manager), or a null one when not tracked."""
        if not self.track_duplicates:
            return contextlib.nullcontext()

        return DuplicateStore(store_path(self.path))

    # -- reading ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.searcher().doc_count()

    def resolve_id(self, doc_id: str) -> str:
        """The id as stored: ``doc_id`` itself, or its composed (NFC) or decomposed (NFD) form
        when that is the one indexed — file names copied from macOS are NFD, people type NFC.
        An id found in no form comes back unchanged."""
        expect(doc_id, str, "the document id", "a str")
        searcher = self.searcher()
        if searcher.document_number(id=doc_id) is not None:
            return doc_id
        for form in ("NFC", "NFD"):
            other = unicodedata.normalize(form, doc_id)
            if other != doc_id and searcher.document_number(id=other) is not None:
                return other
        return doc_id

    def get(self, doc_id: str) -> Document:
        """The stored document with this id (typed composed or decomposed)."""
        expect(doc_id, str, "the document id", "a str")
        doc = stored_document(self.searcher(), self.resolve_id(doc_id))
        if doc is None:
            raise DocumentNotFoundError(f"no document with id {doc_id!r}")
        return doc

    def search(
        self,
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
    ) -> Results:
        """Search. An empty ``query`` with filters lists the filtered documents.

        ``limit`` hits (at most 10,000; ``Results.limit`` says what was applied) after
        skipping ``offset``, by ``sort`` (``relevance``, ``date`` or ``-date``); ``author`` and
        ``tag`` (one value or a list: any of them), ``since``/``until`` (``YYYY``, ``YYYY-MM``
        or ``YYYY-MM-DD``, inclusive) filter; ``facets`` (``author``, ``tags``, ``year``,
        ``month``; a list or a comma string) are counted over all matches; ``snippets`` and
        ``suggest`` ("did you mean") can be turned off; ``sections`` limits free text to some
        of title, summary, body, captions. ``collapse``: one hit per near-duplicate group, the
        other matching copies in ``Hit.duplicates``. ``where`` keeps documents whose stored
        metadata fields have the values given (``{"category": "Thời sự"}`` or
        ``["category=Thời sự"]``; case and accents ignored), and ``facets`` may name such
        fields too. Bad values raise :class:`~vnsearch.errors.QueryError`.
        """
        from vnsearch.search.run import search

        return search(
            self.searcher(), query, limit=limit, offset=offset, sort=sort, author=author,
            tag=tag, since=since, until=until, facets=facets, snippets=snippets,
            sections=sections, suggest=suggest, collapse=collapse, where=where,
            duplicates=functools.partial(open_readonly, self.path),
        )

    def similar(self, doc_id: str, *, limit: int = 10, copies: bool = False) -> Results:
        """Documents like ``doc_id`` (more like this): never the document itself, nor its
        near-identical copies (the same text syndicated elsewhere) unless ``copies`` is true —
        those are :meth:`near_copies`."""
        from vnsearch.search.similar import copies_or_none, similar

        doc_id = self.resolve_id(doc_id)
        searcher = self.searcher()
        skip = [] if copies else [c["id"] for c in copies_or_none(searcher, self.path, doc_id)
                                  or ()]
        return similar(searcher, doc_id, limit=limit, exclude=skip)

    def near_copies(self, doc_id: str) -> list[dict] | None:
        """Near-identical copies of ``doc_id`` (its duplicate group: id, title, date, estimated
        similarity), or None when the index has no duplicate data."""
        from vnsearch.search.similar import copies_or_none

        return copies_or_none(self.searcher(), self.path, self.resolve_id(doc_id))

    def duplicate_groups(
        self, *, threshold: float | None = None, min_size: int = 2
    ) -> list[dict]:
        """Groups of near-identical copies (each member's id, title, date, source), largest
        first; ``threshold`` regroups at another estimated Jaccard similarity. Raises
        :class:`~vnsearch.errors.DuplicateStoreError` when the index has no duplicate data."""
        from vnsearch.search.similar import duplicate_groups

        with open_readonly(self.path) as store:
            return duplicate_groups(self.searcher(), store, threshold, min_size)

    def stats(self) -> dict[str, Any]:
        """Document count, fields, size on disk, last update, format versions."""
        size = 0
        for name in os.listdir(self.path):
            full = os.path.join(self.path, name)
            if os.path.isfile(full):
                size += os.path.getsize(full)
        s = self.searcher()
        return {
            "path": os.path.abspath(self.path),
            "documents": s.doc_count(),
            "segments": len(s.reader().leaf_readers()),
            "fields": sorted(schema.build_schema().names()),
            "size_bytes": size,
            "created": self.meta.get("created"),
            "updated": self.meta.get("updated"),
            "format_version": self.meta.get("format_version"),
            "analysis_version": self.meta.get("analysis_version"),
            "acronym_pairs": len(self.acronyms()),
        }

    def acronyms(self) -> dict[str, int]:
        """The acronym pairs learned from the indexed text (``"ubnd=uỷ_ban_nhân_dân"``: how
        many documents spell it out), most documents first."""
        from vnsearch.search.rank import scorer_for

        pairs = scorer_for(self.searcher()).acronym_pairs()
        return dict(sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0])))

    def analyze(self, text: str) -> dict:
        """How ``text`` is normalised, segmented and folded (``vnsearch analyze --json``), and
        under ``acronyms`` the pairs this index learned for its words (``UBND``, or words
        spelling ``Ủy ban nhân dân``): ``[{"acronym", "full", "documents"}]``."""
        from vnsearch.text.acronyms import pairs_for
        from vnsearch.text.analysis import analyze

        a = analyze(text)
        return {**a.to_dict(), "acronyms": pairs_for(a, self.acronyms())}


#: sqlite's words for the system's refusals, as the system says them.
_SQLITE_REFUSALS = {
    "database or disk is full": os.strerror(errno.ENOSPC),
    "disk i/o error": os.strerror(errno.EIO),
    "attempt to write a readonly database": "read-only database or file system",
    "unable to open database file": "cannot open a database file (permissions?)",
}


@contextlib.contextmanager
def _write_failures(path: str):
    """The system refusing a write (a full disk, an I/O error, no permission), from Whoosh,
    sqlite or a worker process, as one :class:`IndexWriteError` naming the index and its file
    system. The index keeps its last commit: each batch is committed whole or not at all."""
    try:
        yield
    except OSError as e:
        reason = (e.strerror or str(e)) + (f": {e.filename}" if e.filename else "")
        raise IndexWriteError(_write_failure_message(path, reason)) from None
    except sqlite3.OperationalError as e:
        refusal = _SQLITE_REFUSALS.get(str(e).lower())
        if refusal is None:
            raise
        raise IndexWriteError(_write_failure_message(path, refusal)) from None


def _write_failure_message(path: str, reason: str) -> str:
    where = os.path.abspath(path)
    mount = where
    while not os.path.ismount(mount) and os.path.dirname(mount) != mount:
        mount = os.path.dirname(mount)
    return (
        f"cannot write the index at {path}: {reason} (file system {mount}); the index keeps "
        "its last commit: fix that and run again"
    )


def _index_path(path) -> str:
    """The index folder as a str: the default for None; a TypeError for what is not a path."""
    if path is None:
        return default_index_dir()
    return os.fspath(expect(path, (str, os.PathLike), "the index path", "a str or a path"))


def _iterable(value, name: str, what: str):
    try:
        return iter(value)
    except TypeError:
        raise ArgumentTypeError(
            f"{name} must be {what}, not {type(value).__name__}"
        ) from None


def _paths(paths) -> list[str]:
    """``index_paths`` arguments: one path (a str iterates as characters: '/' first, the whole
    disk was walked) or several; each a str or a path."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    what = "a path or a list of paths (str or os.PathLike)"
    return [os.fspath(expect(p, (str, os.PathLike), "paths", what))
            for p in _iterable(paths, "paths", what)]


def _check_documents(documents) -> None:
    """``add`` takes a Document, a record dict or an iterable of them: not text (a str would
    be iterated as characters) nor anything else that is not iterable."""
    if isinstance(documents, (Document, dict)):
        return
    what = "a Document, a record dict or an iterable of them"
    if isinstance(documents, (str, bytes)):
        raise ArgumentTypeError(f"documents must be {what}, not {type(documents).__name__}")
    _iterable(documents, "documents", what)


def _check_ours(path: str) -> None:
    """Refuse to make an index in a folder of other files: creating one clears the folder."""
    if not os.path.isdir(path):
        return
    names = os.listdir(path)
    others = [n for n in names if not n.startswith(".") and n != LOCK_FILE]
    if others and not is_index_or_partial(names):
        raise VnsearchError(
            f"cannot create index at {path}: the folder is not empty and is not a vnsearch "
            f"index (it holds {sorted(others)[0]}); give an empty or new folder"
        )


def _newer(version, ours: int) -> bool:
    return isinstance(version, int) and not isinstance(version, bool) and version > ours
