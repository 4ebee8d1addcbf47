"""Helper processes forked by indexing and merging (analysis workers, merges)."""

from __future__ import annotations

import signal

__all__ = ["detach_from_parent"]


def detach_from_parent() -> None:
    """Make a forked helper leave Ctrl-C to its parent (which owns the index and stops the
    helpers) and die with a parent killed with -9 (Linux: the kernel kills it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass
