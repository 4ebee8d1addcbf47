"""The ``vnsearch`` command: a thin layer over :class:`vnsearch.Index` (commands, rendering,
batch queries, progress)."""

from vnsearch.cli.commands import cli, main

__all__ = ["cli", "main"]
