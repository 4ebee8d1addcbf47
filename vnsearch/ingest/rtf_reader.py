"""Rich Text Format (.rtf, and the .doc files that Word and others saved as RTF): paragraphs,
table rows, footnotes, the ``\\info`` properties, and text in legacy Vietnamese fonts.

A small reader of our own: the packaged RTF-to-text converters drop the font table, and the
font of each run is what tells TCVN3 (``.VnTime``) or VNI (``VNI-Times``) text from Western
text. The 8-bit bytes of other fonts are decoded in the font's charset (``\\fcharset163`` is
Windows-1258) or the document's ``\\ansicpg``; ``\\uN`` characters are taken as they are.
"""

from __future__ import annotations

import re
import unicodedata

from vnsearch.ingest.extracted import Extracted, Unreadable
from vnsearch.ingest.fonts import convert_run, font_encoding

_TOKEN_RE = re.compile(
    rb"\\([a-zA-Z]{1,32})(-?\d{1,10})? ?"  # control word, its number, the space ending it
    rb"|\\'([0-9a-fA-F]{2})|\\([^a-zA-Z])"  # a byte in hex, a control symbol
    rb"|([{}])|([\r\n]+)|([^\\{}\r\n]+)"  # braces, line ends (ignored), text
)
_CHARSETS = {0: "cp1252", 163: "cp1258", 238: "cp1250", 204: "cp1251", 161: "cp1253",
             162: "cp1254", 177: "cp1255", 178: "cp1256", 186: "cp1257", 222: "cp874",
             128: "cp932", 134: "gbk", 129: "cp949", 136: "cp950", 2: "latin-1"}  # fmt: skip
# Destinations whose text is not the document's text.
_SKIP_DEST = {b"colortbl", b"stylesheet", b"pict", b"object", b"fldinst", b"themedata",
              b"datastore", b"latentstyles", b"listtable", b"listoverridetable", b"rsidtbl",
              b"generator", b"xmlnstbl", b"mmathPr", b"pgdsctbl", b"header", b"headerl",
              b"headerr", b"headerf", b"footer", b"footerl", b"footerr", b"footerf",
              b"bkmkstart", b"bkmkend", b"revtbl", b"filetbl", b"listtext", b"pntext",
              b"pntxta", b"pntxtb", b"template", b"operator", b"company", b"doccomm",
              b"comment", b"nonshppict", b"shpinst", b"sp", b"xe", b"tc", b"userprops"}  # fmt: skip
_INFO_FIELDS = {b"title": "title", b"author": "author", b"keywords": "tags", b"subject": "subject",
                b"category": "category"}  # fmt: skip
_SYMBOLS = {b"emdash": "\u2014", b"endash": "\u2013", b"lquote": "\u2018", b"rquote": "\u2019",
            b"ldblquote": "\u201c", b"rdblquote": "\u201d", b"bullet": "\u2022",
            b"tab": "\t", b"line": "\n", b"cell": "\t", b"emspace": " ", b"enspace": " ",
            b"qmspace": " "}  # fmt: skip


class _Group:
    __slots__ = ("font", "uc", "dest")

    def __init__(self, font=None, uc=1, dest=None):
        self.font, self.uc, self.dest = font, uc, dest


def read_rtf(data: bytes) -> Extracted:
    if not data.lstrip()[:5] == b"{\\rtf":
        raise Unreadable("not an RTF file", skipped=False)
    return _Reader(data).read()


class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.out = Extracted()
        self.fonts: dict[int, tuple[str, str | None]] = {}  # number -> (name, codec)
        self.codepage = "cp1252"
        self.default_font: int | None = None
        self.paragraph: list[str] = []
        self.note: list[str] = []  # the footnote being read
        self.pending = bytearray()  # 8-bit bytes of the current font not yet decoded
        self.pending_font: int | None = None
        self.info: dict[str, str] = {}
        self.created: dict[bytes, int] = {}
        self.field_text: dict[str, list[str]] = {}

    # --- output -------------------------------------------------------------------------------
    def _sink(self, group: _Group) -> list[str] | None:
        dest = group.dest
        if dest is None:
            return self.paragraph
        if dest == "footnote":
            return self.note
        if isinstance(dest, str) and dest.startswith("info:"):
            return self.field_text.setdefault(dest[5:], [])
        return None

    def _flush(self, group: _Group) -> None:
        if not self.pending:
            return
        data, font = bytes(self.pending), self.pending_font
        self.pending.clear()
        name, codec = self.fonts.get(font, ("", None)) if font is not None else ("", None)
        if font_encoding(name):
            text, encoding = convert_run(data.decode("latin-1"), name)
            self.out.add_encoding(encoding)
        else:
            text = data.decode(codec or self.codepage, errors="replace")
            if (codec or self.codepage) == "cp1258":
                self.out.add_encoding("cp1258")
        sink = self._sink(group)
        if sink is not None:
            sink.append(text)

    def _text(self, group: _Group, text: str) -> None:
        self._flush(group)
        sink = self._sink(group)
        if sink is not None:
            sink.append(text)

    def _bytes(self, group: _Group, data: bytes) -> None:
        if self._sink(group) is None:
            return
        if self.pending and self.pending_font != group.font:
            self._flush(group)
        self.pending_font = group.font
        self.pending += data

    def _end_paragraph(self, group: _Group) -> None:
        self._flush(group)
        parts = self.note if group.dest == "footnote" else self.paragraph
        text = unicodedata.normalize("NFC", "".join(parts)).strip()
        parts.clear()
        if text:
            if group.dest == "footnote":
                self.out.notes.append(text)
            else:
                self.out.blocks.append(text)

    # --- parsing ------------------------------------------------------------------------------
    def read(self) -> Extracted:
        stack: list[_Group] = []
        group = _Group()
        skip = 0  # characters still to skip after a \uN
        font_entry: list | None = None
        star = False
        for m in _TOKEN_RE.finditer(self.data):
            word, arg, hexbyte, symbol, brace, _newline, text = m.groups()
            if brace == b"{":
                self._flush(group)
                stack.append(group)
                group = _Group(group.font, group.uc, group.dest)
                star = False
                continue
            if brace == b"}":
                if group.dest == "font" and font_entry is not None and font_entry[0] is not None:
                    self._add_font(font_entry)
                    font_entry = [None, None, []]
                if group.dest == "footnote" and (not stack or stack[-1].dest != "footnote"):
                    self._end_paragraph(group)
                self._flush(group)
                if not stack:
                    break
                group = stack.pop()
                continue
            if _newline:
                continue
            if group.dest == "skip":
                continue
            if word is not None:
                if skip and word not in (b"u",):
                    skip -= 1
                    continue
                font_entry = self._control(word, arg, group, font_entry, star)
                if word == b"u" and arg is not None:
                    skip = group.uc
                star = False
                continue
            if symbol is not None:
                if symbol == b"*":
                    star = True
                    continue
                if skip:
                    skip -= 1
                    continue
                if symbol in (b"\\", b"{", b"}"):
                    self._char(group, font_entry, symbol)
                elif symbol == b"~":
                    self._text(group, "\u00a0")
                elif symbol == b"_":
                    self._text(group, "\u2011")
                elif symbol == b"\n" or symbol == b"\r":
                    self._end_paragraph(group)
                continue
            if hexbyte is not None:
                if skip:
                    skip -= 1
                    continue
                self._char(group, font_entry, bytes([int(hexbyte, 16)]))
                continue
            if text:
                if skip:
                    n = min(skip, len(text))
                    text, skip = text[n:], skip - n
                    if not text:
                        continue
                self._char(group, font_entry, text)
        self._end_paragraph(group)
        self._finish_info()
        return self.out

    def _char(self, group: _Group, font_entry, data: bytes) -> None:
        if group.dest == "font":
            if font_entry is not None:
                font_entry[2].append(data)
            return
        self._bytes(group, data)

    def _control(self, word: bytes, arg: bytes | None, group: _Group, font_entry, star: bool):
        n = int(arg) if arg is not None else None
        if word == b"fonttbl":
            group.dest = "font"
            return [None, None, []]
        if group.dest == "font":
            if font_entry is None:
                font_entry = [None, None, []]
            if word == b"f" and n is not None:
                if font_entry[0] is not None:
                    self._add_font(font_entry)
                    font_entry = [None, None, []]
                font_entry[0] = n
            elif word == b"fcharset" and n is not None:
                font_entry[1] = n
            elif word in (b"panose", b"falt", b"fname") or star:
                pass
            return font_entry
        if star or word in _SKIP_DEST:
            if word in (b"fldrslt",):
                return font_entry
            group.dest = "skip"
            return font_entry
        if word == b"info":
            group.dest = "info"
        elif group.dest == "info" and word in _INFO_FIELDS:
            group.dest = "info:" + _INFO_FIELDS[word]
        elif group.dest == "info" and word in (b"creatim", b"revtim", b"printim", b"buptim"):
            group.dest = "info:" + word.decode()
        elif group.dest == "info:creatim" and word in (b"yr", b"mo", b"dy"):
            self.created[word] = n or 0
        elif word == b"footnote":
            self._flush(group)
            group.dest = "footnote"
        elif word == b"ansicpg" and n:
            self.codepage = f"cp{n}"
        elif word == b"deff" and n is not None:
            self.default_font = n
        elif word == b"f" and n is not None:
            self._flush(group)
            group.font = n
        elif word == b"plain":
            self._flush(group)
            group.font = self.default_font
        elif word == b"uc" and n is not None:
            group.uc = n
        elif word == b"u" and n is not None:
            self._text(group, chr(n + 65536 if n < 0 else n))
        elif word in (b"par", b"row", b"sect", b"page"):
            self._end_paragraph(group)
        elif word in _SYMBOLS:
            self._text(group, _SYMBOLS[word])
        return font_entry

    def _add_font(self, entry) -> None:
        number, charset, parts = entry
        name = b"".join(parts).decode("latin-1").split(";")[0].strip()
        self.fonts[number] = (name, _CHARSETS.get(charset) if charset is not None else None)

    def _finish_info(self) -> None:
        meta = self.out.meta
        for key, parts in self.field_text.items():
            value = unicodedata.normalize("NFC", "".join(parts)).strip()
            if value and not key.endswith("tim"):
                meta[key] = value
        if self.created.get(b"yr"):
            y, mo, d = (self.created.get(k, 0) for k in (b"yr", b"mo", b"dy"))
            if mo and d:
                meta["date"] = f"{y:04d}-{mo:02d}-{d:02d}"
