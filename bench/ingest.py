"""Ingestion throughput, as ratios to baselines measured in the same run.

1. JSON Lines: the floor is what any JSONL reader must pay, gunzip + ``orjson.loads`` per
   line; our reader adds decoding checks, key mapping, dates and problem reporting on top.
   Also prints the publication years the date rules give (the ``year`` facet).
2. Formats: the first ``--formats-docs`` baomoi articles (default 100) written as .txt (the
   baseline), TCVN3 .txt, .docx, two-column .pdf, .html news pages, .rtf and .odt in a
   scratch folder, then read back once each: docs/s, MB/s (bytes on disk) and, for PDF,
   pages/s, with each format's cost as a multiple of plain text.

    python bench/ingest.py [FILE.jsonl.gz ...] [--formats-docs N]

Defaults to the files under ../shared/data; skips (exit 0) when they are absent.
"""

from __future__ import annotations

import collections
import gzip
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import orjson  # noqa: E402

from vnsearch.ingest.readers import iter_documents  # noqa: E402
from vnsearch.write.report import IndexReport  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data")
DEFAULT_FILES = [
    os.path.join(DATA, "baomoi-35k.jsonl.gz"),
    os.path.join(DATA, "dev", "docs.jsonl.gz"),
]


def floor_rate(path: str) -> tuple[int, float]:
    t0 = time.perf_counter()
    n = 0
    with gzip.open(path, "rb") as f:
        for line in f:
            orjson.loads(line)
            n += 1
    return n, time.perf_counter() - t0


def ingest_rate(path: str) -> tuple[IndexReport, collections.Counter, collections.Counter, float]:
    report = IndexReport()
    sources: collections.Counter = collections.Counter()
    years: collections.Counter = collections.Counter()
    t0 = time.perf_counter()
    for doc in iter_documents([path], report=report):
        sources[doc.date_source] += 1
        years[doc.date[:4] if doc.date else "none"] += 1
    return report, sources, years, time.perf_counter() - t0


def main(paths: list[str]) -> int:
    present = [p for p in paths if os.path.exists(p)]
    if not present:
        print("bench/ingest.py: no benchmark data found; skipping", file=sys.stderr)
        return 0
    for path in present:
        n, floor = floor_rate(path)
        report, sources, years, ours = ingest_rate(path)
        print(f"{os.path.basename(path)}: {report.summary()}")
        print(f"  dates: {dict(sources)}")
        print(f"  years: {dict(sorted(years.items()))}")
        print(f"  floor (gunzip + orjson): {n / floor:,.0f} records/s")
        print(
            f"  vnsearch.ingest:         {report.read / ours:,.0f} docs/s  ({ours / floor:.2f}x the floor)"
        )
        for problem in report.problems[:10]:
            print(f"  {problem}")
    formats_bench(present[0], FORMATS_DOCS)
    return 0


# --------------------------------------------------------------------------------------------
# Formats
# --------------------------------------------------------------------------------------------
FORMATS_DOCS = 100
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _articles(path: str, n: int) -> list[dict]:
    out = []
    with gzip.open(path, "rb") as f:
        for line in f:
            r = orjson.loads(line)
            if r.get("title") and r.get("body"):
                out.append(r)
            if len(out) == n:
                break
    return out


def _paragraphs(r: dict) -> list[str]:
    body = r["body"]
    sentences = [s.strip() for s in body.replace("\n", " ").split(". ") if s.strip()]
    paras = [". ".join(sentences[k : k + 4]) for k in range(0, len(sentences), 4)]
    return [p for p in [r.get("summary") or "", *paras] if p]


def _write_txt(r, path):
    path.write_text(r["title"] + "\n\n" + "\n\n".join(_paragraphs(r)) + "\n", encoding="utf-8")


def _write_tcvn3(r, path):
    from vnsearch.ingest.encodings import encode_tcvn3

    text = r["title"] + "\n\n" + "\n\n".join(_paragraphs(r)) + "\n"
    out = bytearray()
    for c in text:  # letters TCVN3 has no code for (quotes, dashes) as a space
        try:
            out += encode_tcvn3(c)
        except UnicodeEncodeError:
            out += b" "
    path.write_bytes(bytes(out))


def _write_docx(r, path):
    import docx

    d = docx.Document()
    d.core_properties.title = r["title"]
    d.add_heading(r["title"], 0)
    for p in _paragraphs(r):
        d.add_paragraph(p)
    d.save(str(path))


def _write_pdf(r, path):
    from xml.sax.saxutils import escape

    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate, Paragraph

    if "DejaVu" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVu", FONT))
    style = ParagraphStyle("body", fontName="DejaVu", fontSize=9, leading=11, spaceAfter=6)
    width, height = A4
    col = (width - 3 * 36) / 2
    frames = [Frame(36, 36, col, height - 72, id="left"),
              Frame(72 + col, 36, col, height - 72, id="right")]  # fmt: skip
    doc = BaseDocTemplate(str(path), pagesize=A4, pageTemplates=[PageTemplate("two", frames)],
                          title=r["title"])  # fmt: skip
    story = [Paragraph(escape(r["title"]), ParagraphStyle("h", parent=style, fontSize=13,
                                                          leading=16))]  # fmt: skip
    story += [Paragraph(escape(p), style) for p in _paragraphs(r)]
    doc.build(story)


_PAGE = """<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>{t} - Báo</title>
<meta name="author" content="Phóng viên"><meta property="article:published_time"
content="2017-06-01T08:00:00+07:00"></head><body><nav><ul><li><a href="/">Trang chủ</a></li>
<li><a href="/x">Thời sự</a></li><li><a href="/y">Kinh tế</a></li></ul></nav>
<article><h1>{t}</h1>{ps}</article><div class="related"><h3>Tin liên quan</h3><ul>
<li><a href="/a">Tin khác một</a></li><li><a href="/b">Tin khác hai</a></li></ul></div>
<div class="comments"><p>Bạn đọc: bài viết hay.</p></div><footer>Bản quyền</footer></body></html>"""


def _write_html(r, path):
    from html import escape

    ps = "".join(f"<p>{escape(p)}</p>" for p in _paragraphs(r))
    path.write_text(_PAGE.format(t=escape(r["title"]), ps=ps), encoding="utf-8")


def _rtf_text(text: str) -> str:
    out = []
    for c in text:
        if c in "\\{}":
            out.append("\\" + c)
        elif ord(c) < 128:
            out.append(c)
        else:
            code = ord(c)
            out.append(f"\\u{code if code < 32768 else code - 65536}?")
    return "".join(out)


def _write_rtf(r, path):
    parts = [r"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0 Times New Roman;}}"]
    parts += [r"\pard " + _rtf_text(p) + r"\par" for p in [r["title"], *_paragraphs(r)]]
    path.write_text("\n".join(parts) + "}", encoding="ascii")


def _write_odt(r, path):
    import zipfile
    from xml.sax.saxutils import escape

    ns = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"')  # fmt: skip
    body = f'<text:h text:outline-level="1">{escape(r["title"])}</text:h>' + "".join(
        f"<text:p>{escape(p)}</text:p>" for p in _paragraphs(r))
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns}>'
               f"<office:body><office:text>{body}</office:text></office:body>"
               "</office:document-content>")  # fmt: skip
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        z.writestr("content.xml", content)


WRITERS = {
    "txt": ("txt", _write_txt), "txt-tcvn3": ("txt", _write_tcvn3),
    "docx": ("docx", _write_docx), "pdf": ("pdf", _write_pdf), "html": ("html", _write_html),
    "rtf": ("rtf", _write_rtf), "odt": ("odt", _write_odt),
}  # fmt: skip


def formats_bench(path: str, n: int) -> None:
    import tempfile
    from pathlib import Path

    articles = _articles(path, n)
    print(f"\nformats: the first {len(articles)} articles of {os.path.basename(path)}, "
          "read back once each")  # fmt: skip
    base = None
    with tempfile.TemporaryDirectory() as tmp:
        for name, (ext, write) in WRITERS.items():
            folder = Path(tmp) / name
            folder.mkdir()
            try:
                for k, r in enumerate(articles):
                    write(r, folder / f"{k:04d}.{ext}")
            except (ImportError, OSError) as err:
                print(f"  {name:10} cannot write the files ({err}): skipped")
                continue
            size = sum(p.stat().st_size for p in folder.iterdir())
            report = IndexReport()
            pages = 0
            t0 = time.perf_counter()
            for doc in iter_documents([str(folder)], report=report):
                pages += int(doc.extra.get("pages", 0))
            seconds = time.perf_counter() - t0
            rate = report.read / seconds
            base = base or rate
            extra = f", {pages / seconds:6.1f} pages/s ({pages} pages)" if pages else ""
            print(f"  {name:10} {rate:8.1f} docs/s {size / seconds / 1e6:6.2f} MB/s"
                  f"{extra}; {base / rate:6.1f}x the time of .txt"
                  f"{'' if not report.problems else f'; problems: {len(report.problems)}'}")


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--formats-docs" in args:
        at = args.index("--formats-docs")
        FORMATS_DOCS = int(args[at + 1])
        del args[at : at + 2]
    sys.exit(main(args or DEFAULT_FILES))
