"""Everything that touches the pinned whoosh3 internals: the schema and its analyzer, runtime
fixes, and the fast segment writer."""
