"""Reading postings, lengths and columns of one index snapshot straight from whoosh3 segments.

The ranker (:mod:`vnsearch.search.rank`) scores whole posting lists with numpy; Whoosh's own
matchers hand them out one posting at a time. This module is the one place that knows the
pinned whoosh3 segment layout: term infos, inlined postings, the posting lists of
:mod:`vnsearch.codec.blocks`, the one-byte length column, the Positions value encoding and
deletions. Callers get numpy arrays
over the snapshot's document numbers (segment offsets applied).
"""

from __future__ import annotations

import heapq
import itertools
import os
import pickle
import struct
from typing import Iterator

import numpy as np
from whoosh import formats
from whoosh.codec import whoosh3
from whoosh.util.numeric import byte_to_length

from vnsearch.codec.blocks import POSITIONS, Codec, decode, match_values
from vnsearch.codec.snapshot_cache import SnapshotCache, snapshot_key

#: Field length of each one-byte code Whoosh stores per document and field.
_LENGTHS = np.array([byte_to_length(i) for i in range(256)], dtype=np.float32)


class SnapshotReader:
    """Postings and per-document data of one Whoosh reader (one snapshot of an index).

    One thread reads through it (Whoosh readers are not shared); what it decodes goes to
    ``cache``, which the readers of every thread on the same snapshot share (see
    :mod:`vnsearch.codec.snapshot_cache`): term lookups, postings, per-segment columns."""

    def __init__(self, reader, cache: SnapshotCache | None = None) -> None:
        self.reader = reader
        self.leaves = reader.leaf_readers()  # [(segment reader, document number offset)]
        self.doc_count = reader.doc_count_all()
        self.schema = reader.schema
        self.cache = cache if cache is not None else SnapshotCache(snapshot_key(reader))

    def alive(self):
        """Boolean mask over document numbers: False for deleted documents."""
        out = np.ones(self.doc_count, dtype=bool)
        for seg, off in self.leaves:
            if seg.has_deletions():
                for d in seg.deleted_docs_set:
                    out[off + d] = False
        return out

    def field_length(self, field: str) -> int:
        return self.reader.field_length(field)

    def term_infos(self, field: str, term: str) -> tuple[int, list]:
        """``(document frequency, opaque per-segment infos)`` of ``term`` in ``field``
        (deleted documents counted, as in Whoosh), kept in the shared cache; a lookup carried
        from the snapshot before is completed with the segments added since."""
        key = (field, term)
        got = self.cache.term(key)
        if got is not None:
            return got[0]
        carried = self.cache.take_carried_term(key)
        start = 0
        if carried is not None:
            (df0, infos0), start = carried
            if start > self.cache.prefix:  # segments merged since: keep those before them
                start = self.cache.prefix
                infos0 = [x for x in infos0 if x[0] < start]
                df0 = sum(x[2].doc_frequency() for x in infos0)
        df, infos = self._term_infos(field, term, start)
        if carried is not None:
            df, infos = df0 + df, infos0 + infos
        self.cache.put_term(key, ((df, infos), len(self.leaves)))
        return df, infos

    def _term_infos(self, field: str, term: str, start: int = 0) -> tuple[int, list]:
        infos = []
        df = 0
        tbytes = self.schema[field].to_bytes(term)
        for i in range(start, len(self.leaves)):
            seg = self.leaves[i][0]
            terms = seg._terms
            if getattr(terms._tindex.dbfile, "_buf", None) is not None:
                terms_file = self._per_segment(i, ("terms file",), lambda: _TermsFile.of(seg))
                data = _term_data(terms, field, tbytes, terms_file)
                if data is None:
                    continue
                info = whoosh3.W3TermInfo.from_bytes(data)
            else:
                try:
                    info = terms.term_info(field, tbytes)
                except Exception:  # TermNotFound: not in this segment
                    continue
            # the leaf's position, not its reader: the infos are shared with other threads,
            # which read through readers of their own
            infos.append((i, self.leaves[i][1], info))
            df += info.doc_frequency()
        return df, infos

    def term_postings(self, field: str, term: str):
        """:meth:`postings` of a term, kept in the shared cache (least recently used dropped
        first); postings carried from the snapshot before get the new segments' part added."""
        key = (field, term)
        kept = self.cache.postings(key)
        if kept is not None:
            return kept[0]
        infos = self.term_infos(field, term)[1]
        carried = self.cache.take_carried_postings(key)
        if carried is None:
            got = self.postings(field, infos)
        else:
            value, covered = carried
            if covered > self.cache.prefix:  # segments merged since: keep those before them
                covered = self.cache.prefix
                value = _cut(value, self.cache.prefix_docs)
            tail = self.postings(field, [x for x in infos if x[0] >= covered])
            got = _concat(value, tail)
        self.cache.put_postings(key, got, len(self.leaves))
        return got

    def postings(self, field: str, infos: list):
        """``(document numbers int32, frequencies float32)`` of a term, or None."""
        ids, tfs = [], []
        for leaf, off, info in infos:
            got = _leaf_postings(self.leaves[leaf][0], field, info)
            leaf_ids = np.asarray(got[0], dtype=np.int32)  # 8 bytes a posting, with the tf
            if off:
                leaf_ids += np.int32(off)  # made for this call (see _leaf_postings)
            ids.append(leaf_ids)
            tfs.append(np.asarray(got[1], dtype=np.float32))
        if not ids:
            return None
        if len(ids) == 1:
            return ids[0], tfs[0]
        return np.concatenate(ids), np.concatenate(tfs)

    def positions_of(self, field: str, infos: list, docs):
        """Positions of a term in some of the documents holding it: ``docs`` are sorted
        document numbers; returns ``(owner, positions)``, int64 arrays, ``positions[i]`` being
        in the document ``docs[owner[i]]``, each document's positions ascending and in the
        order of ``docs``.

        A phrase needs the positions of the few documents holding all its words, in lists that
        can hold a hundred thousand: those are gathered with numpy from the decoded list,
        instead of one Python value per posting."""
        docs = np.asarray(docs, dtype=np.int64)
        owners: list = []
        found: list = []
        for leaf, off, info in infos:
            seg = self.leaves[leaf][0]
            arrays = _leaf_positions(seg, field, info)
            if arrays is None:  # one inlined posting, or another codec: a value per posting
                ids, _, values = _leaf_postings(seg, field, info, with_values=True)
                decode_one = _positions_decoder(self.schema[field].format)
                arrays = _position_arrays(ids, [list(decode_one(v)) for v in values])
            ids, lens, gaps = arrays
            ids = ids.astype(np.int64) + off
            at = np.searchsorted(ids, docs)
            inside = at < len(ids)
            inside[inside] = ids[at[inside]] == docs[inside]
            which = np.flatnonzero(inside)
            if not len(which):
                continue
            owner, pos = _gather_runs(lens, gaps, at[which])
            owners.append(which[owner])
            found.append(pos)
        if not owners:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        owner = np.concatenate(owners)
        pos = np.concatenate(found)
        order = np.argsort(owner, kind="stable")  # documents in order, positions kept ascending
        return owner[order], pos[order]

    def _per_segment(self, i: int, key, make):
        """A value read from segment ``i`` alone, kept while the segment is in the index."""
        return self.cache.segments[i].get(key, make)

    def lengths(self, field: str):
        """Per-document lengths of ``field`` (Whoosh's one-byte approximation), float32."""
        out = np.zeros(self.doc_count, dtype=np.float32)
        for i, (seg, off) in enumerate(self.leaves):
            col = self._per_segment(i, ("lengths", field),
                                    lambda seg=seg: _length_column(seg, field))
            if col is not None:
                out[off : off + len(col)] = _LENGTHS[col]
        return out

    def column(self, field: str):
        """Per-document values of a sortable field as an object array; "" where none."""
        out = np.full(self.doc_count, "", dtype=object)
        for i, (seg, off) in enumerate(self.leaves):
            values = self._per_segment(
                i, ("column", field),
                lambda seg=seg: list(seg.column_reader(field)) if seg.has_column(field) else [],
            )
            out[off : off + len(values)] = values
        return out

    def terms(self, field: str) -> Iterator[str]:
        """Every term of ``field``, decoded, in order."""
        if field in self.schema:
            decode = self.schema[field].from_bytes
            for tbytes in self.reader.lexicon(field):
                yield decode(tbytes)

    def docs_by_term(self, field: str) -> Iterator[int]:
        """Document numbers in the order of their terms in ``field`` (ids: by id), merged
        across segments; deleted documents included."""

        def walk(seg, off):
            terms = seg._terms
            for (name, tbytes), info in terms.items_from(field, b""):
                if name != field:
                    return
                if info.is_inlined():
                    docs = info.inlined_postings()[0]
                else:
                    docs = terms.matcher(field, tbytes, seg.schema[field].format).all_ids()
                for d in docs:
                    yield tbytes, d + off

        for _, doc in heapq.merge(*(walk(seg, off) for seg, off in self.leaves)):
            yield doc


def _cut(postings, docs: int):
    """The postings (sorted document numbers) below ``docs``, or None."""
    if postings is None:
        return None
    n = int(np.searchsorted(postings[0], docs))
    return (postings[0][:n], postings[1][:n]) if n else None


def _concat(a, b):
    """Two ``(ids, frequencies)`` posting lists (or None) one after the other."""
    if a is None or b is None:
        return a if b is None else b
    return np.concatenate([a[0], b[0]]), np.concatenate([a[1], b[1]])


_SLOT = struct.Struct("!Iq").unpack_from  # hash table slot: key hash, key position
_KEY_LENGTHS = struct.Struct("!ii").unpack_from  # key length, value length
_FIELD_NUMBER = struct.Struct("!H").pack


class _TermsFile:
    """A segment's terms file read by position (``os.pread``) instead of through its mapping.

    A lookup touches two random pages of the hash table, and the kernel maps the pages around
    each one it faults in (16 on Linux): read through the mapping, the term dictionaries a
    long-running search process had looked terms up in stayed in its resident set (527 of
    their 609 MB at 160k documents, after 300 headlines). Read by position, they stay in the
    page cache only, which the kernel shares and reclaims."""

    __slots__ = ("file", "base")

    def __init__(self, file, base: int) -> None:
        self.file = file  # closed when the segment's cache entry goes (garbage collected)
        self.base = base

    @classmethod
    def of(cls, seg) -> _TermsFile | None:
        """The terms file of a segment reader stored in a compound file, or None (other
        layouts are read through Whoosh's file object)."""
        storage = getattr(seg, "_storage", None)
        compound, folder = getattr(storage, "a", None), getattr(getattr(storage, "b", None),
                                                                 "folder", None)
        segment = seg.segment() if hasattr(seg, "segment") else None
        if compound is None or folder is None or segment is None:
            return None
        try:
            base, _ = compound.range(segment.make_filename(whoosh3.W3Codec.TERMS_EXT))
            path = os.path.join(folder, segment.make_filename(segment.COMPOUND_EXT))
            return cls(open(path, "rb", buffering=0), base)
        except (NameError, OSError, AttributeError):
            return None

    def read(self, at: int, size: int) -> bytes:
        return os.pread(self.file.fileno(), size, self.base + at)


#: Hash table slots read at once (12 bytes each): linear probing often reads the next ones.
_SLOTS_READ = 4
#: Bytes read at a key's position at once: its lengths, the key and, usually, its term info.
_ITEM_READ = 96


def _term_data(terms, field: str, tbytes: bytes, terms_file: _TermsFile | None = None
               ) -> bytes | None:
    """The term info bytes of ``field:tbytes`` in a segment's terms file, or None: Whoosh's
    ``HashReader`` lookup done on the file directly (a query looks up every form of every
    word in every section of every segment; Whoosh's generators, copies and TermNotFound
    exceptions made these lookups a sixth of a search), by position where ``terms_file``
    is given, else through the mapping."""
    fnum = terms._fieldmap.get(field)
    if fnum is None:
        return None
    index = terms._tindex
    key = _FIELD_NUMBER(fnum) + tbytes
    keyhash = index.hashfn(key)
    start, slots = index.tables[keyhash & 255]
    if not slots:
        return None
    read = terms_file.read if terms_file is not None else _mapped_reader(index.dbfile._buf)
    slot = (keyhash >> 8) % slots
    chunk, at = b"", 0
    for _ in range(slots):
        if at == len(chunk):  # a few slots a read: probing goes on to the next ones
            chunk, at = read(start + slot * 12, 12 * min(_SLOTS_READ, slots - slot)), 0
        slot_hash, item = _SLOT(chunk, at)
        at += 12
        if not item:
            return None
        if slot_hash == keyhash:
            head = read(item, _ITEM_READ)
            keylen, datalen = _KEY_LENGTHS(head)
            if keylen == len(key):
                end = 8 + keylen + datalen
                if end > len(head):
                    head = read(item, end)
                if head[8 : 8 + keylen] == key:
                    return head[8 + keylen : end]
        if slot + 1 < slots:
            slot += 1
        else:
            slot, chunk, at = 0, b"", 0
    return None


def _mapped_reader(buf):
    return lambda at, size: bytes(buf[at : at + size])


def _length_column(seg, field: str):
    """The raw one-byte length column of ``field`` in one segment, as a numpy array."""
    reader = seg._perdoc._cached_reader(whoosh3._lenfield(field), whoosh3.LENGTHS_COLUMN)
    if reader is None:
        return None
    raw = reader._dbfile.get(reader._basepos, reader._count * reader._fixedlen)
    return np.frombuffer(raw, dtype=np.uint8)


def _positions_decoder(fmt):
    """A fast ``decode_positions`` for Whoosh's Positions format (4-byte header, then a
    pickled list of deltas); other formats use their own method."""
    if type(fmt) is not formats.Positions:
        return fmt.decode_positions
    loads, accumulate = pickle.loads, itertools.accumulate

    def decode(value: bytes):
        if not value.endswith(b"."):
            value += b"."
        return accumulate(loads(value[4:]))

    return decode


def _leaf_positions(seg, field: str, info):
    """``(ids, positions per document, position gaps)`` arrays of a term's posting list in one
    segment, each document's run of gaps starting from 0; None where the list is not one of
    :mod:`vnsearch.codec.blocks` with positions (an inlined posting, another codec)."""
    if info.is_inlined() or type(seg._terms._codec) is not Codec:
        return None
    ids, freqs, kind, payload = decode(_extent(seg._terms._postfile, info))
    if kind != POSITIONS:
        return None
    lens = np.ones(len(ids), dtype=np.int64) if freqs is None else freqs.astype(np.int64)
    return ids, lens, payload


def _position_arrays(ids, positions: list[list[int]]):
    """:func:`_leaf_positions`' arrays from decoded positions, one list per posting."""
    lens = np.array([len(p) for p in positions], dtype=np.int64)
    gaps = np.array([g for p in positions for g in np.diff(p, prepend=0).tolist()],
                    dtype=np.int64)
    return np.asarray(ids, dtype=np.int64), lens, gaps


def _gather_runs(lens, gaps, rows):
    """``(owner, positions)`` of the postings ``rows`` (indexes into ``lens``): each row's run
    of gaps taken from the flat ``gaps`` and summed up into positions; ``owner`` is the index
    into ``rows``."""
    starts = np.cumsum(lens) - lens
    take = lens[rows]
    total = int(take.sum())
    out_start = np.cumsum(take) - take
    index = np.repeat(starts[rows] - out_start, take) + np.arange(total, dtype=np.int64)
    run = np.asarray(gaps)[index].astype(np.int64)
    summed = np.cumsum(run)
    first = np.minimum(out_start, max(total - 1, 0))  # a row with no positions takes none
    before = summed[first] - run[first] if total else np.zeros(len(rows), dtype=np.int64)
    owner = np.repeat(np.arange(len(rows), dtype=np.int64), take)
    return owner, summed - np.repeat(before, take)


def _leaf_postings(seg, field: str, info, with_values: bool = False):
    """(ids, weights[, values]) of a term in one segment: arrays for a posting list of
    :mod:`vnsearch.codec.blocks`, lists otherwise, made for the call (a caller may change
    them in place); values as Whoosh's matchers give them.

    Deleted documents are included: callers mask them."""
    if info.is_inlined():
        ids, weights, values = info.inlined_postings()
        got = list(ids), _weights_list(weights, len(ids))
        return (*got, list(values)) if with_values else got
    terms = seg._terms
    fmt = seg.schema[field].format
    if type(terms._codec) is Codec:
        ids, freqs, kind, payload = decode(_extent(terms._postfile, info), values=with_values)
        weights = (np.ones(len(ids), dtype=np.float32) if freqs is None
                   else freqs.astype(np.float32))
        if not with_values:
            return ids, weights
        return ids, weights, match_values(freqs, kind, payload, len(ids))
    m = terms._codec.postings_reader(terms._postfile, info, fmt)  # another codec: Whoosh's way
    ids, weights, values = [], [], []
    while m.is_active():
        ids.append(m.id())
        weights.append(m.weight())
        if with_values:
            values.append(m.value())
        m.next()
    return (ids, weights, values) if with_values else (ids, weights)


def _extent(postfile, info):
    """The bytes of a term's posting list (:mod:`vnsearch.codec.blocks`) in a postings file."""
    offset, length = info._offset, info._length
    if isinstance(length, tuple):  # whoosh3 reads the extent's length as a 1-tuple
        length = length[0]
    buf = getattr(postfile, "_buf", None)
    return buf[offset : offset + length] if buf is not None else postfile.get(offset, length)


def _weights_list(weights, n: int):
    if weights is None:
        return [1.0] * n
    if isinstance(weights, (int, float)):
        return [float(weights)] * n
    return list(weights)
