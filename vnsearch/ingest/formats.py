"""Documents in office and web formats: recognising the format by content (a PDF saved as
.doc is a PDF), running the format's reader, and turning what it found into a Document the
same way a text press release is (title, byline, lead, body, tags, dates).

The readers import their libraries when first used, so ``import vnsearch`` stays fast.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable

from vnsearch.document import Document
from vnsearch.ingest.encodings import repair_misdecoded
from vnsearch.ingest.extracted import Extracted, Unreadable
from vnsearch.ingest.press_release import parse_press_release

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HTML_START_RE = re.compile(rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)",
                            re.IGNORECASE | re.DOTALL)  # fmt: skip
_NAMES = {"docx": "Word .docx", "odt": "OpenDocument .odt", "pdf": "PDF", "rtf": "RTF",
          "doc": "Word .doc", "html": "web page"}  # fmt: skip


def sniff_kind(data: bytes, named: str) -> str:
    """The format ``data`` is in, whatever the extension said (``named``): 'pdf', 'docx',
    'odt', 'rtf', 'doc', 'html', or ``named`` when the content does not tell."""
    head = data[:2048]
    if head.startswith(b"%PDF-") or b"%PDF-" in head[:1024] and named == "pdf":
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(data) or named
    if head.startswith(_OLE_MAGIC):
        return "doc"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"{\\rtf"):
        return "rtf"
    if _HTML_START_RE.match(stripped) or named == "doc" and stripped[:1] == b"<":
        return "html"
    if named == "doc":  # text saved as .doc
        return "text"
    return named


def _zip_kind(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = set(z.namelist())
            if "word/document.xml" in names:
                return "docx"
            if "mimetype" in names and z.read("mimetype").strip() == (
                b"application/vnd.oasis.opendocument.text"
            ):
                return "odt"
    except (zipfile.BadZipFile, OSError, KeyError):
        return None
    return "zip"


def _reader(kind: str) -> Callable[[bytes], Extracted]:
    if kind == "docx":
        from vnsearch.ingest.docx_reader import read_docx as read
    elif kind == "odt":
        from vnsearch.ingest.odt_reader import read_odt as read
    elif kind == "pdf":
        from vnsearch.ingest.pdf_reader import read_pdf as read
    elif kind == "rtf":
        from vnsearch.ingest.rtf_reader import read_rtf as read
    elif kind == "doc":
        from vnsearch.ingest.doc_reader import read_doc as read
    elif kind == "html":
        from vnsearch.ingest.html_reader import read_html as read
    elif kind == "zip":
        raise Unreadable("a zip archive that is not a .docx or .odt document")
    else:
        raise Unreadable(f"unsupported format {kind!r}", skipped=False)
    return read


def extract(data: bytes, kind: str) -> Extracted:
    """Run the reader of ``kind`` on ``data``. Raises :class:`Unreadable` with the reason; a
    library error on a damaged file is turned into one too (one bad file never stops a run)."""
    read = _reader(kind)
    try:
        return read(data)
    except Unreadable:
        raise
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as err:  # noqa: BLE001 - third-party readers raise anything on bad input
        detail = str(err).strip().splitlines()[0][:200] if str(err).strip() else ""
        raise Unreadable(
            f"cannot read this {_NAMES.get(kind, kind)} ({type(err).__name__}"
            f"{': ' + detail if detail else ''})",
            skipped=False,
        ) from None


def to_document(found: Extracted, doc_id: str, path: str = "") -> Document:
    """A Document from what a reader found: the marked title (or the title property, or the
    first line), then byline, lead, body and tags as in a text press release; the file's
    properties win over what the layout suggests, as front matter does; headers, footers and
    footnotes go after the body."""
    _repair(found)
    meta = dict(found.meta)
    blocks = list(found.blocks)
    title = found.title
    if title:
        meta.pop("title", None)  # the heading shown in the document beats a stale property
    elif meta.get("title") and blocks and _same(blocks[0], meta["title"]):
        title = blocks.pop(0)  # the title property repeats the first line: one title
    lines = ([f"# {title}"] if title else []) + blocks
    doc = parse_press_release("\n\n".join(lines), doc_id, path, meta=meta)
    notes = [n for n in found.notes if n.strip()]
    if notes:
        doc.body = "\n\n".join(filter(None, [doc.body, *notes]))
    doc.encoding_source = found.encoding_source
    if found.pages:
        doc.extra["pages"] = found.pages
    return doc


def _repair(found: Extracted) -> None:
    """Text that came out as gibberish (a page in TCVN3 declared as Windows-1252, mojibake
    pasted into a document) repaired in place, judged on the whole text (see
    :func:`~vnsearch.ingest.encodings.repair_misdecoded`)."""
    parts = [found.title, *found.blocks, *found.notes]
    if any("\n\n" in p for p in parts):
        return
    repaired = repair_misdecoded("\n\n".join(parts))
    if repaired is None:
        return
    fixed = repaired[0].split("\n\n")
    if len(fixed) != len(parts):
        return
    found.title = fixed[0]
    found.blocks = fixed[1 : 1 + len(found.blocks)]
    found.notes = fixed[1 + len(found.blocks) :]
    found.add_encoding(repaired[1])


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(str(b).split()).casefold()
