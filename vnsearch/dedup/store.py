"""The duplicate groups of an index, kept in a sqlite sidecar and updated incrementally."""

from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterable, Iterator
from urllib.parse import quote

import orjson

from vnsearch.dedup.minhash import (
    DEFAULT_NUM_PERM,
    DEFAULT_SEED,
    DEFAULT_SHINGLE_SIZE,
    DEFAULT_THRESHOLD,
    DuplicateGroup,
    MinHasher,
    _components,
    band_keys,
    document_signature,
    group_signatures,
    lsh_params,
)
from vnsearch.document import Document
from vnsearch.errors import (
    DocumentNotFoundError,
    DuplicateStoreError,
    IndexFormatError,
    IndexLockedError,
)

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np


#: Sidecar file name inside an index directory.
STORE_FILENAME = "duplicates.sqlite"
#: Bumped when the on-disk layout or the signature definition changes.
#: 2: no index of bands by document (a document's bands come from its signature); 3: bands
#: name a document by its number (``docs.num``), not its text id.
STORE_FORMAT = 3


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
    num INTEGER PRIMARY KEY,       -- the document's number in bands
    doc_id TEXT NOT NULL UNIQUE,
    group_id INTEGER NOT NULL,
    sig BLOB,                      -- uint32 MinHash values, NULL when the text is empty
    version TEXT                   -- caller's content hash, to resync with the index
);
CREATE INDEX IF NOT EXISTS docs_group ON docs(group_id);
CREATE TABLE IF NOT EXISTS bands (
    key INTEGER NOT NULL,
    num INTEGER NOT NULL,          -- docs.num: a few bytes where a text id took tens
    PRIMARY KEY (key, num)
) WITHOUT ROWID;
"""


def _connect_readonly(path: str, timeout: float) -> sqlite3.Connection:
    """A connection that writes nothing: ``mode=ro``; ``immutable=1`` for a store still in
    WAL mode (written before the rollback journal) when no writer has a log open, since
    reading it otherwise makes ``-wal``/``-shm`` files, or fails where they cannot be made."""
    uri = f"file:{quote(os.path.abspath(path))}?mode=ro"
    if _in_wal_mode(path) and not os.path.exists(path + "-wal"):
        uri += "&immutable=1"
    return sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)


def _in_wal_mode(path: str) -> bool:
    """Bytes 18-19 of an sqlite file say its journal mode: 2 for WAL."""
    try:
        with open(path, "rb") as f:
            header = f.read(20)
    except OSError:
        return False
    return len(header) == 20 and header.startswith(b"SQLite format 3") and header[18] == 2


class DuplicateStore:
    """Duplicate groups of an index, persisted in ``<index_dir>/duplicates.sqlite``.

    Writes run in sqlite transactions, so a crash leaves the last committed state and readers
    in other processes never see half an update. Use ``with store.transaction():`` to make
    many changes one commit (bulk indexing).

    The journal is a rollback journal, not a write-ahead log: a reader (``readonly``) then
    writes nothing at all (a WAL reader makes ``-wal``/``-shm`` files), so reading works on
    read-only media. The writer keeps a transaction's pages in memory until it commits
    (``cache_spill`` off), so readers are only held up while a commit is written.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        threshold: float | None = None,
        *,
        num_perm: int = DEFAULT_NUM_PERM,
        shingle_size: int = DEFAULT_SHINGLE_SIZE,
        seed: int = DEFAULT_SEED,
        readonly: bool = False,
        timeout: float = 30.0,
    ) -> None:
        self.path = os.fspath(path)
        self.readonly = readonly
        if readonly:
            if not os.path.exists(self.path):
                raise DuplicateStoreError(f"no duplicate data at {self.path}")
            self._db = _connect_readonly(self.path, timeout)
        else:
            self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        self._depth = 0
        try:
            if not readonly:
                self._writer_journal()
            self._open(threshold, num_perm, shingle_size, seed)
        except (sqlite3.DatabaseError, KeyError, ValueError) as exc:  # damaged file or settings
            self._db.close()
            raise IndexFormatError(
                f"duplicate data {self.path} is unreadable ({exc}): run `vnsearch index --rebuild`"
            ) from None

    @classmethod
    def in_index(cls, index_dir: str | os.PathLike, **kwargs) -> "DuplicateStore":
        """The store of an index directory (created when missing unless ``readonly``)."""
        return cls(os.path.join(os.fspath(index_dir), STORE_FILENAME), **kwargs)

    # -- setup

    def _writer_journal(self) -> None:
        try:  # a store written before the rollback journal (WAL) converts on first write
            self._db.execute("PRAGMA journal_mode=DELETE")
        except sqlite3.OperationalError as exc:  # a reader holds it: stay as it is this time
            if "locked" not in str(exc):
                raise
        self._db.execute("PRAGMA cache_spill=OFF")

    def _open(self, threshold: float | None, num_perm: int, shingle_size: int, seed: int) -> None:
        meta = {}
        if self._has_tables():
            meta = dict(self._db.execute("SELECT key, value FROM meta"))
        if not meta:
            if self.readonly:
                raise DuplicateStoreError(
                    f"no duplicate data in {self.path}: run `vnsearch index` to build it"
                )
            threshold = DEFAULT_THRESHOLD if threshold is None else threshold
            bands, rows = lsh_params(threshold, num_perm)
            with self.transaction():
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        self._db.execute(stmt)
                meta = {
                    "format": STORE_FORMAT, "num_perm": num_perm, "shingle_size": shingle_size,
                    "seed": seed, "threshold": threshold, "bands": bands, "rows": rows,
                    "next_group": 1,
                }
                self._db.executemany(
                    "INSERT INTO meta VALUES (?, ?)", [(k, str(v)) for k, v in meta.items()]
                )
        if int(meta["format"]) != STORE_FORMAT:
            raise IndexFormatError(
                f"duplicate data {self.path} has format {meta['format']}, expected "
                f"{STORE_FORMAT}: run `vnsearch index --rebuild`"
            )
        self.num_perm = int(meta["num_perm"])
        self.shingle_size = int(meta["shingle_size"])
        self.seed = int(meta["seed"])
        self.threshold = float(meta["threshold"])
        self.bands, self.rows = int(meta["bands"]), int(meta["rows"])
        self._hasher: MinHasher | None = None
        if threshold is not None and abs(threshold - self.threshold) > 1e-12:
            if self.readonly:
                raise DuplicateStoreError("cannot change the threshold of a read-only store")
            self.retune(threshold)

    def _has_tables(self) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'"
        ).fetchone()
        return row is not None

    @property
    def hasher(self) -> MinHasher:
        if self._hasher is None:
            self._hasher = MinHasher(self.num_perm, self.shingle_size, self.seed)
        return self._hasher

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "DuplicateStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic commit for everything inside (re-entrant)."""
        if self.readonly:
            raise DuplicateStoreError("the duplicate store is open read-only")
        if self._depth == 0:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:  # another writer kept it locked > timeout
                raise IndexLockedError(f"duplicate data {self.path} is locked: {exc}") from None
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            if self._depth == 0:
                if self._db.in_transaction:  # sqlite may have rolled back itself (disk full)
                    self._db.execute("ROLLBACK")
            raise
        self._depth -= 1
        if self._depth == 0:
            self._db.execute("COMMIT")

    def checkpoint(self) -> None:
        """Inside :meth:`transaction`: commit what is done so far and carry on."""
        if self._depth > 0:
            self._db.execute("COMMIT")
            self._db.execute("BEGIN IMMEDIATE")

    # -- helpers

    def _sig_from_blob(self, blob: bytes) -> np.ndarray:
        import numpy as np

        return np.frombuffer(blob, dtype="<u4")

    def _new_group(self) -> int:
        (gid,) = self._db.execute("SELECT value FROM meta WHERE key='next_group'").fetchone()
        self._db.execute("UPDATE meta SET value=? WHERE key='next_group'", (str(int(gid) + 1),))
        return int(gid)

    def _neighbours(self, sig: "np.ndarray", exclude: str | None = None) -> list[tuple[str, float]]:
        """Documents sharing a band with ``sig`` whose estimated Jaccard reaches the threshold."""
        import numpy as np

        keys = band_keys(sig, self.bands, self.rows).tolist()
        marks = ",".join("?" * len(keys))
        rows = self._db.execute(
            f"SELECT doc_id, sig FROM docs WHERE num IN "
            f"(SELECT DISTINCT num FROM bands WHERE key IN ({marks}))",
            keys,
        ).fetchall()
        if not rows:
            return []
        ids = [r[0] for r in rows]
        stack = np.frombuffer(b"".join(r[1] for r in rows), dtype="<u4").reshape(len(rows), -1)
        sims = np.count_nonzero(stack == sig, axis=1) / self.num_perm
        need = self.threshold - 1e-9
        return [(i, float(s)) for i, s in zip(ids, sims) if s >= need and i != exclude]

    # -- updates

    def add(self, doc_id: str, text: str) -> int:
        """Add or replace ``doc_id``; returns its group id."""
        return self.add_signature(doc_id, self.hasher.signature(text))

    def add_many(self, items: Iterable[tuple[str, str]]) -> None:
        """Add or replace many (doc_id, text) pairs in one transaction."""
        with self.transaction():
            for doc_id, text in items:
                self.add(doc_id, text)

    def add_signature(
        self, doc_id: str, sig: "np.ndarray | bytes | None", version: str | None = None
    ) -> int:
        """Add or replace ``doc_id`` from a precomputed signature (e.g. from a worker process).

        ``version`` (e.g. the index's content hash) lets :func:`sync_with_index` spot stale rows.
        """
        import numpy as np

        if isinstance(sig, bytes):
            sig = np.frombuffer(sig, dtype="<u4")
        with self.transaction():
            old = self._db.execute(
                "SELECT group_id, sig FROM docs WHERE doc_id=?", (doc_id,)
            ).fetchone()
            blob = None if sig is None else sig.astype("<u4").tobytes()
            if old is not None:
                if old[1] == blob:  # unchanged text: the group stays right
                    self._db.execute("UPDATE docs SET version=? WHERE doc_id=?", (version, doc_id))
                    return int(old[0])
                self._remove(doc_id, int(old[0]))
            if sig is None:
                gid = self._new_group()
                self._db.execute(
                    "INSERT INTO docs (doc_id, group_id, sig, version) VALUES (?, ?, NULL, ?)",
                    (doc_id, gid, version),
                )
                return gid
            near = self._neighbours(sig)
            if near:
                marks = ",".join("?" * len(near))
                groups = sorted(
                    g for (g,) in self._db.execute(
                        f"SELECT DISTINCT group_id FROM docs WHERE doc_id IN ({marks})",
                        [n for n, _ in near],
                    )
                )
                gid = groups[0]  # the oldest group absorbs the others
                for other in groups[1:]:
                    self._db.execute("UPDATE docs SET group_id=? WHERE group_id=?", (gid, other))
            else:
                gid = self._new_group()
            num = self._db.execute(
                "INSERT INTO docs (doc_id, group_id, sig, version) VALUES (?, ?, ?, ?)",
                (doc_id, gid, blob, version),
            ).lastrowid
            self._db.executemany(
                "INSERT OR IGNORE INTO bands VALUES (?, ?)",
                [(k, num) for k in band_keys(sig, self.bands, self.rows).tolist()],
            )
            return gid

    def remove(self, doc_id: str) -> None:
        """Forget ``doc_id`` (no error when unknown); its former group may split."""
        with self.transaction():
            row = self._db.execute("SELECT group_id FROM docs WHERE doc_id=?", (doc_id,)).fetchone()
            if row is not None:
                self._remove(doc_id, int(row[0]))

    def remove_many(self, doc_ids: Iterable[str]) -> None:
        with self.transaction():
            for doc_id in doc_ids:
                self.remove(doc_id)

    def _remove(self, doc_id: str, gid: int) -> None:
        # A document's bands are those of its signature: deleted by primary key, with no
        # index of bands by document (which took 40% of the file).
        num, blob = self._db.execute(
            "SELECT num, sig FROM docs WHERE doc_id=?", (doc_id,)).fetchone()
        if blob is not None:
            keys = band_keys(self._sig_from_blob(blob), self.bands, self.rows).tolist()
            self._db.executemany("DELETE FROM bands WHERE key=? AND num=?",
                                 [(k, num) for k in keys])
        self._db.execute("DELETE FROM docs WHERE doc_id=?", (doc_id,))
        rest = self._db.execute("SELECT doc_id, sig FROM docs WHERE group_id=?", (gid,)).fetchall()
        if len(rest) < 2:
            return
        # The removed document may have bridged parts of the group: recompute its components.
        members = {d for d, _ in rest}
        edges = [
            (d, n)
            for d, blob in rest
            if blob is not None
            for n, _ in self._neighbours(self._sig_from_blob(blob), exclude=d)
            if n in members
        ]
        comps = sorted(_components(members, edges), key=lambda c: (-len(c), c[0]))
        for comp in comps[1:]:  # the largest part keeps the group id
            new = self._new_group()
            self._db.executemany(
                "UPDATE docs SET group_id=? WHERE doc_id=?", [(new, d) for d in comp]
            )

    def retune(self, threshold: float) -> None:
        """Change the threshold: re-band and regroup every document from its stored signature."""
        bands, rows = lsh_params(threshold, self.num_perm)
        with self.transaction():
            self._db.execute("UPDATE meta SET value=? WHERE key='threshold'", (str(threshold),))
            self._db.execute("UPDATE meta SET value=? WHERE key='bands'", (str(bands),))
            self._db.execute("UPDATE meta SET value=? WHERE key='rows'", (str(rows),))
            self.threshold, self.bands, self.rows = threshold, bands, rows
            ids, sigs = self._all_signatures()
            nums = [n for (n,) in self._db.execute(
                "SELECT num FROM docs WHERE sig IS NOT NULL ORDER BY doc_id")]
            self._db.execute("DELETE FROM bands")
            if ids:
                keys = band_keys(sigs, bands, rows)
                self._db.executemany(
                    "INSERT OR IGNORE INTO bands VALUES (?, ?)",
                    ((k, n) for n, row in zip(nums, keys.tolist()) for k in row),
                )
            old = dict(self._db.execute("SELECT doc_id, group_id FROM docs"))
            comps = group_signatures(ids, sigs, threshold, bands, rows) if ids else []
            used: set[int] = set()
            for comp in sorted(comps, key=lambda c: (-len(c), c[0])):
                # Keep the most common former id of the members when it is still free.
                prior = sorted({old[d] for d in comp} - used)
                gid = prior[0] if prior else self._new_group()
                used.add(gid)
                self._db.executemany(
                    "UPDATE docs SET group_id=? WHERE doc_id=?", [(gid, d) for d in comp]
                )

    def _all_signatures(self) -> tuple[list[str], "np.ndarray"]:
        import numpy as np

        rows = self._db.execute(
            "SELECT doc_id, sig FROM docs WHERE sig IS NOT NULL ORDER BY doc_id"
        ).fetchall()
        ids = [r[0] for r in rows]
        sigs = np.frombuffer(b"".join(r[1] for r in rows), dtype="<u4").reshape(len(rows), -1)
        return ids, sigs

    # -- queries

    def __len__(self) -> int:
        return self._db.execute("SELECT count(*) FROM docs").fetchone()[0]

    def __contains__(self, doc_id: object) -> bool:
        row = self._db.execute("SELECT 1 FROM docs WHERE doc_id=?", (doc_id,)).fetchone()
        return row is not None

    def doc_ids(self) -> set[str]:
        """Every document the store knows (to reconcile with the index)."""
        return {d for (d,) in self._db.execute("SELECT doc_id FROM docs")}

    def versions(self) -> dict[str, str | None]:
        """doc_id → the ``version`` given when it was added."""
        return dict(self._db.execute("SELECT doc_id, version FROM docs"))

    def group_of(self, doc_id: str) -> int:
        """Group id of ``doc_id`` (every document has one; most groups are singletons)."""
        row = self._db.execute("SELECT group_id FROM docs WHERE doc_id=?", (doc_id,)).fetchone()
        if row is None:
            raise DocumentNotFoundError(f"no document with id {doc_id!r} in the duplicate data")
        return int(row[0])

    def groups_of(self, doc_ids: Iterable[str]) -> dict[str, int]:
        """Group id of each known id among ``doc_ids`` (unknown ids are left out)."""
        ids = list(doc_ids)
        out: dict[str, int] = {}
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            out.update(
                self._db.execute(
                    f"SELECT doc_id, group_id FROM docs WHERE doc_id IN ({marks})", part
                )
            )
        return out

    def members(self, group_id: int) -> list[str]:
        """Sorted ids of the documents in a group (empty when the group no longer exists)."""
        return [
            d for (d,) in self._db.execute(
                "SELECT doc_id FROM docs WHERE group_id=? ORDER BY doc_id", (group_id,)
            )
        ]

    def copies_of(self, doc_id: str) -> list[str]:
        """The other members of ``doc_id``'s group."""
        return [d for d in self.members(self.group_of(doc_id)) if d != doc_id]

    def similar(self, doc_id: str) -> list[tuple[str, float]]:
        """Direct near-identical copies of ``doc_id`` with estimated Jaccard, best first."""
        row = self._db.execute("SELECT sig FROM docs WHERE doc_id=?", (doc_id,)).fetchone()
        if row is None:
            raise DocumentNotFoundError(f"no document with id {doc_id!r} in the duplicate data")
        if row[0] is None:
            return []
        near = self._neighbours(self._sig_from_blob(row[0]), exclude=doc_id)
        return sorted(near, key=lambda p: (-p[1], p[0]))

    def groups(self, min_size: int = 2, threshold: float | None = None) -> list[DuplicateGroup]:
        """Groups with at least ``min_size`` members, largest first.

        ``threshold`` gives a view at another threshold without changing the store: stricter
        views split the stored groups, looser ones regroup all signatures in memory.
        """
        if threshold is None or abs(threshold - self.threshold) < 1e-12:
            rows = self._db.execute(
                "SELECT group_id, doc_id FROM docs WHERE group_id IN (SELECT group_id FROM docs "
                "GROUP BY group_id HAVING count(*) >= ?) ORDER BY group_id, doc_id",
                (min_size,),
            ).fetchall()
            by_gid: dict[int, list[str]] = {}
            for gid, d in rows:
                by_gid.setdefault(gid, []).append(d)
            found = [DuplicateGroup(g, m) for g, m in by_gid.items()]
        else:
            found = self._groups_at(threshold, min_size)
        return sorted(found, key=lambda g: (-g.size, g.id))

    def _groups_at(self, threshold: float, min_size: int) -> list[DuplicateGroup]:
        if not 0.0 < threshold < 1.0:
            raise DuplicateStoreError(f"threshold must be between 0 and 1, got {threshold}")
        ids, sigs = self._all_signatures()
        current = dict(self._db.execute("SELECT doc_id, group_id FROM docs"))
        if threshold > self.threshold:
            # Stricter: components can only split, and the stored bands were tuned looser.
            bands, rows = self.bands, self.rows
        else:
            bands, rows = lsh_params(threshold, self.num_perm)
        comps = group_signatures(ids, sigs, threshold, bands, rows) if ids else []
        # Empty documents are never copies; they stay singletons.
        out: list[DuplicateGroup] = []
        used: set[int] = set()
        for comp in sorted(comps, key=lambda c: (-len(c), c[0])):
            if len(comp) < min_size:
                continue
            prior = sorted({current[d] for d in comp} - used)
            gid = prior[0] if prior else -(len(out) + 1)  # negative: not a stored group
            used.add(gid)
            out.append(DuplicateGroup(gid, comp))
        return out


def store_path(index_dir: str | os.PathLike) -> str:
    return os.path.join(os.fspath(index_dir), STORE_FILENAME)


def sync_with_index(store: DuplicateStore, ix, hashes: dict[str, str]) -> int:
    """Make the store match the index: drop ids the index lost, (re)sign missing or stale ids.

    ``hashes`` maps every indexed id to its content hash. Needed after a crash between the
    index commit and the store commit, and for indexes built before duplicate detection.
    Returns how many documents were changed.
    """
    known = store.versions()
    gone = [d for d in known if d not in hashes]
    stale = [d for d, h in hashes.items() if known.get(d, "\0") != h]
    if not gone and not stale:
        return 0

    with store.transaction():
        store.remove_many(gone)
        if stale:
            with ix.searcher() as searcher:
                for doc_id in stale:
                    fields = searcher.document(id=doc_id)
                    if fields is None:
                        continue
                    doc = Document(**orjson.loads(fields["doc"]))
                    store.add_signature(doc_id, document_signature(doc), version=hashes[doc_id])
    return len(gone) + len(stale)


def open_readonly(index_dir: str | os.PathLike) -> DuplicateStore:
    """The duplicate data of an index, for reading; a clear error when there is none."""
    path = store_path(index_dir)
    if not os.path.exists(path):
        raise DuplicateStoreError(
            f"no duplicate data in {os.fspath(index_dir)}: run `vnsearch index` to build it"
        )
    return DuplicateStore(path, readonly=True)
