"""Files on disk → Documents: folder walking (walk), reading one file (readers), JSON records
(records), the press-release text format (press_release), office and web formats, encodings,
dates, authors and tags.

The contract: one bad file or one bad line never stops a run. Everything that could not be
used comes out as an :class:`IngestProblem` (``path[:line]: reason``) next to the documents,
so the caller can count and print them.

Typical use (:class:`vnsearch.write.report.IndexReport` counts what comes out)::

    report = IndexReport()
    for doc in iter_documents(["seeds"], report=report):
        ...
    print(report.summary(), file=sys.stderr)
"""
