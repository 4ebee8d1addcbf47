"""Merging segments a block at a time, in bounded memory, on a tiered (log-structured) policy.

Whoosh merges segments by decoding every posting of every merged segment into its pool, then
sorting and re-encoding them: Python work per posting, and (through our fast writer's
tables) memory that grows with the merged segments (5.6 GB at 40k articles). Here a merge
streams: per field, the sorted term lists of the merged segments are read in chunks and
joined in order; a term's posting list is the concatenation of its lists in each segment
(:mod:`vnsearch.codec.blocks`): where no document of them was deleted, the stored arrays are
joined as they are, only the first document-number gap of each list changed; otherwise they
are decoded with numpy, deleted documents dropped with an array mask, and written again.
Length columns are copied as arrays and stored fields as their compressed bytes; other
columns and term vectors per document, as Whoosh does. What stays in memory is one term's
postings and 12 bytes per term for the hash tables of the terms file.

Which segments merge (:func:`plan_merge`): segments fall into tiers by live documents, tier t
holding sizes below ``BASE * FACTOR ** (t + 1)``; when a tier holds ``FACTOR`` segments they
become one segment of the next tier. Each document is rewritten about log_FACTOR(N / size of
a new segment) times, and an index keeps at most ``FACTOR - 1`` segments per tier. A segment
with more than a third of its documents deleted is rewritten with its tier.

Which tiers are full when a run stops depends on its commits' timing, so the same documents
could be left in 3 segments or in 8 (one more segment costs a query about 3 % at 160k
articles). At a run's end :func:`plan_settle` merges the smallest segments while together
they hold no more than half the documents the run wrote: the merge costs under a tenth of
the run's own work, and a feed that writes a few documents a run never rewrites the index.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing as mp
import os
import shutil
import signal
from array import array
from bisect import bisect_left, bisect_right
from operator import itemgetter
from pickle import loads
from struct import Struct
from types import SimpleNamespace
from typing import Any
from zlib import crc32

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, STORED_COLUMN, _lenfield, _vecfield
from whoosh.columns import TranslatingColumnReader, VarBytesColumn
from whoosh.reading import SegmentReader
from whoosh.util.numeric import byte_to_length

from vnsearch.codec.blocks import (
    _ARRAY,
    _BIG_ENDIAN,
    _HEAD,
    _HEADER_SIZE,
    _ONES,
    _TYPECODES,
    MAGIC,
    NO_VALUES,
    PICKLED,
    POSITIONS,
    ZLIB,
    _array,
    _bytes,
    decode,
    encode,
    match_values,
    uncompressed,
    values_payload,
)
from vnsearch.codec.formats import PositionList
from vnsearch.codec.segment_writer import (
    _NO_POINTER,
    _POINTER,
    STAGING_PREFIX,
    FastSegmentWriter,
    _hash_keys_with_crc32,
    _index_typecode,
    _pickled_int,
    inline_posting,
)
from vnsearch.forked import detach_from_parent

__all__ = [
    "plan_merge", "plan_settle", "plan_next", "merge_segments", "merge_tiers", "merge_all",
    "live_segments", "FACTOR", "BASE",
]

#: Segments of one tier merged at once (and at most FACTOR - 1 per tier remain). 6: about
#: log6(N / 2000) rewrites of each document (2.4 at 160k), and few segments for searches.
FACTOR = 6
#: Tier t holds segments of BASE * FACTOR**t to BASE * FACTOR**(t + 1) live documents (tier 0
#: everything smaller): small segments (time-based commits on a busy machine) merge among
#: themselves instead of being rewritten again and again into one growing segment.
BASE = 250
#: A segment with this share of deleted documents is rewritten with its tier.
MAX_DELETED = 1 / 3

#: A merge whose largest segment has fewer terms than this runs in one process (a second
#: one would cost more to start than it saves).
SPLIT_MIN_TERMS = 1000

_TI = Struct("!BfIBBfII")
_EXTENT = Struct("!qi")


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


def plan_settle(segments, written: int) -> list:
    """The segments to merge at the end of a run that wrote ``written`` documents (empty:
    none): the most of the smallest segments, at least two, whose live documents add up to
    no more than half of ``written``."""
    chosen: list = []
    total = 0
    for seg in sorted(segments, key=lambda s: s.doc_count()):
        total += seg.doc_count()
        if 2 * total > written:
            break
        chosen.append(seg)
    return chosen if len(chosen) >= 2 else []


def plan_next(segments, settle: int = 0) -> tuple[list, int]:
    """``(segments to merge now, settle still due)``: a full tier (:func:`plan_merge`) first;
    once none is full, at a run's end (``settle``: the documents it wrote), once,
    :func:`plan_settle`'s."""
    chosen = plan_merge(segments)
    if chosen or not settle:
        return chosen, settle
    return plan_settle(segments, settle), 0


class _Source:
    """One merged segment: its terms and postings files, where its documents go."""

    def __init__(self, codec, storage, segment, base: int, docmap):
        self.codec, self.storage_of, self.segment = codec, storage, segment
        self.storage = segment.open_compound_file(storage) if segment.is_compound() else None
        self.terms = codec.terms_reader(self.storage or storage, segment)
        self.tindex = self.terms._tindex
        self.fieldmap = self.terms._fieldmap
        self.post = self.terms._postfile
        self.base = base
        self.docmap = docmap  # None: no deletions, documents move up by base

    def field_rows(self, name: str, i: int, start: bytes | None = None,
                   stop: bytes | None = None):
        """Lists of ``(term, i, term info)`` rows of one field, in order, read from the terms
        file a MiB at a time; only terms from ``start`` and before ``stop`` where given."""
        fid = self.fieldmap.get(name)
        if fid is None:
            return
        prefix = fid.to_bytes(2, "big")
        tindex = self.tindex
        pos = tindex.closest_key_pos(prefix + start if start else prefix)
        if pos is None:
            return
        end = tindex.endofdata
        if stop is not None:
            end = tindex.closest_key_pos(prefix + stop) or end
        get = tindex.dbfile.get
        chunk = 1 << 20
        while pos < end:
            buf = get(pos, min(chunk, end - pos))
            p = 0
            rows: list[tuple] = []
            for _start, k, v, e in _row_spans(buf):
                if buf[k:k + 2] != prefix:
                    if rows:
                        yield rows
                    return
                rows.append((buf[k + 2:v], i, buf[v:e]))
                p = e
            if rows:
                yield rows
            if p == 0:  # one row longer than the chunk
                chunk = 2 * (8 + sum(_ROW.unpack_from(buf)))
            pos += p

    def postings(self, value: bytes, fmt):
        """``(ids, frequencies, values kind, payload, min and max length bytes)`` of a term in
        this segment, as lists, ids in the merged segment (deleted documents dropped), or None
        when none is left."""
        minlb, maxlb = value[9], value[10]
        if value[0]:  # inlined postings
            (d,), (w,), (v,) = loads(value[_TI.size:])
            if self.docmap is not None:
                if d not in self.docmap:
                    return None
                d = self.docmap[d]
            else:
                d += self.base
            freqs = [int(w)]
            return ([d], freqs, *values_payload(fmt, [v], freqs), minlb, maxlb)
        off, length = _EXTENT.unpack_from(value, _TI.size)
        ids, f, kind, payload = decode(self.post.get(off, length))
        dm = self.docmap
        if dm is not None:
            keep = np.fromiter(map(dm.__contains__, ids.tolist()), dtype=bool, count=len(ids))
            if not keep.all():
                if not keep.any():
                    return None
                if kind == POSITIONS:
                    payload = payload[keep if f is None else np.repeat(keep, f)]
                elif kind == PICKLED:
                    payload = [v for v, k in zip(payload, keep.tolist()) if k]
                ids = ids[keep]
                f = None if f is None else f[keep]
            got = list(map(dm.__getitem__, ids.tolist()))
        else:
            got = (ids + self.base).tolist() if self.base else ids.tolist()
        freqs = [1] * len(got) if f is None else f.tolist()
        if kind == POSITIONS:
            payload = payload.tolist()
        return got, freqs, kind, payload, minlb, maxlb

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
_term_of = itemgetter(0)
_lengths = _ROW.pack


def _row_spans(buf):
    """``(start, key, value, end)`` offsets of each whole row of terms-file rows (key and
    value lengths, key, value) in ``buf``, in order; a last row cut short is left out."""
    unpack = _ROW.unpack_from
    p, n = 0, len(buf)
    while p + 8 <= n:
        klen, vlen = unpack(buf, p)
        v = p + 8 + klen
        e = v + vlen
        if e > n:
            return
        yield p, p + 8, v, e
        p = e


def merge_segments(ix, segments, into=None, processes: int = 1):
    """Write one segment holding the live documents of ``segments`` (in this order) into the
    index folder, or into the index ``into`` (a staging folder, for a merge that runs while
    the index commits: see :mod:`vnsearch.write.merging`), and return it; the caller commits a
    table of contents that lists it in their place (until then its files are leftovers that
    the next commit deletes). With ``processes=2`` a forked process merges the later half of
    the terms (:class:`_LaterHalf`)."""
    target = into if into is not None else ix
    w = FastSegmentWriter(target, _lk=False)
    sources: list[_Source] = []
    try:
        _copy_documents(w, ix.storage, segments, sources)
        w.perdocwriter.close()
        _merge_postings(w, sources, _LaterHalf.folder(target, w) if processes > 1 else None)
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


def _copy_documents(w: FastSegmentWriter, storage, segments, sources: list[_Source]) -> None:
    """Copy the per-document data (columns, stored fields, lengths) of the live documents of
    ``segments`` (in ``storage``) to ``w``; appends to ``sources`` each segment's postings
    reader."""
    schema, codec = w.schema, w.codec
    fieldnames = set(schema.names())
    for seg in segments:
        reader = SegmentReader(storage, schema, seg)
        try:
            base = w.docnum
            names = fieldnames | {n for n in reader.indexed_field_names() if n in schema}
            docmap = _copy_per_doc(w, reader, names)
        finally:
            reader.close()
        sources.append(_Source(codec, storage, seg, base, docmap))


#: byte_to_length of each length byte (0: no length). A field's total length is carried over
#: exactly, less these for deleted documents: Whoosh's merge sums them for every document, and
#: as they round up, each merge lengthened the average (1.6% for one merge of 10k articles),
#: so the same documents ranked differently depending on how their segments were merged.
_BYTE_LENGTHS = np.array([0] + [byte_to_length(b) for b in range(1, 256)], dtype=np.int64)


def _copy_per_doc(w: FastSegmentWriter, reader, names: set[str]) -> dict | None:
    """Whoosh's ``write_per_doc`` without a Python round trip per document and field: the
    length columns are copied as arrays, each stored-fields value as its compressed bytes; other
    columns and term vectors per document, as Whoosh does. Returns the map of old to new
    document numbers when the segment has deletions, else None."""
    schema = w.schema
    pdw = w.perdocwriter
    perdoc = reader._perdoc
    total = reader.doc_count_all()
    base = w.docnum
    docmap = None
    live = None
    if reader.has_deletions():
        keep = np.ones(total, dtype=bool)
        keep[sorted(perdoc.deleted_docs())] = False
        live = np.flatnonzero(keep)
        docmap = dict(zip(live.tolist(), range(base, base + len(live))))
    docs = range(total) if live is None else live.tolist()
    count = len(docs)

    for name in names:
        lenfield = _lenfield(name)
        if not perdoc.has_column(lenfield):
            continue
        colfile, offset, length = perdoc._get_column_file(lenfield)
        try:
            raw = np.zeros(total, dtype=np.uint8)
            stored = np.frombuffer(colfile.get(offset, min(length, total)), dtype=np.uint8)
            raw[:len(stored)] = stored
        finally:
            colfile.close()
        lbs = raw if live is None else raw[live]
        added = reader.field_length(name)  # the exact total, not the lengths' bytes summed
        if live is not None:  # less what the deleted documents' length bytes say
            added = max(0, added - int(_BYTE_LENGTHS[raw].sum() - _BYTE_LENGTHS[lbs].sum()))
        if added:
            pdw._fieldlengths[name] += added
        chunk = lbs.tobytes().rstrip(b"\0")  # trailing zeros: the column's default
        if chunk:
            if not pdw._has_column(lenfield):
                pdw._create_column(lenfield, LENGTHS_COLUMN)
            cw = pdw._get_column(lenfield)
            cw.fill(base)
            cw._dbfile.write(chunk)
            cw._count = base + len(chunk)

    if perdoc.has_column("_stored"):
        colfile, offset, length = perdoc._get_column_file("_stored")
        try:
            values = VarBytesColumn().reader(colfile, offset, length, total)
            if not pdw._has_column("_stored"):
                pdw._create_column("_stored", STORED_COLUMN)
            child = pdw._get_column("_stored")._child  # below the pickling and compressing
            add = VarBytesColumn.Writer.add
            for new, old in enumerate(docs, base):
                value = values[old]
                if value:
                    add(child, new, value)
        finally:
            colfile.close()

    for name in sorted(names):
        field = schema[name]
        if field.column_type and reader.has_column(name):
            creader = reader.column_reader(name, field.column_type)
            if isinstance(creader, TranslatingColumnReader):
                creader = creader.raw_column()
            for new, old in enumerate(docs, base):
                pdw._docnum = new
                pdw.add_column_value(name, field.column_type, creader[old])
        if field.vector and perdoc.has_column(_vecfield(name)):
            for new, old in enumerate(docs, base):
                if perdoc.has_vector(old, name):
                    pdw._docnum = new
                    pdw.add_vector_matcher(name, field, perdoc.vector(old, name, field.vector))

    pdw._doccount += count
    pdw._docnum = base + count - 1 if count else pdw._docnum
    w.docnum += count
    return docmap


def _merge_postings(w: FastSegmentWriter, sources: list[_Source], folder: str | None) -> None:
    """Write the merged terms and postings of every field of ``sources``: all here, or (with
    a ``folder`` for its files) the later half of the terms in a process of its own."""
    schema = w.schema
    fw = w.fieldwriter
    tindex = fw._tindex
    _hash_keys_with_crc32(tindex)  # as the segment writer does
    tindex.buckets = [(array("L"), array("q")) for _ in range(256)]
    tindex._write_hashes = lambda: _write_hash_arrays(tindex)
    keypos = array("q")
    lastkey = b""
    fields = [(name, fw._fieldmap.setdefault(name, len(fw._fieldmap)).to_bytes(2, "big"),
               schema[name].format)
              for name in sorted({n for s in sources for n in s.fieldmap if n in schema})]
    cut = _halfway(sources, [name for name, _p, _f in fields]) if folder else None
    later = _LaterHalf(folder, fields, sources, cut) if folder and cut else None
    try:
        for name, prefix, fmt in fields:
            stop = None
            if cut is not None:
                if name > cut[0]:
                    break
                if name == cut[0]:
                    stop = cut[1]
            streams = [s.field_rows(name, i, stop=stop) for i, s in enumerate(sources)]
            lastkey = _merge_field(fw._postfile, tindex, keypos, prefix, streams, sources,
                                   fmt) or lastkey
        if later is not None:
            lastkey = later.append_to(fw._postfile, tindex, keypos) or lastkey
    finally:
        if later is not None:
            later.close()
    if keypos:
        tindex.index.array = array(_index_typecode(keypos[-1]), keypos)
        tindex.lastkey = lastkey
    fw.close()


def _halfway(sources: list[_Source], names: list[str]) -> tuple[str, bytes] | None:
    """``(field name, term)`` about halfway through the term rows of ``names`` (in this order)
    in the source with the most terms, or None when it has too few to share."""
    src = max(sources, key=lambda s: s.tindex.indexlen)
    t = src.tindex
    if t.indexlen < SPLIT_MIN_TERMS:
        return None
    spans = []
    for name in names:
        fid = src.fieldmap.get(name)
        if fid is None:
            continue
        lo = t.closest_key_pos(fid.to_bytes(2, "big"))
        hi = t.closest_key_pos((fid + 1).to_bytes(2, "big")) if fid < 65535 else None
        if lo is not None:
            spans.append((name, lo, t.endofdata if hi is None else hi))
    left = sum(hi - lo for _n, lo, hi in spans) // 2
    for name, lo, hi in spans:
        if hi - lo <= left:
            left -= hi - lo
            continue
        # the first row at or after lo + left, by a binary search of the key positions
        row_pos = lambda m: t._get_pos(t.indexbase + m * t.indexsize)  # noqa: E731
        first = bisect_left(range(t.indexlen), lo + left, key=row_pos)
        return name, t.key_at(row_pos(first))[2:]
    return None


class _LaterHalf:
    """The terms of a merge from ``cut`` (``(field name, term)``) on, merged in a forked
    process into a postings file and a terms-rows file of its own, in ``folder``; the merge
    appends them to its own files (:meth:`append_to`) once it has written the terms before.
    The process reads the segments through files of its own (a forked file offset is shared)
    and dies with the merge."""

    def __init__(self, folder: str, fields: list, sources: list[_Source], cut):
        self.dir = folder
        os.makedirs(folder, exist_ok=True)
        self.conn, child = mp.Pipe(duplex=False)
        # os.fork, not a multiprocessing process: a background merge (a daemonic process)
        # may not start those. The child leaves with os._exit: nothing of the parent's (its
        # buffered files) is flushed or closed twice.
        self.pid: int | None = os.fork()
        if self.pid == 0:  # pragma: no cover - the child (coverage does not follow it)
            try:
                self.conn.close()
                self._main(child, fields, sources, cut)
            finally:
                os._exit(0)
        child.close()

    @staticmethod
    def folder(target, w: FastSegmentWriter) -> str:
        """Where the later half of a merge written by ``w`` into the index ``target`` is kept:
        a folder named after the segment, which commits clear if a crash leaves it."""
        return os.path.join(target.storage.folder,
                            f"{STAGING_PREFIX}half-{w.newsegment.segment_id()}")

    def _main(self, conn, fields, sources, cut) -> None:
        detach_from_parent()
        mine = []
        try:
            mine = [_Source(s.codec, s.storage_of, s.segment, s.base, s.docmap)
                    for s in sources]
            rows = SimpleNamespace(buckets=[(array("L"), array("q")) for _ in range(256)])
            keypos = array("q")
            lastkey = None
            with open(os.path.join(self.dir, "postings"), "wb") as postfile, \
                    open(os.path.join(self.dir, "rows"), "wb") as rows.dbfile:
                for name, prefix, fmt in fields:
                    if name < cut[0]:
                        continue
                    start = cut[1] if name == cut[0] else None
                    streams = [s.field_rows(name, i, start=start) for i, s in enumerate(mine)]
                    lastkey = _merge_field(postfile, rows, keypos, prefix, streams, mine,
                                           fmt) or lastkey
            conn.send(("ok", lastkey))
        except BaseException as e:  # reported to the merge, which fails
            conn.send(("error", OSError(e.errno, e.strerror, e.filename)
                       if isinstance(e, OSError) else f"{type(e).__name__}: {e}"))
        finally:
            for s in mine:
                s.close()
            conn.close()

    def append_to(self, postfile, tindex, keypos) -> bytes | None:
        """Append the later half (waiting for it) to the merge's postings and terms files;
        returns its last key (None if it has none)."""
        try:
            kind, value = self.conn.recv()
        except (EOFError, OSError):
            raise RuntimeError("the merge's second process died") from None
        self._reap()
        if kind == "error":
            raise value if isinstance(value, OSError) else RuntimeError(
                f"merging segments failed: {value}")
        shift = postfile.tell()
        with open(os.path.join(self.dir, "postings"), "rb") as f:
            while chunk := f.read(1 << 24):
                postfile.write(chunk)
        tfile = tindex.dbfile
        buckets = tindex.buckets
        pos = tfile.tell()
        data = b""
        with open(os.path.join(self.dir, "rows"), "rb") as f:
            while chunk := f.read(_APPEND_CHUNK):  # a row cut by a chunk is carried over
                data += chunk
                out: list[bytes] = []
                p = 0
                for start, k, v, e in _row_spans(data):
                    if data[v]:  # inlined: no postings
                        out.append(data[start:e])
                    else:  # the extent's offset moves by what the first half wrote
                        at = v + _TI.size
                        off, length = _EXTENT.unpack_from(data, at)
                        out += (data[start:at], _EXTENT.pack(off + shift, length),
                                data[at + _EXTENT.size:e])
                    h = crc32(data[k:v])
                    hashes, positions = buckets[h & 255]
                    hashes.append(h)
                    positions.append(pos)
                    keypos.append(pos)
                    pos += e - start
                    p = e
                tfile.write(b"".join(out))
                data = data[p:]
        if data:
            raise RuntimeError("the merge's second process left a row cut short")
        return value

    def _reap(self) -> None:
        if self.pid is not None:
            os.waitpid(self.pid, 0)
            self.pid = None

    def close(self) -> None:
        """Stop the process if it still runs and remove its files."""
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self._reap()
        self.conn.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def _sorted_batches(streams):
    """Lists of the rows of ``streams`` (each yielding sorted lists of ``(term, i, value)``
    rows), each list sorted and holding every row of each term it has: all rows up to the
    smallest last term any stream has read, sorted at once (the streams are sorted runs, which
    ``list.sort`` joins in C, where ``heapq.merge`` is Python per row)."""
    pending: list[list] = []  # [rows not yet handed out, their stream]
    for stream in streams:
        rows = next(stream, None)
        if rows:
            pending.append([rows, stream])
    while len(pending) > 1:
        bound = min(p[0][-1][0] for p in pending)
        batch: list = []
        for p in pending:
            rows = p[0]
            if rows[-1][0] == bound:
                batch += rows
                p[0] = next(p[1], None)
            else:
                cut = bisect_right(rows, bound, key=_term_of)
                batch += rows[:cut]
                p[0] = rows[cut:]
        pending = [p for p in pending if p[0]]
        batch.sort()  # a term is in each source once: rows never compare their values
        yield batch
    for rows, stream in pending:
        yield rows
        yield from stream


def _merge_field(postfile, tindex, keypos, prefix: bytes, streams, sources, fmt):
    """Write the merged postings and terms-file rows of one field's terms (``streams`` of
    sorted lists of (term, source index, term info) rows, one per source); adds the rows'
    positions to ``keypos`` and returns the field's last key (None when it has none)."""
    tfile = tindex.dbfile
    buckets = tindex.buckets
    pos = tfile.tell()
    lastkey = None
    for batch in _sorted_batches(streams):
        out: list[bytes] = []
        n = len(batch)
        j = 0
        while j < n:
            term, i, value = batch[j]
            group = [(i, value)]
            k = j + 1
            while k < n and batch[k][0] == term:
                group.append(batch[k][1:])
                k += 1
            j = k
            tinfo = _merge_term(postfile, group, sources, fmt)
            if tinfo is None:
                continue
            key = prefix + term
            out += (_lengths(len(key), len(tinfo)), key, tinfo)
            h = crc32(key)
            hashes, positions = buckets[h & 255]
            hashes.append(h)
            positions.append(pos)
            keypos.append(pos)
            pos += 8 + len(key) + len(tinfo)
            lastkey = key
        tfile.write(b"".join(out))
    return lastkey


def inlined(ids, weights, values, minlb: int, maxlb: int) -> bytes:
    """The term info of one posting kept in the terms file (Whoosh's inlined form)."""
    (d,), (w,), (v,) = ids, weights, values
    return _TI.pack(1, float(w), 1, minlb, maxlb, float(w), d, d) + inline_posting(d, int(w), v)


_IDS = Struct("!II")
#: Where a term info's first and last document numbers (``_IDS``) start: they end it.
_IDS_AT = _TI.size - _IDS.size
#: The first byte of an inlined posting written by :func:`inline_posting`: the pickle opcode of
#: its document number, and that number's bytes.
_K, _M, _J = b"KMJ"
#: Bytes of the second process's term rows read at a time when they are appended.
_APPEND_CHUNK = 1 << 24
#: The values each array dtype code holds are below these.
_LIMITS = (0, 1 << 8, 1 << 16, 1 << 32)


def _moved_inline(value: bytes, base: int) -> bytes:
    """The term info of one inlined posting with its document number moved up by ``base``."""
    start = _TI.size
    op = value[start]
    if op == _K:
        d, rest = value[start + 1], value[start + 2:]
    elif op == _M:
        d, rest = int.from_bytes(value[start + 1:start + 3], "little"), value[start + 3:]
    elif op == _J:
        d, rest = int.from_bytes(value[start + 1:start + 5], "little"), value[start + 5:]
    else:  # a pickle with a header (Whoosh's writer, or values other than ints)
        (d,), (w,), (v,) = loads(value[start:])
        d += base
        return _TI.pack(1, *_TI.unpack_from(value)[1:6], d, d) + inline_posting(d, int(w), v)
    # after the number: its frequency and value, pickled as inline_posting pickles them
    d += base
    return value[:_IDS_AT] + _IDS.pack(d, d) + _pickled_int(d) + rest


def _with_first_gap(gaps: array, code: int, first: int) -> tuple[array, int]:
    """``gaps`` (an array of dtype ``code``) with its first gap set to ``first``, widened when
    ``first`` needs a wider type, and the largest gap."""
    gaps[0] = 0
    top = max(first, max(gaps))
    if top >= _LIMITS[code]:
        gaps = array("I", gaps)
    gaps[0] = first
    return gaps, top


def _moved_list(postfile, value: bytes, src: _Source):
    """The term info of one stored list with its document numbers moved up by ``src.base``:
    only the first gap changes, the rest of the extent is copied (None where the extent is
    not one :mod:`~vnsearch.codec.blocks` writes at this format)."""
    off, length = _EXTENT.unpack_from(value, _TI.size)
    buf = src.post.get(off, length)
    if buf[:4] != MAGIC:
        return None  # the caller's decoding reports the damage
    code, comp, _n = _ARRAY.unpack_from(buf, _HEADER_SIZE)
    if code == 0 or comp == ZLIB or _BIG_ENDIAN:
        return None
    code, raw, p = _raw_array(buf, _HEADER_SIZE)
    gaps = array(_TYPECODES[code], raw)
    rest = buf[p:]
    q = 0
    while q < len(rest):  # the other arrays are copied: none may be zlib (format 3)
        _c, c, m = _ARRAY.unpack_from(rest, q)
        if c == ZLIB:
            return None
        q += _ARRAY.size + m
    gaps, top = _with_first_gap(gaps, code, gaps[0] + src.base)
    data = b"".join((buf[:_HEADER_SIZE], _array(gaps, top), rest))
    start = postfile.tell()
    postfile.write(data)
    lo, hi = _IDS.unpack_from(value, _IDS_AT)
    return (value[:_IDS_AT] + _IDS.pack(lo + src.base, hi + src.base)
            + _EXTENT.pack(start, len(data)))


def _merge_term(postfile, group, sources, fmt):
    """Write one term's merged postings; its term info, or None when every posting was of a
    deleted document."""
    if len(group) == 1:
        i, value = group[0]
        src = sources[i]
        if src.docmap is None:
            if value[0]:
                return _moved_inline(value, src.base)
            if not src.base:
                # First segment, no deletions: the postings are copied as they are.
                off, length = _EXTENT.unpack_from(value, _TI.size)
                start = postfile.tell()
                postfile.write(src.post.get(off, length))
                return value[:_TI.size] + _EXTENT.pack(start, length)
            tinfo = _moved_list(postfile, value, src)
            if tinfo is not None:
                return tinfo
    if all(sources[i].docmap is None for i, _ in group):
        tinfo = _concatenate(postfile, group, sources, fmt)
        if tinfo is not None:
            return tinfo
    parts = [p for p in (sources[i].postings(value, fmt) for i, value in group) if p is not None]
    if not parts:
        return None
    ids: list[int] = []
    freqs: list[int] = []
    for p in parts:
        ids += p[0]
        freqs += p[1]
    kinds = {p[2] for p in parts}
    if len(kinds) == 1:
        kind = parts[0][2]
        payload: Any = None if kind == NO_VALUES else [x for p in parts for x in p[3]]
    else:  # positions in one segment, values in another: the values of each
        values = [v for p in parts
                  for v in match_values(np.array(p[1]), p[2], np.array(p[3]) if p[2] == POSITIONS
                                        else p[3], len(p[0]))]
        kind, payload = values_payload(fmt, values, freqs)
    minlb = min((p[4] for p in parts if p[4]), default=0)
    maxlb = max(p[5] for p in parts)
    weight = float(sum(freqs))
    if len(ids) == 1:
        value = match_values(None if freqs[0] == 1 else np.array(freqs), kind,
                             np.array(payload) if kind == POSITIONS else payload, 1)[0]
        return inlined(ids, [weight], [value], minlb if maxlb else 0, maxlb)
    data = encode(ids, freqs, kind, payload)
    start = postfile.tell()
    postfile.write(data)
    return _TI.pack(0, weight, len(ids), minlb if maxlb else 0, maxlb, float(max(freqs)),
                    ids[0], ids[-1]) + _EXTENT.pack(start, len(data))


def _raw_array(buf, pos: int):
    """(dtype code, uncompressed bytes, position after it) of an extent's array at ``pos``."""
    code, comp, n = _ARRAY.unpack_from(buf, pos)
    pos += _ARRAY.size
    raw = buf[pos:pos + n]
    return code, (uncompressed(comp, raw) if comp else raw), pos + n


def _concatenate(postfile, group, sources, fmt):
    """The term info of one term's postings in segments without deletions, written by
    joining their stored arrays (:mod:`~vnsearch.codec.blocks`): of the document-number gaps
    only the first of each list changes, frequencies and positions are copied, and the term
    info's statistics come from the sources' term infos. None where the values are neither
    positions nor absent (the caller decodes them). The bytes are those of decoding and
    encoding the lists again (the rest of :func:`_merge_term`), without numpy arrays and
    Python lists of documents per source: each source's arrays are joined as arrays."""
    positions = isinstance(fmt, PositionList)
    if _BIG_ENDIAN or not positions and fmt.fixed_value_size() != 0:
        return None  # (the arrays are little-endian)
    kind = POSITIONS if positions else NO_VALUES
    gaps: list = []  # per source, an array (or a list for an inlined posting)
    freqs: list = []
    poss: list = []
    gtop = ptop = n = weight = 0
    fmax = 0.0
    minlb, maxlb = 255, 0
    prev = -1
    for i, value in group:
        inl, w, count, lo_lb, hi_lb, mw, lo, hi = _TI.unpack_from(value)
        base = sources[i].base
        weight += int(w)
        if mw > fmax:
            fmax = mw
        if lo_lb and lo_lb < minlb:
            minlb = lo_lb
        if hi_lb > maxlb:
            maxlb = hi_lb
        if prev < 0:
            first = lo + base
            gap = first
        else:
            gap = lo + base - prev
        prev = hi + base
        n += count
        if inl:
            (_d,), (f,), (v,) = loads(value[_TI.size:])
            if positions:
                if v.__class__ is bytes:
                    v = loads(v)
                if v.__class__ is int:
                    if f != 1:
                        return None
                    v = (v,)
                elif v.__class__ is not tuple or len(v) != f:
                    return None
                poss.append(v)
                top = max(v)
                if top > ptop:
                    ptop = top
            elif v is not None:
                return None
            gaps.append((gap,))
            freqs.append((int(f),))
            if gap > gtop:
                gtop = gap
            continue
        off, length = _EXTENT.unpack_from(value, _TI.size)
        buf = sources[i].post.get(off, length)
        if buf[:4] != MAGIC:
            return None  # the caller's decoding reports the damage
        got, vkind = _HEAD.unpack_from(buf, 4)
        if vkind != kind or got != count:
            return None
        code, raw, p = _raw_array(buf, _HEADER_SIZE)
        a, top = _with_first_gap(array(_TYPECODES[code], raw), code, gap)
        gaps.append(a)
        if top > gtop:
            gtop = top
        code, raw, p = _raw_array(buf, p)
        freqs.append(array(_TYPECODES[code], raw) if code else (1,) * count)
        if positions:
            code, raw, p = _raw_array(buf, p)
            a = array(_TYPECODES[code], raw)
            poss.append(a)
            top = max(a)
            if top > ptop:
                ptop = top
    if n < 2 or weight >= 1 << 24:  # a float32 sum would not be exact: the caller adds them
        return None
    ones = fmax == 1.0
    parts = [MAGIC, _HEAD.pack(n, kind), _joined(gaps, gtop),
             _ONES if ones else _joined(freqs, int(fmax))]
    if positions:
        parts.append(_joined(poss, ptop))
    data = b"".join(parts)
    start = postfile.tell()
    postfile.write(data)
    return _TI.pack(0, float(weight), n, minlb if maxlb else 0, maxlb, fmax, first,
                    prev) + _EXTENT.pack(start, len(data))


def _joined(pieces: list, top: int) -> bytes:
    """:func:`~vnsearch.codec.blocks._array` of the values of ``pieces`` (arrays, tuples) one
    after another, at most ``top``: arrays of the output's type are joined as they are."""
    code = 1 if top < 256 else 2 if top < 65536 else 3
    typecode = _TYPECODES[code]
    out = array(typecode)
    for piece in pieces:
        if piece.__class__ is not array:
            out.extend(piece)
        elif piece.typecode == typecode:
            out += piece
        else:
            out.fromlist(piece.tolist())
    return _bytes(code, out.tobytes())


def live_segments(segments) -> list:
    """The segments holding a live document (the others are dropped at commits)."""
    return [s for s in segments if s.doc_count() > 0]


def merge_all(ix, segments, processes: int = 1) -> list:
    """A ``mergetype`` for Whoosh's ``commit`` that merges every segment holding a live
    document into one, in ``processes`` processes (the segments to list: that one, or
    none)."""
    live = live_segments(segments)
    return [merge_segments(ix, live, processes=processes)] if live else []


def merge_tiers(ix, segments, settle: int = 0) -> list:
    """The merge policy (a ``mergetype`` for Whoosh's ``commit``): merge tiers that are full
    (:func:`plan_merge`), again while the merged segment fills the next tier; then, at a
    run's end (``settle``: the documents the run wrote), :func:`plan_settle`'s segments; drop
    segments whose documents are all deleted. Returns the segments to list."""
    segments = live_segments(segments)
    while True:
        chosen, settle = plan_next(segments, settle)
        if not chosen:
            break
        merged = merge_segments(ix, chosen)
        gone = {s.segment_id() for s in chosen}
        segments = [s for s in segments if s.segment_id() not in gone]
        if merged.doc_count_all():
            segments.append(merged)
    return segments
