"""The report of an indexing run (counts, problems, exit code, the ``--json`` form), and the
progress snapshots a run passes to its ``progress`` callback."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from vnsearch.document import Document
from vnsearch.errors import EXIT_ERROR, EXIT_OK, EXIT_PARTIAL
from vnsearch.ingest.walk import SKIPPED, IngestProblem, SourceFile


@dataclass
class IndexReport:
    """What an indexing run did (or, filled by :func:`vnsearch.ingest.readers.iter_documents`,
    what reading files found). ``read``/``added``/``updated``/``removed``/``unchanged`` count
    documents, ``files`` files; ``problems`` are the :class:`IngestProblem` lines
    (``path[:line]: reason``), ``skipped`` and ``failed`` count them by severity."""

    read: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0
    files: int = 0
    files_changed: int = 0
    files_removed: int = 0
    problems: list[IngestProblem] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def indexed(self) -> int:
        """Documents written by this run (added or updated)."""
        return self.added + self.updated

    def count(self, item: SourceFile | Document | IngestProblem) -> None:
        """Count one thing a folder walk or a file read produced."""
        if isinstance(item, SourceFile):
            self.files += 1
        elif isinstance(item, Document):
            self.read += 1
        else:
            self.problems.append(item)
            if item.severity == SKIPPED:
                self.skipped += 1
            else:
                self.failed += 1

    @property
    def nothing_indexed(self) -> bool:
        """Nothing indexed, kept or removed: every file named was skipped or failed."""
        return not (self.indexed or self.unchanged or self.removed)

    @property
    def exit_code(self) -> int:
        """``vnsearch index``'s exit code. 2 when nothing was indexed from what was named
        (every file skipped or failed, or none at all): an error, not a quiet success;
        re-running over unchanged files is fine. Otherwise 3 when some files or records
        failed, 0 when none did (warnings allowed)."""
        if self.nothing_indexed:
            return EXIT_ERROR
        return EXIT_PARTIAL if self.failed else EXIT_OK

    def to_dict(self) -> dict:
        """The counts and problems as ``vnsearch index --json`` prints them."""
        return {
            "read": self.read,
            "indexed": self.indexed,
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "failed": self.failed,
            "files": self.files,
            "files_changed": self.files_changed,
            "files_removed": self.files_removed,
            "seconds": round(self.seconds, 3),
            "problems": [str(p) for p in self.problems],
        }

    def summary(self) -> str:
        """One line for stderr: ``added 3, updated 0, ... in 1.2s``."""
        return (
            f"added {self.added}, updated {self.updated}, removed {self.removed}, "
            f"unchanged {self.unchanged}, skipped {self.skipped}, failed {self.failed} "
            f"({self.files_changed} of {self.files} files changed) in {self.seconds:.1f}s"
        )


@dataclass
class Progress:
    """Passed to the ``progress`` callback: documents written so far, and how far through the
    input we are in bytes (``bytes_total`` is an estimate for compressed files)."""

    docs: int = 0
    bytes_done: int = 0
    bytes_total: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started


#: What ``progress=`` callbacks of :class:`vnsearch.Index` writes are called with.
ProgressCallback = Callable[[Progress], None]
