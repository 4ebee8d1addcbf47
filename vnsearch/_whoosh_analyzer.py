"""Compatibility name for indexes built before the package layout (December 2026).

Whoosh pickles the schema, analyzer class included, into every index; indexes written before
the analyzer moved to :mod:`vnsearch.codec.analyzer` name this module. Keep it importable.
"""

from vnsearch.codec.analyzer import PreAnalyzed

__all__ = ["PreAnalyzed"]
