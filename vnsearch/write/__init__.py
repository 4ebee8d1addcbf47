"""Writing an index: the indexing pipeline (analysis workers, batches, commits), the per-file
state that makes re-runs incremental, and the write lock."""
