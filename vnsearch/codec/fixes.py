"""Fixes for bugs in the pinned whoosh3 release, applied before any search.

``AndNotMatcher`` (``a ANDNOT b``, i.e. ``NOT`` and ``-word``) only looks for the first allowed
document when ``a`` and ``b`` start on the same one: when ``b`` starts earlier, ``a``'s first
document is returned even if ``b`` contains it. Searches with block-quality skipping step past
it by luck; unoptimised ones (exact totals, facets, ``limit=None``) do not, so
``hoà NOT tổ`` counted and faceted a document containing ``tổ``. Checked against the matcher's
own ``_find_next``, which already skips ``b`` forward.
"""

from __future__ import annotations

from whoosh.matching.binary import AndNotMatcher

_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return

    def _find_first(self):
        if self.a.is_active() and self.b.is_active():
            self._find_next()

    AndNotMatcher._find_first = _find_first  # type: ignore[method-assign]
    _applied = True
