"""Incremental indexing state: what every indexed file and document looked like when indexed.

``state.sqlite`` in the index directory holds, per source file (keyed by its display path, the
base of document ids) the size, mtime and content hash seen at indexing time, and per document
id its content hash and the file it came from. A re-run stats files first, hashes only those
whose stat changed, and re-analyses only documents whose content hash changed.

The state must never claim a document the index does not hold (it would then be skipped
forever), nor miss one it does (it would be added twice). Each batch is therefore written as
*pending* rows together with the Whoosh generation before the commit; after the Whoosh commit
the rows are applied. If a crash falls between the two, :meth:`IndexState.recover` applies
or drops them depending on whether the Whoosh commit happened.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from vnsearch.errors import IndexFormatError

__all__ = ["IndexState", "FileRecord", "STATE_FILE", "file_hash"]

STATE_FILE = "state.sqlite"
STATE_FORMAT = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, hash TEXT
);
CREATE TABLE IF NOT EXISTS docs (id TEXT PRIMARY KEY, hash TEXT NOT NULL, path TEXT);
CREATE INDEX IF NOT EXISTS docs_path ON docs(path);
CREATE TABLE IF NOT EXISTS locations (path TEXT PRIMARY KEY, abspath TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pending_files (
    path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, hash TEXT, gone INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS pending_docs (
    id TEXT PRIMARY KEY, hash TEXT, path TEXT, gone INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class FileRecord:
    """A source file as last indexed. ``hash`` is None when it had failures (retry it)."""

    size: int
    mtime_ns: int
    hash: str | None


def file_hash(path: str) -> str:
    """Content hash of a file's bytes (confirms a change when size or mtime moved)."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class IndexState:
    """The incremental state of one index directory (created on first use)."""

    def __init__(self, index_dir: str | os.PathLike):
        self.path = os.path.join(os.fspath(index_dir), STATE_FILE)
        self.fresh = not os.path.exists(self.path)
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            with self._txn():
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        self._db.execute(stmt)
                self._db.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('format', ?)", (STATE_FORMAT,)
                )
        except sqlite3.DatabaseError as e:
            self._db.close()

            raise IndexFormatError(
                f"indexing state {self.path} is unreadable ({e}): run `vnsearch index --rebuild`"
            ) from None
        self._pending_docs: dict[str, tuple[str | None, str | None]] = {}
        self._pending_files: dict[str, FileRecord | None] = {}
        self._prepared = False

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> IndexState:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _txn(self):
        @contextlib.contextmanager
        def txn():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                if self._db.in_transaction:  # sqlite may have rolled back itself (disk full)
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

        return txn()

    # -- reading ---------------------------------------------------------------------------
    def files(self) -> dict[str, FileRecord]:
        return {
            p: FileRecord(s, m, h)
            for p, s, m, h in self._db.execute("SELECT path, size, mtime_ns, hash FROM files")
        }

    def locations(self) -> dict[str, str]:
        """Where on disk each file (by display path) was last found."""
        return dict(self._db.execute("SELECT path, abspath FROM locations"))

    def put_locations(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Record ``(display path, absolute path)`` of files found. Advisory, written at once:
        it only tells a file that looks deleted from one met under another folder's '.'."""
        with self._txn():
            self._db.executemany("INSERT OR REPLACE INTO locations VALUES (?, ?)", pairs)

    def doc_hash(self, doc_id: str) -> str | None:
        row = self._db.execute("SELECT hash FROM docs WHERE id = ?", (doc_id,)).fetchone()
        return row[0] if row else None

    def doc_owner(self, doc_id: str) -> str | None:
        row = self._db.execute("SELECT path FROM docs WHERE id = ?", (doc_id,)).fetchone()
        return row[0] if row else None

    def docs_of(self, path: str) -> dict[str, str]:
        """Ids (and hashes) of the documents last indexed from ``path``."""
        return dict(self._db.execute("SELECT id, hash FROM docs WHERE path = ?", (path,)))

    def doc_counts(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT path, count(*) FROM docs GROUP BY path"))

    def hashes(self) -> dict[str, str]:
        """Every indexed id and its content hash."""
        return dict(self._db.execute("SELECT id, hash FROM docs"))

    def __len__(self) -> int:
        return self._db.execute("SELECT count(*) FROM docs").fetchone()[0]

    # -- batches ---------------------------------------------------------------------------
    def put_doc(self, doc_id: str, content_hash: str, path: str | None) -> None:
        self._pending_docs[doc_id] = (content_hash, path)

    def drop_doc(self, doc_id: str) -> None:
        self._pending_docs[doc_id] = (None, None)

    def put_file(self, path: str, record: FileRecord) -> None:
        self._pending_files[path] = record

    def drop_file(self, path: str) -> None:
        self._pending_files[path] = None

    @property
    def has_pending(self) -> bool:
        return bool(self._pending_docs or self._pending_files)

    def prepare(self, generation: int) -> None:
        """Before the Whoosh commit: persist the batch as pending, with the generation the
        index has *before* the commit."""
        with self._txn():
            self._write_pending()
            self._db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('pending_generation', ?)", (str(generation),)
            )
        self._prepared = True

    def _write_pending(self) -> None:
        self._db.execute("DELETE FROM pending_docs")
        self._db.execute("DELETE FROM pending_files")
        self._db.executemany(
            "INSERT INTO pending_docs VALUES (?, ?, ?, ?)",
            ((i, h, p, int(h is None)) for i, (h, p) in self._pending_docs.items()),
        )
        self._db.executemany(
            "INSERT INTO pending_files VALUES (?, ?, ?, ?, ?)",
            (
                (p, None, None, None, 1) if r is None else (p, r.size, r.mtime_ns, r.hash, 0)
                for p, r in self._pending_files.items()
            ),
        )

    def apply(self) -> None:
        """After the Whoosh commit (or with no Whoosh change): the batch becomes the state."""
        with self._txn():
            if not self._prepared:
                self._write_pending()
            self._apply_pending()
        self._prepared = False
        self._pending_docs.clear()
        self._pending_files.clear()

    def discard(self) -> None:
        """The batch was not committed to the index: forget it."""
        with self._txn():
            self._clear_pending()
        self._prepared = False
        self._pending_docs.clear()
        self._pending_files.clear()

    def _apply_pending(self) -> None:
        db = self._db
        db.execute("DELETE FROM docs WHERE id IN (SELECT id FROM pending_docs WHERE gone)")
        db.execute(
            "INSERT OR REPLACE INTO docs SELECT id, hash, path FROM pending_docs WHERE NOT gone"
        )
        db.execute("DELETE FROM files WHERE path IN (SELECT path FROM pending_files WHERE gone)")
        db.execute(
            "INSERT OR REPLACE INTO files "
            "SELECT path, size, mtime_ns, hash FROM pending_files WHERE NOT gone"
        )
        self._clear_pending()

    def _clear_pending(self) -> None:
        self._db.execute("DELETE FROM pending_docs")
        self._db.execute("DELETE FROM pending_files")
        self._db.execute("DELETE FROM meta WHERE key = 'pending_generation'")

    def recover(self, latest_generation: int) -> str | None:
        """After a crash between the two halves of a batch: apply the pending rows if the
        Whoosh commit happened (the index moved past the recorded generation), else drop them.
        Returns 'applied', 'dropped' or None when there was nothing pending."""
        row = self._db.execute(
            "SELECT value FROM meta WHERE key = 'pending_generation'"
        ).fetchone()
        if row is None:
            return None
        committed = latest_generation > int(row[0])
        with self._txn():
            if committed:
                self._apply_pending()
            else:
                self._clear_pending()
        return "applied" if committed else "dropped"

    def reset(self, docs: Iterable[tuple[str, str, str | None]] = ()) -> None:
        """Forget everything; optionally seed ``(id, hash, path)`` rows (from an index built
        without state, so unchanged documents are still recognised)."""
        with self._txn():
            for table in ("files", "docs", "locations", "pending_files", "pending_docs"):
                self._db.execute(f"DELETE FROM {table}")
            self._db.execute("DELETE FROM meta WHERE key = 'pending_generation'")
            self._db.executemany("INSERT OR REPLACE INTO docs VALUES (?, ?, ?)", docs)


def stored_ids(ix) -> Iterator[tuple[str, str, str | None]]:
    """``(id, content_hash, path)`` of every document in a Whoosh index (a full scan: only for
    indexes that have no state yet)."""
    with ix.searcher() as s:
        for fields in s.all_stored_fields():
            yield fields["id"], fields.get("content_hash", ""), fields.get("path") or None
