"""Files on disk → Documents: walking folders, decoding, the press-release text format, JSON
and JSON Lines records, dates. One bad file or line never stops a run: problems come out next to
the documents."""
