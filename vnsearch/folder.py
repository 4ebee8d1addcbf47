"""What an index folder holds, and how vnsearch recognises one (the one place that decides).

An index folder holds Whoosh's table of contents (``_MAIN_<generation>.toc``) and segments,
vnsearch's metadata (``vnsearch.json``: format and analysis versions), the per-file state
(``state.sqlite``), the duplicate store (``duplicates.sqlite``) and the write lock
(``write.lock``). ``Index.create`` writes the table of contents first and the metadata last.
"""

from __future__ import annotations

import os
from collections.abc import Collection

#: vnsearch's metadata file: its presence is what makes a folder an index to open.
META_FILE = "vnsearch.json"
#: Whoosh's table of contents: ``_MAIN_<generation>.toc``.
TOC_PREFIX, TOC_SUFFIX = "_MAIN_", ".toc"


def _has_toc(names: Collection[str]) -> bool:
    return any(n.startswith(TOC_PREFIX) and n.endswith(TOC_SUFFIX) for n in names)


def is_index(names: Collection[str]) -> bool:
    """A folder listing of a complete index: metadata and a table of contents."""
    return META_FILE in names and _has_toc(names)


def is_index_or_partial(names: Collection[str]) -> bool:
    """A folder listing of an index, whole or half-made (a create that died before writing its
    metadata, or one under way: Whoosh writes its table of contents under a temporary name
    first): the files ``--rebuild`` may replace."""
    return META_FILE in names or any(n.startswith((TOC_PREFIX, "MAIN_")) for n in names)


def has_metadata(path: str | os.PathLike) -> bool:
    """Whether ``path`` holds an index to open (compatible or not): its metadata file."""
    return os.path.isfile(os.path.join(os.fspath(path), META_FILE))


def is_index_dir(path: str | os.PathLike) -> bool:
    """Whether the folder ``path`` is a complete index (folder walks skip those)."""
    try:
        return is_index(os.listdir(path))
    except OSError:
        return False
