"""Errors users can act on. Each carries the CLI exit code it maps to."""

from __future__ import annotations

#: Exit codes of the ``vnsearch`` command (documented in README.md).
EXIT_OK = 0
EXIT_NO_RESULTS = 1  # a valid query matched nothing
EXIT_ERROR = 2  # bad query, missing/corrupt index, nothing could be indexed
EXIT_PARTIAL = 3  # indexing: some files failed, the rest was indexed
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)


class VnsearchError(Exception):
    """Base class: a one-line message meant for the user, and an exit code."""

    exit_code = EXIT_ERROR


class QueryError(VnsearchError):
    """The query cannot be parsed or is refused (too long, bad date...)."""


class IndexNotFoundError(VnsearchError):
    """No index at the given location."""


class IndexFormatError(VnsearchError):
    """The index was written by an incompatible version or is corrupt."""


class IndexWriteError(VnsearchError):
    """The system refused a write to the index (a full disk, an I/O error, no permission);
    the index keeps its last commit."""


class OutputError(VnsearchError):
    """Standard output cannot be written (a full disk, ``>/dev/full``)."""


class IndexLockedError(VnsearchError):
    """Another process holds the index write lock."""


class DocumentNotFoundError(VnsearchError):
    """No document with that id."""


class DuplicateStoreError(VnsearchError):
    """The duplicate sidecar of an index cannot be used as asked."""


class IngestError(VnsearchError):
    """A file or record could not be read as a document."""


class ArgumentTypeError(VnsearchError, TypeError):
    """A Python API argument of the wrong type (``ix.search(123)``): a ``TypeError`` that
    says what was expected."""


class QueryTypeError(QueryError, ArgumentTypeError):
    """A search option of the wrong type (``limit="10"``)."""


def expect(value, types: type | tuple[type, ...], name: str, what: str, error=ArgumentTypeError):
    """``value`` if it is one of ``types`` (``bool`` only when named), else ``error``:
    ``{name} must be {what}, not {type}``."""
    types = types if isinstance(types, tuple) else (types,)
    if isinstance(value, types) and (bool in types or not isinstance(value, bool)):
        return value
    raise error(f"{name} must be {what}, not {type(value).__name__} {_short_repr(value)}")


def _short_repr(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
