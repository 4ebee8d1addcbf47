"""Posting lists of index formats 3 and 4: raw little-endian arrays, read without unpickling.

Whoosh's W3 codec stores a term's postings as blocks of 128, each a zlib-compressed pickle of
tuples (id gaps, weights, values): reading one is a decompression, an unpickling and then
arrays built from the tuples, for every block. Here a term's postings (when it has more than
one; a single posting stays inlined in its term info, as before) are one extent::

    b"VnP3"  uint32 postings  uint8 values kind
    array    document-number gaps (the first from 0)
    array    frequencies (the posting weights; dtype code 0 and no bytes: all 1)
    array    only with values: positions (kind 1) or the pickled values (kind 2)

Each array is a header ``uint8 dtype code, uint8 compression, uint32 bytes`` and its bytes:
the smallest unsigned little-endian type that holds its values, compressed only where that
saves an eighth. A reader decodes a list with ``np.frombuffer`` and one ``cumsum``; the
document numbers can be read without the rest. Positions (kind 1, fields of
:class:`~vnsearch.codec.formats.PositionList`) are each posting's positions in order, the first
absolute and the others gaps, as many as its frequency. Values of other formats (Whoosh's
``Frequency``, ``Positions``) are kept as one pickled tuple (kind 2).

Compression is Zstandard at level 1 (index format 4); format 3 wrote zlib, which is still
read, so a format-3 index is searched and written to as it is. On the lists a search reads,
zstd made them 10% smaller than zlib and decompresses 3.6 and compresses 3.7 times as fast
(docs/benchmarks.md): decoding long lists is what searching a large index spends most on,
and merges compress every list they join.

:class:`Codec` is the W3 codec with this reader: Whoosh's own matchers (phrases, wildcards,
fuzzy terms, filters, facets) get the decoded lists through it, so every segment of an index
names it (its table of contents pickles the codec of each segment).
"""

from __future__ import annotations

import sys
import threading
from array import array
from bisect import bisect_left
from itertools import accumulate
from operator import sub
from pickle import dumps, loads
from struct import Struct
from zlib import decompress as zlib_decompress

import numpy as np
import zstandard
from whoosh.codec import whoosh3
from whoosh.matching import ListMatcher, ReadTooFar
from whoosh.reading import CorruptIndexError

from vnsearch.codec.formats import PositionList

__all__ = ["MAGIC", "Codec", "encode", "decode", "values_payload", "match_values", "uncompressed"]

MAGIC = b"VnP3"
_HEAD = Struct("<IB")  # postings, values kind
_ARRAY = Struct("<BBI")  # dtype code, compressed, byte length
_HEADER_SIZE = 4 + _HEAD.size
NO_VALUES, POSITIONS, PICKLED = 0, 1, 2
#: dtype code -> numpy dtype (0: no values stored; for frequencies, every one is 1)
_DTYPES = (None, np.dtype("<u1"), np.dtype("<u2"), np.dtype("<u4"))
_TYPECODES = ("", "B", "H", "I")  # array typecodes (4 bytes: "I" on the platforms we run)
#: Arrays shorter than this are never compressed (a call costs microseconds whatever the size).
_MIN_COMPRESS = 64
#: The compression codes of an array's header.
RAW, ZLIB, ZSTD = 0, 1, 2
#: Zstandard level (level 1 compresses these arrays as well as level 3, and faster).
_ZSTD_LEVEL = 1
_BIG_ENDIAN = sys.byteorder == "big"
_PROTOCOL = 3


def _array(values, top: int) -> bytes:
    """An array's header and bytes: ``values`` (non-negative ints below 2**32, at most ``top``)
    in the smallest type, compressed where that pays."""
    code = 1 if top < 256 else 2 if top < 65536 else 3
    a = array(_TYPECODES[code], values)
    if _BIG_ENDIAN:  # pragma: no cover - little-endian machines only here
        a.byteswap()
    return _bytes(code, a.tobytes())


def _bytes(code: int, raw: bytes) -> bytes:
    comp = RAW
    if len(raw) >= _MIN_COMPRESS:
        packed = _ZSTD_CONTEXTS.compressor.compress(raw)
        if len(packed) * 8 < len(raw) * 7:
            raw, comp = packed, ZSTD
    return _ARRAY.pack(code, comp, len(raw)) + raw


class _Zstd(threading.local):
    """This thread's zstd contexts (a context is not for two threads at once)."""

    def __init__(self) -> None:
        self.compressor = zstandard.ZstdCompressor(level=_ZSTD_LEVEL)
        self.decompressor = zstandard.ZstdDecompressor()


_ZSTD_CONTEXTS = _Zstd()


def uncompressed(comp: int, raw) -> bytes:
    """The bytes of an array stored compressed, ``comp`` being :data:`ZSTD` or :data:`ZLIB`
    (callers skip :data:`RAW` arrays)."""
    if comp == ZSTD:
        return _ZSTD_CONTEXTS.decompressor.decompress(raw)
    if comp == ZLIB:
        return zlib_decompress(raw)
    raise ValueError(f"compression {comp}")


_ONES = _ARRAY.pack(0, 0, 0)


def encode(ids: list[int], freqs: list[int], kind: int = NO_VALUES, payload=None) -> bytes:
    """The extent of a term's postings: ``ids`` ascending, ``freqs`` positive ints, and
    :func:`values_payload`'s ``kind`` and ``payload``."""
    gaps = list(map(sub, ids, [0, *ids[:-1]])) if len(ids) > 1 else list(ids)
    parts = [MAGIC, _HEAD.pack(len(ids), kind), _array(gaps, max(gaps))]
    fmax = max(freqs)
    parts.append(_ONES if fmax == 1 else _array(freqs, fmax))
    if kind == POSITIONS:
        parts.append(_array(payload, max(payload)))
    elif kind == PICKLED:
        parts.append(_bytes(0, dumps(tuple(payload), _PROTOCOL)))
    return b"".join(parts)


def values_payload(fmt, values: list, freqs: list[int]):
    """``(kind, payload)`` of a term's posting values in format ``fmt``: none, the flat
    positions of a :class:`PositionList` field (one a frequency), or the values themselves."""
    fixed = fmt.fixed_value_size()
    if fixed == 0:
        return NO_VALUES, None
    if isinstance(fmt, PositionList):
        flat: list[int] = []
        for v, f in zip(values, freqs):
            if v.__class__ is bytes:  # PositionList.encode (Whoosh's own writer)
                v = loads(v)
            if v.__class__ is int:
                if f != 1:
                    break
                flat.append(v)
            else:
                if len(v) != f:
                    break
                flat += v
        else:
            return POSITIONS, flat
    return PICKLED, values


def _read_array(buf, pos: int, count: int | None):
    """(numpy array, position after it) of the array at ``pos`` of ``count`` values; without
    a type (code 0): None if ``count`` is given (frequencies all 1), else its bytes."""
    code, comp, n = _ARRAY.unpack_from(buf, pos)
    pos += _ARRAY.size
    raw = buf[pos : pos + n]
    if len(raw) != n:
        raise ValueError("truncated")
    if comp:
        raw = uncompressed(comp, raw)
    if code == 0:
        return (raw if count is None else None), pos + n
    got = np.frombuffer(raw, dtype=_DTYPES[code])
    if count is not None and len(got) != count:
        raise ValueError(f"{len(got)} values, {count} expected")
    return got, pos + n


def decode(buf, offset: int = 0, ids_only: bool = False, values: bool = True):
    """``(document numbers int32, frequencies or None (all 1), kind, payload)`` of the extent
    at ``offset`` of ``buf``: the payload is the flat positions (kind 1), the tuple of values
    (kind 2) or None; with ``ids_only``, only the document numbers are read; without
    ``values``, no payload (ranking needs frequencies, not positions: in a positions field
    they are most of a list's bytes)."""
    if bytes(buf[offset : offset + 4]) != MAGIC:
        raise CorruptIndexError(f"bad postings header at offset {offset}")
    try:
        n, kind = _HEAD.unpack_from(buf, offset + 4)
        gaps, pos = _read_array(buf, offset + _HEADER_SIZE, n)
        ids = np.cumsum(gaps, dtype=np.int32)  # a segment's documents number below 2**31
        if ids_only:
            return ids, None, NO_VALUES, None
        freqs, pos = _read_array(buf, pos, n)
        payload = None
        if not values:
            return ids, freqs, kind, None
        if kind == POSITIONS:
            total = n if freqs is None else int(freqs.sum(dtype=np.int64))
            payload = _read_array(buf, pos, total)[0]
        elif kind == PICKLED:
            payload = loads(_read_array(buf, pos, None)[0])
            if len(payload) != n:
                raise ValueError(f"{len(payload)} values, {n} expected")
        elif kind != NO_VALUES:
            raise ValueError(f"values kind {kind}")
    except CorruptIndexError:
        raise
    except Exception as e:  # as Whoosh's matcher reports a damaged block
        raise CorruptIndexError(f"damaged postings at offset {offset}: {e!r}") from e
    return ids, freqs, kind, payload


def match_values(freqs, kind: int, payload, n: int) -> list:
    """Posting values as Whoosh's matchers hand them out: None each (no values), a
    :class:`PositionList` value each (the position, or the tuple of gaps from 0), or the
    stored values."""
    if kind == NO_VALUES:
        return [None] * n
    if kind == PICKLED:
        return list(payload)
    flat = payload.tolist()
    if freqs is None:
        return flat
    out: list = []
    start = 0
    for f, end in zip(freqs.tolist(), accumulate(freqs.tolist())):
        out.append(flat[start] if f == 1 else tuple(flat[start:end]))
        start = end
    return out


class ArrayMatcher(ListMatcher):
    """Whoosh's list matcher over a decoded posting list: skips by bisection, takes its
    largest weight from the term info (the list matcher takes the max of its weights on each
    call, which block-quality skipping makes once per posting), and keeps its term in copies."""

    def skip_to(self, id):
        if not self.is_active():
            raise ReadTooFar
        if id > self._ids[self._i]:
            self._i = bisect_left(self._ids, id, self._i)

    def block_max_weight(self):
        return self._terminfo.max_weight()

    def copy(self):
        return self.__class__(self._ids, self._weights, self._values, self._format, self._scorer,
                              self._i, self._all_weights, self._term, self._terminfo)


class Codec(whoosh3.W3Codec):
    """The W3 codec (files, term infos, inlined postings, columns) reading posting lists of
    this module's format."""

    def postings_reader(self, dbfile, terminfo, format_, term=None, scorer=None):
        if terminfo.is_inlined():
            return super().postings_reader(dbfile, terminfo, format_, term, scorer)
        offset, length = terminfo.extent()
        if isinstance(length, tuple):  # whoosh3 reads the extent's length as a 1-tuple
            length = length[0]
        ids, freqs, kind, payload = decode(dbfile.get(offset, length))
        n = len(ids)
        weights = [1.0] * n if freqs is None else freqs.astype(np.float64).tolist()
        values = match_values(freqs, kind, payload, n)
        return ArrayMatcher(ids.tolist(), weights, values, format_, scorer=scorer, term=term,
                            terminfo=terminfo)

    def new_segment(self, storage, indexname):
        return whoosh3.W3Segment(self, indexname)
