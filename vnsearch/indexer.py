"""Writing documents into the Whoosh index: analysis in worker processes, one writer, batches.

CRF tagging holds the GIL, so analysis runs in forked worker processes that inherit the loaded
model; the parent owns the only Whoosh writer and commits every ``batch_size`` documents, so an
interrupted run leaves the last committed batch searchable.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from .document import Document

__all__ = ["IndexReport", "prepare", "analyzed_fields", "default_jobs"]

DEFAULT_BATCH_SIZE = 2000
SIGNATURE_KEY = "_duplicate_signature"


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class IndexReport:
    """What an indexing run did. ``problems`` are ``IngestProblem``-like objects (``str()`` is
    the one-line report ``path[:line]: reason``)."""

    read: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0
    problems: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def indexed(self) -> int:
        return self.added + self.updated

    def to_dict(self) -> dict:
        return {
            "read": self.read,
            "indexed": self.indexed,
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "failed": self.failed,
            "seconds": round(self.seconds, 3),
            "problems": [str(p) for p in self.problems],
        }

    def summary(self) -> str:
        return (
            f"read {self.read}, indexed {self.indexed} (added {self.added}, updated "
            f"{self.updated}), removed {self.removed}, unchanged {self.unchanged}, "
            f"skipped {self.skipped}, failed {self.failed} in {self.seconds:.1f}s"
        )


def content_hash(doc: Document) -> str:
    import orjson

    return hashlib.blake2b(orjson.dumps(doc.to_dict()), digest_size=12).hexdigest()


def prepare(doc: Document, signatures: bool = False) -> dict:
    """Analyse one document into Whoosh field values (runs in a worker process).

    ``signatures`` adds the near-duplicate signature under ``SIGNATURE_KEY`` (not a field).
    """
    from .schema import document_fields

    values = document_fields(doc, content_hash(doc))
    if signatures:
        from .dedup import document_signature

        values[SIGNATURE_KEY] = document_signature(doc)
    return values


def _init_worker() -> None:
    # Workers are forked after the model is loaded; nothing to do but ignore Ctrl-C, which the
    # parent handles (it owns the writer and the commit).
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def analyzed_fields(
    docs: Iterable[Document], jobs: int | None = None, chunksize: int = 8,
    signatures: bool = False,
) -> Iterator[dict]:
    """Yield :func:`prepare` of each document, in order, using ``jobs`` processes."""
    import functools

    jobs = default_jobs() if jobs is None else max(1, jobs)
    if jobs == 1:
        for d in docs:
            yield prepare(d, signatures)
        return
    import multiprocessing as mp

    from .segmenter import load_model

    load_model()  # before fork: workers share the loaded model
    ctx = mp.get_context("fork")
    with ctx.Pool(jobs, initializer=_init_worker) as pool:
        yield from pool.imap(
            functools.partial(prepare, signatures=signatures), docs, chunksize=chunksize
        )


def write(
    ix,
    docs: Iterable[Document],
    *,
    jobs: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    replace: bool = True,
    report: IndexReport | None = None,
    on_batch: Callable[[int], None] | None = None,
    duplicates=None,
) -> IndexReport:
    """Add or replace ``docs`` in the Whoosh index ``ix``, committing every ``batch_size``.

    ``duplicates`` (a :class:`vnsearch.dedup.DuplicateStore`) is kept in step with the index.
    """
    import contextlib

    report = report or IndexReport()
    existing = _existing_hashes(ix) if replace else {}
    if duplicates is not None and replace:
        from .dedup import sync_with_index

        sync_with_index(duplicates, ix, existing)  # after a crash, or an index built without
    writer = None
    pending = 0

    def todo() -> Iterator[Document]:
        for d in docs:
            report.read += 1
            yield d

    in_step = duplicates.transaction() if duplicates is not None else contextlib.nullcontext()
    with in_step:
        try:
            for values in analyzed_fields(todo(), jobs, signatures=duplicates is not None):
                signature = values.pop(SIGNATURE_KEY, None)
                doc_id = values["id"]
                old = existing.get(doc_id)
                if old is not None and old == values["content_hash"]:
                    report.unchanged += 1
                    continue
                if writer is None:
                    writer = ix.writer(limitmb=256)
                if old is not None:
                    writer.update_document(**values)
                    report.updated += 1
                else:
                    writer.add_document(**values)
                    report.added += 1
                existing[doc_id] = values["content_hash"]
                if duplicates is not None:
                    duplicates.add_signature(doc_id, signature, version=values["content_hash"])
                pending += 1
                if pending >= batch_size:
                    writer.commit()
                    writer, pending = None, 0
                    if duplicates is not None:
                        duplicates.checkpoint()
                    if on_batch:
                        on_batch(report.indexed)
            if writer is not None:
                writer.commit()
                writer = None
        finally:
            if writer is not None:
                writer.cancel()
    return report


def _existing_hashes(ix) -> dict[str, str]:
    with ix.searcher() as s:
        if s.doc_count() == 0:
            return {}
        return {f["id"]: f.get("content_hash", "") for f in s.all_stored_fields()}
