"""OpenDocument text (.odt): headings, paragraphs, lists, tables, frames and notes in order,
the ``meta.xml`` properties, and runs in legacy Vietnamese fonts.

An .odt is a zip of XML files; the standard library reads it (no dependency for the little
we need: text, style fonts and a handful of metadata elements).
"""

from __future__ import annotations

import io
import zipfile
from xml.etree import ElementTree as ET

from vnsearch.ingest.extracted import Extracted, Unreadable
from vnsearch.ingest.fonts import convert_run

NS = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "draw": "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0",
    "fo": "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0",
    "svg": "urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0",
    "dc": "http://purl.org/dc/elements/1.1/",
    "meta": "urn:oasis:names:tc:opendocument:xmlns:meta:1.0",
}
T = "{%s}" % NS["text"]
_BLOCKS = {T + "p", T + "h"}
_SKIP = {T + "note-citation", T + "tracked-changes", "{%s}annotation" % NS["office"]}


def _q(prefix: str, name: str) -> str:
    return "{%s}%s" % (NS[prefix], name)


def read_odt(data: bytes) -> Extracted:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            content = ET.fromstring(z.read("content.xml"))
            styles = ET.fromstring(z.read("styles.xml")) if "styles.xml" in z.namelist() else None
            meta = ET.fromstring(z.read("meta.xml")) if "meta.xml" in z.namelist() else None
    except (zipfile.BadZipFile, KeyError, ET.ParseError) as err:
        raise Unreadable(f"damaged .odt ({err})", skipped=False) from None
    out = Extracted()
    fonts = _Fonts([content, styles])
    blocks: list[tuple[str, str]] = []
    notes: list[str] = []
    body = content.find(f"{_q('office', 'body')}/{_q('office', 'text')}")
    if body is not None:
        _walk(body, fonts, out, blocks, notes)
    if blocks and blocks[0][1] == "heading":
        out.title = blocks.pop(0)[0]
    out.blocks = [text for text, _ in blocks]
    out.notes = notes
    out.meta = _meta(meta)
    return out


class _Fonts:
    def __init__(self, roots):
        self.faces: dict[str, str] = {}
        self.styles: dict[str, tuple[str | None, str | None]] = {}
        for root in roots:
            if root is None:
                continue
            for face in root.iter(_q("style", "font-face")):
                family = face.get(_q("svg", "font-family")) or face.get(_q("style", "name"))
                self.faces[face.get(_q("style", "name"))] = family.strip("'\"")
            for style in root.iter(_q("style", "style")):
                props = style.find(_q("style", "text-properties"))
                font = None
                if props is not None:
                    font = props.get(_q("style", "font-name"))
                    font = self.faces.get(font, font) if font else props.get(
                        _q("fo", "font-family"))
                self.styles[style.get(_q("style", "name"))] = (
                    font.strip("'\"") if font else None,
                    style.get(_q("style", "parent-style-name")),
                )

    def font(self, style: str | None, inherited: str | None) -> str | None:
        seen = set()
        while style and style not in seen and style in self.styles:
            seen.add(style)
            font, parent = self.styles[style]
            if font:
                return font
            style = parent
        return inherited


def _walk(el, fonts: _Fonts, out: Extracted, blocks, notes) -> None:
    for child in el:
        tag = child.tag
        if tag in _BLOCKS:
            boxes: list = []
            note_bodies: list = []
            font = fonts.font(child.get(T + "style-name"), None)
            text = "".join(_inline(child, font, fonts, out, boxes, note_bodies)).strip()
            if text:
                blocks.append((text, "heading" if tag == T + "h" else ""))
            for box in boxes:
                _walk(box, fonts, out, blocks, notes)
            for note in note_bodies:
                sub: list[tuple[str, str]] = []
                _walk(note, fonts, out, sub, notes)
                notes.extend(t for t, _ in sub)
        elif tag == _q("table", "table"):
            rows = []
            for row in child.iter(_q("table", "table-row")):
                cells = []
                for cell in row.findall(_q("table", "table-cell")):
                    sub = []
                    _walk(cell, fonts, out, sub, notes)
                    cell_text = " ".join(t for t, _ in sub).replace("\n", " ")
                    if cell_text:
                        cells.append(cell_text)
                if cells:
                    rows.append("\t".join(cells))
            if rows:
                blocks.append(("\n".join(rows), ""))
        elif tag in _SKIP or tag.startswith("{%s}" % NS["office"]) and tag.endswith("forms"):
            continue
        else:  # lists, sections, frames: their paragraphs
            _walk(child, fonts, out, blocks, notes)


def _inline(el, font, fonts: _Fonts, out: Extracted, boxes, note_bodies):
    if el.text:
        yield _convert(el.text, font, out)
    for child in el:
        tag = child.tag
        if tag == T + "s":
            yield " " * int(child.get(T + "c", "1") or 1)
        elif tag == T + "tab":
            yield "\t"
        elif tag == T + "line-break":
            yield "\n"
        elif tag == T + "note":
            body = child.find(T + "note-body")
            if body is not None:
                note_bodies.append(body)
        elif tag == _q("draw", "frame"):
            box = child.find(_q("draw", "text-box"))
            if box is not None:
                boxes.append(box)
        elif tag not in _SKIP:
            inner = fonts.font(child.get(T + "style-name"), font)
            yield from _inline(child, inner, fonts, out, boxes, note_bodies)
        if child.tail:
            yield _convert(child.tail, font, out)


def _convert(text: str, font: str | None, out: Extracted) -> str:
    converted, encoding = convert_run(text, font)
    out.add_encoding(encoding)
    return converted


def _meta(root) -> dict:
    meta: dict = {}
    if root is None:
        return meta
    office_meta = root.find(_q("office", "meta"))
    if office_meta is None:
        return meta

    def first(*names: str) -> str:
        for name in names:
            prefix, local = name.split(":")
            el = office_meta.find(_q(prefix, local))
            if el is not None and el.text and el.text.strip():
                return el.text.strip()
        return ""

    fields = {
        "title": ("dc:title",),
        "author": ("meta:initial-creator", "dc:creator"),
        "date": ("meta:creation-date", "dc:date"),
        "modified": ("dc:date",),
        "subject": ("dc:subject",),
        "description": ("dc:description",),
    }
    for key, names in fields.items():
        value = first(*names)
        if value:
            meta[key] = value[:10] if key in ("date", "modified") else value
    keywords = [k.text.strip() for k in office_meta.findall(_q("meta", "keyword")) if k.text]
    if keywords:
        meta["tags"] = [k for k in keywords if k]
    return meta
