"""Merges that run beside indexing: a forked process merges committed segments while the
workers go on analysing; the parent lists the merged segment at a later commit.

Why a process: a merge is ~2 ms of Python per document rewritten, and run in the parent at
commit it stopped the whole pipeline (the workers waited for chunks: 48 % of 2 cores busy
while a 40k index grew). In a process of its own it uses the CPU time the workers leave.

Safety:

- The merge writes into a staging folder (:data:`~vnsearch.codec.segment_writer.
  STAGING_PREFIX`), which commits never clean; its files move into the index only just before
  the commit that lists the merged segment instead of its sources. Until then the sources
  stay listed, so a crash at any moment keeps every committed document (the next run clears
  the staging folder).
- Documents deleted or replaced in a source segment after the merge started are deleted in
  the merged segment when it is swapped in (:meth:`BackgroundMerge.swap`): the merged
  segment holds the documents that were live at the start, in order, so each source document
  has a known number in it.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
from bisect import bisect_left
from multiprocessing.connection import wait as wait_for_any

from whoosh import index as windex

from vnsearch.codec.merge import merge_segments
from vnsearch.codec.segment_writer import STAGING_PREFIX, adopt
from vnsearch.forked import detach_from_parent

__all__ = ["BackgroundMerge", "wait_for_one"]

STAGING_NAME = "merge"


def _merge_main(conn, ix, schema, segments, folder: str, processes: int) -> None:
    detach_from_parent()
    try:
        # ``schema`` comes from the parent: ``ix.schema`` reads the index's newest table of
        # contents, which the parent's next commit may delete between listing and opening it
        staged = windex.create_in(folder, schema, indexname=ix.indexname)
        conn.send(("ok", merge_segments(ix, segments, into=staged, processes=processes)))
    except BaseException as e:  # reported to the parent, which aborts the run
        try:
            conn.send(("error", OSError(e.errno, e.strerror, e.filename)
                       if isinstance(e, OSError) else f"{type(e).__name__}: {e}"))
        except (OSError, ValueError):
            pass
    finally:
        conn.close()


class BackgroundMerge:
    """One merge of committed ``segments`` of ``ix`` running in a forked process (two with
    ``processes=2``: :func:`~vnsearch.codec.merge.merge_segments`); ``name`` names its
    staging folder (merges running at the same time each need their own)."""

    def __init__(self, ix, segments, name: str = STAGING_NAME, processes: int = 1):
        self.ix = ix
        self.name = name
        self.sources = list(segments)
        # What each source had deleted when the merge started (the merge leaves those out).
        self.deleted = [sorted(s.deleted_docs()) if s.has_deletions() else []
                        for s in self.sources]
        self.dir = os.path.join(ix.storage.folder, STAGING_PREFIX + name)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        ctx = mp.get_context("fork")
        self.conn, child = ctx.Pipe(duplex=False)
        self.process = ctx.Process(target=_merge_main,
                                   args=(child, ix, ix.schema, self.sources, self.dir, processes),
                                   daemon=True)
        self.process.start()
        child.close()
        self.segment = None

    def source_ids(self) -> set[str]:
        return {s.segment_id() for s in self.sources}

    def done(self) -> bool:
        """Whether the merged segment is ready (without waiting)."""
        return self.segment is not None or self.conn.poll()

    def wait(self):
        """The merged segment (waits for it); a failed merge raises."""
        if self.segment is None:
            try:
                kind, value = self.conn.recv()
            except (EOFError, OSError):
                raise RuntimeError("the merge process died") from None
            if kind == "error":
                raise value if isinstance(value, OSError) else RuntimeError(
                    f"merging segments failed: {value}")
            self.segment = value
            self.process.join()
        return self.segment

    def adopt(self) -> None:
        """Move the merged segment's files into the index (just before the commit that
        lists it)."""
        adopt(self.dir, self.ix.storage.folder, self.wait())

    def swap(self, existing: list) -> list:
        """``existing`` (the segments a commit is about to list) with the sources replaced
        by the merged segment, which loses the documents deleted in the sources since the
        merge started."""
        merged = self.wait()
        current = {s.segment_id(): s for s in existing}
        base = 0
        for src, before in zip(self.sources, self.deleted):
            now = current.get(src.segment_id())
            if now is None:  # dropped as empty: every document of it is gone
                gone = set(range(src.doc_count_all()))
            else:
                gone = set(now.deleted_docs()) if now.has_deletions() else set()
            for d in sorted(gone.difference(before)):
                merged.delete_document(base + d - bisect_left(before, d))
            base += src.doc_count_all() - len(before)
        if base != merged.doc_count_all():
            raise RuntimeError(f"a merge wrote {merged.doc_count_all()} documents of {base}")
        ids = self.source_ids()
        out = [s for s in existing if s.segment_id() not in ids]
        if merged.doc_count() > 0:
            out.append(merged)
        return out

    def close(self) -> None:
        """Stop the merge if it still runs and remove its staging folder."""
        if self.process.is_alive():
            self.process.terminate()
        self.process.join()
        self.conn.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_for_one(merges: list[BackgroundMerge]) -> list[BackgroundMerge]:
    """The merges of ``merges`` that are done, waiting until one is (none if empty)."""
    if merges and not any(m.done() for m in merges):
        wait_for_any([m.conn for m in merges if m.segment is None])
    return [m for m in merges if m.done()]
