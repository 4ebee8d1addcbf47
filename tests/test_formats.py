"""Office and web formats, end to end: each fixture is written here by the library that makes
such files (python-docx, reportlab) or by hand (HTML, RTF, ODT), indexed through the Index
API, and checked for its exact text, title, author, date and tags, and for being found with a
highlighted snippet by a word of its body."""

from __future__ import annotations

import datetime
import io
import os
import struct
import zipfile

import pytest

from vnsearch import Index
from vnsearch.ingest.encodings import encode_tcvn3, encode_vni
from vnsearch.ingest.readers import iter_documents
from vnsearch.write.report import IndexReport

FONT_PATHS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/Library/Fonts/DejaVuSans.ttf",
)


def tcvn3_text(text: str) -> str:
    """What Word keeps for ``text`` typed in a .VnTime font: the TCVN3 codes as characters."""
    return encode_tcvn3(text).decode("latin-1")


def vni_text(text: str) -> str:
    return encode_vni(text).decode("cp1252")


def index_folder(tmp_path, files: dict[str, bytes]) -> tuple[Index, IndexReport]:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    ix = Index.create(str(tmp_path / "index"))
    report = ix.index_paths([str(folder)])
    return ix, report


def assert_highlighted(ix: Index, query: str, doc_id: str, word: str) -> None:
    """``doc_id`` is a hit for ``query``, with a snippet and ``word`` highlighted in its
    summary or body."""
    hits = ix.search(query, limit=20).hits
    hit = next((h for h in hits if h.id == doc_id), None)
    assert hit is not None, f"{doc_id} not found by {query!r}: {[h.id for h in hits]}"
    assert hit.snippet
    marked = [h.text[a:b].casefold() for h in hit.highlights if h.field in ("summary", "body")
              for a, b in h.spans]  # fmt: skip
    assert any(word in m for m in marked), marked


# --- .docx ----------------------------------------------------------------------------------
def make_docx_vntime() -> bytes:
    docx = pytest.importorskip("docx")
    d = docx.Document()
    props = d.core_properties
    props.title = "Tiêu đề cũ trong thuộc tính"
    props.author = "Phòng Văn hóa huyện Đông Anh"
    props.keywords = "văn hóa; lễ hội"
    props.created = datetime.datetime(2023, 8, 3, 9, 0)
    props.comments = ""
    d.add_heading("Thông báo tổ chức lễ hội làng", 0)
    lead = d.add_paragraph()
    run = lead.add_run(tcvn3_text("Sáng 3/8, huyện Đông Anh tổ chức lễ hội đình làng Cổ Loa."))
    run.font.name = ".VnTime"
    body = d.add_paragraph()
    run = body.add_run(tcvn3_text("thông báo khẩn"))
    run.font.name = ".VnTimeH"  # the upper-case face: lower-case codes drawn as capitals
    run = body.add_run(" gửi các xã về phương án bảo đảm an ninh.")
    run.font.name = "Times New Roman"
    vni = d.add_paragraph()
    vni.add_run(vni_text("Ban tổ chức mời nhân dân tham dự.")).font.name = "VNI-Times"
    table = d.add_table(rows=2, cols=2)
    for (r, c), text in {(0, 0): "Ngày", (0, 1): "Hoạt động", (1, 0): "4/8",
                         (1, 1): "Rước kiệu"}.items():  # fmt: skip
        table.cell(r, c).text = text
    d.sections[0].header.paragraphs[0].text = "ỦY BAN NHÂN DÂN HUYỆN ĐÔNG ANH"
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def test_docx_in_vntime_fonts(tmp_path):
    ix, report = index_folder(tmp_path, {"le-hoi.docx": make_docx_vntime()})
    assert (report.failed, report.skipped) == (0, 0), report.problems
    doc = ix.get("docs/le-hoi.docx")
    assert doc.title == "Thông báo tổ chức lễ hội làng"  # the heading, not the stale property
    assert doc.author == "Phòng Văn hóa huyện Đông Anh"
    assert (doc.date, doc.date_source) == ("2023-08-03", "metadata")
    assert doc.tags == ["văn hóa", "lễ hội"]
    assert doc.summary == "Sáng 3/8, huyện Đông Anh tổ chức lễ hội đình làng Cổ Loa."
    assert doc.body == (
        "THÔNG BÁO KHẨN gửi các xã về phương án bảo đảm an ninh.\n\n"
        "Ban tổ chức mời nhân dân tham dự.\n\n"
        "Ngày\tHoạt động\n4/8\tRước kiệu\n\n"
        "ỦY BAN NHÂN DÂN HUYỆN ĐÔNG ANH"
    )
    assert doc.encoding_source == "tcvn3+vni"
    assert_highlighted(ix, "đình làng", doc.id, "đình")
    assert_highlighted(ix, "rước kiệu", doc.id, "kiệu")


# --- PDF ------------------------------------------------------------------------------------
def _pdf(draw, *, encrypt=None, title="", author="", keywords="") -> bytes:
    pytest.importorskip("reportlab")
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    font = next((p for p in FONT_PATHS if os.path.exists(p)), None)
    if font is None:
        pytest.skip("no DejaVu Sans font to draw Vietnamese (apt-get install fonts-dejavu-core)")
    pdfmetrics.registerFont(TTFont("DejaVu", font))
    out = io.BytesIO()
    c = canvas.Canvas(out, encrypt=encrypt)
    c.setDateFormatter(lambda *_: "D:20230715083000+07'00'")
    if title:
        c.setTitle(title)
    if author:
        c.setAuthor(author)
    if keywords:
        c.setKeywords(keywords)
    draw(c)
    c.showPage()
    c.save()
    return out.getvalue()


def _two_columns(c) -> None:
    c.setFont("DejaVu", 16)
    c.drawString(60, 780, "Tuyển sinh đại học năm 2023")
    c.setFont("DejaVu", 10)
    columns = {
        60: ["Sáng 15/7, Bộ Giáo dục công bố", "điểm chuẩn của các trường", "đại học trên cả nước."],
        320: ["Cột phải nói về học phí", "và chính sách hỗ trợ", "sinh viên khó khăn."],
    }
    for x, lines in columns.items():
        for k, line in enumerate(lines):
            c.drawString(x, 740 - 14 * k, line)
    for k, line in enumerate(["Đoạn hai của cột trái bàn về", "nguyện vọng xét tuyển."]):
        c.drawString(60, 680 - 14 * k, line)


def test_two_column_pdf_in_reading_order(tmp_path):
    data = _pdf(_two_columns, title="Tuyển sinh đại học năm 2023", author="Trần Thị Bình",
                keywords="giáo dục, tuyển sinh")  # fmt: skip
    ix, report = index_folder(tmp_path, {"tuyen-sinh.pdf": data})
    assert (report.failed, report.skipped) == (0, 0), report.problems
    doc = ix.get("docs/tuyen-sinh.pdf")
    assert doc.title == "Tuyển sinh đại học năm 2023"
    assert doc.author == "Trần Thị Bình"
    assert (doc.date, doc.date_source) == ("2023-07-15", "metadata")
    assert doc.tags == ["giáo dục", "tuyển sinh"]
    assert doc.summary == "Sáng 15/7, Bộ Giáo dục công bố điểm chuẩn của các trường đại học trên cả nước."
    assert doc.body == (  # the left column whole, then the right one
        "Đoạn hai của cột trái bàn về nguyện vọng xét tuyển.\n\n"
        "Cột phải nói về học phí và chính sách hỗ trợ sinh viên khó khăn."
    )
    assert doc.extra["pages"] == 1
    assert_highlighted(ix, '"học phí"', doc.id, "học phí")


def test_encrypted_and_scanned_pdfs_are_skipped_with_the_reason(tmp_path):
    from reportlab.lib import pdfencrypt  # noqa: F401 - skips with _pdf when missing

    locked = _pdf(_two_columns, encrypt=pdfencrypt.StandardEncryption("secret"))
    # Only printing restricted: opens with the empty user password, so it is read.
    restricted = _pdf(_two_columns, encrypt=pdfencrypt.StandardEncryption(
        "", ownerPassword="owner", canPrint=0))

    def scan(c):
        from PIL import Image, ImageDraw
        from reportlab.lib.utils import ImageReader

        image = Image.new("RGB", (600, 200), "white")
        ImageDraw.Draw(image).text((10, 10), "THONG BAO", fill="black")
        c.drawImage(ImageReader(image), 50, 500, 450, 150)

    scanned = _pdf(scan)
    ix, report = index_folder(tmp_path, {"locked.pdf": locked, "restricted.pdf": restricted,
                                         "scan.pdf": scanned})  # fmt: skip
    assert sorted(str(p) for p in report.problems) == [
        "docs/locked.pdf: encrypted PDF (a password is needed to open it)",
        "docs/scan.pdf: no text layer (OCR needed)",
    ]
    assert report.skipped == 2 and report.failed == 0
    assert ix.get("docs/restricted.pdf").title == "Tuyển sinh đại học năm 2023"
    assert len(ix) == 1


def test_a_pdf_saved_as_doc_is_read_as_a_pdf(tmp_path):
    ix, report = index_folder(tmp_path, {"bao-cao.doc": _pdf(_two_columns)})
    assert report.problems == []
    assert ix.get("docs/bao-cao.doc").title == "Tuyển sinh đại học năm 2023"


# A Word 97 .doc written by hand: the FIB, one piece of UTF-16 text and the table stream, in
# a compound file (no Word or LibreOffice needed to make the fixture).
def make_word97(text: str) -> bytes:
    """A minimal Word 97 .doc: the FIB, one piece of UTF-16 text, in a compound file."""
    body = text.replace("\n", "\r")
    if not body.endswith("\r"):
        body += "\r"
    data = body.encode("utf-16-le")
    word = bytearray(4096)
    struct.pack_into("<HHHH", word, 0, 0xA5EC, 0x00C1, 0, 0x0409)
    struct.pack_into("<H", word, 0x0A, 0x0200 | 0x1000)  # fWhichTblStm (1Table), fExtChar
    struct.pack_into("<H", word, 0x0C, 0x00BF)
    struct.pack_into("<II", word, 0x18, 0x800, 0x800 + len(data))  # fcMin, fcMac (Word 6 era)
    struct.pack_into("<H", word, 0x20, 14)  # csw
    struct.pack_into("<H", word, 0x3E, 22)  # cslw
    struct.pack_into("<I", word, 0x40, 4096)  # cbMac
    struct.pack_into("<I", word, 0x4C, len(body))  # ccpText
    struct.pack_into("<H", word, 0x98, 93)  # cbRgFcLcb
    plc = struct.pack("<II", 0, len(body)) + struct.pack("<HIH", 0, 0x800, 0)
    clx = bytes([2]) + struct.pack("<I", len(plc)) + plc
    struct.pack_into("<II", word, 0x1A2, 0, len(clx))  # fcClx, lcbClx
    word[0x800 : 0x800 + len(data)] = data
    table = bytearray(4096)
    table[: len(clx)] = clx
    # An empty stylesheet (antiword reads one): cbStshi, then STSHI with no styles.
    stsh = struct.pack("<HHHHHHH3H", 18, 0, 10, 0, 0, 0, 0, 0, 0, 0)
    table[64 : 64 + len(stsh)] = stsh
    struct.pack_into("<II", word, 0xA2, 64, len(stsh))  # fcStshf, lcbStshf
    return _compound({"WordDocument": bytes(word), "1Table": bytes(table)})


def _compound(streams: dict) -> bytes:
    END, FREE, FATSECT, NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
    sectors = [b""] * 2  # 0: FAT, 1: directory
    fat = [FATSECT, END]
    starts = {}
    for name, data in streams.items():
        n = len(data) // 512
        starts[name] = len(sectors)
        for k in range(n):
            sectors.append(data[k * 512 : (k + 1) * 512])
            fat.append(len(fat) + 1 if k < n - 1 else END)
    fat += [FREE] * (128 - len(fat))
    sectors[0] = struct.pack("<128I", *fat)

    def entry(name, kind, left=NOSTREAM, right=NOSTREAM, child=NOSTREAM, start=END, size=0):
        raw = name.encode("utf-16-le") + b"\0\0"
        e = raw.ljust(64, b"\0") + struct.pack("<HBB3I", len(raw) if name else 0, kind, 1,
                                                  left, right, child)
        e += bytes(16) + bytes(4) + bytes(16) + struct.pack("<IQ", start, size)
        return e

    names = list(streams)
    directory = entry("Root Entry", 5, child=1)
    directory += entry(names[0], 2, left=2, start=starts[names[0]], size=len(streams[names[0]]))
    directory += entry(names[1], 2, start=starts[names[1]], size=len(streams[names[1]]))
    directory += entry("", 0)
    sectors[1] = directory
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16)
    header += struct.pack("<HHHHH6sIIIIIIIII", 0x3E, 3, 0xFFFE, 9, 6, bytes(6), 0, 1, 1, 0,
                          0x1000, END, 0, END, 0)
    header += struct.pack("<I", 0) + struct.pack("<108I", *([FREE] * 108))
    return header + b"".join(sectors)


def test_a_word_97_doc_is_read_through_antiword(tmp_path):
    import shutil

    if shutil.which("antiword") is None:
        pytest.skip("antiword is not installed (apt-get install antiword)")
    data = make_word97("Thông báo về việc nghỉ lễ\nSáng 2/9/2024, cơ quan nghỉ lễ Quốc khánh.\n"
                       "Đoạn thứ hai của văn bản.")  # fmt: skip
    ix, report = index_folder(tmp_path, {"nghi-le.doc": data, "hong.doc": data[:2000]})
    assert [str(p).split(" (")[0] for p in report.problems] == [
        "docs/hong.doc: legacy Word .doc: antiword could not read it"
    ]
    doc = ix.get("docs/nghi-le.doc")
    assert doc.title == "Thông báo về việc nghỉ lễ"
    assert (doc.date, doc.date_source) == ("2024-09-02", "lead")
    assert doc.summary == "Sáng 2/9/2024, cơ quan nghỉ lễ Quốc khánh."
    assert doc.body == "Đoạn thứ hai của văn bản."
    assert_highlighted(ix, "quốc khánh", doc.id, "quốc khánh")


def test_a_word_97_doc_without_a_converter_is_skipped_naming_the_format(tmp_path, monkeypatch):
    import shutil

    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "antiword" else
                        real_which(name))  # fmt: skip
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    _, report = index_folder(tmp_path, {"cu.doc": ole})
    assert [str(p) for p in report.problems] == [
        "docs/cu.doc: legacy Word .doc (Word 97-2003): no converter installed "
        "(install antiword, or save it as .docx)"
    ]


# --- HTML -----------------------------------------------------------------------------------
CMS_PAGE = """<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">
<title>Hà Nội khánh thành cầu Vĩnh Tuy 2 - Báo Thủ Đô</title>
<meta name="author" content="Lê Minh Tuấn">
<meta name="keywords" content="giao thông, Hà Nội, cầu">
<meta property="og:title" content="Hà Nội khánh thành cầu Vĩnh Tuy 2">
<meta property="article:published_time" content="2023-08-03T09:15:00+07:00">
<meta property="article:section" content="Thời sự">
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle",
 "headline": "Tiêu đề JSON-LD", "datePublished": "2023-07-01", "author": {"name": "Người Khác"}}
</script></head><body>
<header><nav><ul><li><a href="/">Trang chủ</a></li><li><a href="/thoi-su">Thời sự</a></li>
<li><a href="/kinh-te">Kinh tế</a></li><li><a href="/the-thao">Thể thao</a></li></ul></nav></header>
<aside class="sidebar"><h3>Tin nổi bật</h3><ul><li><a href="/a">Giá vàng hôm nay tăng mạnh</a></li>
<li><a href="/b">Thời tiết nắng nóng kéo dài</a></li></ul></aside>
<article>
<h1>Hà Nội khánh thành cầu Vĩnh Tuy 2</h1>
<p>Sáng 3/8, UBND thành phố Hà Nội khánh thành cầu Vĩnh Tuy giai đoạn 2 sau hơn hai năm thi công.</p>
<p>Cây cầu dài 3,5 km bắc qua sông Hồng, giúp giảm ùn tắc cho các quận phía đông thành phố.</p>
<p>Phát biểu tại buổi lễ, Chủ tịch UBND thành phố đề nghị bảo đảm an toàn giao thông trên cầu.</p>
</article>
<div class="related"><h3>Tin liên quan</h3><ul><li><a href="/c">Cầu Thăng Long sửa mặt cầu</a></li>
<li><a href="/d">Đường Vành đai 4 khởi công</a></li></ul></div>
<div id="comments" class="comments"><h3>Bình luận</h3>
<div class="comment"><p>Nguyễn Văn X: Cầu đẹp quá, mong sớm thông xe đường dẫn.</p></div>
<div class="comment"><p>Trần Y: Bao giờ mới hết tắc đường đây?</p></div></div>
<footer><p>Bản quyền thuộc Báo Thủ Đô. Địa chỉ: 123 phố Huế.</p></footer>
</body></html>"""


def test_cms_news_page_gives_the_article_only(tmp_path):
    pytest.importorskip("trafilatura")
    ix, report = index_folder(tmp_path, {"cau.html": CMS_PAGE.encode("utf-8")})
    assert report.problems == []
    doc = ix.get("docs/cau.html")
    assert doc.title == "Hà Nội khánh thành cầu Vĩnh Tuy 2"
    assert doc.author == "Lê Minh Tuấn"  # <meta> beats JSON-LD
    assert (doc.date, doc.date_source) == ("2023-08-03", "metadata")
    assert doc.tags == ["giao thông", "Hà Nội", "cầu"]
    assert doc.category == "Thời sự"
    assert doc.summary == (
        "Sáng 3/8, UBND thành phố Hà Nội khánh thành cầu Vĩnh Tuy giai đoạn 2 sau hơn hai năm "
        "thi công."
    )
    assert doc.body == (
        "Cây cầu dài 3,5 km bắc qua sông Hồng, giúp giảm ùn tắc cho các quận phía đông thành "
        "phố.\n\nPhát biểu tại buổi lễ, Chủ tịch UBND thành phố đề nghị bảo đảm an toàn giao "
        "thông trên cầu."
    )
    assert_highlighted(ix, "sông Hồng", doc.id, "sông")
    for noise in ("Bình luận", "đường dẫn", "Giá vàng", "Trang chủ", "Bản quyền", "Vành đai"):
        assert ix.search(f'"{noise}"').total == 0, noise


# --- RTF and ODT ----------------------------------------------------------------------------
def _rtf_escape(data: bytes) -> str:
    return "".join(chr(b) if b < 128 and chr(b) not in "\\{}" else f"\\'{b:02x}" for b in data)


def _rtf_unicode(text: str) -> str:
    return "".join(c if c.isascii() else f"\\u{ord(c)}?" for c in text)


def make_vni_rtf() -> bytes:
    title = _rtf_escape(encode_vni("Thông báo lịch tiếp công dân"))
    lead = _rtf_escape(encode_vni("Ngày 10/9/2023, Thanh tra tỉnh Quảng Nam tiếp công dân định kỳ."))
    body = _rtf_escape(encode_vni("Địa điểm: trụ sở Ban tiếp công dân tỉnh."))
    return (
        r"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0\fnil\fcharset0 VNI-Times;}"
        r"{\f1\fswiss\fcharset0 Arial;}}"
        r"{\info{\title " + _rtf_unicode("Thông báo lịch tiếp công dân") + r"}"
        r"{\author Thanh tra t\u7881?nh}"
        r"{\keywords ti\u7871?p d\u226?n, khi\u7871?u n\u7841?i}{\creatim\yr2023\mo9\dy8}}"
        "\n\\pard\\f0\\fs26 " + title + r"\par" + "\n"
        r"\pard " + lead + r"\par" + "\n"
        r"\pard " + body + r"{\footnote\pard\f1 Ghi ch\'fa cu\u7889?i trang.\par}\par"
        r"\pard\f1 Caf\'e9 \u7841? Arial\par}"
    ).encode("ascii")


def test_vni_rtf(tmp_path):
    ix, report = index_folder(tmp_path, {"tiep-dan.rtf": make_vni_rtf()})
    assert report.problems == []
    doc = ix.get("docs/tiep-dan.rtf")
    assert doc.title == "Thông báo lịch tiếp công dân"  # the property repeats the first line
    assert doc.author == "Thanh tra tỉnh"
    assert (doc.date, doc.date_source) == ("2023-09-08", "metadata")
    assert doc.tags == ["tiếp dân", "khiếu nại"]
    assert doc.summary == "Ngày 10/9/2023, Thanh tra tỉnh Quảng Nam tiếp công dân định kỳ."
    assert doc.body == (
        "Địa điểm: trụ sở Ban tiếp công dân tỉnh.\n\nCafé ạ Arial\n\nGhi chú cuối trang."
    )
    assert doc.encoding_source == "vni"
    assert_highlighted(ix, "trụ sở", doc.id, "trụ")


def make_odt() -> bytes:
    content = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" office:version="1.2">
<office:font-face-decls><style:font-face style:name="VnTime" svg:font-family="'.VnTime'"/>
</office:font-face-decls>
<office:automatic-styles><style:style style:name="T1" style:family="text">
<style:text-properties style:font-name="VnTime"/></style:style></office:automatic-styles>
<office:body><office:text>
<text:h text:outline-level="1">Kế hoạch phòng chống lụt bão</text:h>
<text:p>Chiều 20/9, tỉnh Hà Tĩnh<text:s/>họp bàn <text:span text:style-name="T1">""" + \
        tcvn3_text("phương án sơ tán dân") + """</text:span>.</text:p>
<text:list><text:list-item><text:p>Kiểm tra đê điều.<text:note text:note-class="footnote">
<text:note-citation>1</text:note-citation><text:note-body><text:p>Theo Chỉ thị số 5.</text:p>
</text:note-body></text:note></text:p></text:list-item></text:list>
<table:table><table:table-row><table:table-cell><text:p>Huyện</text:p></table:table-cell>
<table:table-cell><text:p>Số hộ</text:p></table:table-cell></table:table-row></table:table>
</office:text></office:body></office:document-content>"""
    meta = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0"
 xmlns:dc="http://purl.org/dc/elements/1.1/"><office:meta>
<meta:initial-creator>Văn phòng UBND tỉnh</meta:initial-creator>
<meta:creation-date>2023-09-20T15:00:00</meta:creation-date>
<meta:keyword>phòng chống thiên tai</meta:keyword><meta:keyword>Hà Tĩnh</meta:keyword>
</office:meta></office:document-meta>"""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        z.writestr("content.xml", content)
        z.writestr("meta.xml", meta)
    return out.getvalue()


def test_odt(tmp_path):
    ix, report = index_folder(tmp_path, {"lut-bao.odt": make_odt()})
    assert report.problems == []
    doc = ix.get("docs/lut-bao.odt")
    assert doc.title == "Kế hoạch phòng chống lụt bão"
    assert doc.author == "Văn phòng UBND tỉnh"
    assert (doc.date, doc.date_source) == ("2023-09-20", "metadata")
    assert doc.tags == ["phòng chống thiên tai", "Hà Tĩnh"]
    assert doc.summary == "Chiều 20/9, tỉnh Hà Tĩnh họp bàn phương án sơ tán dân."
    assert doc.body == "Kiểm tra đê điều.\n\nHuyện\tSố hộ\n\nTheo Chỉ thị số 5."
    assert doc.encoding_source == "tcvn3"
    assert_highlighted(ix, "sơ tán", doc.id, "sơ")


def test_a_damaged_file_fails_with_a_reason_and_the_run_goes_on(tmp_path):
    report = IndexReport()
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.docx").write_bytes(b"PK\x03\x04 not really a zip")
    (folder / "b.pdf").write_bytes(b"%PDF-1.4\n garbage")
    (folder / "c.txt").write_text("Tiêu đề\n\nNội dung bài viết.", encoding="utf-8")
    docs = list(iter_documents([str(folder)], report=report))
    assert [d.id for d in docs] == ["in/c.txt"]
    assert [p.path for p in report.problems] == ["in/a.docx", "in/b.pdf"]
    assert all(p.severity == "failed" for p in report.problems)


# --- Legacy encodings in plain text ---------------------------------------------------------
LEGACY_TEXT = (
    "Thông báo kết quả thi tuyển công chức\n\n"
    "VIẾT LONG | 20/8/2023\n\n"
    "Sở Nội vụ tỉnh Nghệ An công bố kết quả thi tuyển công chức năm 2023.\n\n"
    "Thí sinh xem điểm tại trang thông tin điện tử của Sở.\n\n"
    "TAGS\ntuyển dụng, công chức\n"
)


@pytest.mark.parametrize(
    "make, source",
    [
        (encode_tcvn3, "tcvn3"),
        (lambda t: "".join(  # UTF-8 read as Windows-1252 and saved again: mojibake
            bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in t.encode()
        ).encode("utf-8"), "mojibake"),
    ],
    ids=["tcvn3", "mojibake"],
)
def test_legacy_text_is_converted_and_show_says_so(tmp_path, make, source):
    ix, report = index_folder(tmp_path, {"thi-tuyen.txt": make(LEGACY_TEXT)})
    assert report.problems == []
    doc = ix.get("docs/thi-tuyen.txt")
    assert doc.title == "Thông báo kết quả thi tuyển công chức"
    author = "VIếT LONG" if source == "tcvn3" else "VIẾT LONG"  # TCVN3 has no capital Ế
    assert (doc.author, doc.date, doc.date_source) == (author, "2023-08-20", "byline")
    assert doc.tags == ["tuyển dụng", "công chức"]
    assert doc.summary == "Sở Nội vụ tỉnh Nghệ An công bố kết quả thi tuyển công chức năm 2023."
    assert doc.body == "Thí sinh xem điểm tại trang thông tin điện tử của Sở."
    assert doc.encoding_source == source
    assert_highlighted(ix, "điện tử", doc.id, "điện tử")
    from click.testing import CliRunner

    from vnsearch.cli import cli

    shown = CliRunner().invoke(cli, ["show", doc.id, "--index", str(tmp_path / "index")])
    assert f"encoding: converted from {source}" in shown.stdout


def test_a_named_file_with_an_unknown_extension_is_read_by_its_content(tmp_path):
    (tmp_path / "bao-cao.dat").write_bytes(_pdf(_two_columns))
    (tmp_path / "notes.dat").write_bytes(b"plain bytes")
    report = IndexReport()
    docs = list(iter_documents([str(tmp_path / "bao-cao.dat"), str(tmp_path / "notes.dat")],
                               report=report))  # fmt: skip
    assert [d.title for d in docs] == ["Tuyển sinh đại học năm 2023"]
    assert [str(p).split(" (")[0] for p in report.problems] == [
        "notes.dat: unsupported file type"
    ]


def test_pdf_text_drawn_in_a_vntime_font_is_converted(tmp_path):
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    def draw(c):
        font = next(p for p in FONT_PATHS if os.path.exists(p))
        legacy = TTFont("LegacyFace", font)
        legacy.face.name = b".VnTime"  # the font name the PDF carries, as Word exports it
        pdfmetrics.registerFont(legacy)
        c.setFont("DejaVu", 14)
        c.drawString(60, 780, "Thông báo họp")
        c.setFont("LegacyFace", 11)
        c.drawString(60, 740, tcvn3_text("Sáng 3/8/2023, Ủy ban tỉnh họp bàn phương án."))

    ix, report = index_folder(tmp_path, {"hop.pdf": _pdf(draw)})
    assert report.problems == []
    doc = ix.get("docs/hop.pdf")
    assert (doc.title, doc.summary) == ("Thông báo họp", "Sáng 3/8/2023, ủy ban tỉnh họp bàn phương án.")
    assert (doc.date, doc.date_source, doc.encoding_source) == ("2023-07-15", "metadata", "tcvn3")
    assert_highlighted(ix, "phương án", doc.id, "phương án")


def test_an_old_page_typed_in_vntime_and_served_as_windows_1252_is_converted(tmp_path):
    pytest.importorskip("trafilatura")
    paragraphs = [
        "Sáng 5/9/2023, Sở Giáo dục tỉnh Hà Tĩnh tổ chức lễ khai giảng năm học mới.",
        "Các trường học trên địa bàn đã chuẩn bị đầy đủ cơ sở vật chất cho học sinh.",
        "Ngành giáo dục yêu cầu bảo đảm an toàn cho học sinh trong suốt năm học.",
    ]
    body = "".join(f'<p><font face=".VnTime">{tcvn3_text(p)}</font></p>' for p in paragraphs)
    page = ('<html><head><meta http-equiv="Content-Type" content="text/html; '
            'charset=windows-1252"><title>' + tcvn3_text("Khai giảng năm học mới") +
            f"</title></head><body><article>{body}</article></body></html>")  # fmt: skip
    ix, report = index_folder(tmp_path, {"khai-giang.htm": page.encode("cp1252")})
    assert report.problems == []
    doc = ix.get("docs/khai-giang.htm")
    assert doc.encoding_source == "tcvn3"
    assert doc.summary == paragraphs[0]
    assert doc.body == "\n\n".join(paragraphs[1:])
    assert (doc.date, doc.date_source) == ("2023-09-05", "lead")
    assert_highlighted(ix, "khai giảng", doc.id, "khai giảng")
