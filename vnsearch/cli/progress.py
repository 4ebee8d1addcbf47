"""The indexing progress bar: click's bar on stderr, shown once a run lasts over two seconds."""

from __future__ import annotations

import sys

__all__ = ["ProgressBar"]

#: Runs shorter than this never show a bar.
SHOW_AFTER_SECONDS = 2.0


class ProgressBar:
    """Feed it :class:`vnsearch.write.report.Progress` snapshots (``update``); ``close`` at
    the end.

    The bar's length is bytes of input (so big files count for what they weigh); the label
    shows documents written and the rate in documents per second; click adds the ETA.
    """

    def __init__(self, file=None):
        self.file = file or sys.stderr
        self._bar = None
        self._shown = 0

    def update(self, progress) -> None:
        import click

        if self._bar is None:
            if progress.seconds < SHOW_AFTER_SECONDS or progress.bytes_total <= 0:
                return
            self._bar = click.progressbar(
                length=progress.bytes_total, label="indexing", file=self.file, show_eta=True,
                show_percent=True, item_show_func=_describe, width=24,
            )
            self._bar.__enter__()
        target = min(progress.bytes_done, progress.bytes_total)
        self._bar.update(max(0, target - self._shown), current_item=progress)
        self._shown = max(self._shown, target)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


def _describe(progress) -> str:
    if progress is None:
        return ""
    rate = progress.docs / progress.seconds if progress.seconds > 0 else 0.0
    return f"{progress.docs} docs, {rate:.0f} docs/s"
