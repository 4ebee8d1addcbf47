"""PDF: text in reading order page by page (pdfminer.six's layout analysis puts the columns
of a press layout one after the other), the info dictionary and XMP metadata.

A PDF with pages but no text (a scan) and one that needs a password are refused with the
reason; a PDF that opens with the empty user password (only printing or copying restricted)
is read.
"""

from __future__ import annotations

import io
import re
import unicodedata

from vnsearch.ingest.extracted import Extracted, Unreadable
from vnsearch.ingest.fonts import convert_run, font_encoding

#: Titles that PDF writers put in the info dictionary and that are not the document's title.
_JUNK_TITLE_RE = re.compile(
    r"^(?:microsoft (?:word|powerpoint|excel) - .*|untitled.*|.*\.(?:docx?|pdf|odt|rtf|txt))$",
    re.IGNORECASE,
)
_PDF_DATE_RE = re.compile(r"^(?:D:)?(\d{4})(\d{2})?(\d{2})?")


def read_pdf(data: bytes) -> Extracted:
    from pdfminer.converter import PDFPageAggregator
    from pdfminer.layout import LAParams, LTTextBox, LTTextLine
    from pdfminer.pdfdocument import (
        PDFDocument,
        PDFEncryptionError,
        PDFPasswordIncorrect,
        PDFSyntaxError,
    )
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdfparser import PDFParser
    from pdfminer.psparser import PSException

    try:
        parser = PDFParser(io.BytesIO(data))
        document = PDFDocument(parser, password="")
    except PDFPasswordIncorrect:
        raise Unreadable("encrypted PDF (a password is needed to open it)") from None
    except PDFEncryptionError as err:
        raise Unreadable(f"encrypted PDF ({err})") from None
    except (PDFSyntaxError, PSException, ValueError, KeyError, TypeError) as err:
        raise Unreadable(f"damaged PDF ({err or type(err).__name__})", skipped=False) from None

    out = Extracted()
    out.meta = _metadata(document)
    manager = PDFResourceManager()
    # Boxes are put in reading order below (columns), not by pdfminer's boxes_flow.
    device = PDFPageAggregator(manager, laparams=LAParams(boxes_flow=None))
    interpreter = PDFPageInterpreter(manager, device)
    try:
        for page in PDFPage.create_pages(document):
            out.pages += 1
            interpreter.process_page(page)
            layout = device.get_result()
            boxes = []
            for item in layout:
                if isinstance(item, LTTextBox):
                    text = " ".join(
                        _line_text(line, out) for line in item if isinstance(line, LTTextLine)
                    )
                    text = " ".join(text.split())
                    if text:
                        boxes.append((item.x0, item.y0, item.x1, item.y1, text))
            out.blocks.extend(box[4] for box in reading_order(boxes, layout.width))
    except (PDFSyntaxError, PSException, ValueError, KeyError, TypeError) as err:
        if not out.blocks:
            raise Unreadable(f"damaged PDF ({err or type(err).__name__})", skipped=False) from None
        out.notes.append(f"[text after page {out.pages - 1} could not be read]")
    if out.pages and not out.blocks:
        raise Unreadable("no text layer (OCR needed)")
    if out.meta.get("title") and _JUNK_TITLE_RE.match(out.meta["title"]):
        out.meta["pdf_title"] = out.meta.pop("title")
    return out


#: A text box wider than this share of the page spans the columns (a headline, a wide photo
#: caption): the columns above it are read before it, those below after it.
FULL_WIDTH = 0.6


def reading_order(boxes: list[tuple], width: float) -> list[tuple]:
    """``(x0, y0, x1, y1, text)`` boxes of one page in reading order: from top to bottom in
    bands separated by full-width boxes; in each band, column by column from left to right
    (boxes whose horizontal extents overlap are one column), each from top to bottom."""
    ordered: list[tuple] = []
    band: list[tuple] = []
    for box in sorted(boxes, key=lambda b: (-b[3], b[0])):
        if width and box[2] - box[0] > FULL_WIDTH * width:
            ordered.extend(_columns(band))
            band = []
            ordered.append(box)
        else:
            band.append(box)
    ordered.extend(_columns(band))
    return ordered


def _columns(boxes: list[tuple]) -> list[tuple]:
    columns: list[list] = []  # [x0, x1, boxes]
    for box in sorted(boxes, key=lambda b: b[0]):
        if columns and box[0] < columns[-1][1]:  # overlaps the column being built
            columns[-1][1] = max(columns[-1][1], box[2])
            columns[-1][2].append(box)
        else:
            columns.append([box[0], box[2], [box]])
    return [b for _, _, col in columns for b in sorted(col, key=lambda b: -b[3])]


def _line_text(line, out: Extracted) -> str:
    """A line's text; characters drawn in a legacy Vietnamese font are converted."""
    from pdfminer.layout import LTChar

    text = line.get_text().rstrip("\n")
    fonts = {c.fontname.split("+")[-1] for c in line if isinstance(c, LTChar)}
    if not any(_legacy_font(f) for f in fonts):
        return unicodedata.normalize("NFC", text)
    parts: list[str] = []
    run: list[str] = []
    font = None
    for c in line:
        name = c.fontname.split("+")[-1] if isinstance(c, LTChar) else font
        if name != font and run:
            parts.append(_convert("".join(run), font, out))
            run = []
        font = name
        run.append(c.get_text())
    if run:
        parts.append(_convert("".join(run), font, out))
    return "".join(parts).rstrip("\n")


def _legacy_font(name: str) -> bool:
    return font_encoding(_pdf_font_name(name)) is not None


def _pdf_font_name(name: str) -> str:
    # PDF names drop the leading dot and spaces: ".VnTime" is "VnTime" or ".VnTime,Bold".
    base = name.split(",")[0].split("-Bold")[0]
    if base.lower().startswith("vn") and not base.lower().startswith("vni"):
        return "." + base
    return base


def _convert(text: str, font: str | None, out: Extracted) -> str:
    converted, encoding = convert_run(text, _pdf_font_name(font or ""))
    out.add_encoding(encoding)
    return converted


def _metadata(document) -> dict:
    from pdfminer.pdftypes import resolve1
    from pdfminer.utils import decode_text

    meta: dict = {}
    info: dict = {}
    for entry in document.info or []:
        info.update(entry)

    def text(key: str) -> str:
        value = resolve1(info.get(key))
        if isinstance(value, bytes):
            value = decode_text(value)
        return unicodedata.normalize("NFC", value).strip() if isinstance(value, str) else ""

    for key, name in (("title", "Title"), ("author", "Author"), ("subject", "Subject"),
                      ("tags", "Keywords"), ("creator", "Creator")):  # fmt: skip
        if value := text(name):
            meta[key] = value
    for key, name in (("date", "CreationDate"), ("modified", "ModDate")):
        if (m := _PDF_DATE_RE.match(text(name))) and m.group(3):
            meta[key] = "-".join(m.groups())
    if meta.get("author", "").lower() in ("anonymous", "unknown", "user", "admin"):
        meta.pop("author")  # what PDF writers put when nobody is named
    try:
        xmp = _xmp(document)
    except Exception:  # noqa: BLE001 - a broken XMP packet must not lose the text
        xmp = {}
    for key, value in xmp.items():
        meta.setdefault(key, value)
    return meta


def _xmp(document) -> dict:
    """dc:title, dc:creator, dc:subject (keywords), xmp:CreateDate from the XMP packet."""
    from xml.etree import ElementTree as ET

    from pdfminer.pdftypes import resolve1

    stream = resolve1(document.catalog.get("Metadata"))
    if stream is None or not hasattr(stream, "get_data"):
        return {}
    root = ET.fromstring(stream.get_data())
    dc = "{http://purl.org/dc/elements/1.1/}"
    rdf = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
    xmp = "{http://ns.adobe.com/xap/1.0/}"
    pdf = "{http://ns.adobe.com/pdf/1.3/}"

    def values(tag: str) -> list[str]:
        found = []
        for el in root.iter(tag):
            items = [li.text for li in el.iter(rdf + "li") if li.text and li.text.strip()]
            found.extend(items or ([el.text] if el.text and el.text.strip() else []))
        return [unicodedata.normalize("NFC", v.strip()) for v in found]

    meta: dict = {}
    if title := values(dc + "title"):
        meta["title"] = title[0]
    if creator := values(dc + "creator"):
        meta["author"] = ", ".join(creator)
    if subject := values(dc + "subject"):
        meta["tags"] = subject
    elif keywords := values(pdf + "Keywords"):
        meta["tags"] = keywords[0]
    created = values(xmp + "CreateDate")
    for el in root.iter(rdf + "Description"):  # attributes form: xmp:CreateDate="..."
        attribute = el.get(xmp + "CreateDate")
        created = created or ([attribute] if attribute else [])
    if created and (m := re.match(r"(\d{4})-(\d{2})-(\d{2})", created[0])):
        meta["date"] = "-".join(m.groups())
    return meta
