"""Posting formats that store less than Whoosh's: a term's frequency is its posting weight,
so nothing repeats it in the posting value.

Whoosh's :class:`~whoosh.formats.Frequency` keeps every frequency twice (the block's weights
and a 4-byte value per posting), and :class:`~whoosh.formats.Positions` wraps each posting's
positions in bytes: a 4-byte count, then a pickled list of gaps (14-20 bytes for one
position, before compression). Here a frequency field has no values, and a positions value
is one int (one occurrence) or a tuple of gaps, which the block pickle packs in 2-3 bytes per
position (:class:`~vnsearch.codec.segment_writer.FastSegmentWriter` writes them). Whoosh's
own writers need bytes values: for them :meth:`PositionList.encode` pickles the same value,
and decoding reads either. Whoosh's matchers and phrase queries read both formats.
"""

from __future__ import annotations

from itertools import accumulate
from operator import sub
from pickle import dumps, loads

from whoosh import formats


class Counts(formats.Frequency):
    """Term frequencies, kept only as posting weights."""

    posting_size = 0

    def word_values(self, value, analyzer, **kwargs):
        for word, freq, weight, _ in super().word_values(value, analyzer, **kwargs):
            yield word, freq, weight, None

    def decode_frequency(self, valuestring) -> int:
        raise ValueError("Counts keeps frequencies as weights, not values")

    def decode_weight(self, valuestring) -> float:
        raise ValueError("Counts keeps frequencies as weights, not values")


class PositionList(formats.Positions):
    """Positions as the posting value itself: the position (one occurrence) or a tuple of
    gaps from 0."""

    def encode(self, poslist) -> bytes:
        return dumps(positions_value(poslist), 3)

    def decode_positions(self, valuestring) -> list[int]:
        if valuestring.__class__ is bytes:
            valuestring = loads(valuestring)
        if valuestring.__class__ is int:
            return [valuestring]
        return list(accumulate(valuestring))

    def decode_frequency(self, valuestring) -> int:
        if valuestring.__class__ is bytes:
            valuestring = loads(valuestring)
        return 1 if valuestring.__class__ is int else len(valuestring)


def positions_value(poslist: list[int]):
    """A :class:`PositionList` value: the position, or the tuple of gaps of ``poslist``."""
    if len(poslist) == 1:
        return poslist[0]
    return tuple(map(sub, poslist, [0, *poslist[:-1]]))
