"""Writing documents into the Whoosh index: incremental, in parallel, in crash-safe batches.

- **Incremental**: files are compared with :mod:`vnsearch.write.state` by stat, then by content
  hash; documents by content hash. Only new or changed documents are analysed; documents of files
  deleted under the folders being indexed are removed.
- **Parallel**: CRF tagging holds the GIL, so analysis runs in forked worker processes that
  inherit the loaded model. Each worker also writes the documents it analysed into a segment of
  its own (:mod:`vnsearch.codec.segment_writer`), so Whoosh's writing runs on all cores too. The
  parent reads files, keeps at most a bounded window of chunks in flight (memory does not grow
  with the corpus), applies deletions and bookkeeping in reading order, and owns the only
  commit.
- **Crash-safe**: every ``batch_size`` documents, or ``commit_seconds`` after a batch's first
  document (whichever comes first), the workers finish their segments and the
  parent commits them; the state of a batch is recorded as pending before the Whoosh commit
  and applied after it (see :meth:`vnsearch.write.state.IndexState.recover`), so an interrupted run
  leaves the last committed batch searchable and the next run carries on from there. Segments
  are built in staging folders that Whoosh ignores until the commit that lists them.
- **Merged in tiers**: earlier segments whose tier is full are merged
  (:func:`vnsearch.codec.merge.plan_merge`: about log6 rewrites of each document, a block of
  postings at a time, in bounded memory), so searches read a handful of segments however
  large the index grows. With worker processes a merge runs in a process of its own
  (:mod:`vnsearch.write.merging`), started after a commit and listed at a later one, so the
  workers never wait for it; up to two run at once, and the run's end waits for them and
  for the merges they make possible. Last, the run's smallest segments are merged
  (:func:`vnsearch.codec.merge.plan_settle`), so what it leaves does not depend on timing.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import multiprocessing as mp
import os
import time
from collections import deque
from collections.abc import Callable, Iterable

import orjson
from whoosh import index as windex

from vnsearch.codec.merge import (
    live_segments,
    merge_all,
    merge_tiers,
    plan_next,
    plan_settle,
)
from vnsearch.codec.schema import document_fields
from vnsearch.codec.segment_writer import (
    STAGING_PREFIX,
    FastSegmentWriter,
    StagedSegments,
    adopt,
    clear_staging,
)
from vnsearch.dedup.minhash import document_signature
from vnsearch.dedup.store import sync_with_index
from vnsearch.document import MAX_DOCUMENT_CHARS, Document, cut_to_size, text_length
from vnsearch.forked import detach_from_parent
from vnsearch.ingest.readers import read_source
from vnsearch.ingest.walk import (
    FAILED,
    MAX_LINE_PROBLEMS,
    SKIPPED,
    WARNING,
    IngestProblem,
    _display_root,
    walk_paths,
)
from vnsearch.text.segmenter import load_model
from vnsearch.write.merging import BackgroundMerge, wait_for_one
from vnsearch.write.report import IndexReport, Progress
from vnsearch.write.state import FileRecord, file_hash, stored_ids

__all__ = [
    "IndexReport", "Progress", "prepare", "default_jobs", "write", "index_files",
    "content_hash",
]

#: Documents per commit. Small batches lose less work on a crash; large ones write faster
#: and search faster: each worker writes one segment per batch, and a segment of 2000
#: documents has 170 distinct terms per document to write, one of 500 has 290.
DEFAULT_BATCH_SIZE = 4000
#: A batch is also committed once this many seconds passed since its first document: a
#: killed run loses at most about this much work, however slow the documents are.
COMMIT_SECONDS = 30.0
#: Documents per task sent to a worker process.
CHUNK_SIZE = 8
#: Chunks queued per worker before the reader waits for results (bounds memory).
WINDOW_PER_JOB = 4
#: A chunk is also sent after this many bookkeeping entries (keeps progress moving).
MAX_CHUNK_ENTRIES = 256
SIGNATURE_KEY = "_duplicate_signature"
#: Merge in a process beside the pipeline (True), at each commit (False), or in the
#: background only when documents are analysed in worker processes (None): with one process
#: the user asked for one core.
BACKGROUND_MERGES: bool | None = None
#: Background merges running at once (of distinct segments): a small tier's merge need not
#: wait for a large one, whose sources would pile up meanwhile; and the run's last merges use
#: two cores instead of one.
MAX_MERGES = 2
#: A background merge of at least this many documents runs in two processes (each merging
#: half of the terms): a tier's merge that starts late in a run is the run's last work, and
#: in one process it left a core idle for a minute at 160k articles (84k documents merged).
SPLIT_MERGE_DOCS = 20_000


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _hash_bytes(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=12).hexdigest()


def content_hash(doc: Document) -> str:
    """Hash of everything a document holds (what decides 'unchanged')."""
    return _hash_bytes(orjson.dumps(doc.to_dict()))


class UnstorableDocument(ValueError):
    """A document that cannot be written as JSON (a value nested too deep)."""


def stored_bytes(doc: Document) -> bytes:
    """The document as stored (JSON), or :class:`UnstorableDocument`."""
    try:
        return orjson.dumps(doc.to_dict())
    except (TypeError, RecursionError) as e:  # orjson stops at 255 levels, asdict at ~1000
        reason = "nested too deep to store" if "ecursion" in str(e) or isinstance(
            e, RecursionError) else f"cannot be stored as JSON ({e})"
        raise UnstorableDocument(f"document {doc.id!r}: {reason}") from None


def prepare(doc: Document, signatures: bool = False, doc_hash: str | None = None) -> dict:
    """Analyse one document into Whoosh field values, pre-analysed fields as their postings
    (runs in a worker process; see :mod:`vnsearch.codec.segment_writer`).

    ``signatures`` adds the near-duplicate signature under ``SIGNATURE_KEY`` (not a field).
    """
    values = document_fields(doc, doc_hash or content_hash(doc), as_terms=True)
    if signatures:
        values[SIGNATURE_KEY] = document_signature(doc)
    return values


class _Segments:
    """Analyses chunks of documents and adds them to a staged segment, which it writes when
    asked (:class:`vnsearch.codec.segment_writer.StagedSegments`). Replies are queued in request
    order: a list of signatures per chunk, the segment per ``flush``."""

    def __init__(self, ix, schema, name: str, signatures: bool):
        self.signatures = signatures
        self.staged = StagedSegments(ix.storage.folder, name, schema, ix.indexname)
        self.dir = self.staged.dir
        self.replies: deque = deque()
        self.outstanding = 0

    def handle(self, request):
        if request[0] == "docs":
            signatures = []
            for doc, h in request[1]:
                values = prepare(doc, self.signatures, h)
                signatures.append(values.pop(SIGNATURE_KEY, None))
                self.staged.add(values)
            return signatures
        segment = self.staged.finish()  # "flush"
        gc.collect()  # collection is paused while indexing (see _gc_paused)
        return segment

    # The same interface as a worker process (jobs=1 runs everything here).
    def send(self, request) -> None:
        self.outstanding += 1
        self.replies.append(self.handle(request))

    def recv(self):
        self.outstanding -= 1
        return self.replies.popleft()

    def close(self, ok: bool, remove: bool = True) -> None:
        self.staged.close(remove)


@contextlib.contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while documents are added: the postings tables hold
    millions of small lists, which every collection would traverse again (a fifth of the
    indexing time). Our indexing code makes no reference cycles to speak of; a collection runs
    after each segment is written."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _worker_main(conn, ix, schema, name: str, signatures: bool) -> None:
    detach_from_parent()
    gc.freeze()  # what the worker inherited (the model) is never garbage
    segments = None
    try:
        segments = _Segments(ix, schema, name, signatures)
        with _gc_paused():
            while True:
                request = conn.recv()
                if request[0] == "stop":
                    break
                conn.send(("ok", segments.handle(request)))
    except BaseException as e:  # reported to the parent, which aborts the run
        try:  # the system's refusals (a full disk) as themselves, for the parent to report
            conn.send(("error", OSError(e.errno, e.strerror, e.filename)
                       if isinstance(e, OSError) else f"{type(e).__name__}: {e}"))
        except (OSError, ValueError):
            pass
    finally:
        if segments is not None:
            # Its folder stays: the parent may not have adopted its last segments yet (it
            # clears staging folders once the workers are gone).
            segments.close(False, remove=False)
        conn.close()


def _worker_error(value) -> Exception:
    """A worker's report as an exception: the system's refusals (OSError) as themselves."""
    return value if isinstance(value, OSError) else RuntimeError(f"indexing worker failed: {value}")


class _WorkerProcess:
    """A forked process running :class:`_Segments` (it inherits the loaded model)."""

    def __init__(self, ctx, ix, name: str, signatures: bool):
        self.conn, child = ctx.Pipe()
        self.dir = os.path.join(ix.storage.folder, STAGING_PREFIX + name)
        self.process = ctx.Process(
            # the schema read here: in the worker, ``ix.schema`` would read the newest table of
            # contents, which a commit of the parent may delete between listing and opening it
            target=_worker_main, args=(child, ix, ix.schema, name, signatures), daemon=True
        )
        self.process.start()
        child.close()
        self.outstanding = 0

    def send(self, request) -> None:
        self.outstanding += 1
        try:
            self.conn.send(request)
        except OSError:  # the worker stopped (a full disk?): say why, not "broken pipe"
            raise self._failure() from None

    def recv(self):
        self.outstanding -= 1
        try:
            kind, value = self.conn.recv()
        except (EOFError, OSError):
            raise self._failure() from None
        if kind == "error":
            raise _worker_error(value)
        return value

    def _failure(self) -> Exception:
        """Why the worker stopped: the error it reported, if one is still in the pipe."""
        try:
            while self.conn.poll(5):
                kind, value = self.conn.recv()
                if kind == "error":
                    return _worker_error(value)
        except (EOFError, OSError):
            pass
        return RuntimeError("an indexing worker process died")

    def close(self, ok: bool) -> None:
        if ok:
            try:
                self.conn.send(("stop",))
            except OSError:
                ok = False
        if not ok:
            self.process.terminate()
        self.process.join()
        self.conn.close()


def _start_workers(ix, jobs: int, signatures: bool) -> list:
    if jobs == 1:
        return [_Segments(ix, ix.schema, "0", signatures)]

    load_model()  # before fork: workers share the loaded model
    ctx = mp.get_context("fork")
    return [_WorkerProcess(ctx, ix, str(i), signatures) for i in range(jobs)]


# Entries of the write queue, in reading order: analysed documents and the bookkeeping that
# must follow them (a file is recorded only once all its documents are written).
_DOC, _SAME, _DELETE, _FILE, _FILE_GONE = range(5)


class _Pipeline:
    """Reads in order; workers analyse documents and build one segment each per batch; the
    parent applies bookkeeping in order and commits each batch (its deletions, the workers'
    segments, the incremental state) in one Whoosh commit.

    Batches are cut on the reading side, so that a segment holds exactly the documents whose
    state the same commit records: after ``batch_size`` documents or deletions, and before a
    document id comes back within the batch (a writer cannot replace its own documents)."""

    def __init__(
        self, ix, state, report: IndexReport, *, jobs: int | None, batch_size: int,
        duplicates, progress: Callable[[Progress], None] | None,
        commit_seconds: float = COMMIT_SECONDS,
    ):
        self.ix, self.state, self.report, self.dup = ix, state, report, duplicates
        self.batch_size = max(1, batch_size)
        self.commit_seconds = commit_seconds
        self.batch_started: float | None = None
        self.jobs = default_jobs() if jobs is None else max(1, jobs)
        self.progress_cb = progress
        self.progress = Progress()
        self.window = self.jobs * WINDOW_PER_JOB
        # What the index will hold once everything queued is written: id -> hash (None:
        # deleted) and id -> owning file, for ids touched in this run.
        self.run_hash: dict[str, str | None] = {}
        self.run_owner: dict[str, str | None] = {}
        # ("chunk", worker or None, entries) and ("commit", {worker: documents sent}) items.
        self.queue: deque = deque()
        self.chunk_docs: list[tuple[Document, str]] = []
        self.chunk_entries: list[tuple] = []
        self.batch_ids: set[str] = set()
        self.batch_changes = 0
        self.batch_docs: dict = {}
        self.writer = None
        self.workers: list = []
        self.background = self.jobs > 1 if BACKGROUND_MERGES is None else BACKGROUND_MERGES
        self.merges: list[BackgroundMerge] = []
        #: At the run's end, the documents it wrote (:func:`plan_settle`'s budget); 0 before.
        self.settle = 0

    # -- what is indexed -------------------------------------------------------------------
    def known_hash(self, doc_id: str) -> str | None:
        if doc_id in self.run_hash:
            return self.run_hash[doc_id]
        return self.state.doc_hash(doc_id)

    def owner(self, doc_id: str) -> str | None:
        if doc_id in self.run_owner:
            return self.run_owner[doc_id]
        return self.state.doc_owner(doc_id)

    # -- reading side ----------------------------------------------------------------------
    def start(self) -> None:
        clear_staging(self.ix.storage.folder)
        self.workers = _start_workers(self.ix, self.jobs, self.dup is not None)

    def add_document(self, doc: Document, owner: str | None, data: bytes | None = None) -> None:
        data = data if data is not None else stored_bytes(doc)
        h = _hash_bytes(data)
        self.report.read += 1
        prev = self.known_hash(doc.id)
        self.run_hash[doc.id], self.run_owner[doc.id] = h, owner
        if prev == h:
            self.report.unchanged += 1
            self._entry((_SAME, doc.id, h, owner))
        else:
            self._change(doc.id)
            self.chunk_docs.append((doc, h))
            self._entry((_DOC, doc.id, h, owner, prev is not None, len(data)))
            self._count_change()

    def delete_document(self, doc_id: str, forget_file: bool = False) -> None:
        """Remove ``doc_id``; ``forget_file`` also makes its file count as new next time (a
        document deleted by id comes back if its file is indexed again)."""
        if self.known_hash(doc_id) is None:
            return
        owner = self.owner(doc_id) if forget_file else None
        self.run_hash[doc_id], self.run_owner[doc_id] = None, None
        self._change(doc_id)
        self._entry((_DELETE, doc_id))
        self._count_change()
        if owner is not None:
            self.file_gone(owner)

    def file_done(self, rel: str, record, nbytes: int = 0) -> None:
        self._entry((_FILE, rel, record, nbytes))

    def file_gone(self, rel: str) -> None:
        self._entry((_FILE_GONE, rel))

    def _change(self, doc_id: str) -> None:
        if doc_id in self.batch_ids:
            self.end_batch()
        self.batch_ids.add(doc_id)

    def _count_change(self) -> None:
        self.batch_changes += 1
        now = time.monotonic()
        if self.batch_started is None:
            self.batch_started = now
        if (self.batch_changes >= self.batch_size
                or now - self.batch_started >= self.commit_seconds):
            self.end_batch()

    def _entry(self, entry: tuple) -> None:
        self.chunk_entries.append(entry)
        if len(self.chunk_docs) >= CHUNK_SIZE or len(self.chunk_entries) >= MAX_CHUNK_ENTRIES:
            self.flush()

    def flush(self) -> None:
        """Send the current chunk to the worker with the fewest documents in this batch (equal
        segments, equal work); write finished chunks while too many wait."""
        if self.chunk_entries:
            worker = None
            if self.chunk_docs:
                sent = self.batch_docs
                worker = min(self.workers, key=lambda w: (sent.get(w, 0), w.outstanding))
                worker.send(("docs", self.chunk_docs))
                self.batch_docs[worker] = self.batch_docs.get(worker, 0) + len(self.chunk_docs)
            self.queue.append(("chunk", worker, self.chunk_entries))
            self.chunk_docs, self.chunk_entries = [], []
        while len(self.queue) > self.window:
            self._write(self.queue.popleft())

    def end_batch(self) -> None:
        """Close the batch: the workers write their segments, the parent commits them once
        everything before this point is written."""
        self.flush()
        for worker in self.batch_docs:
            worker.send(("flush",))
        self.queue.append(("commit", self.batch_docs))
        self.batch_docs, self.batch_ids, self.batch_changes = {}, set(), 0
        self.batch_started = None
        self.flush()

    def finish(self) -> None:
        self.end_batch()
        while self.queue:
            self._write(self.queue.popleft())
        self._wait_for_merges()
        written = self.report.added + self.report.updated
        if plan_settle(live_segments(self.ix._segments()), written):
            # The run's smallest segments merged, so that what a search reads does not
            # depend on which tiers happened to be full (:func:`plan_settle`).
            self.settle = written
            if self.background:
                self._start_merges()
                self._wait_for_merges()
            else:
                self._writer()
                self.commit()
        self._close_workers(ok=True)  # (clears the staging folders, the merge's too)

    def _wait_for_merges(self) -> None:
        while self.background and self.merges:
            # The run's last merges, each listed as soon as it is done, and those it makes
            # possible started (in processes: up to MAX_MERGES at a time).
            self.commit(wait=True)

    def abort(self) -> None:
        """After an error or Ctrl-C: drop the uncommitted batch (the index keeps the last
        committed one) and stop the workers."""
        writer, self.writer = self.writer, None
        merges, self.merges = self.merges, []
        try:
            if writer is not None:
                writer.cancel()  # raises when a failed commit has closed it already
        finally:
            try:
                for merging in merges:
                    merging.close()
            finally:
                self._close_workers(ok=False)

    def _close_workers(self, ok: bool) -> None:
        workers, self.workers = self.workers, []
        for worker in workers:
            worker.close(ok)
        clear_staging(self.ix.storage.folder)

    # -- writing side ----------------------------------------------------------------------
    def _writer(self):
        if self.writer is None:
            self.writer = FastSegmentWriter(self.ix, limitmb=256)
        return self.writer

    def _write(self, item: tuple) -> None:
        if item[0] == "commit":
            self.commit(item[1])
            return
        _, worker, entries = item
        signatures = iter(worker.recv() if worker is not None else ())
        report, state = self.report, self.state
        for entry in entries:
            kind = entry[0]
            if kind == _DOC:
                _, doc_id, h, owner, existed, nbytes = entry
                signature = next(signatures)
                if existed:  # the new version is in a worker's segment of this batch
                    self._writer().delete_by_term("id", doc_id)
                    report.updated += 1
                else:
                    report.added += 1
                state.put_doc(doc_id, h, owner)
                if self.dup is not None:
                    self.dup.add_signature(doc_id, signature, version=h)
                self.progress.docs += 1
                self.progress.bytes_done += nbytes
            elif kind == _SAME:
                state.put_doc(entry[1], entry[2], entry[3])
            elif kind == _DELETE:
                doc_id = entry[1]
                self._writer().delete_by_term("id", doc_id)
                state.drop_doc(doc_id)
                if self.dup is not None:
                    self.dup.remove_many([doc_id])
                report.removed += 1
            elif kind == _FILE:
                _, rel, record, nbytes = entry
                if record is not None:
                    state.put_file(rel, record)
                self.progress.bytes_done = max(self.progress.bytes_done, nbytes)
            elif kind == _FILE_GONE:
                state.drop_file(entry[1])
        if self.progress_cb is not None:
            self.progress_cb(self.progress)

    def commit(self, sent: dict | None = None, wait: bool = False) -> None:
        """Commit the batch: state pending, Whoosh commit (deletions, the workers' new
        segments, finished background merges), state applied, duplicates saved.
        ``wait``: wait for a background merge to finish (at the run's end)."""
        segments = []
        for worker, count in (sent or {}).items():
            segment = worker.recv()
            found = 0 if segment is None else segment.doc_count_all()
            if found != count:
                raise RuntimeError(f"a worker wrote {found} documents of {count}")
            segments.append((worker, segment))
        # Those still running are listed at a later commit.
        merged = wait_for_one(self.merges) if wait else [m for m in self.merges if m.done()]
        if segments or self.writer is not None or merged:
            writer = self._writer()
            folder = self.ix.storage.folder
            for worker, segment in segments:
                adopt(worker.dir, folder, segment)
            for done in merged:
                done.adopt()
            new = [segment for _, segment in segments]
            self.state.prepare(self.ix.latest_generation())
            # This batch's segments join the smallest tier.
            writer.commit(mergetype=lambda w, existing: self._merge(existing, merged) + new)
            self.writer = None
            self.state.apply()
            for done in merged:
                self.merges.remove(done)
                done.close()
        elif self.state.has_pending:
            self.state.apply()
        if self.dup is not None:
            self.dup.checkpoint()
        if self.background:
            self._start_merges()

    def _merge(self, existing: list, merged: list[BackgroundMerge]) -> list:
        """The segments a commit lists: with finished background merges swapped in, and,
        when merges run at commits, full tiers merged (in bounded memory, a block at a
        time). Segments whose documents are all deleted are dropped, unless a merge still
        reads them."""
        for done in merged:
            existing = done.swap(existing)
        if not self.background:
            existing, self.settle = merge_tiers(self.ix, existing, self.settle), 0
            return existing
        busy = self._busy([m for m in self.merges if m not in merged])
        return [s for s in existing if s.doc_count() > 0 or s.segment_id() in busy]

    @staticmethod
    def _busy(merges: list[BackgroundMerge]) -> set[str]:
        return {sid for m in merges for sid in m.source_ids()}

    def _start_merges(self) -> None:
        """After a commit: merge the committed segments of full tiers (and at the run's end
        its smallest) in the background, of segments no running merge reads, up to
        ``MAX_MERGES`` at a time."""
        while len(self.merges) < MAX_MERGES:
            busy = self._busy(self.merges)
            idle = [s for s in live_segments(self.ix._segments()) if s.segment_id() not in busy]
            chosen, self.settle = plan_next(idle, self.settle)
            if not chosen:
                return
            names = {m.name for m in self.merges}
            name = next(f"merge{i}" for i in range(MAX_MERGES) if f"merge{i}" not in names)
            large = sum(s.doc_count() for s in chosen) >= SPLIT_MERGE_DOCS
            self.merges.append(BackgroundMerge(self.ix, chosen, name, processes=2 if large else 1))


def _open_pipeline(ix, state, report, duplicates, **kwargs) -> _Pipeline:
    state.recover(ix.latest_generation())
    if state.fresh:
        # An index written before incremental state existed: learn its documents once.

        state.reset(stored_ids(ix))
        state.fresh = False
    if duplicates is not None:
        sync_with_index(duplicates, ix, state.hashes())  # after a crash, or an older index
    return _Pipeline(ix, state, report, duplicates=duplicates, **kwargs)


def _run(pipeline: _Pipeline, feed: Callable[[], None]) -> None:
    ok = False
    pipeline.start()
    # Duplicate data is committed with each batch (``commit`` checkpoints), not per document.
    dup = pipeline.dup
    in_process = pipeline.jobs == 1  # documents are added to segments in this process
    try:
        with dup.transaction() if dup is not None else contextlib.nullcontext(), \
                _gc_paused() if in_process else contextlib.nullcontext():
            feed()
            pipeline.finish()
            ok = True
    finally:
        if not ok:
            try:
                pipeline.abort()
            except Exception:  # noqa: BLE001 - best effort: the error to report is the first
                pass  # (a writer a failed commit closed, a staging folder already gone)


def write(
    ix,
    state,
    docs: Iterable[Document],
    *,
    jobs: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    commit_seconds: float = COMMIT_SECONDS,
    report: IndexReport | None = None,
    duplicates=None,
    progress: Callable[[Progress], None] | None = None,
) -> IndexReport:
    """Add or replace ``docs`` (not tied to files) in the Whoosh index ``ix``."""
    report = report if report is not None else IndexReport()
    pipeline = _open_pipeline(
        ix, state, report, duplicates, jobs=jobs, batch_size=batch_size, progress=progress,
        commit_seconds=commit_seconds,
    )

    def feed():
        for doc in docs:
            doc = _bounded(doc, report, doc.id)
            try:
                data = stored_bytes(doc)
            except UnstorableDocument as e:
                count_problem(report, IngestProblem(doc.id, None, str(e), FAILED))
                continue
            pipeline.add_document(doc, None, data)

    _run(pipeline, feed)
    return report


def delete(ix, state, ids: Iterable[str], *, duplicates=None) -> int:
    """Remove documents by id; returns how many were in the index."""
    report = IndexReport()
    pipeline = _open_pipeline(ix, state, report, duplicates, jobs=1, batch_size=DEFAULT_BATCH_SIZE,
                              progress=None)

    def feed():
        for doc_id in ids:
            pipeline.delete_document(doc_id, forget_file=True)

    _run(pipeline, feed)
    return report.removed


def optimize(ix, state, jobs: int | None = None) -> tuple[int, int]:
    """Merge every segment of ``ix`` into one, deleted documents left out, in two processes
    unless ``jobs`` is 1 (or one core is all there is): ``(segments before, segments
    after)``. The merged segment is listed by the commit that drops its sources, so an
    interrupted merge leaves the index as it was."""
    # A batch a crash left pending is settled against the generation it recorded, which
    # this commit is about to move past.
    state.recover(ix.latest_generation())
    clear_staging(ix.storage.folder)  # what a killed run left (this run holds the lock)
    segments = ix._segments()
    if len(segments) < 2 and not any(s.has_deletions() for s in segments):
        return len(segments), len(segments)
    writer = FastSegmentWriter(ix, limitmb=256)
    try:
        processes = min(2, jobs or default_jobs())
        writer.commit(mergetype=lambda _w, existing: merge_all(ix, existing, processes))
    except BaseException:
        with contextlib.suppress(Exception):  # (a failed commit may have closed it already)
            writer.cancel()
        # What the merge wrote is as large as the index: on a full disk it must not stay.
        with contextlib.suppress(OSError):
            windex.clean_files(ix.storage, ix.indexname, ix.latest_generation(), ix._segments())
        raise
    return len(segments), len(ix._segments())


def _uncompressed_size(path: str, size: int) -> int:
    """Size estimate for progress: a gzip file records its length (mod 4 GiB) at its end."""
    if not path.lower().endswith(".gz") or size < 18:
        return size
    try:
        with open(path, "rb") as f:
            f.seek(-4, os.SEEK_END)
            return max(size, int.from_bytes(f.read(4), "little"))
    except OSError:
        return size


def index_files(
    ix,
    state,
    paths: Iterable[str],
    *,
    jobs: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    commit_seconds: float = COMMIT_SECONDS,
    max_file_size: int | None = None,
    report: IndexReport | None = None,
    duplicates=None,
    progress: Callable[[Progress], None] | None = None,
) -> IndexReport:
    """Bring the index in line with the files under ``paths``: index new and changed files,
    remove the documents of files deleted under those folders, skip the rest."""
    report = report if report is not None else IndexReport()
    paths = list(paths)
    found, walk_failures = _walk(paths, report, max_file_size)
    report.files = len(found)

    pipeline = _open_pipeline(
        ix, state, report, duplicates, jobs=jobs, batch_size=batch_size, progress=progress,
        commit_seconds=commit_seconds,
    )
    known = state.files()
    todo = _changed_files(state, known, found, report)
    report.files_changed = len(todo)
    pipeline.progress.bytes_total = sum(_uncompressed_size(s.path, s.size) for s in todo)

    seen = {src.rel for src in found}
    gone = _files_gone(state, known, found, seen, paths, walk_failures)
    reader = _FileReader(pipeline, state, report, seen)
    _run(pipeline, lambda: reader.feed(todo, gone))
    return report


def _walk(paths: list[str], report: IndexReport, max_file_size: int | None):
    """The files found under ``paths`` and the folders whose walk failed; problems go to
    ``report``."""
    kwargs = {} if max_file_size is None else {"max_file_size": max_file_size}
    found = []
    walk_failures: list[str] = []
    for item in walk_paths(paths, **kwargs):
        if isinstance(item, IngestProblem):
            count_problem(report, item)
            if item.severity == FAILED:
                walk_failures.append(item.path)
        else:
            found.append(item)
    return found, walk_failures


def _changed_files(state, known: dict, found: list, report: IndexReport) -> list:
    """The files of ``found`` that are new or changed since indexed; the others' documents
    count as unchanged (a file touched but not changed has its new mtime recorded)."""
    counts = state.doc_counts()
    todo = []
    for src in found:
        rec = known.get(src.rel)
        if rec is not None and rec.hash is not None and rec.size == src.size:
            if rec.mtime_ns == src.mtime_ns:
                report.unchanged += counts.get(src.rel, 0)
                continue
            try:
                same = file_hash(src.path) == rec.hash
            except OSError:
                same = False  # read_source reports it
            if same:  # touched, not changed: remember the new mtime
                report.unchanged += counts.get(src.rel, 0)
                state.put_file(src.rel, FileRecord(src.size, src.mtime_ns, rec.hash))
                continue
        todo.append(src)
    return todo


def _files_gone(
    state, known: dict, found: list, seen: set[str], paths: list[str], walk_failures: list[str]
) -> list[str]:
    """The indexed files no longer found whose documents may be removed; records where the
    found files lie now."""
    located = state.locations()
    gone = [
        rel for rel in known
        if rel not in seen and _removable(rel, paths, walk_failures, located.get(rel))
    ]
    state.put_locations((src.rel, src.path) for src in found if located.get(src.rel) != src.path)
    return gone


class _FileReader:
    """Sends the documents of changed files to the pipeline and removes those of files gone."""

    def __init__(self, pipeline: _Pipeline, state, report: IndexReport, seen: set[str]):
        self.pipeline = pipeline
        self.state = state
        self.report = report
        self.seen = seen  # the files found in this run
        self.bytes_read = 0  # of the files read so far (progress)

    def feed(self, todo: list, gone: list[str]) -> None:
        pipeline = self.pipeline
        deferred = []
        for src in todo:
            left = self.read_file(src)
            if left:
                deferred.append((src, left))
        for rel in gone:
            for doc_id in self.state.docs_of(rel):
                if pipeline.owner(doc_id) == rel:
                    pipeline.delete_document(doc_id)
            pipeline.file_gone(rel)
            self.report.files_removed += 1
        for src, left in deferred:  # an id its first file let go in this very run
            if any(pipeline.owner(doc_id) is None for doc_id in left):
                self.read_file(src, quiet=True)

    def read_file(self, src, quiet: bool = False) -> set[str]:
        """Queue one file's documents; the ids it left to another file (see below)."""
        pipeline = self.pipeline
        try:
            digest = file_hash(src.path)
        except OSError:
            digest = None
        old = self.state.docs_of(src.rel)
        produced, left, failed = self._queue_documents(src, quiet)
        self.bytes_read += _uncompressed_size(src.path, src.size)
        if failed and not produced:  # unreadable now: keep what was indexed, retry later
            pipeline.file_done(src.rel, None, self.bytes_read)
            return left
        for doc_id in old:
            if doc_id not in produced and pipeline.owner(doc_id) == src.rel:
                pipeline.delete_document(doc_id)
        retry = failed or bool(left)
        pipeline.file_done(src.rel, FileRecord(src.size, src.mtime_ns, None if retry else digest),
                           self.bytes_read)
        return left

    def _queue_documents(self, src, quiet: bool) -> tuple[set[str], set[str], bool]:
        """Send one file's documents to the pipeline; returns the ids sent, the ids left to
        another file, and whether any document failed."""
        pipeline = self.pipeline
        report = None if quiet else self.report
        produced: set[str] = set()
        left: set[str] = set()
        failed = False
        for item in read_source(src):
            if isinstance(item, IngestProblem):
                if report is not None:
                    count_problem(report, item)
                failed = failed or item.severity == FAILED
                continue
            holder = pipeline.owner(item.id)
            if holder is not None and holder != src.rel and holder in self.seen:
                # One id, two files being indexed: the first keeps it, so a re-run neither
                # flips between them nor analyses anything; this file is read again next time
                # in case the first lets the id go.
                left.add(item.id)
                if report is not None and len(left) <= MAX_LINE_PROBLEMS:
                    count_problem(report, IngestProblem(
                        src.rel, None, f"id {item.id!r} already indexed from {holder}", SKIPPED
                    ))
                continue
            item = _bounded(item, report, src.rel)
            try:
                data = stored_bytes(item)
            except UnstorableDocument as e:
                if report is not None:
                    count_problem(report, IngestProblem(src.rel, None, str(e), FAILED))
                failed = True
                continue
            produced.add(item.id)
            pipeline.add_document(item, src.rel, data)
        if report is not None and len(left) > MAX_LINE_PROBLEMS:  # a whole file copied
            count_problem(report, IngestProblem(
                src.rel, None,
                f"{len(left) - MAX_LINE_PROBLEMS} more ids already indexed from other files "
                f"({len(left)} in all)",
                SKIPPED,
            ))
        return produced, left, failed


def _removable(
    rel: str, roots: list[str], walk_failures: list[str], location: str | None = None
) -> bool:
    """Whether a file no longer found may have its documents removed: it lies under a folder
    indexed in this run, and that folder was walked without errors — unless it is still on
    disk where it was last found, outside that folder ('.' in two folders gives the same
    display paths)."""
    def under(path: str, root: str) -> bool:
        return root == "" or path == root or path.startswith(root + "/")

    for given in roots:
        if not os.path.isdir(given):
            continue
        root = _display_root(given)
        if under(rel, root):
            if (location is not None and not _inside(location, os.path.abspath(given))
                    and os.path.exists(location)):
                continue  # still there, in another folder that has the same display paths
            return not any(under(f, root) or f == given for f in walk_failures)
    return False


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def count_problem(report, problem) -> None:
    report.problems.append(problem)
    severity = getattr(problem, "severity", FAILED)
    if severity == SKIPPED:
        report.skipped += 1
    elif severity != WARNING:
        report.failed += 1


def _bounded(doc: Document, report, where: str) -> Document:
    """``doc`` cut to :data:`MAX_DOCUMENT_CHARS` (memory per document is bounded), with a
    warning in the report when it was longer."""
    cut = cut_to_size(doc, MAX_DOCUMENT_CHARS)
    if cut is not doc and report is not None:
        count_problem(report, IngestProblem(
            where, None, f"document {doc.id!r} cut to {MAX_DOCUMENT_CHARS:,} characters of "
            f"text (it has {text_length(doc):,})", WARNING,
        ))  # fmt: skip
    return cut
