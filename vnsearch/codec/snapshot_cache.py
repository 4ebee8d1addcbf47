"""What the threads searching one index share, and what survives a commit.

Whoosh readers seek and read file handles of their own, so two threads must never read through
one reader (they read each other's bytes: corrupt postings blocks, unpickling and zlib errors).
:class:`vnsearch.Index` gives each thread its own reader; what the ranker derives from a snapshot
of the index (field lengths, columns, term lookups, decoded postings) does not depend on the
reader, costs far more than opening one, and is built once per snapshot here, for every thread.

A commit that adds a segment leaves the others as they were (segments are never rewritten): the
values derived from one segment are kept per segment, and the decoded postings and term lookups
of the snapshot before are carried over and extended with the new segments' part when first
asked for, instead of being read again. A merge replaces segments: what was read for the
segments before the first one replaced (the large old ones: merges take the small recent ones,
and the merged segment goes last) is kept, cut there, and the rest is read again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

#: What one snapshot keeps of the lists it read, counted in postings (8 bytes each, document
#: number and frequency or score), least recently used dropped first: POSTINGS_CACHE_PER_DOC
#: per document of the index, at least POSTINGS_CACHE (48 MB) and at most POSTINGS_CACHE_MAX
#: (384 MB, from 120k documents on). The lists every query reads grow with the index: on 300
#: headlines at 30k documents, a fixed 6 million re-decoded 32% of the postings read, 12
#: million 20%; at 160k, 24 million re-decoded 38% (23 ms a query), 48 million 14% (11 ms),
#: for 0.83x the CPU a query and ~220 MB more memory (docs/benchmarks.md). Beyond the cap,
#: search time grows with the lists again.
POSTINGS_CACHE = 6_000_000
POSTINGS_CACHE_PER_DOC = 400
POSTINGS_CACHE_MAX = 48_000_000
#: Shares of that budget for per-term scores (:meth:`SnapshotCache.scores`: a term's BM25F over
#: all its sections, which is all the ranking needs of its postings) and for decoded posting
#: lists (facets, filters, terms whose scores were dropped, and carried to the next snapshot,
#: which scores are not). Scores first: at 160k documents, 300 headlines read 80% of their
#: postings for a term seen before, and with a quarter of the budget the scores kept 22% of
#: them (the common words every query repeats are the longest lists and the costliest to
#: score); with the whole budget, 0.82x the CPU a query (docs/benchmarks.md).
SCORES_SHARE = 1.0
POSTINGS_SHARE = 0.25
#: Term lookups kept per snapshot (the table is emptied when it reaches this size).
TERMS_KEPT = 100_000
#: Snapshots an index keeps caches for: the newest ones (threads still on the one before
#: finish their searches with it while the others move on).
SNAPSHOTS_KEPT = 2

_MISSING = object()


class Made:
    """Values made once per key and shared by threads: the first thread asking makes it; the
    others asking meanwhile wait for that value instead of making it again."""

    def __init__(self) -> None:
        self._values: dict[Hashable, Any] = {}
        self._making: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        value = self._values.get(key, _MISSING)
        if value is not _MISSING:
            return value
        with self._lock:
            lock = self._making.setdefault(key, threading.Lock())
        try:
            with lock:
                value = self._values.get(key, _MISSING)
                if value is _MISSING:
                    value = self._values[key] = make()
                return value
        finally:
            with self._lock:
                if self._making.get(key) is lock:
                    del self._making[key]


def leaf_key(seg) -> tuple[str, int, int]:
    """``(segment id, documents, deleted documents)`` of one leaf reader: a segment's files
    never change, and its deletions only grow."""
    segment = seg.segment() if hasattr(seg, "segment") else None
    if segment is None:  # an empty index
        return ("", 0, 0)
    return (segment.segment_id(), seg.doc_count_all(), segment.deleted_count())


def snapshot_key(reader) -> tuple:
    """What identifies one snapshot of one index: its generation and its segments."""
    return (reader.generation(), tuple(leaf_key(seg) for seg, _ in reader.leaf_readers()))


class SnapshotCache(Made):
    """The values derived from one snapshot of an index, shared by the threads searching it:
    keyed values (:meth:`get`), one :class:`Made` per segment (``segments[i]``, kept across
    snapshots by :class:`IndexCaches`), term lookups and decoded postings.

    Term lookups and postings are stored with the number of leading segments they cover: those
    carried from the snapshot before hold for its first ``prefix`` segments (``prefix_docs``
    documents), the ones this snapshot shares with it; the reader cuts them there if they
    cover more, and extends them with the rest when taken (:meth:`take_carried_term`,
    :meth:`take_carried_postings`)."""

    def __init__(self, key: tuple, segments: list[Made] | None = None,
                 previous: SnapshotCache | None = None, budget: int | None = None) -> None:
        super().__init__()
        self.key = key
        self.segments = segments if segments is not None else [Made() for _ in key[1]]
        if budget is None:
            budget = postings_budget(sum(leaf[1] for leaf in key[1]))
        self.budget = budget
        self.postings_budget = int(budget * POSTINGS_SHARE)
        self.terms: dict[Hashable, tuple] = {}
        self._postings: OrderedDict[Hashable, tuple] = OrderedDict()
        self._postings_size = 0
        self._postings_lock = threading.Lock()
        self._scores: OrderedDict[Hashable, tuple] = OrderedDict()
        self._scores_size = 0
        self.scores_budget = int(budget * SCORES_SHARE)
        self._carried_terms: dict[Hashable, tuple] = {}
        self._carried_postings: dict[Hashable, tuple] = {}
        self.prefix = 0 if previous is None else _common_prefix(previous.key, key)
        self.prefix_docs = sum(leaf[1] for leaf in key[1][: self.prefix])
        if previous is not None and self.prefix:
            self._carry(previous)

    def _carry(self, previous: SnapshotCache) -> None:
        terms = dict(previous._carried_terms)
        terms.update(previous.terms)
        self._carried_terms = terms
        with previous._postings_lock:
            newest_first = list(reversed(previous._postings.items()))
            older = list(previous._carried_postings.items())
        carried: dict[Hashable, tuple] = {}
        size = 0
        for key, entry in newest_first + older:
            if key in carried:
                continue
            size += _size(entry[0])
            if size > self.postings_budget:
                break
            carried[key] = entry
        self._carried_postings = carried

    # -- term lookups ---------------------------------------------------------------------
    def term(self, key: Hashable):
        """The stored lookup of a term, or None."""
        return self.terms.get(key)

    def take_carried_term(self, key: Hashable):
        """``(value, segments covered)`` of a term looked up in the snapshot before, or None."""
        return self._carried_terms.pop(key, None)

    def put_term(self, key: Hashable, value: tuple) -> None:
        if len(self.terms) >= TERMS_KEPT:
            self.terms.clear()
        self.terms[key] = value

    # -- postings ---------------------------------------------------------------------------
    def postings(self, key: Hashable):
        """``(value, segments covered)`` of a decoded posting list kept, or None."""
        with self._postings_lock:
            entry = self._postings.get(key)
            if entry is not None:
                self._postings.move_to_end(key)
            return entry

    def take_carried_postings(self, key: Hashable):
        """``(value, segments covered)`` of a posting list decoded in the snapshot before."""
        with self._postings_lock:
            return self._carried_postings.pop(key, None)

    def put_postings(self, key: Hashable, value, covered: int) -> None:
        size = _size(value)
        if size > self.postings_budget // 4:
            return
        with self._postings_lock:
            old = self._postings.pop(key, None)
            if old is not None:
                self._postings_size -= _size(old[0])
            self._postings[key] = (value, covered)
            self._postings_size += size
            while self._postings_size > self.postings_budget:
                _, dropped = self._postings.popitem(last=False)
                self._postings_size -= _size(dropped[0])

    # -- scores -----------------------------------------------------------------------------
    def scores(self, key: Hashable):
        """``(value,)`` of per-document scores kept for ``key``, or None. Not carried to the
        next snapshot: document frequencies and lengths change with it."""
        with self._postings_lock:
            entry = self._scores.get(key)
            if entry is not None:
                self._scores.move_to_end(key)
            return entry

    def put_scores(self, key: Hashable, value) -> None:
        """Keep ``value`` (``(document numbers, scores)`` or ``(dense scores,)``, read-only
        from now on, or None), least recently used dropped first beyond
        :attr:`scores_budget`."""
        size = _entry_size(value)
        if size > self.scores_budget // 4:
            return
        if value is not None:
            for a in value:
                a.flags.writeable = False
        with self._postings_lock:
            old = self._scores.pop(key, None)
            if old is not None:
                self._scores_size -= _entry_size(old[0])
            self._scores[key] = (value,)
            self._scores_size += size
            while self._scores_size > self.scores_budget:
                _, dropped = self._scores.popitem(last=False)
                self._scores_size -= _entry_size(dropped[0])


def _entry_size(value) -> int:
    """A kept value's size in postings' bytes (8: a document number and a score; a dense
    vector of float32 scores over the index counts half a posting a document), plus what a
    table entry costs (~64 postings' bytes)."""
    return 64 + (0 if value is None else sum(a.nbytes for a in value) // 8)


def postings_budget(documents: int) -> int:
    """Postings kept for an index of this many documents (see POSTINGS_CACHE)."""
    return min(POSTINGS_CACHE_MAX, max(POSTINGS_CACHE, POSTINGS_CACHE_PER_DOC * documents))


class IndexCaches:
    """The snapshot caches of one index (the newest :data:`SNAPSHOTS_KEPT`) and the segment
    caches they use, for the readers of every thread."""

    def __init__(self, budget: int | None = None) -> None:
        self.budget = budget
        self._snapshots: dict[tuple, SnapshotCache] = {}
        self._segments: dict[str, Made] = {}
        self._lock = threading.Lock()

    def for_reader(self, reader) -> SnapshotCache:
        """The cache of the snapshot ``reader`` reads, made the first time one asks."""
        key = snapshot_key(reader)
        with self._lock:
            cache = self._snapshots.get(key)
            if cache is not None:
                return cache
            older = [c for k, c in self._snapshots.items() if _generation(k) < _generation(key)]
            previous = max(older, key=lambda c: _generation(c.key), default=None)
            segments = [self._segments.get(leaf[0]) or Made() for leaf in key[1]]
            cache = SnapshotCache(key, segments, previous, self.budget)
            self._snapshots[key] = cache
            for k in sorted(self._snapshots, key=_generation)[:-SNAPSHOTS_KEPT]:
                del self._snapshots[k]
            live = {leaf[0]: seg for c in self._snapshots.values()
                    for leaf, seg in zip(c.key[1], c.segments)}
            self._segments = live
            return cache


def _generation(key: tuple) -> int:
    return -1 if key[0] is None else key[0]


def _common_prefix(old: tuple, new: tuple) -> int:
    """How many first segments snapshot ``new`` shares with the older ``old``, in order (so at
    the same document numbers): what was decoded for them holds, deletions aside."""
    if _generation(new) <= _generation(old):
        return 0
    n = 0
    for a, b in zip(old[1], new[1]):
        if not a[0] or a[:2] != b[:2]:
            break
        n += 1
    return n


def _size(value) -> int:
    """Postings in a kept value (``(ids, frequencies)`` or None)."""
    return 0 if value is None else len(value[0])
