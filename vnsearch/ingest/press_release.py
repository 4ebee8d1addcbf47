"""The press-release text format: title, byline, summary, body, captions, tags, front matter."""


import re
from typing import Any

from vnsearch.document import Document
from vnsearch.ingest.dates import find_full_date, parse_date_value
from vnsearch.ingest.records import (
    _TAG_SPLIT_RE,
    FIELD_KEYS,
    _as_list,
    _as_text,
    _date_from_lead,
    _newlines,
)
from vnsearch.ingest.walk import MAX_CAPTION_LENGTH

# --------------------------------------------------------------------------------------------
# The press-release text format
# --------------------------------------------------------------------------------------------
_BYLINE_RE = re.compile(r"^\s*(?P<name>[^|\d\n]{1,80}?)\s*\|\s*(?P<rest>[^\n]*?)\s*$")
_TAGS_RE = re.compile(
    r"^\s*(?:tags?|từ\s+khóa|từ\s+khoá)(?:\s*:\s*(?P<inline>.*?))?\s*$", re.IGNORECASE
)
_CREDIT_RE = re.compile(
    r"\s*[(\[]?\s*(?:ảnh|nguồn\s+ảnh|photo)\s*:\s*(?P<credit>[^()\[\]\n:]{1,60}?)\s*[)\]]?\s*$",
    re.IGNORECASE,
)
_HEADING_RE = re.compile(r"^#{1,6}\s+")


_NAME_SPLIT_RE = re.compile(r"[\s,&/\-–]+")


def _is_byline(line: str) -> re.Match | None:
    m = _BYLINE_RE.match(line)
    if m is None:
        return None
    name = m.group("name")
    words = [w.strip("()[]'\".") for w in _NAME_SPLIT_RE.split(name)]
    words = [w for w in words if w]
    if not words or len(words) > 10 or name.rstrip().endswith((":", "?", "!", ";")):
        return None
    # Names: every word capitalised ("NGUYÊN ĐOAN", "Lê Văn Bình", "HOÀNG MAI - PHƯƠNG LINH").
    if not all(w[0].isupper() or w in ("và", "cùng") for w in words):
        return None
    return m


def parse_press_release(text: str, doc_id: str, path: str = "") -> Document:
    """Parse the seed text format (see DESIGN.md):

    title (first non-empty line), optional byline ``NAME | [date/time]``, paragraphs, photo
    captions written twice in a row (kept once in ``captions``, without the ``Ảnh: credit``,
    which goes to ``extra['photo_credits']``), optional trailing ``TAGS`` section (one per line
    or comma-separated). The first paragraph is the lead and becomes ``summary``; the others
    form ``body``, separated by blank lines. A Markdown front matter block (``---`` /
    ``key: value`` / ``---``) at the top gives metadata that wins over the layout.
    Date: metadata, else byline, else the lead, else none.
    """
    text = _newlines(text.lstrip("\ufeff"))
    lines = text.split("\n")
    n = len(lines)
    doc = Document(id=doc_id, path=path)
    meta, i = _front_matter(lines)
    while i < n and not lines[i].strip():
        i += 1
    if i < n and (not meta.get("title") or _HEADING_RE.match(lines[i])):
        doc.title = _HEADING_RE.sub("", lines[i].strip())
        i += 1

    j = i
    while j < n and not lines[j].strip():
        j += 1
    byline_date = None
    if j < n and (m := _is_byline(lines[j])):
        doc.author = m.group("name").strip()
        rest = m.group("rest")
        if rest:
            byline_date = find_full_date(rest)
            if byline_date is None:
                doc.extra["byline_note"] = rest
        i = j + 1

    end = n
    for k in range(n - 1, i - 1, -1):
        tags_match = _TAGS_RE.match(lines[k])
        if tags_match:
            end = k
            tag_text = "\n".join([tags_match.group("inline") or "", *lines[k + 1 :]])
            doc.tags = _as_list("tags", tag_text, _TAG_SPLIT_RE)
            break

    paragraphs, captions, credits = _split_content(lines[i:end])
    doc.captions = captions
    if credits:
        doc.extra["photo_credits"] = credits
    if paragraphs:
        doc.summary = paragraphs[0]
        doc.body = "\n\n".join(paragraphs[1:])

    if meta:
        _apply_front_matter(doc, meta)
    if doc.date is None and byline_date:
        doc.date, doc.date_source = byline_date, "byline"
    if doc.date is None:
        _date_from_lead(doc, doc.summary, (doc.body, *captions))
    return doc


_FRONT_KEY_RE = re.compile(r"^(?P<key>[A-Za-z_][\w-]*)\s*:\s*(?P<value>.*?)\s*$")
_FRONT_ITEM_RE = re.compile(r"^\s+-\s+(?P<value>.*?)\s*$|^-\s+(?P<top>.*?)\s*$")


def _front_matter(lines: list[str]) -> tuple[dict[str, Any], int]:
    """``key: value`` metadata between ``---`` lines at the top of a file (Markdown front
    matter), with ``- item`` lists and ``[a, b]`` inline lists; ({}, 0) when there is none."""
    if not lines or lines[0].strip() != "---":
        return {}, 0
    meta: dict[str, Any] = {}
    key = None
    for k in range(1, min(len(lines), 200)):
        line = lines[k]
        if line.strip() in ("---", "..."):
            return meta, k + 1
        item = _FRONT_ITEM_RE.match(line)
        if item and key is not None:
            value = _unquote(
                item.group("value") if item.group("value") is not None else item.group("top")
            )
            meta[key] = [*(meta[key] if isinstance(meta[key], list) else []), value]
            continue
        m = _FRONT_KEY_RE.match(line)
        if m is None:
            if line.strip():
                return {}, 0  # not front matter after all: read the file as plain text
            continue
        key, value = m.group("key").lower(), m.group("value")
        if value.startswith("[") and value.endswith("]"):
            meta[key] = [_unquote(v.strip()) for v in value[1:-1].split(",") if v.strip()]
        else:
            meta[key] = _unquote(value) if value else []
    return {}, 0


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _apply_front_matter(doc: Document, meta: dict[str, Any]) -> None:
    """Front-matter values win over what the text layout suggested (they are metadata)."""
    for name, keys in FIELD_KEYS.items():
        key = next((k for k in keys if meta.get(k) not in (None, "", [])), None)
        if key is None:
            continue
        value = meta[key]
        if name == "date":
            doc.date = parse_date_value(value if isinstance(value, str) else None)
            if doc.date:
                doc.date_source = "metadata"
            else:
                doc.extra["date_raw"] = value
        elif name in ("tags", "captions"):
            setattr(doc, name, _as_list(key, value, _TAG_SPLIT_RE if name == "tags" else None))
        else:
            setattr(doc, name, _as_text(key, value, ", ").strip())
    known = {k for keys in FIELD_KEYS.values() for k in keys}
    doc.extra.update(
        {k: v for k, v in meta.items() if k not in known and k != "id" and v not in ("", [])}
    )


def _split_content(lines: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(paragraphs, distinct captions, distinct credits).

    Blank lines separate paragraphs; in a text with no blank line inside, every line is a
    paragraph. A line repeated on the next line is a photo caption, and so is a one-line
    paragraph ending in a photo credit (``... Ảnh: TTXVN``).
    """
    paragraphs: list[str] = []
    captions: list[str] = []
    credits: list[str] = []
    current: list[str] = []

    def add_caption(line: str) -> None:
        caption, credit = _split_credit(line)
        if caption not in captions:
            captions.append(caption)
        if credit and credit not in credits:
            credits.append(credit)

    def close_paragraph() -> None:
        if not current:
            return
        text = "\n".join(current).strip()
        current.clear()
        if "\n" not in text and len(text) <= MAX_CAPTION_LENGTH and _split_credit(text)[1]:
            add_caption(text)
        else:
            paragraphs.append(text)

    filled = [bool(line.strip()) for line in lines]
    one_per_line = True in filled and all(
        filled[filled.index(True) : len(filled) - filled[::-1].index(True)]
    )
    k, n = 0, len(lines)
    while k < n:
        line = lines[k].strip()
        if not line:
            close_paragraph()
            k += 1
            continue
        if k + 1 < n and lines[k + 1].strip() == line and any(c.isalpha() for c in line):
            close_paragraph()
            while k < n and lines[k].strip() == line:
                k += 1
            add_caption(line)
            continue
        current.append(lines[k])
        k += 1
        if one_per_line:
            close_paragraph()
    close_paragraph()
    return paragraphs, captions, credits


def _split_credit(caption: str) -> tuple[str, str | None]:
    m = _CREDIT_RE.search(caption)
    if m is None or m.start() == 0:
        return caption, None
    return caption[: m.start()].rstrip(), m.group("credit")
