"""What a format reader gets out of one file, before it becomes a Document."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class Unreadable(ValueError):
    """A file that cannot give text; ``str(err)`` is the one-line reason users see.

    ``skipped`` marks a file that is not broken but has nothing we can read (a scan with no
    text layer, a password-protected PDF); else the file counts as failed.
    """

    def __init__(self, reason: str, *, skipped: bool = True):
        super().__init__(reason)
        self.skipped = skipped


@dataclass
class Extracted:
    """Text blocks in reading order and the metadata the file carries.

    ``title`` is set when the layout marks one (a Title or Heading style at the top, an
    ``<h1>``); ``meta`` holds metadata under the JSON record's names (``title``, ``author``,
    ``date``, ``tags``, ``summary``, ``category``, ``url``…; other keys are kept as extra).
    ``encoding_source`` names the legacy encoding converted (``tcvn3``, ``vni``…), if any.
    """

    blocks: list[str] = field(default_factory=list)
    title: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    encoding_source: str = ""
    pages: int = 0  # pages for a PDF; 0 when the format has none
    notes: list[str] = field(default_factory=list)  # headers, footers, footnotes: after the body

    def add_encoding(self, name: str | None) -> None:
        if name and name not in self.encoding_source.split("+"):
            self.encoding_source = "+".join(filter(None, [self.encoding_source, name]))
