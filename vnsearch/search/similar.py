"""More like this, and the near-identical copies of a document (from the duplicate store)."""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import Any

from whoosh import query as q

from vnsearch.codec.schema import section_values, stored_document
from vnsearch.dedup.store import DuplicateStore, open_readonly
from vnsearch.errors import DocumentNotFoundError, DuplicateStoreError
from vnsearch.search.results import Results
from vnsearch.search.run import _hit


def similar(searcher, doc_id: str, *, limit: int = 10, exclude=()) -> Results:
    """More like this: the document's most distinctive body terms; the document itself and the
    ids in ``exclude`` are left out."""
    t0 = time.perf_counter()
    doc = stored_document(searcher, doc_id)
    if doc is None:
        raise DocumentNotFoundError(f"no document with id {doc_id!r}")
    text = "\n".join(x for x in (doc.title, doc.summary, doc.body) if x)

    words = section_values("body", text).get("body_w", "").split()
    top = _key_terms(searcher, "body_w", words, 25)
    if not top:
        return Results(doc_id, 0, 0, limit, 0.0, [])
    wq = q.Or([q.Term("body_w", w, boost=wt) for w, wt in top])
    banned = [q.Term("id", d) for d in {doc_id, *exclude}]
    results = searcher.search(wq, limit=limit,
                              mask=q.Or(banned) if len(banned) > 1 else banned[0])
    hits = [
        _hit(r, i + 1, set(), set(), False) for i, r in enumerate(list(results)[:limit])
    ]
    return Results(doc_id, len(results), 0, limit, (time.perf_counter() - t0) * 1000, hits)


def _key_terms(searcher, fieldname: str, words: list[str], n: int):
    """The ``n`` words with the highest tf·idf in ``words`` (idf from the index)."""
    tf = Counter(w for w in words if len(w) > 1 and not w.isdigit())
    scored = []
    for w, c in tf.items():
        idf = searcher.idf(fieldname, w)
        scored.append((c * idf, w))
    scored.sort(reverse=True)
    return [(w, round(sc, 3)) for sc, w in scored[:n] if sc > 0]


def near_copies(searcher, store: DuplicateStore, doc_id: str) -> list[dict]:
    """Near-identical copies of ``doc_id`` (its duplicate group), with estimated similarity."""
    group = store.copies_of(doc_id)
    direct = dict(store.similar(doc_id))
    out: list[dict[str, Any]] = []
    for d in group:
        doc = stored_document(searcher, d)
        if doc is None:  # store ahead of the index: skip until resynced
            continue
        out.append({"id": d, "title": doc.title, "date": doc.date,
                    "similarity": direct.get(d)})  # None: a copy of a copy (same group)
    out.sort(key=lambda c: (-(c["similarity"] or 0.0), c["id"]))
    return out


def copies_or_none(searcher, index_dir: str | os.PathLike, doc_id: str) -> list[dict] | None:
    """:func:`near_copies` from the index's duplicate store, or None when it has none."""
    try:
        with open_readonly(index_dir) as store:
            return near_copies(searcher, store, doc_id)
    except DuplicateStoreError:
        return None
    except DocumentNotFoundError:  # indexed, but not in the duplicate data yet
        return []


def duplicate_groups(
    searcher, store: DuplicateStore, threshold: float | None = None, min_size: int = 2
) -> list[dict]:
    """Duplicate groups with each member's title, date and source, largest first."""
    groups = store.groups(min_size=min_size, threshold=threshold)
    used = store.threshold if threshold is None else threshold
    out = []
    for g in groups:
        members = []
        for doc_id in g.members:
            doc = stored_document(searcher, doc_id)
            if doc is None:  # store ahead of the index: skip until resynced
                continue
            members.append({"id": doc_id, "title": doc.title, "date": doc.date,
                            "source": doc.source})
        if len(members) >= min_size:
            members.sort(key=lambda m: (m["date"] or "9999", m["id"]))  # first publication first
            out.append({"group": g.id, "size": len(members), "threshold": used,
                        "members": members})
    return out
