"""Word .docx (Office Open XML): body text in reading order, tables, text boxes, headers,
footers and footnotes, the core properties, and runs typed in legacy Vietnamese fonts.

python-docx opens the package and reads the core properties; the body is walked on its XML
(python-docx's paragraph API skips text boxes and content controls, and has no footnotes).
"""

from __future__ import annotations

import io
import zipfile

from vnsearch.ingest.extracted import Extracted, Unreadable
from vnsearch.ingest.fonts import convert_run

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_SKIP = {W + "del", W + "delText", W + "instrText", W + "rPr", W + "pPr", MC_FALLBACK,
         W + "footnoteReference", W + "endnoteReference", W + "commentReference"}  # fmt: skip


def read_docx(data: bytes) -> Extracted:
    import docx  # python-docx: imported here, only when a .docx is read
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as err:
        raise Unreadable(f"damaged .docx ({err})", skipped=False) from None
    fonts = _StyleFonts(document)
    out = Extracted()
    walker = _Walker(fonts, out)
    blocks = walker.blocks(document.element.body)
    title_at = _title_index(blocks)
    if title_at is not None:
        out.title = blocks[title_at][0]
        del blocks[title_at]
    out.blocks = [text for text, _ in blocks]
    for section in document.sections:
        for part in (section.header, section.footer):
            if part.is_linked_to_previous:
                continue
            for text, _ in walker.blocks(part._element):
                if text not in out.notes and not text.strip().isdigit():
                    out.notes.append(text)
    for partname in ("/word/footnotes.xml", "/word/endnotes.xml"):
        root = _part_xml(document, partname)
        if root is None:
            continue
        for note in root.iter(W + "footnote", W + "endnote"):
            if note.get(W + "type") in ("separator", "continuationSeparator"):
                continue
            out.notes.extend(text for text, _ in walker.blocks(note))
    out.meta = _core_properties(document)
    return out


def _title_index(blocks: list[tuple[str, str]]) -> int | None:
    """The first block if it is styled Title or a heading (a heading further down is a
    section heading, not the title)."""
    for k, (_, style) in enumerate(blocks[:3]):
        if style == "title" or (style == "heading" and k == 0):
            return k
    return None


def _part_xml(document, partname: str):
    from lxml import etree

    for part in document.part.package.iter_parts():
        if str(part.partname) == partname:
            return etree.fromstring(part.blob)
    return None


def _core_properties(document) -> dict:
    props = document.core_properties
    meta: dict = {}
    if props.title and props.title.strip():
        meta["title"] = props.title.strip()
    if props.author and props.author.strip():
        meta["author"] = props.author.strip()
    if props.created:
        meta["date"] = props.created.date().isoformat()
    if props.modified:
        meta["modified"] = props.modified.date().isoformat()
    if props.keywords and props.keywords.strip():
        meta["tags"] = props.keywords
    for name, key in (("subject", "subject"), ("category", "category"),
                      ("comments", "description")):  # fmt: skip
        value = getattr(props, name, "")
        if value and value.strip():
            meta[key] = value.strip()
    return meta


class _StyleFonts:
    """Fonts and kinds of the document's styles, following ``basedOn`` chains."""

    def __init__(self, document):
        self.by_id: dict[str, tuple[str | None, str | None, str]] = {}
        root = document.styles.element
        for style in root.iter(W + "style"):
            sid = style.get(W + "styleId")
            based = style.find(W + "basedOn")
            name = style.find(W + "name")
            name = (name.get(W + "val") if name is not None else sid or "").lower()
            kind = "title" if name == "title" else (
                "heading" if name.startswith("heading") or style.find(f"{W}pPr/{W}outlineLvl")
                is not None else "")
            self.by_id[sid] = (
                _rfonts(style.find(W + "rPr")),
                based.get(W + "val") if based is not None else None,
                kind,
            )
        defaults = root.find(f"{W}docDefaults/{W}rPrDefault/{W}rPr")
        self.default = _rfonts(defaults)
        self.default_para = next(
            (s.get(W + "styleId") for s in root.iter(W + "style")
             if s.get(W + "type") == "paragraph" and s.get(W + "default") in ("1", "true")),
            None,
        )  # fmt: skip

    def font(self, style_id: str | None) -> str | None:
        seen = set()
        while style_id and style_id not in seen and style_id in self.by_id:
            seen.add(style_id)
            font, based, _ = self.by_id[style_id]
            if font:
                return font
            style_id = based
        return None

    def kind(self, style_id: str | None) -> str:
        return self.by_id.get(style_id or "", (None, None, ""))[2]


def _rfonts(rpr) -> str | None:
    if rpr is None:
        return None
    fonts = rpr.find(W + "rFonts")
    if fonts is None:
        return None
    # Legacy letters are "high ANSI" characters: Word draws them in the hAnsi font.
    return fonts.get(W + "hAnsi") or fonts.get(W + "ascii") or fonts.get(W + "cs")


class _Walker:
    def __init__(self, fonts: _StyleFonts, out: Extracted):
        self.fonts = fonts
        self.out = out

    def blocks(self, parent) -> list[tuple[str, str]]:
        """(text, kind) for each paragraph and table under ``parent``, in order; kind is
        'title', 'heading' or ''. Text boxes come right after the paragraph holding them."""
        found: list[tuple[str, str]] = []
        for child in parent:
            tag = child.tag
            if tag == W + "p":
                text, kind, boxes = self._paragraph(child)
                if text.strip():
                    found.append((text.strip(), kind))
                for box in boxes:
                    found.extend(self.blocks(box))
            elif tag == W + "tbl":
                rows = []
                for row in child.iter(W + "tr"):
                    cells = []
                    for cell in row.findall(W + "tc"):
                        cell_text = " ".join(t for t, _ in self.blocks(cell))
                        if cell_text:
                            cells.append(cell_text.replace("\n", " "))
                    if cells:
                        rows.append("\t".join(cells))
                if rows:
                    found.append(("\n".join(rows), ""))
            elif tag in (W + "sdt", W + "sdtContent", W + "customXml", W + "ins"):
                found.extend(self.blocks(child))
        return found

    def _paragraph(self, p) -> tuple[str, str, list]:
        ppr = p.find(W + "pPr")
        style = None
        if ppr is not None and (ps := ppr.find(W + "pStyle")) is not None:
            style = ps.get(W + "val")
        style = style or self.fonts.default_para
        para_font = self.fonts.font(style) or self.fonts.default
        runs: list[tuple[str, str | None]] = []  # (text, font), neighbours in one font merged
        boxes: list = []
        self._runs(p, para_font, runs, boxes)
        text = "".join(self._convert(t, f) for t, f in runs)
        kind = self.fonts.kind(style)
        if ppr is not None and ppr.find(W + "outlineLvl") is not None and not kind:
            kind = "heading"
        return text, kind, boxes

    def _convert(self, text: str, font: str | None) -> str:
        converted, encoding = convert_run(text, font)
        self.out.add_encoding(encoding)
        return converted

    def _runs(self, el, para_font, runs, boxes) -> None:
        for child in el:
            tag = child.tag
            if tag in _SKIP:
                continue
            if tag == W + "txbxContent":
                boxes.append(child)
                continue
            if tag == W + "r":
                rpr = child.find(W + "rPr")
                font = _rfonts(rpr)
                if font is None and rpr is not None and (rs := rpr.find(W + "rStyle")) is not None:
                    font = self.fonts.font(rs.get(W + "val"))
                font = font or para_font
                self._run_text(child, font, runs, boxes)
                continue
            if tag == W + "p":  # a paragraph nested in a run's drawing: handled as a box
                continue
            self._runs(child, para_font, runs, boxes)

    def _run_text(self, run, font, runs, boxes) -> None:
        for child in run:
            tag = child.tag
            if tag == W + "t":
                _append(runs, child.text or "", font)
            elif tag == W + "tab":
                _append(runs, "\t", None)
            elif tag in (W + "br", W + "cr"):
                _append(runs, "\n", None)
            elif tag in (W + "noBreakHyphen", W + "softHyphen"):
                _append(runs, "-" if tag == W + "noBreakHyphen" else "", None)
            elif tag == W + "sym":
                code = child.get(W + "char")
                if code:
                    try:
                        _append(runs, chr(int(code, 16)), child.get(W + "font") or font)
                    except ValueError:
                        pass
            elif tag in _SKIP:
                continue
            else:  # drawings and pictures: their text boxes
                for box in child.iter(W + "txbxContent"):
                    if not any(a.tag == MC_FALLBACK for a in box.iterancestors()):
                        boxes.append(box)


def _append(runs: list[tuple[str, str | None]], text: str, font: str | None) -> None:
    if not text:
        return
    if runs and (runs[-1][1] == font or font is None and text.isspace()):
        runs[-1] = (runs[-1][0] + text, runs[-1][1])
    else:
        runs.append((text, font))
