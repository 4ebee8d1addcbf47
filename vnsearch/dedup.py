"""Near-duplicate detection: syndicated copies of one story grouped together.

The same press release is republished by many outlets with small edits (a new headline, a
dropped paragraph, a reworded sentence). Each document gets a MinHash signature over its
normalised syllable shingles (summary + body + captions; never the title, which syndicators
rewrite). Locality-sensitive hashing (banding) finds candidate pairs; a pair is an *edge* when
it shares a band and its estimated Jaccard similarity reaches the threshold. Duplicate groups are
the connected components of that graph and are kept in a sqlite sidecar of the index directory,
updated incrementally as documents are added, changed and removed.

Invariant (tested): after any sequence of ``add``/``remove``, the groups equal those a fresh
build over the same documents would give.

The MinHash is our own (numpy, a few lines) rather than ``datasketch``: signatures are persisted,
so their definition must not change with a library upgrade (datasketch 2.0 changed its default
hashing scheme), and importing datasketch costs ~0.6 s of scipy. numpy is imported lazily.
"""

from __future__ import annotations

import os
import re
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from hashlib import blake2b
from typing import TYPE_CHECKING, Iterable, Iterator

from .errors import DocumentNotFoundError, IndexFormatError, IndexLockedError, VnsearchError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from .document import Document

#: Sidecar file name inside an index directory.
STORE_FILENAME = "duplicates.sqlite"
#: Bumped when the on-disk layout or the signature definition changes.
STORE_FORMAT = 1

#: Estimated Jaccard similarity at or above which two documents are copies (see bench/dedup.py).
DEFAULT_THRESHOLD = 0.5
#: Syllables per shingle (see bench/dedup.py).
DEFAULT_SHINGLE_SIZE = 3
#: MinHash permutations: the estimate's standard error is sqrt(J(1-J)/n) (0.044 at J=0.5).
DEFAULT_NUM_PERM = 128
DEFAULT_SEED = 1

_SYLLABLE = re.compile(r"\w+")
_MASK64 = (1 << 64) - 1
# Multipliers of the shingle rolling hash and the band-key hash (odd 64-bit constants).
_ROLL = 0x9E3779B97F4A7C15
_BAND_SALT = 0xC2B2AE3D27D4EB4F
# Shingle hashes are computed in chunks of this many shingles to bound temporary memory.
_CHUNK = 4096


class DuplicateStoreError(VnsearchError):
    """The duplicate sidecar cannot be used as asked."""


# --------------------------------------------------------------------------- text → shingles


def signature_text(doc: "Document") -> str:
    """The text whose copies we look for: summary, body and captions — not the title."""
    parts = [doc.summary, doc.body, *doc.captions]
    return "\n".join(p for p in parts if p)


def _normalize(text: str) -> str:
    # Shared normaliser (NFC, one tone-placement convention, junk removed), then lower case.
    from .normalize import normalize

    return normalize(text).lower()


def syllables(text: str) -> list[str]:
    """Normalised, lower-cased syllables (``\\w+`` runs) of ``text``."""
    return _SYLLABLE.findall(_normalize(text))


_syllable_hashes: dict[str, int] = {}


def _syllable_hash(syllable: str) -> int:
    h = _syllable_hashes.get(syllable)
    if h is None:
        if len(_syllable_hashes) > 500_000:  # names and numbers are unbounded: keep memory flat
            _syllable_hashes.clear()
        h = int.from_bytes(blake2b(syllable.encode("utf-8"), digest_size=8).digest(), "little")
        _syllable_hashes[syllable] = h
    return h


def _fmix64(h: "np.ndarray") -> "np.ndarray":
    """MurmurHash3's 64-bit finaliser: avalanches every input bit (uint64 arrays, wrapping)."""
    import numpy as np

    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


def shingle_hashes(text: str, size: int = DEFAULT_SHINGLE_SIZE) -> "np.ndarray":
    """Stable 32-bit hashes (as uint64) of the ``size``-syllable shingles of ``text``.

    A text shorter than ``size`` syllables is one shingle; an empty text has none.
    """
    import numpy as np

    syl = np.fromiter((_syllable_hash(s) for s in syllables(text)), dtype=np.uint64)
    if syl.size == 0:
        return syl
    n = max(syl.size - size + 1, 1)
    h = syl[:n].copy()
    roll = np.uint64(_ROLL)
    for j in range(1, min(size, syl.size)):
        h = h * roll + syl[j : j + n]
    return _fmix64(h) >> np.uint64(32)


# --------------------------------------------------------------------------- MinHash


class MinHasher:
    """MinHash signatures with multiply-add-shift permutations of 32-bit shingle hashes."""

    def __init__(
        self,
        num_perm: int = DEFAULT_NUM_PERM,
        shingle_size: int = DEFAULT_SHINGLE_SIZE,
        seed: int = DEFAULT_SEED,
    ) -> None:
        import numpy as np

        if num_perm < 1 or shingle_size < 1:
            raise ValueError("num_perm and shingle_size must be positive")
        self.num_perm = num_perm
        self.shingle_size = shingle_size
        self.seed = seed
        rng = np.random.Generator(np.random.PCG64(seed))
        self._a = rng.integers(0, 1 << 64, num_perm, dtype=np.uint64, endpoint=False) | np.uint64(1)
        self._b = rng.integers(0, 1 << 64, num_perm, dtype=np.uint64, endpoint=False)

    def signature(self, text: str) -> "np.ndarray | None":
        """uint32 signature of ``text``, or None when it has no syllables."""
        import numpy as np

        x = shingle_hashes(text, self.shingle_size)
        if x.size == 0:
            return None
        x = np.unique(x)
        sig = np.full(self.num_perm, np.iinfo(np.uint32).max, dtype=np.uint64)
        for start in range(0, x.size, _CHUNK):
            part = x[start : start + _CHUNK, None]
            permuted = (part * self._a + self._b) >> np.uint64(32)
            np.minimum(sig, permuted.min(axis=0), out=sig)
        return sig.astype(np.uint32)


def estimate_jaccard(a: "np.ndarray", b: "np.ndarray") -> float:
    """Fraction of agreeing MinHash values: an unbiased estimate of the Jaccard similarity."""
    import numpy as np

    return float(np.count_nonzero(a == b)) / len(a)


def _trapezoid(y: "np.ndarray", x: "np.ndarray") -> "np.ndarray":
    """Trapezoid-rule integral of each row of ``y`` over ``x``."""
    return ((y[..., 1:] + y[..., :-1]) * (x[1:] - x[:-1])).sum(axis=-1) / 2


@lru_cache(maxsize=32)
def lsh_params(
    threshold: float, num_perm: int, fp_weight: float = 0.2, fn_weight: float = 0.8
) -> tuple[int, int]:
    """(bands, rows) minimising the weighted false-positive/false-negative areas of the S-curve.

    Missed candidates are lost for good while extra ones only cost a signature comparison, so
    false negatives weigh more by default.
    """
    import numpy as np

    if not 0.0 < threshold < 1.0:
        raise DuplicateStoreError(f"threshold must be between 0 and 1, got {threshold}")
    pairs = np.array(
        [(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)], dtype=float
    )
    bands, rows = pairs[:, :1], pairs[:, 1:]
    below = np.linspace(0.0, threshold, 200)
    above = np.linspace(threshold, 1.0, 200)
    fp = _trapezoid(1 - (1 - below**rows) ** bands, below)
    fn = _trapezoid((1 - above**rows) ** bands, above)
    best = int(np.argmin(fp_weight * fp + fn_weight * fn))
    return int(pairs[best, 0]), int(pairs[best, 1])


def band_keys(sig: "np.ndarray", bands: int, rows: int) -> "np.ndarray":
    """One signed 64-bit bucket key per band (``sig`` may be a 1-D signature or a 2-D stack)."""
    import numpy as np

    s = np.atleast_2d(sig)[:, : bands * rows].astype(np.uint64).reshape(-1, bands, rows)
    h = np.broadcast_to(
        (np.arange(bands, dtype=np.uint64) + np.uint64(1)) * np.uint64(_BAND_SALT), s.shape[:2]
    ).copy()
    roll = np.uint64(_ROLL)
    for j in range(rows):
        h = h * roll + s[:, :, j]
    keys = _fmix64(h).view(np.int64)
    return keys[0] if np.ndim(sig) == 1 else keys


# --------------------------------------------------------------------------- grouping in memory


def _components(nodes: Iterable[str], edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """Connected components (union-find), each sorted, for ``nodes`` linked by ``edges``."""
    parent = {n: n for n in nodes}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    comps: dict[str, list[str]] = {}
    for n in parent:
        comps.setdefault(find(n), []).append(n)
    return [sorted(c) for c in comps.values()]


def group_signatures(
    ids: list[str], sigs: "np.ndarray", threshold: float, bands: int | None = None,
    rows: int | None = None,
) -> list[list[str]]:
    """Duplicate groups (all components, singletons included) of stacked signatures.

    The batch counterpart of the incremental store: same edges (shared band and estimated
    Jaccard >= threshold), hence the same groups.
    """
    import numpy as np

    if bands is None or rows is None:
        bands, rows = lsh_params(threshold, sigs.shape[1])
    keys = band_keys(sigs, bands, rows) if len(ids) else np.empty((0, bands), np.int64)
    need = int(np.ceil(threshold * sigs.shape[1] - 1e-9))
    edges: set[tuple[int, int]] = set()
    for band in range(bands):
        col = keys[:, band]
        order = np.argsort(col, kind="stable")
        sorted_keys = col[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        ends = np.r_[starts[1:], len(order)]
        for s, e in zip(starts, ends):
            if e - s < 2:
                continue
            bucket = order[s:e]
            block = sigs[bucket]
            for i in range(len(bucket) - 1):
                agree = np.count_nonzero(block[i + 1 :] == block[i], axis=1)
                for j in np.flatnonzero(agree >= need):
                    a, b = int(bucket[i]), int(bucket[i + 1 + j])
                    edges.add((a, b) if a < b else (b, a))
    return _components(ids, ((ids[a], ids[b]) for a, b in edges))


# --------------------------------------------------------------------------- the sidecar store


@dataclass(frozen=True)
class DuplicateGroup:
    """A set of near-identical documents; ``id`` is stable while the group persists."""

    id: int
    members: list[str]

    @property
    def size(self) -> int:
        return len(self.members)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
    doc_id TEXT PRIMARY KEY,
    group_id INTEGER NOT NULL,
    sig BLOB,                      -- uint32 MinHash values, NULL when the text is empty
    version TEXT                   -- caller's content hash, to resync with the index
);
CREATE INDEX IF NOT EXISTS docs_group ON docs(group_id);
CREATE TABLE IF NOT EXISTS bands (
    key INTEGER NOT NULL,
    doc_id TEXT NOT NULL,
    PRIMARY KEY (key, doc_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS bands_doc ON bands(doc_id);
"""


class DuplicateStore:
    """Duplicate groups of an index, persisted in ``<index_dir>/duplicates.sqlite``.

    Writes run in sqlite transactions (WAL journal), so a crash leaves the last committed
    state and readers in other processes never see half an update. Use ``with
    store.transaction():`` to make many changes one commit (bulk indexing).
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
            uri = "file:" + self.path + "?mode=ro"
            self._db = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
        else:
            self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        self._depth = 0
        try:
            self._open(threshold, num_perm, shingle_size, seed)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise IndexFormatError(f"duplicate data {self.path} is unreadable: {exc}") from None

    @classmethod
    def in_index(cls, index_dir: str | os.PathLike, **kwargs) -> "DuplicateStore":
        """The store of an index directory (created when missing unless ``readonly``)."""
        return cls(os.path.join(os.fspath(index_dir), STORE_FILENAME), **kwargs)

    # -- setup

    def _open(self, threshold: float | None, num_perm: int, shingle_size: int, seed: int) -> None:
        meta = {}
        if self._has_tables():
            meta = dict(self._db.execute("SELECT key, value FROM meta"))
        if not meta:
            if self.readonly:
                raise DuplicateStoreError(f"no duplicate data at {self.path}")
            threshold = DEFAULT_THRESHOLD if threshold is None else threshold
            bands, rows = lsh_params(threshold, num_perm)
            self._db.execute("PRAGMA journal_mode=WAL")
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
                f"{STORE_FORMAT}: rebuild the index"
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

    def _sig_from_blob(self, blob: bytes | None) -> "np.ndarray | None":
        import numpy as np

        return None if blob is None else np.frombuffer(blob, dtype="<u4")

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
            f"SELECT doc_id, sig FROM docs WHERE doc_id IN "
            f"(SELECT DISTINCT doc_id FROM bands WHERE key IN ({marks}))",
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
                    "INSERT INTO docs VALUES (?, ?, NULL, ?)", (doc_id, gid, version)
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
            self._db.execute("INSERT INTO docs VALUES (?, ?, ?, ?)", (doc_id, gid, blob, version))
            self._db.executemany(
                "INSERT OR IGNORE INTO bands VALUES (?, ?)",
                [(k, doc_id) for k in band_keys(sig, self.bands, self.rows).tolist()],
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
        self._db.execute("DELETE FROM bands WHERE doc_id=?", (doc_id,))
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
            self._db.execute("DELETE FROM bands")
            if ids:
                keys = band_keys(sigs, bands, rows)
                self._db.executemany(
                    "INSERT OR IGNORE INTO bands VALUES (?, ?)",
                    ((k, d) for d, row in zip(ids, keys.tolist()) for k in row),
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
        return self._db.execute("SELECT 1 FROM docs WHERE doc_id=?", (doc_id,)).fetchone() is not None

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
        out, used = [], set()
        for comp in sorted(comps, key=lambda c: (-len(c), c[0])):
            if len(comp) < min_size:
                continue
            prior = sorted({current[d] for d in comp} - used)
            gid = prior[0] if prior else -(len(out) + 1)  # negative: not a stored group
            used.add(gid)
            out.append(DuplicateGroup(gid, comp))
        return out


# --------------------------------------------------------------------------- index integration

_worker_hasher: MinHasher | None = None


def document_signature(doc: "Document") -> bytes | None:
    """Signature of a document as bytes (cheap to send from an analysis worker process)."""
    global _worker_hasher
    if _worker_hasher is None:
        _worker_hasher = MinHasher()
    sig = _worker_hasher.signature(signature_text(doc))
    return None if sig is None else sig.astype("<u4").tobytes()


def store_path(index_dir: str | os.PathLike) -> str:
    return os.path.join(os.fspath(index_dir), STORE_FILENAME)


def sync_with_index(store: DuplicateStore, ix, hashes: dict[str, str]) -> int:
    """Make the store match the index: drop ids the index lost, (re)sign missing or stale ids.

    ``hashes`` maps every indexed id to its content hash. Needed after a crash between the
    index commit and the store commit, and for indexes built before duplicate detection.
    Returns how many documents were changed.
    """
    from .document import Document

    known = store.versions()
    gone = [d for d in known if d not in hashes]
    stale = [d for d, h in hashes.items() if known.get(d, "\0") != h]
    if not gone and not stale:
        return 0
    import orjson

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


def collapse(ranked_ids: list[str], group_of: dict[str, int]) -> list[tuple[str, list[str]]]:
    """One entry per duplicate group, in rank order: (best-ranked id, the other ids, ranked).

    Ids missing from ``group_of`` (not in the duplicate data) are their own group.
    """
    kept: dict[object, tuple[str, list[str]]] = {}
    for doc_id in ranked_ids:
        key = group_of.get(doc_id, ("single", doc_id))
        if key in kept:
            kept[key][1].append(doc_id)
        else:
            kept[key] = (doc_id, [])
    return list(kept.values())


def collapse_results(searcher, run, offset: int, want: int, store: DuplicateStore):
    """Collapsed page of a Whoosh search: ``run(limit)`` searches with that limit.

    Returns (whoosh hits for ranks offset..want of the collapsed list, {id: duplicate ids}).
    Searches deeper until the page is full or the results are exhausted; each kept hit's
    duplicates are all matching members of its group, however deep they rank.
    """
    limit = max(want * 3, 30)
    while True:
        results = run(limit)
        hits = list(results)
        ids = [h["id"] for h in hits]
        groups = store.groups_of(ids)
        entries = collapse(ids, groups)
        if len(entries) >= want or len(hits) < limit:
            break
        limit *= 4
    page = entries[offset:want]
    by_id = {h["id"]: h for h in hits}
    matched = None
    dups: dict[str, list[str]] = {}
    for best, others in page:
        gid = groups.get(best)
        if gid is not None and len(hits) >= limit:
            # Copies ranked beyond what we fetched still count if they match the query.
            members = [m for m in store.members(gid) if m != best and m not in others]
            if members:
                if matched is None:
                    matched = set(results.docs())
                for m in members:
                    num = searcher.document_number(id=m)
                    if num is not None and num in matched:
                        others.append(m)
        dups[best] = others
    return [by_id[best] for best, _ in page], dups


def group_report(index, threshold: float | None = None, min_size: int = 2) -> list[dict]:
    """Duplicate groups of an index with each member's title and date, largest first."""
    with open_readonly(index.path) as store:
        groups = store.groups(min_size=min_size, threshold=threshold)
        used = store.threshold if threshold is None else threshold
    out = []
    for g in groups:
        members = []
        for doc_id in g.members:
            try:
                doc = index.get(doc_id)
            except DocumentNotFoundError:  # store ahead of the index: skip until resynced
                continue
            members.append({"id": doc_id, "title": doc.title, "date": doc.date,
                            "source": doc.source})
        if len(members) >= min_size:
            members.sort(key=lambda m: (m["date"] or "9999", m["id"]))  # first publication first
            out.append({"group": g.id, "size": len(members), "threshold": used,
                        "members": members})
    return out


def near_copies(index, doc_id: str) -> list[dict]:
    """Near-identical copies of ``doc_id`` (its duplicate group), with estimated similarity."""
    with open_readonly(index.path) as store:
        group = store.copies_of(doc_id)
        direct = dict(store.similar(doc_id))
        similarity = {d: direct.get(d) for d in group}
    out = []
    for d in group:
        try:
            doc = index.get(d)
        except DocumentNotFoundError:
            continue
        out.append({"id": d, "title": doc.title, "date": doc.date,
                    "similarity": similarity[d]})  # None: a copy of a copy (same group)
    out.sort(key=lambda c: (-(c["similarity"] or 0.0), c["id"]))
    return out


def copies_or_none(index, doc_id: str) -> list[dict] | None:
    """:func:`near_copies`, or None when the index has no duplicate data."""
    try:
        return near_copies(index, doc_id)
    except DuplicateStoreError:
        return None
    except DocumentNotFoundError:  # indexed, but not in the duplicate data yet
        return []


def similar_split(index, doc_id: str, limit: int = 10):
    """``vnsearch similar``: (near-identical copies, related articles without those copies).

    Copies is None when the index has no duplicate data.
    """
    from .search import similar

    doc_id = index.resolve_id(doc_id)
    copies = copies_or_none(index, doc_id)
    results = similar(index, doc_id, limit=limit, exclude=[c["id"] for c in copies or ()])
    return copies, results


def format_groups(groups: list[dict]) -> str:
    """Terminal text for :func:`group_report`."""
    from .highlight import clean_for_display

    lines = []
    for g in groups:
        lines.append(f"group {g['group']}: {g['size']} copies")
        for m in g["members"]:
            lines.append(f"  {m['date'] or '----------'}  {clean_for_display(m['id'])}  "
                         f"{clean_for_display(m['title'])}")
        lines.append("")
    total = sum(g["size"] for g in groups)
    lines.append(f"{len(groups)} group{'' if len(groups) == 1 else 's'}, {total} documents")
    return "\n".join(lines)


def format_copies(copies: list[dict]) -> str:
    from .highlight import clean_for_display

    lines = ["Near-identical copies:"] if copies else ["No near-identical copies."]
    for c in copies:
        sim = "  (copy of a copy)" if c["similarity"] is None else f"  ({c['similarity']:.2f})"
        lines.append(f"  {c['date'] or '----------'}  {clean_for_display(c['id'])}  "
                     f"{clean_for_display(c['title'])}{sim}")
    return "\n".join(lines)
