"""vnsearch: local, embeddable full-text search for Vietnamese press releases and news.

    from vnsearch import Index
    ix = Index.create("index")
    ix.index_paths(["seeds"])
    for hit in ix.search("xây dựng Đảng"):
        print(hit.rank, hit.title, hit.snippet)

Names are imported lazily so ``import vnsearch`` (and ``vnsearch --help``) stays fast.
"""

from __future__ import annotations

__version__ = "0.1.0"

# Bound now, not lazily: the module is light (``re``, ``unicodedata``), so ``vnsearch --help``
# stays instant.
from vnsearch.text.normalize import fold as fold  # noqa: E402
from vnsearch.text.normalize import normalize as normalize  # noqa: E402

_EXPORTS = {
    "Index": ".index",
    "Document": ".document",
    "Results": ".search.results",
    "Hit": ".search.results",
    "IndexReport": ".write.report",
    "analyze": ".text.analysis",
    "VnsearchError": ".errors",
    "QueryError": ".errors",
}

__all__ = sorted([*_EXPORTS, "fold", "normalize"])


def __getattr__(name):
    if name in _EXPORTS:
        import importlib

        value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'vnsearch' has no attribute {name!r}")
