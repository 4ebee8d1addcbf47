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

import re
from dataclasses import dataclass
from functools import lru_cache
from hashlib import blake2b
from typing import TYPE_CHECKING, Iterable

from vnsearch.document import Document
from vnsearch.errors import DuplicateStoreError
from vnsearch.text.normalize import normalize

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np


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


# --------------------------------------------------------------------------- text → shingles


def signature_text(doc: "Document") -> str:
    """The text whose copies we look for: summary, body and captions — not the title."""
    parts = [doc.summary, doc.body, *doc.captions]
    return "\n".join(p for p in parts if p)


def _normalize(text: str) -> str:
    # Shared normaliser (NFC, one tone-placement convention, junk removed), then lower case.

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



_worker_hasher: MinHasher | None = None


def document_signature(doc: "Document") -> bytes | None:
    """Signature of a document as bytes (cheap to send from an analysis worker process)."""
    global _worker_hasher
    if _worker_hasher is None:
        _worker_hasher = MinHasher()
    sig = _worker_hasher.signature(signature_text(doc))
    return None if sig is None else sig.astype("<u4").tobytes()
