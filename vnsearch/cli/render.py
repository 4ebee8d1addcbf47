"""Rendering results for people (terminal text) and scripts (JSON, JSON Lines, TREC)."""

from __future__ import annotations

import os
import sys
from typing import Any

from vnsearch.errors import VnsearchError
from vnsearch.text.normalize import clean_for_display, display_name

BOLD_RED = "\x1b[1;31m"
DIM = "\x1b[2m"
BOLD = "\x1b[1m"
RESET = "\x1b[0m"


def dumps(obj: Any, *, pretty: bool = False) -> str:
    """UTF-8 JSON text, never ``\\u`` escapes."""
    import orjson

    opt = orjson.OPT_NON_STR_KEYS | (orjson.OPT_INDENT_2 if pretty else 0)
    return orjson.dumps(obj, option=opt, default=_default).decode("utf-8")


def _default(o):
    if hasattr(o, "to_dict"):
        return o.to_dict()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def use_color(mode: str, stream=None) -> bool:
    """``always``/``never``, or ``auto``: a TTY and no ``NO_COLOR``."""
    if mode == "always":
        return True
    if mode == "never":
        return False
    if os.environ.get("NO_COLOR"):
        return False
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


def one_line(text: str) -> str:
    """Document text shown on one line (a title, an author, a tag): cleaned like all document
    text, line breaks as spaces (offsets kept), so it cannot start a line of its own."""
    return clean_for_display(text).replace("\n", " ")


def mark(text: str, spans, color: bool) -> str:
    """``text`` on one line with ``spans`` highlighted (ANSI on a colour terminal, ``[...]``
    otherwise)."""
    text = one_line(text)
    if not spans:
        return text
    left, right = (BOLD_RED, RESET) if color else ("[", "]")
    out, pos = [], 0
    for s, e in sorted(spans):
        if s < pos:
            continue
        out += [text[pos:s], left, text[s:e], right]
        pos = e
    out.append(text[pos:])
    return "".join(out)


def format_hit(hit, color: bool) -> str:
    title_h = next((h for h in hit.highlights if h.field == "title"), None)
    title = mark(title_h.text, title_h.spans, color) if title_h else one_line(hit.title)
    if color:
        title = f"{BOLD}{title}{RESET}"
    meta = " · ".join(x for x in (one_line(hit.date or ""), one_line(hit.author),
                                  display_name(hit.path or hit.id)) if x)
    if hit.duplicates:
        meta += f" · +{len(hit.duplicates)} copies"
    if color:
        meta = f"{DIM}{meta}{RESET}"
    snip_h = next((h for h in hit.highlights if h.field != "title"), None)
    snippet = mark(snip_h.text, snip_h.spans, color) if snip_h else one_line(hit.snippet)
    lines = [f"{hit.rank:>2}. {title or '(untitled)'}  ({hit.score:.2f})", f"    {meta}"]
    if snippet:
        lines.append(f"    {snippet}")
    return "\n".join(lines)


def format_results(results, color: bool) -> str:
    parts = [format_hit(h, color) for h in results.hits]
    shown = f"{results.offset + 1}-{results.offset + len(results.hits)}" if results.hits else "0"
    noun = "result" if results.total == 1 else "results"
    footer = f"{results.total} {noun} ({shown} shown) in {results.took_ms:.0f} ms"
    if results.facets:
        for name, counts in results.facets.items():
            top = ", ".join(f"{one_line(k)} ({v})" for k, v in list(counts.items())[:10])
            footer += f"\n{name}: {top}"
    return "\n\n".join(parts + [footer])


def format_document(doc) -> str:
    lines = [one_line(doc.title)]
    meta = [
        f"id: {display_name(doc.id)}",
        f"author: {one_line(doc.author)}" if doc.author else "",
        f"date: {one_line(doc.date)} ({doc.date_source})" if doc.date else "",
        f"tags: {', '.join(one_line(t) for t in doc.tags)}" if doc.tags else "",
        f"path: {display_name(doc.path)}" if doc.path else "",
        f"encoding: converted from {one_line(doc.encoding_source)}" if doc.encoding_source else "",
    ]
    lines += [m for m in meta if m]
    for label, text in (("summary", doc.summary), ("body", doc.body)):
        if text:
            lines += ["", clean_for_display(text).replace("\r", "")]
    if doc.captions:
        lines += ["", "captions:"] + [f"  {one_line(c)}" for c in doc.captions]
    return "\n".join(lines)


#: Step between the printed scores of tied hits in a TREC run.
TREC_SCORE_STEP = 1e-6


def trec_lines(qid: str, results) -> list[str]:
    """TREC run format: ``qid Q0 docid rank score vnsearch``.

    trec_eval and ranx order a run by its score column, not its rank column (trec_eval breaks
    ties by docid, descending), so printed scores fall strictly down the list: a hit that ties
    the one above it (or, under ``--sort date``, outscores it) is printed
    :data:`TREC_SCORE_STEP` below it, and the run evaluates in the order vnsearch returned.
    """
    lines, previous = [], None
    for h in results.hits:
        if not h.id or any(c.isspace() for c in h.id):
            raise VnsearchError(f"document id {h.id!r} has spaces: a TREC run cannot hold it "
                                "(use --format jsonl)")
        score = round(h.score, 6)
        if previous is not None and score > previous - TREC_SCORE_STEP / 2:
            score = round(previous - TREC_SCORE_STEP, 6)
        previous = score
        lines.append(f"{qid} Q0 {h.id} {h.rank} {score:.6f} vnsearch")
    return lines


def format_groups(groups: list[dict]) -> str:
    """Terminal text for :func:`group_report`."""
    lines = []
    for g in groups:
        lines.append(f"group {g['group']}: {g['size']} copies")
        for m in g["members"]:
            lines.append(f"  {m['date'] or '----------'}  {display_name(m['id'])}  "
                         f"{one_line(m['title'])}")
        lines.append("")
    total = sum(g["size"] for g in groups)
    lines.append(f"{len(groups)} group{'' if len(groups) == 1 else 's'}, {total} documents")
    return "\n".join(lines)


def format_copies(copies: list[dict]) -> str:
    lines = ["Near-identical copies:"] if copies else ["No near-identical copies."]
    for c in copies:
        sim = "  (copy of a copy)" if c["similarity"] is None else f"  ({c['similarity']:.2f})"
        lines.append(f"  {c['date'] or '----------'}  {display_name(c['id'])}  "
                     f"{one_line(c['title'])}{sim}")
    return "\n".join(lines)
