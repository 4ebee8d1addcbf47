"""Posting lists of index formats 3 and 4 (vnsearch/codec/blocks.py) read back what was
written, in the smallest array types, compressed (zstd) only where that pays; the zlib arrays
of format 3 still read; damaged bytes raise Whoosh's CorruptIndexError, as a damaged pickled
block did."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from whoosh.formats import Frequency
from whoosh.reading import CorruptIndexError

from vnsearch.codec.blocks import (
    _ARRAY,
    _HEADER_SIZE,
    NO_VALUES,
    PICKLED,
    POSITIONS,
    ZLIB,
    ZSTD,
    decode,
    encode,
    match_values,
    uncompressed,
    values_payload,
)
from vnsearch.codec.formats import Counts, PositionList


@pytest.mark.parametrize("ids", [[0, 1], [3, 300], [5, 70000, 2**31 - 1], list(range(0, 4000, 3))])
@pytest.mark.parametrize("freqs", ["ones", "small", "big"])
def test_ids_and_frequencies_read_back(ids, freqs):
    f = {"ones": [1] * len(ids), "small": [1 + i % 7 for i in range(len(ids))],
         "big": [1 + 1000 * i for i in range(len(ids))]}[freqs]
    got_ids, got_f, kind, payload = decode(encode(ids, f))
    assert got_ids.tolist() == ids and kind == NO_VALUES and payload is None
    assert (got_f is None) == (freqs == "ones")
    if got_f is not None:
        assert got_f.tolist() == f
    assert decode(encode(ids, f), ids_only=True)[0].tolist() == ids


def test_arrays_take_the_smallest_type_and_compress_only_where_it_pays():
    ids = list(range(0, 2000, 2))  # 1000 gaps of 2: one byte each before compression
    data = encode(ids, [1] * len(ids))
    assert len(data) < 100  # compressed
    rng = np.random.default_rng(1)
    noisy = np.cumsum(rng.integers(1, 250, size=1000)).tolist()
    data = encode(noisy, [1] * 1000)
    assert 1000 <= len(data) < 1030  # raw bytes, one a gap: compressing would not save an eighth


def test_lists_are_written_with_zstd_and_format_3_zlib_lists_still_read():
    ids = list(range(0, 3000, 3))
    freqs = [1 + i % 5 for i in range(len(ids))]
    data = encode(ids, freqs)
    assert _ARRAY.unpack_from(data, _HEADER_SIZE)[1] == ZSTD
    # the same list as format 3 wrote it: each array zlib-compressed
    old = bytearray(data[:_HEADER_SIZE])
    pos = _HEADER_SIZE
    for _ in range(2):
        code, _comp, n = _ARRAY.unpack_from(data, pos)
        raw = uncompressed(ZSTD, data[pos + _ARRAY.size : pos + _ARRAY.size + n])
        packed = zlib.compress(raw, 1)
        old += _ARRAY.pack(code, ZLIB, len(packed)) + packed
        pos += _ARRAY.size + n
    got_ids, got_f, _, _ = decode(bytes(old))
    assert got_ids.tolist() == ids and got_f.tolist() == freqs


def test_positions_read_back_as_whoosh_matchers_hand_them_out():
    fmt = PositionList()
    values = [4, (2, 3, 10), 0, (1, 1)]
    freqs = [1, 3, 1, 2]
    kind, payload = values_payload(fmt, values, freqs)
    assert kind == POSITIONS and payload == [4, 2, 3, 10, 0, 1, 1]
    ids, f, kind, payload = decode(encode([1, 5, 9, 12], freqs, kind, payload))
    assert match_values(f, kind, payload, 4) == values
    assert [fmt.decode_positions(v) for v in values] == [[4], [2, 5, 15], [0], [1, 2]]


def test_ranking_reads_frequencies_without_the_positions():
    kind, payload = values_payload(PositionList(), [4, (2, 3, 10)], [1, 3])
    data = encode([1, 5], [1, 3], kind, payload)
    ids, f, kind, payload = decode(data, values=False)
    assert ids.tolist() == [1, 5] and f.tolist() == [1, 3] and kind == POSITIONS
    assert payload is None


def test_values_of_other_formats_are_kept_as_they_are():
    fmt = Frequency()
    values = [b"\x00\x00\x00\x01", b"\x00\x00\x00\x02"]
    kind, payload = values_payload(fmt, values, [1, 2])
    assert kind == PICKLED
    got = decode(encode([3, 4], [1, 2], kind, payload))
    assert match_values(got[1], got[2], got[3], 2) == values
    assert values_payload(Counts(), [None, None], [1, 2]) == (NO_VALUES, None)
    # positions that do not match their frequencies are kept as values, not guessed at
    assert values_payload(PositionList(), [(1, 2), 3], [1, 1])[0] == PICKLED


@pytest.mark.parametrize("damage", ["magic", "truncated", "count", "kind"])
def test_damaged_postings_raise_corrupt_index_error(damage):
    data = bytearray(encode([1, 5, 9], [1, 2, 1], POSITIONS, [0, 3, 4, 7]))
    if damage == "magic":
        data[:4] = b"W3Bl"
    elif damage == "truncated":
        data = data[:-2]
    elif damage == "count":
        data[4] = 7  # postings
    else:
        data[8] = 9  # values kind
    with pytest.raises(CorruptIndexError):
        decode(bytes(data))
