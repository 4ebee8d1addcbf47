"""Everything that touches the pinned whoosh3 internals: the schema and its analyzer, runtime
fixes, and the fast segment writer."""

from vnsearch.codec import fixes as _fixes

_fixes.apply()  # before any index is opened: readers copy their files without it
