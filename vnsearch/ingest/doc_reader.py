"""Legacy Word .doc (Word 97-2003 binary) through antiword, the packaged converter
(``apt-get install antiword``); without it the file is skipped with that reason.

A .doc that is really RTF, HTML or a PDF (many programs save those under .doc) never comes here:
the format is recognised by content first.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import unicodedata

from vnsearch.ingest.extracted import Extracted, Unreadable

#: The seconds antiword may take on one file before it counts as stuck.
TIMEOUT = 60


def read_doc(data: bytes) -> Extracted:
    exe = shutil.which("antiword")
    if exe is None:
        raise Unreadable(
            "legacy Word .doc (Word 97-2003): no converter installed "
            "(install antiword, or save it as .docx)"
        )
    fd, tmp = tempfile.mkstemp(suffix=".doc")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        try:
            run = subprocess.run(
                [exe, "-m", "UTF-8.txt", "-w", "0", tmp],
                capture_output=True, timeout=TIMEOUT, check=False,
            )
        except subprocess.TimeoutExpired:
            raise Unreadable(f"legacy Word .doc: antiword took over {TIMEOUT} s",
                             skipped=False) from None
    finally:
        os.unlink(tmp)
    if run.returncode != 0:
        lines = run.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = lines[-1] if lines else f"exit status {run.returncode}"
        if "encrypted" in reason.lower() or "password" in reason.lower():
            raise Unreadable("encrypted Word .doc (a password is needed to open it)")
        raise Unreadable(f"legacy Word .doc: antiword could not read it ({reason})",
                         skipped=False)
    text = unicodedata.normalize("NFC", run.stdout.decode("utf-8", "replace"))
    out = Extracted()
    out.blocks = [" ".join(p.split()) for p in text.split("\n") if p.strip()]
    if not out.blocks:
        raise Unreadable("legacy Word .doc with no text")
    return out
