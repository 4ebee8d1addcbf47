"""Merging segments a block at a time, in bounded memory, on a tiered (log-structured) policy.

Whoosh merges segments by decoding every posting of every merged segment into its pool, then
sorting and re-encoding them: Python work per posting, and (through our fast writer's
tables) memory that grows with the merged segments (5.6 GB at 40k articles). Here a merge
streams: per field, the sorted term lists of the merged segments are walked side by side
(``heapq.merge``); a term's postings are the concatenation of its posting blocks from each
segment, each block moved to its new document numbers by rewriting its first id gap (a block
stores id gaps starting from 0) and its last id; only blocks of segments with deleted
documents are decoded posting by posting. Stored fields, lengths and columns go through
Whoosh's own per-document merge. What stays in memory is one term's blocks and 12 bytes per
term for the hash tables of the terms file.

Which segments merge (:func:`plan_merge`): segments fall into tiers by live documents, tier t
holding sizes below ``BASE * FACTOR ** (t + 1)``; when a tier holds ``FACTOR`` segments they
become one segment of the next tier. Each document is rewritten about log_FACTOR(N / size of
a new segment) times, and an index keeps at most ``FACTOR - 1`` segments per tier. A segment
with more than a third of its documents deleted is rewritten with its tier.
"""

from __future__ import annotations

import heapq
import math
import zlib
from array import array
from io import BytesIO
from itertools import accumulate, chain
from operator import sub
from pickle import Unpickler, dumps, loads
from struct import Struct
from typing import Any
from zlib import crc32

from whoosh.reading import SegmentReader

from vnsearch.codec.segment_writer import (
    _NO_POINTER,
    _POINTER,
    FastSegmentWriter,
    _hash_keys_with_crc32,
    _index_typecode,
    block_info,
    inline_posting,
)

__all__ = ["plan_merge", "merge_segments", "merge_tiers", "FACTOR", "BASE"]

#: Segments of one tier merged at once (and at most FACTOR - 1 per tier remain). 6: about
#: log6(N / 2000) rewrites of each document (2.4 at 160k), and few segments for searches.
FACTOR = 6
#: Tier t holds segments of BASE * FACTOR**t to BASE * FACTOR**(t + 1) live documents (tier 0
#: everything smaller): small segments (time-based commits on a busy machine) merge among
#: themselves instead of being rewritten again and again into one growing segment.
BASE = 250
#: A segment with this share of deleted documents is rewritten with its tier.
MAX_DELETED = 1 / 3

_TI = Struct("!BfIBBfII")
_EXTENT = Struct("!qi")
_MAGIC = b"W3Bl"
_int = Struct("!i").pack
_sint = Struct("!i").unpack_from
_MIN_COMPRESS = 256
#: Blocks with fewer postings are gathered with their neighbours when segments merge (one
#: segment's few postings of a term, and inlined ones); larger ones move as they are.
_SMALL_BLOCK = 32
_COMPRESSION = 1
_PROTOCOL = 3


def tier(live_docs: int) -> int:
    if live_docs < BASE:
        return 0
    return int(math.log(live_docs / BASE, FACTOR) + 1e-9)


def plan_merge(segments) -> list:
    """The segments to merge now (empty: none): the lowest tier holding ``FACTOR`` segments,
    with any segment of that tier or below that lost more than a third of its documents."""
    tiers: dict[int, list] = {}
    for seg in segments:
        tiers.setdefault(tier(seg.doc_count()), []).append(seg)
    for t in sorted(tiers):
        if len(tiers[t]) >= FACTOR:
            chosen = tiers[t]
            extra = [s for u, segs in tiers.items() if u < t for s in segs
                     if s.deleted_count() > MAX_DELETED * s.doc_count_all()]
            return chosen + extra
    return []


def _block(ids, weights, values, fixed, bmin: int, bmax: int) -> bytes:
    """One posting block (its size prefix excluded): info pickle, then the data pickle."""
    fmax = max(weights)
    w: float | tuple | None
    vals: bytes | tuple | None
    if fmax == 1.0 and min(weights) == 1.0:
        w = None
    elif min(weights) == fmax:
        w = float(fmax)
    else:
        w = _ints(weights)
    if fixed is None or fixed < 0:
        vals = tuple(values)
    elif fixed == 0:
        vals = None
    else:
        vals = b"".join(values)
    dids = tuple(map(sub, ids, [0, *ids[:-1]]))
    data = dumps((dids, w, vals), _PROTOCOL)
    comp = _COMPRESSION if len(data) >= _MIN_COMPRESS else 0
    if comp:
        data = zlib.compress(data, comp)
    return block_info(len(ids), ids[-1], int(fmax), comp, bmin, bmax) + data


def _split_blocks(raw: bytes):
    """(info tuple, info length, body bytes) of each block of one term's postings."""
    pos = 4  # the magic
    end = len(raw)
    while pos < end:
        size = _sint(raw, pos)[0]
        n = -size if size < 0 else size
        body = raw[pos + 4:pos + 4 + n]
        buf = BytesIO(body)
        info = Unpickler(buf).load()
        yield info, buf.tell(), body
        pos += 4 + n
        if size < 0:
            break


def _decode(info, ilen: int, body: bytes, fixed, base: int = 0):
    """(ids, weights, values) of one block, ids from ``base``."""
    data = body[ilen:]
    if info[3]:
        data = zlib.decompress(data)
    dids, w, vals = loads(data)
    if base:
        dids = (dids[0] + base, *dids[1:])
    n = info[0]
    ids = list(accumulate(dids))
    if w is None:
        weights = [1.0] * n
    elif isinstance(w, (int, float)):
        weights = [float(w)] * n
    else:
        weights = list(w)
    if fixed is None or fixed < 0:
        values = list(vals)
    elif fixed == 0:
        values = [None] * n
    else:
        values = [vals[i:i + fixed] for i in range(0, len(vals), fixed)]
    return ids, weights, values


def _rebased(info, ilen: int, body: bytes, base: int) -> bytes:
    """A block moved ``base`` documents up: its last id and its first id gap change."""
    if not base:
        return body
    data = body[ilen:]
    comp = info[3]
    if comp:
        data = zlib.decompress(data)
    dids, w, vals = loads(data)
    dids = (dids[0] + base, *dids[1:])
    data = dumps((dids, w, vals), _PROTOCOL)
    if comp:
        data = zlib.compress(data, comp)
    return block_info(info[0], info[1] + base, int(info[2]), *info[3:]) + data


class _Source:
    """One merged segment: its terms and postings files, where its documents go."""

    def __init__(self, codec, storage, segment, base: int, docmap):
        self.storage = segment.open_compound_file(storage) if segment.is_compound() else None
        self.terms = codec.terms_reader(self.storage or storage, segment)
        self.tindex = self.terms._tindex
        self.fieldmap = self.terms._fieldmap
        self.post = self.terms._postfile
        self.base = base
        self.docmap = docmap  # None: no deletions, documents move up by base

    def field_terms(self, name: str, i: int):
        """(term, i, term info) of one field, in order, read from the terms file in chunks."""
        fid = self.fieldmap.get(name)
        if fid is None:
            return
        prefix = fid.to_bytes(2, "big")
        tindex = self.tindex
        pos = tindex.closest_key_pos(prefix)
        if pos is None:
            return
        end = tindex.endofdata
        get = tindex.dbfile.get
        unpack = _ROW.unpack_from
        chunk = 1 << 20
        while pos < end:
            buf = get(pos, min(chunk, end - pos))
            n = len(buf)
            p = 0
            while p + 8 <= n:
                klen, vlen = unpack(buf, p)
                k = p + 8
                v = k + klen
                e = v + vlen
                if e > n:
                    break
                if buf[k:k + 2] != prefix:
                    return
                yield buf[k + 2:v], i, buf[v:e]
                p = e
            if p == 0:  # one row longer than the chunk
                chunk = 2 * (8 + klen + vlen)
            pos += p

    def postings(self, value: bytes, fixed):
        """(ids, weights, values, bmin, bmax) per block of a term, ids in the merged segment
        (deleted documents dropped)."""
        if value[0]:  # inlined postings
            ids, weights, values = loads(value[_TI.size:])
            blocks = [(list(ids), list(map(float, weights)), list(values), value[9], value[10])]
        else:
            off, length = _EXTENT.unpack_from(value, _TI.size)
            blocks = [(*_decode(info, ilen, body, fixed), info[4], info[5])
                      for info, ilen, body in _split_blocks(self.post.get(off, length))]
        dm = self.docmap
        base = self.base
        for ids, weights, values, bmin, bmax in blocks:
            if dm is None:
                ids = [d + base for d in ids]
            else:
                keep = [k for k, d in enumerate(ids) if d in dm]
                if not keep:
                    continue
                if len(keep) < len(ids):
                    weights = [weights[k] for k in keep]
                    values = [values[k] for k in keep]
                ids = [dm[ids[k]] for k in keep]
            yield ids, weights, values, bmin, bmax

    def close(self):
        self.terms.close()
        if self.storage is not None:
            self.storage.close()


def _write_hash_arrays(tindex) -> None:
    """``HashWriter._write_hashes`` for buckets kept as (hashes, positions) arrays."""
    dbfile = tindex.dbfile
    for hashes, positions in tindex.buckets:
        pos = dbfile.tell()
        numslots = 2 * len(hashes)
        tindex.directory.append((pos, numslots))
        if not numslots:
            continue
        table = [_NO_POINTER] * numslots
        taken = bytearray(numslots)
        for h, position in zip(hashes, positions):
            slot = (h >> 8) % numslots
            while taken[slot]:
                slot = (slot + 1) % numslots
            taken[slot] = 1
            table[slot] = _POINTER(h, position)
        dbfile.write(b"".join(table))


_ROW = Struct("!ii")
_lengths = _ROW.pack


def merge_segments(ix, segments):
    """Write one segment holding the live documents of ``segments`` (in this order) into the
    index folder and return it; the caller commits a table of contents that lists it in
    their place (until then its files are leftovers that the next commit deletes)."""
    w = FastSegmentWriter(ix, _lk=False)
    sources: list[_Source] = []
    try:
        _copy_documents(w, segments, sources)
        w.perdocwriter.close()
        _merge_postings(w, sources)
        w._close_segment()
        w._assemble_segment()
        segment = w.get_segment()
    except BaseException:
        try:
            w._close_segment()
        finally:
            w.is_closed = True  # not _finish(): the temporary folder is shared with the caller
        raise
    finally:
        for s in sources:
            s.close()
    w.is_closed = True
    return segment


def _copy_documents(w: FastSegmentWriter, segments, sources: list[_Source]) -> None:
    """Copy the per-document data (columns, stored fields, lengths) of the live documents of
    ``segments`` to ``w``; appends to ``sources`` each segment's postings reader."""
    schema, storage, codec = w.schema, w.storage, w.codec
    fieldnames = set(schema.names())
    for seg in segments:
        reader = SegmentReader(storage, schema, seg)
        try:
            base = w.docnum
            names = fieldnames | {n for n in reader.indexed_field_names() if n in schema}
            docmap = w.write_per_doc(names, reader)
        finally:
            reader.close()
        sources.append(_Source(codec, storage, seg, base, docmap))


def _merge_postings(w: FastSegmentWriter, sources: list[_Source]) -> None:
    """Write the merged terms and postings of every field of ``sources``."""
    schema = w.schema
    fw = w.fieldwriter
    tindex = fw._tindex
    _hash_keys_with_crc32(tindex)  # as the segment writer does
    tindex.buckets = [(array("L"), array("q")) for _ in range(256)]
    tindex._write_hashes = lambda: _write_hash_arrays(tindex)
    keypos = array("q")
    lastkey = b""
    for name in sorted({n for s in sources for n in s.fieldmap if n in schema}):
        fid = fw._fieldmap.setdefault(name, len(fw._fieldmap))
        streams = [s.field_terms(name, i) for i, s in enumerate(sources)]
        lastkey = _merge_field(fw._postfile, tindex, keypos, fid.to_bytes(2, "big"), streams,
                               sources, schema[name].format.fixed_value_size()) or lastkey
    if keypos:
        tindex.index.array = array(_index_typecode(keypos[-1]), keypos)
        tindex.lastkey = lastkey
    fw.close()


def _merge_field(postfile, tindex, keypos, prefix: bytes, streams, sources, fixed):
    """Write the merged postings and terms-file rows of one field's terms (``streams`` of
    (term, source index, term info), one per source); adds the rows' positions to ``keypos``
    and returns the field's last key (None when it has none)."""
    tfile = tindex.dbfile
    buckets = tindex.buckets
    pos = tfile.tell()
    out: list[bytes] = []
    group: list = []
    term: Any = None  # bytes once the first group starts
    lastkey = None
    # A last item no term equals ends the last group.
    for t, i, value in chain(heapq.merge(*streams), [(None, 0, None)]):
        if t != term:
            if group:
                tinfo = _merge_term(postfile, group, sources, fixed)
                if tinfo is not None:
                    key = prefix + term
                    out += (_lengths(len(key), len(tinfo)), key, tinfo)
                    h = crc32(key)
                    hashes, positions = buckets[h & 255]
                    hashes.append(h)
                    positions.append(pos)
                    keypos.append(pos)
                    pos += 8 + len(key) + len(tinfo)
                    lastkey = key
                group = []
                if len(out) > 30000:
                    tfile.write(b"".join(out))
                    out = []
            term = t
        group.append((i, value))
    tfile.write(b"".join(out))
    return lastkey


def inlined(ids, weights, values, minlb: int, maxlb: int) -> bytes:
    """The term info of one posting kept in the terms file (Whoosh's inlined form)."""
    (d,), (w,), (v,) = ids, weights, values
    return _TI.pack(1, float(w), 1, minlb, maxlb, float(w), d, d) + inline_posting(d, int(w), v)


def _ints(weights) -> tuple:
    """Weights as the writer stores them: ints (frequencies), 9 pickled bytes fewer each."""
    return tuple(map(int, weights))


def _merge_term(postfile, group, sources, fixed):
    """Write one term's merged postings; its term info, or None when every posting was of a
    deleted document."""
    if len(group) == 1:
        i, value = group[0]
        src = sources[i]
        if src.docmap is None and not src.base and not value[0]:
            # First segment, no deletions: the postings are copied as they are.
            off, length = _EXTENT.unpack_from(value, _TI.size)
            start = postfile.tell()
            postfile.write(src.post.get(off, length))
            return value[:_TI.size] + _EXTENT.pack(start, length)
        if src.docmap is None and value[0]:
            (d,), (w,), (v,) = loads(value[_TI.size:])
            d += src.base
            return _TI.pack(1, *_TI.unpack_from(value)[1:6], d, d) + inline_posting(d, int(w), v)
    if all(sources[i].docmap is None for i, _ in group):
        return _merge_moved(postfile, group, sources, fixed)
    # Deleted documents: decoded, filtered and encoded again.
    ids: list[int] = []
    weights: list[float] = []
    values: list = []
    bounds: list[tuple[int, int, int]] = []  # (end in ids, bmin, bmax) per source block
    for i, value in group:
        for bids, bw, bv, bmin, bmax in sources[i].postings(value, fixed):
            ids += bids
            weights += bw
            values += bv
            bounds.append((len(ids), bmin, bmax))
    if not ids:
        return None
    minlb = min((b[1] for b in bounds if b[1]), default=0)
    maxlb = max(b[2] for b in bounds)
    if len(ids) == 1:
        return inlined(ids, weights, values, minlb, maxlb)
    parts = []
    start = 0
    for stop, bmin, bmax in bounds:
        for b in range(start, stop, 128):
            e = min(b + 128, stop)
            parts.append(_block(ids[b:e], weights[b:e], values[b:e], fixed, bmin, bmax))
        start = stop
    return _write_blocks(postfile, parts, float(sum(weights)), len(ids), minlb, maxlb,
                         float(max(weights)), ids[0], ids[-1])


def _merge_moved(postfile, group, sources, fixed) -> bytes:
    """A term's postings from segments without deletions: statistics add up; full blocks move
    up by their segment's first document (first id gap and last id rewritten); inlined
    postings and small blocks are gathered into blocks of up to 128, so a term merged from
    many small segments is not left in many tiny blocks."""
    parts: list[bytes] = []
    weight = 0.0
    df = 0
    minlb = 255
    maxlb = 0
    maxw = 0.0
    first = None
    pending = _Pending(fixed, parts)
    for i, value in group:
        src = sources[i]
        vals = _TI.unpack_from(value)
        weight += vals[1]
        df += vals[2]
        if vals[3] and vals[3] < minlb:
            minlb = vals[3]
        if vals[4] > maxlb:
            maxlb = vals[4]
        if vals[5] > maxw:
            maxw = vals[5]
        if first is None:
            first = vals[6] + src.base
        last = vals[7] + src.base
        if value[0]:
            ids, ws, vs = loads(value[_TI.size:])
            pending.add([d + src.base for d in ids] if src.base else list(ids), ws, vs,
                        vals[3], vals[4])
            continue
        off, length = _EXTENT.unpack_from(value, _TI.size)
        for info, ilen, body in _split_blocks(src.post.get(off, length)):
            if info[0] >= _SMALL_BLOCK:
                pending.flush(everything=True)
                parts.append(_rebased(info, ilen, body, src.base))
            else:
                ids, ws, vs = _decode(info, ilen, body, fixed, src.base)
                pending.add(ids, ws, vs, info[4], info[5])
    if pending.ids and not parts and len(pending.ids) == 1:
        return inlined(pending.ids, pending.weights, pending.values, minlb if maxlb else 0, maxlb)
    pending.flush(everything=True)
    return _write_blocks(postfile, parts, weight, df, minlb if maxlb else 0, maxlb, maxw,
                         first, last)


class _Pending:
    """Postings waiting to fill a block of 128."""

    def __init__(self, fixed, parts: list):
        self.fixed, self.parts = fixed, parts
        self.ids: list[int] = []
        self.weights: list[float] = []
        self.values: list = []
        self.bmin, self.bmax = 255, 0

    def add(self, ids, weights, values, bmin: int, bmax: int) -> None:
        self.ids += ids
        self.weights += weights
        self.values += values
        if bmin and bmin < self.bmin:
            self.bmin = bmin
        if bmax > self.bmax:
            self.bmax = bmax
        if len(self.ids) >= 128:
            self.flush()

    def flush(self, everything: bool = False) -> None:
        ids, weights, values = self.ids, self.weights, self.values
        bmin = self.bmin if self.bmax else 0
        while len(ids) >= 128 or (everything and ids):
            self.parts.append(_block(ids[:128], weights[:128], values[:128], self.fixed, bmin,
                                     self.bmax))
            del ids[:128], weights[:128], values[:128]
        if not ids:
            self.bmin, self.bmax = 255, 0


def _write_blocks(postfile, parts, weight, df, minlb, maxlb, maxw, first, last) -> bytes:
    start = postfile.tell()
    chunks = [_MAGIC]
    for k, body in enumerate(parts):
        chunks.append(_int(-len(body) if k == len(parts) - 1 else len(body)))
        chunks.append(body)
    data = b"".join(chunks)
    postfile.write(data)
    return _TI.pack(0, weight, df, minlb, maxlb, maxw, first, last) + _EXTENT.pack(start, len(data))


def merge_tiers(ix, segments) -> list:
    """The merge policy (a ``mergetype`` for Whoosh's ``commit``): merge tiers that are full
    (:func:`plan_merge`), again while the merged segment fills the next tier; drop segments
    whose documents are all deleted. Returns the segments to list."""
    segments = [s for s in segments if s.doc_count() > 0]
    while chosen := plan_merge(segments):
        merged = merge_segments(ix, chosen)
        gone = {s.segment_id() for s in chosen}
        segments = [s for s in segments if s.segment_id() not in gone]
        if merged.doc_count_all():
            segments.append(merged)
    return segments
