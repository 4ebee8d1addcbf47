"""A faster Whoosh segment writer: the same files and terms, a fraction of the Python work.

Whoosh's :class:`~whoosh.writing.SegmentWriter` spends most of an indexing run outside our
analysis: re-tokenising every pre-analysed field, one pool tuple per posting, sorting millions
of them, then per posting and per term a chain of method calls (block buffers, pickles, the
terms hash). :class:`FastSegmentWriter` instead takes pre-analysed fields as :class:`Terms`,
collects postings per field and term in dictionaries (no global sort), and writes each term's
postings and term info directly. Posting lists are written in index format 3
(:mod:`vnsearch.codec.blocks`: raw arrays, no pickles) and segments name that module's
codec; everything else is the W3 codec's. A search cannot tell an index written here from
one written by Whoosh (``tests/test_segment_writer.py`` compares them). Other storage
choices, within what Whoosh's readers accept: the terms file hashes keys with CRC-32
(Whoosh's hash type 1) rather than MD5, and a term with one posting keeps it in its term
info (Whoosh's "inlined" postings, which its own writer never uses), pickled by hand.

Workers of :mod:`vnsearch.write.pipeline` write segments in staging folders
(:class:`StagedSegments`); the parent moves them into the index (:func:`adopt`) just before
the commit that lists them.

Merges are :mod:`vnsearch.codec.merge`'s; everything else (per-document columns and stored
fields, deletions, the TOC and its lock) is Whoosh's own.
"""

from __future__ import annotations

import errno
import os
import shutil
from array import array
from bisect import bisect_left
from collections import Counter
from functools import partial
from itertools import accumulate, chain, repeat
from operator import add
from pickle import dumps
from struct import Struct
from zlib import crc32

from whoosh import index as windex
from whoosh.codec import whoosh3
from whoosh.fields import NUMERIC
from whoosh.formats import Frequency, Positions
from whoosh.util.numeric import _length_byte_cache
from whoosh.writing import SegmentWriter

from vnsearch.codec.blocks import Codec, encode, values_payload
from vnsearch.codec.formats import PositionList, positions_value

__all__ = ["Terms", "FastSegmentWriter", "StagedSegments", "adopt", "clear_staging"]

_uint = Struct("!I").pack
_ONE = _uint(1)
_ushort = Struct("!H").pack
_lengths = Struct("!ii").pack
#: ``W3TermInfo.to_bytes`` of postings in the postings file: the term info, then the offset
#: and length of its postings.
_terminfo_extent = Struct(whoosh3.W3TermInfo._struct.format + "qi").pack
#: The term info of inlined postings: flag 1, the statistics, then the pickled postings.
_inlined_info = partial(whoosh3.W3TermInfo._struct.pack, 1)
#: Pickle protocol of an inlined posting's value when it is not an int (bytes: protocol 2
#: spells them as a call to ``codecs.encode``).
_PROTOCOL = 3


class Terms(list):
    """A pre-analysed field value: its terms, in order. :class:`FastSegmentWriter` indexes them
    as Whoosh would index ``" ".join(terms)`` with :class:`~vnsearch.codec.analyzer.
    PreAnalyzed` (empty terms are skipped), without building Whoosh tokens."""

    __slots__ = ()


_single_positions: dict[int, bytes] = {}
_FREQUENCIES = [_uint(i) for i in range(256)]


def _add_positions(table: dict, docnum: int, terms: list[str], compact: bool = True) -> int:
    """Add one document's postings of a Positions field (``compact``: a
    :class:`~vnsearch.codec.formats.PositionList` field); returns the field length."""
    if "" in terms:
        terms = [t for t in terms if t]
    poses: dict = {}
    pget = poses.get
    for i, t in enumerate(terms):  # a position, or the list of a repeated term's positions
        p = pget(t)
        if p is None:
            poses[t] = i
        elif p.__class__ is int:
            poses[t] = [p, i]
        else:
            p.append(i)
    get = table.get
    single = _single_positions
    value: int | tuple | bytes | None
    for t, p in poses.items():
        if compact:
            if p.__class__ is int:
                freq, value = 1, p
            else:
                freq, value = len(p), positions_value(p)
        elif p.__class__ is int:
            freq = 1
            value = single.get(p)
            if value is None:
                value = single[p] = _ONE + dumps([p], 2)  # Positions.encode([p])
        else:
            freq = len(p)
            value = _uint(freq) + dumps([b - a for a, b in zip([0, *p], p)], 2)
        flat = get(t)
        if flat is None:
            table[t] = [docnum, freq, value]
        else:
            flat += (docnum, freq, value)
    return len(terms)


def _add_frequencies(table: dict, docnum: int, terms: list[str]) -> int:
    """Add one document's postings of a Frequency field; returns the field length."""
    counts = Counter(terms)
    counts.pop("", None)
    get = table.get
    freqs = _FREQUENCIES
    for t, freq in counts.items():
        value = freqs[freq] if freq < 256 else _uint(freq)
        flat = get(t)
        if flat is None:
            table[t] = [docnum, freq, value]
        else:
            flat += (docnum, freq, value)
    return counts.total()


def _length_byte(length: int) -> int:
    """``whoosh.util.numeric.length_to_byte``."""
    return 255 if length >= 106374 else bisect_left(_length_byte_cache, length)


_POINTER = Struct("!Iq").pack
_NO_POINTER = _POINTER(0, 0)


def _write_hashes(tindex) -> None:
    """``HashWriter._write_hashes`` (the 256 open-addressing tables of a terms file), one
    write per table."""
    dbfile = tindex.dbfile
    for entries in tindex.buckets:
        pos = dbfile.tell()
        numslots = 2 * len(entries)
        tindex.directory.append((pos, numslots))
        if not numslots:
            continue
        table = [_NO_POINTER] * numslots
        taken = [False] * numslots
        for h, position in entries:
            slot = (h >> 8) % numslots
            while taken[slot]:
                slot = (slot + 1) % numslots
            taken[slot] = True
            table[slot] = _POINTER(h, position)
        dbfile.write(b"".join(table))


class FastSegmentWriter(SegmentWriter):
    """A :class:`~whoosh.writing.SegmentWriter` whose ``add_document`` also accepts
    :class:`Terms` as the value of a Positions or Frequency field, and which writes postings
    without Whoosh's per-posting machinery. Field and document boosts, spelling fields and
    numeric fields are not supported (every weight equals the term frequency, and terms are
    text, as in our schema)."""

    def __init__(self, ix, **kwargs):
        kwargs.setdefault("codec", Codec())
        super().__init__(ix, **kwargs)
        # field name -> term (str; UTF-8 sorts like code points) -> flat
        # [docnum, freq, value, docnum, freq, value, ...]
        self._postings: dict[str, dict[bytes, list]] = {}
        # field name -> {docnum: length byte} for documents with a length in that field
        self._lengths: dict[str, dict[int, int]] = {}
        for name, field in self.schema.items():
            fmt = field.format
            if fmt is not None and getattr(fmt, "field_boost", 1.0) != 1.0:
                raise ValueError(f"field {name!r} has a boost: not supported here")
            if isinstance(field, NUMERIC):
                raise ValueError(f"field {name!r} is numeric: not supported here")

    def add_document(self, **fields):
        self._check_state()
        schema = self.schema
        docnum = self.docnum
        perdoc = self.perdocwriter
        names = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, names)
        perdoc.start_doc(docnum)
        try:
            for name in names:
                value = fields[name]
                if value is None:
                    continue
                field = schema[name]
                length = 0
                if isinstance(value, Terms):
                    if field.stored or field.column_type or field.vector:
                        raise ValueError(f"field {name!r} needs its value, not terms")
                    table = self._postings.get(name)
                    if table is None:
                        table = self._postings[name] = {}
                    if isinstance(field.format, Positions):
                        length = _add_positions(table, docnum, value,
                                                isinstance(field.format, PositionList))
                    elif isinstance(field.format, Frequency):
                        length = _add_frequencies(table, docnum, value)
                    else:
                        raise ValueError(f"field {name!r}: terms need positions or frequencies")
                    if not field.scorable:
                        length = 0
                    perdoc.add_field(name, field, None, length)
                    if length:
                        self._lengths.setdefault(name, {})[docnum] = _length_byte(length)
                    continue
                if field.indexed:
                    terms, freqs, values = [], [], []
                    for tbytes, freq, _weight, vbytes in field.index(value):
                        terms.append(tbytes)
                        freqs.append(freq)
                        values.append(vbytes)
                    self._add_postings(name, docnum, terms, freqs, values)
                    if field.scorable:
                        length = sum(freqs)
                        if length:
                            self._lengths.setdefault(name, {})[docnum] = _length_byte(length)
                if field.separate_spelling():
                    raise ValueError(f"field {name!r}: separate spelling is not supported")
                vformat = field.vector
                if vformat:
                    vitems = vformat.word_values(value, field.analyzer, mode="index")
                    vitems = sorted((text, weight, vbytes) for text, _, weight, vbytes in vitems)
                    perdoc.add_vector_items(name, field, vitems)
                customval = fields.get(f"_stored_{name}", value)
                perdoc.add_field(name, field, customval if field.stored else None, length)
                column = field.column_type
                if column and customval is not None:
                    perdoc.add_column_value(name, column, field.to_column_value(customval))
        except ValueError:
            perdoc.cancel_doc()
            raise
        perdoc.finish_doc()
        self._added = True
        self.docnum += 1

    def _add_postings(self, name, docnum, terms, freqs, values) -> None:
        table = self._postings.get(name)
        if table is None:
            table = self._postings[name] = {}
        for tbytes, freq, value in zip(terms, freqs, values):
            term = tbytes.decode("utf-8")
            flat = table.get(term)
            if value is None:
                value = b""
            if flat is None:
                table[term] = [docnum, freq, value]
            else:
                flat += (docnum, freq, value)

    def add_postings_to_pool(self, reader, startdoc, docmap):
        """Whoosh's merge (``add_reader``): the merged segment's postings go straight into
        our tables, after our documents and in order. Whoosh's pool takes only bytes values;
        :class:`~vnsearch.codec.formats.PositionList` values are ints."""
        schema = self.schema
        lengths = self._lengths
        for name, tbytes, docnum, weight, vbytes in reader.iter_postings():
            if name not in schema:
                continue
            newdoc = docmap[docnum] if docmap is not None else startdoc + docnum
            self._add_postings(name, newdoc, (tbytes,), (int(weight),), (vbytes,))
            length = reader.doc_field_length(docnum, name)
            if length:
                lengths.setdefault(name, {})[newdoc] = _length_byte(length)

    # -- writing ---------------------------------------------------------------------------
    def _flush_segment(self):
        self.perdocwriter.close()
        fw = self.fieldwriter
        fieldmap = fw._fieldmap
        tindex = fw._tindex
        _hash_keys_with_crc32(tindex)
        keypos: list[int] = []
        for name in sorted(self._postings):
            table = self._postings[name]
            if not table:
                continue
            fieldid = fieldmap.setdefault(name, len(fieldmap))
            terms = sorted(table)
            tinfos = _write_postings(fw._postfile, [table[t] for t in terms],
                                     self.schema[name].format, self._lengths.get(name, {}))
            keypos += _write_term_rows(tindex, _ushort(fieldid), terms, tinfos)
        if keypos:
            _extend_key_index(tindex, keypos)
        self._postings.clear()
        self._lengths.clear()
        fw.close()


def _hash_keys_with_crc32(tindex) -> None:
    """Key hashes of the terms file: CRC-32 (Whoosh's hash type 1; readers take the type from
    the header) rather than MD5 through a hex string."""
    tfile = tindex.dbfile
    end = tfile.tell()
    tfile.seek(tindex.startoffset + 4)
    tfile.write(b"\x01")
    tfile.seek(end)
    tindex.hashtype, tindex.hashfn = 1, crc32
    tindex._write_hashes = lambda: _write_hashes(tindex)


def _write_postings(postfile, flats: list[list], fmt, lbs: dict[int, int]) -> list:
    """Write the posting lists of one field's terms (``flats`` in term order) to the postings
    file (:mod:`vnsearch.codec.blocks`); returns their term infos."""
    lbs_get = lbs.get
    fixed = fmt.fixed_value_size()
    tinfos: list = [None] * len(flats)
    pbuf: list[bytes] = []
    poff = postfile.tell()

    # Terms with one posting (most of a segment's) keep it in their term info
    # (Whoosh's "inlined" postings): no extent; 30 bytes less per term. Pickled by hand
    # (:func:`inline_posting`), the weight an int.
    for i, flat in enumerate(flats):
        if len(flat) == 3:
            d, freq, value = flat
            fweight = float(freq)
            lb = lbs_get(d, 0)
            tinfos[i] = _inlined_info(fweight, 1, lb, lb, fweight, d, d) + inline_posting(
                d, freq, value if fixed != 0 else None)
            continue
        ids, freqs = flat[0::3], flat[1::3]
        kind, payload = values_payload(fmt, flat[2::3], freqs)
        data = encode(ids, freqs, kind, payload)
        if lbs:
            blbs = [x for x in map(lbs_get, ids, repeat(0)) if x]
            bmin = min(blbs) if blbs else 0
            bmax = max(blbs) if blbs else 0
        else:
            bmin = bmax = 0
        pbuf.append(data)
        tinfos[i] = _terminfo_extent(0, float(sum(freqs)), len(ids), bmin, bmax,
                                     float(max(freqs)), ids[0], ids[-1], poff, len(data))
        poff += len(data)
    postfile.write(b"".join(pbuf))
    return tinfos


_PICKLED_BYTES = [b"K" + bytes([i]) for i in range(256)]


def _pickled_int(i: int) -> bytes:
    """The pickle opcode of a non-negative int below 2**31."""
    if i < 256:
        return _PICKLED_BYTES[i]
    if i < 65536:
        return b"M" + i.to_bytes(2, "little")
    return b"J" + i.to_bytes(4, "little")


def inline_posting(docnum: int, freq: int, value) -> bytes:
    """The pickled ``((docnum,), (freq,), (value,))`` of a term info's one inlined posting:
    no protocol header, no memo (10-14 bytes; ``pickle.dumps`` takes 20-25)."""
    if value is None:
        v = b"N"
    elif value.__class__ is int:
        v = _pickled_int(value)
    else:
        return dumps(((docnum,), (freq,), (value,)), _PROTOCOL)
    return b"".join((_pickled_int(docnum), b"\x85", _pickled_int(freq), b"\x85", v, b"\x85\x87."))


def _write_term_rows(tindex, prefix: bytes, terms: list[str], tinfos: list) -> list[int]:
    """Write one field's rows of the terms hash file, in key order; returns their positions."""
    tfile = tindex.dbfile
    buckets = tindex.buckets
    keys = [prefix + t.encode("utf-8") for t in terms]
    klens = list(map(len, keys))
    vlens = list(map(len, tinfos))
    rows = list(map(add, klens, vlens))
    positions = list(accumulate([8 + r for r in rows], initial=tfile.tell()))
    positions.pop()
    tfile.write(b"".join(chain.from_iterable(zip(map(_lengths, klens, vlens), keys, tinfos))))
    for h, pos in zip(map(crc32, keys), positions):
        buckets[h & 255].append((h, pos))
    tindex.lastkey = keys[-1]
    return positions


def _extend_key_index(tindex, keypos: list[int]) -> None:
    """Append the key positions to the terms file's ordered index."""
    index = tindex.index
    index.array = array(_index_typecode(keypos[-1]), [*index.array, *keypos])


def _index_typecode(top: int) -> str:
    """The smallest array type of a terms file's key index whose last position is ``top``."""
    return "H" if top < 2**16 else "i" if top < 2**31 else "I" if top < 2**32 else "q"


# -- segments built outside the index, adopted by its writer at commit -------------------------

#: Prefix of the folders (inside the index directory) where segments are built. Whoosh's file
#: clean-up skips names starting with a dot, so segments being built there are never deleted by
#: another commit; leftovers of a killed run are removed by :func:`clear_staging`.
STAGING_PREFIX = ".staging-"


class StagedSegments:
    """Builds one segment per batch in ``<index>/.staging-<name>``, for a writer of the index
    to adopt (:func:`adopt`). Runs in an indexing worker process."""

    def __init__(self, index_dir: str, name: str, schema, indexname: str):
        self.dir = os.path.join(index_dir, STAGING_PREFIX + name)
        _remove_tree(self.dir)
        os.makedirs(self.dir)
        self._ix = windex.create_in(self.dir, schema, indexname=indexname)
        self._writer: FastSegmentWriter | None = None

    def add(self, values: dict) -> None:
        if self._writer is None:
            self._writer = FastSegmentWriter(self._ix, _lk=False)
        self._writer.add_document(**values)

    def finish(self):
        """Write the segment of the documents added since the last call (None if none)."""
        w, self._writer = self._writer, None
        if w is None:
            return None
        segment = w._finalize_segment()
        w._finish()
        return segment

    def close(self, remove: bool = True) -> None:
        if self._writer is not None:
            self._writer.cancel()
            self._writer = None
        if remove:
            _remove_tree(self.dir)


def adopt(staging_dir: str, index_dir: str, segment) -> None:
    """Move a finished segment's files into the index directory (then commit a TOC that lists
    it; until then Whoosh treats them as leftovers)."""
    prefix = segment.segment_id() + "."
    moved = 0
    for name in os.listdir(staging_dir):
        if name.startswith(prefix):
            os.replace(os.path.join(staging_dir, name), os.path.join(index_dir, name))
            moved += 1
    if not moved:  # never commit a table of contents that lists files which are not there
        raise FileNotFoundError(errno.ENOENT, "segment files missing", staging_dir)


def clear_staging(index_dir: str) -> None:
    """Remove the staging folders of earlier (finished or killed) runs."""
    for name in os.listdir(index_dir):
        if name.startswith(STAGING_PREFIX):
            _remove_tree(os.path.join(index_dir, name))


def _remove_tree(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)
