"""Saved web pages and CMS exports (.html, .htm): the article's main text without menus,
related links or comments (trafilatura, made for news pages), and the metadata the page
declares, in order of trust: ``<meta>`` tags, then OpenGraph / ``article:*`` properties, then
schema.org JSON-LD (``NewsArticle`` and its kin).

Dates are taken only from that metadata: no guess from the URL or the page text here (the
lead's own dateline is read later, like for any other document).
"""

from __future__ import annotations

import json
import re
import unicodedata

from vnsearch.ingest.encodings import repair_misdecoded
from vnsearch.ingest.extracted import Extracted, Unreadable

_ARTICLE_TYPES = {"newsarticle", "article", "reportagenewsarticle", "blogposting",
                  "analysisnewsarticle", "opinionnewsarticle", "webpage", "report"}  # fmt: skip

# (meta key, what the page may call it) in order of trust within each tier.
_META_NAMES = {
    "title": ("title", "dc.title", "dcterms.title"),
    "author": ("author", "dc.creator", "dcterms.creator", "byl"),
    "date": ("pubdate", "publishdate", "publish-date", "date", "dc.date", "dc.date.issued",
             "dcterms.created", "dcterms.issued", "article.published", "sailthru.date",
             "itemprop:datepublished"),
    "tags": ("keywords", "news_keywords"),
    "description": ("description", "dc.description"),
    "category": ("category",),
    "source": ("og:site_name", "application-name"),
    "url": ("og:url",),
}  # fmt: skip
_OG_NAMES = {
    "title": ("og:title", "twitter:title"),
    "author": ("article:author",),
    "date": ("article:published_time", "og:published_time"),
    "tags": ("article:tag",),
    "description": ("og:description", "twitter:description"),
    "category": ("article:section",),
}
_URL_LIKE_RE = re.compile(r"^https?://", re.IGNORECASE)


def read_html(data: bytes) -> Extracted:
    import lxml.html
    import trafilatura  # imported here, only when a web page is read

    text = _decode(data)
    # An old page typed in a .VnTime/VNI font and served as Windows-1252 (or mojibake): the
    # whole page is converted before parsing, since the HTML tools drop the soft hyphen that
    # is TCVN3's "ư".
    repaired = repair_misdecoded(text)
    if repaired is not None:
        text = repaired[0]
    try:
        tree = lxml.html.document_fromstring(text)
    except (ValueError, lxml.etree.ParserError) as err:
        raise Unreadable(f"not an HTML page ({err})", skipped=False) from None
    meta = _page_metadata(tree)
    body = trafilatura.extract(
        text,
        include_comments=False,
        include_tables=True,
        include_links=False,
        include_images=False,
        favor_precision=True,
        deduplicate=False,
        with_metadata=False,
    )
    out = Extracted(meta=meta)
    if repaired is not None:
        out.add_encoding(repaired[1])
    if not body or not body.strip():
        raise Unreadable("no article text found in the page")
    out.blocks = [
        unicodedata.normalize("NFC", " ".join(line.split()))
        for line in body.split("\n")
        if line.strip()
    ]
    h1 = tree.xpath("//h1")
    heading = " ".join(h1[0].text_content().split()) if len(h1) == 1 else ""
    if heading:
        out.title = unicodedata.normalize("NFC", heading)
        if out.blocks and out.blocks[0] == out.title:
            out.blocks.pop(0)
    return out


def _decode(data: bytes) -> str:
    """The page as text: a BOM, then the declared charset, then UTF-8, then cp1252 (a page
    in a legacy Vietnamese encoding is caught by the mojibake check later)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    m = re.search(rb"""<meta[^>]+charset\s*=\s*["']?([\w-]+)""", data[:4096], re.IGNORECASE)
    if m:
        try:
            return data.decode(m.group(1).decode("ascii"), errors="replace")
        except LookupError:
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _page_metadata(tree) -> dict:
    names: dict[str, list[str]] = {}
    for el in tree.iter("meta"):
        key = (el.get("name") or el.get("property") or "").strip().lower()
        if not key and el.get("itemprop"):
            key = "itemprop:" + el.get("itemprop").strip().lower()
        content = (el.get("content") or "").strip()
        if key and content:
            names.setdefault(key, []).append(unicodedata.normalize("NFC", content))
    for el in tree.xpath("//time[@itemprop='datePublished'][@datetime]"):
        names.setdefault("itemprop:datepublished", []).append(el.get("datetime"))
    meta: dict = {}
    for tier in (_META_NAMES, _OG_NAMES):
        for key, candidates in tier.items():
            if key in meta:
                continue
            for name in candidates:
                values = [v for v in names.get(name, []) if not (key == "author" and
                                                                 _URL_LIKE_RE.match(v))]
                if values:
                    meta[key] = values if key == "tags" and len(values) > 1 else values[0]
                    break
    for key, value in _json_ld(tree).items():
        meta.setdefault(key, value)
    if "title" not in meta:
        title = tree.find(".//title")
        if title is not None and title.text_content().strip():
            meta["title"] = unicodedata.normalize("NFC", " ".join(title.text_content().split()))
    return meta


def _json_ld(tree) -> dict:
    """headline, author, datePublished, keywords, articleSection of the first article object."""
    for script in tree.xpath("//script[@type='application/ld+json']"):
        try:
            value = json.loads(script.text_content())
        except ValueError:
            continue
        for item in _objects(value):
            kind = item.get("@type")
            kinds = kind if isinstance(kind, list) else [kind]
            if not any(isinstance(k, str) and k.lower() in _ARTICLE_TYPES for k in kinds):
                continue
            meta: dict = {}
            if isinstance(item.get("headline"), str):
                meta["title"] = item["headline"].strip()
            author = _names(item.get("author"))
            if author:
                meta["author"] = author
            if isinstance(item.get("datePublished"), str):
                meta["date"] = item["datePublished"].strip()
            keywords = item.get("keywords")
            if isinstance(keywords, (str, list)) and keywords:
                meta["tags"] = keywords
            if isinstance(item.get("articleSection"), str):
                meta["category"] = item["articleSection"].strip()
            if isinstance(item.get("description"), str):
                meta["description"] = item["description"].strip()
            return {k: unicodedata.normalize("NFC", v) if isinstance(v, str) else v
                    for k, v in meta.items() if v}  # fmt: skip
    return {}


def _objects(value):
    if isinstance(value, list):
        for v in value:
            yield from _objects(v)
    elif isinstance(value, dict):
        yield value
        if isinstance(value.get("@graph"), list):
            yield from _objects(value["@graph"])


def _names(value) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict):
        return _names(value.get("name"))
    if isinstance(value, list):
        return ", ".join(n for n in (_names(v) for v in value) if n)
    return ""
