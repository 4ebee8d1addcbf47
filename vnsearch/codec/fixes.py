"""Fixes for the pinned whoosh3 release, applied when :mod:`vnsearch.codec` is imported, before
any index is opened.

``AndNotMatcher`` (``a ANDNOT b``, i.e. ``NOT`` and ``-word``) only looks for the first allowed
document when ``a`` and ``b`` start on the same one: when ``b`` starts earlier, ``a``'s first
document is returned even if ``b`` contains it. Searches with block-quality skipping step past
it by luck; unoptimised ones (exact totals, facets, ``limit=None``) do not, so
``hoà NOT tổ`` counted and faceted a document containing ``tổ``. Checked against the matcher's
own ``_find_next``, which already skips ``b`` forward.

``BufferFile`` (every file inside a memory-mapped segment) wraps its memoryview in a
``BytesIO``, which copies it: opening an index read every postings, terms and stored-fields
file whole into memory (about a second per 250 MB of index before a fresh process could answer,
and that much more RSS). :class:`ViewFile` reads the view in place instead.
"""

from __future__ import annotations

from whoosh.filedb.structfile import BufferFile
from whoosh.matching.binary import AndNotMatcher

_applied = False


class ViewFile:
    """A read-only file over a buffer, without copying it: what ``StructFile`` methods and
    ``pickle.load`` call (``peek`` lets the unpickler read ahead instead of byte by byte)."""

    __slots__ = ("_view", "_pos", "closed")

    def __init__(self, buf) -> None:
        self._view = memoryview(buf).cast("B")
        self._pos = 0
        self.closed = False

    def read(self, n: int | None = -1) -> bytes:
        pos = self._pos
        end = len(self._view) if n is None or n < 0 else min(pos + n, len(self._view))
        self._pos = max(pos, end)
        return bytes(self._view[pos:end])

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def peek(self, n: int = 1) -> bytes:
        return bytes(self._view[self._pos : self._pos + max(n, 1)])

    def readline(self, limit: int = -1) -> bytes:
        view, pos = self._view, self._pos
        end = len(view) if limit is None or limit < 0 else min(pos + limit, len(view))
        i = bytes(view[pos:end]).find(b"\n")
        return self.read((end if i < 0 else pos + i + 1) - pos)

    def __iter__(self):
        while line := self.readline():
            yield line

    def seek(self, pos: int, whence: int = 0) -> int:
        base = (0, self._pos, len(self._view))[whence]
        if base + pos < 0:
            raise ValueError("negative seek position")
        self._pos = base + pos
        return self._pos

    def tell(self) -> int:
        return self._pos

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if not self.closed:
            self._view.release()
            self.closed = True


def apply() -> None:
    global _applied
    if _applied:
        return

    def _find_first(self):
        if self.a.is_active() and self.b.is_active():
            self._find_next()

    AndNotMatcher._find_first = _find_first  # type: ignore[method-assign]

    original_init = BufferFile.__init__

    def __init__(self, buf, name=None, onclose=None):
        original_init(self, b"", name=name, onclose=onclose)
        self._buf = buf
        self.file = ViewFile(buf)

    BufferFile.__init__ = __init__  # type: ignore[method-assign]
    _applied = True
