"""Text typed in legacy Vietnamese fonts inside Word, RTF and OpenDocument files.

Before Unicode, Vietnamese offices typed in fonts that draw Vietnamese letters on the codes of
Western ones: the ABC fonts (``.VnTime``, ``.VnArial``… TCVN3) and the VNI fonts (``VNI-Times``…
VNI Windows). A document keeps the codes, so its text reads as Latin-1 gibberish ("Th«ng b¸o")
while the font name says which table the codes are in. :func:`convert_run` turns one run of
such text into Unicode; a font whose name ends in ``H`` (``.VnTimeH``) is the upper-case face,
which draws the lower-case codes as capitals.
"""

from __future__ import annotations

import re
import unicodedata

from vnsearch.ingest.encodings import decode_tcvn3, decode_vni

TCVN3 = "tcvn3"
VNI = "vni"

_TCVN3_FONT_RE = re.compile(r"^\s*\.?vn[a-z]", re.IGNORECASE)  # .VnTime, .VnArialH, VnTime
_VNI_FONT_RE = re.compile(r"^\s*vni[\s_-]", re.IGNORECASE)  # VNI-Times, VNI-Helve


def font_encoding(font: str | None) -> str | None:
    """'tcvn3' for an ABC font name, 'vni' for a VNI font name, else None."""
    if not font:
        return None
    if font.lstrip().startswith(".") and _TCVN3_FONT_RE.match(font):
        return TCVN3
    if _VNI_FONT_RE.match(font):
        return VNI
    return None


def _upper_face(font: str) -> bool:
    """An ABC upper-case face: ``.VnTimeH``, ``.VnArialH``, ``.VnCentury SchoolbookH``."""
    name = font.strip()
    return name[-1:] == "H" and name[-2:-1].islower()


def _legacy_bytes(text: str) -> bytes | None:
    """The 8-bit codes a legacy-font run was typed with, or None when the run holds real
    Unicode letters (text typed later in a Unicode font but tagged with the old font name).

    Word stores the codes as the Windows-1252 characters of those bytes, or as U+F0xx (the
    private-use area symbol fonts map to) when the font is flagged as a symbol font.
    """
    out = bytearray()
    for ch in text:
        code = ord(ch)
        if code < 0x100:
            out.append(code)
        elif 0xF000 <= code <= 0xF0FF:
            out.append(code - 0xF000)
        else:
            try:
                out += ch.encode("cp1252")
            except UnicodeEncodeError:
                return None
    return bytes(out)


def convert_run(text: str, font: str | None) -> tuple[str, str | None]:
    """(text in Unicode NFC, encoding used) for one run of ``text`` drawn in ``font``.

    Text in any other font, or holding letters no legacy font can produce, is returned as is
    with None.
    """
    encoding = font_encoding(font)
    if encoding is None or not text or text.isascii():
        return text, None
    data = _legacy_bytes(text)
    if data is None:
        return text, None
    if encoding == TCVN3:
        converted = decode_tcvn3(data)
        if _upper_face(font or ""):
            converted = converted.upper()
    else:
        converted = decode_vni(data)
    return unicodedata.normalize("NFC", converted), encoding
