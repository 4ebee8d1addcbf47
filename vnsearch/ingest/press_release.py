"""The press-release text format: title, byline, summary, body, captions, tags, front matter."""

from __future__ import annotations

import re
from typing import Any

from vnsearch.document import Document
from vnsearch.ingest.dates import find_full_date, parse_date_value
from vnsearch.ingest.records import (
    _TAG_SPLIT_RE,
    FIELD_KEYS,
    RecordError,
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


def parse_press_release(
    text: str, doc_id: str, path: str = "", meta: dict[str, Any] | None = None
) -> Document:
    """Parse the seed text format (see docs/ingest.md):

    title (first non-empty line), optional byline ``NAME | [date/time]``, paragraphs, photo
    captions written twice in a row (kept once in ``captions``, without the ``Ảnh: credit``,
    which goes to ``extra['photo_credits']``), optional trailing ``TAGS`` section (one per line
    or comma-separated). The first paragraph is the lead and becomes ``summary``; the others
    form ``body``, separated by blank lines. A Markdown front matter block (``---`` /
    ``key: value`` / ``---``, read as YAML) at the top gives metadata that wins over the
    layout, and so does ``meta`` (the properties of a Word or PDF file, same keys).
    Date: metadata, else byline, else the lead, else none.
    """
    text = _newlines(text.lstrip("\ufeff"))
    lines = text.split("\n")
    n = len(lines)
    doc = Document(id=doc_id, path=path)
    front, i = _front_matter(lines)
    meta = {**(meta or {}), **front}
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
        _date_from_lead(doc, doc.summary)
    return doc


def _front_matter(lines: list[str]) -> tuple[dict[str, Any], int]:
    """The YAML mapping between ``---`` lines at the top of a file (Markdown front matter) and
    the index of the first line after it; ({}, 0) when there is none, or when the block is not
    a YAML mapping (the file is then read as plain text)."""
    if not lines or lines[0].strip() != "---":
        return {}, 0
    for k in range(1, min(len(lines), MAX_FRONT_MATTER_LINES)):
        if lines[k].rstrip() in ("---", "..."):
            break
    else:
        return {}, 0
    import yaml  # PyYAML, only for files that start with front matter

    try:
        value = yaml.safe_load("\n".join(lines[1:k]))
    except yaml.YAMLError:
        return {}, 0
    if not isinstance(value, dict):
        return {}, 0
    meta = {str(key).lower(): _plain(v) for key, v in value.items() if key is not None}
    return meta, k + 1


#: Front matter longer than this is not looked for (a file that starts with a '---' rule).
MAX_FRONT_MATTER_LINES = 500


def _plain(value: Any) -> Any:
    """YAML values as JSON ones: dates as ISO text, nested values as text."""
    import datetime

    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value if v is not None]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _apply_front_matter(doc: Document, meta: dict[str, Any]) -> None:
    """Front-matter values win over what the text layout suggested (they are metadata)."""
    for name, keys in FIELD_KEYS.items():
        key = next((k for k in keys if meta.get(k) not in (None, "", [])), None)
        if key is None:
            continue
        value = meta[key]
        try:
            _apply_value(doc, name, key, value)
        except RecordError:  # a shape the field cannot take: kept as it is, not lost
            doc.extra[key] = value
    known = {k for keys in FIELD_KEYS.values() for k in keys}
    doc.extra.update(
        {k: v for k, v in meta.items() if k not in known and k != "id" and v not in ("", [])}
    )


def _apply_value(doc: Document, name: str, key: str, value: Any) -> None:
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
