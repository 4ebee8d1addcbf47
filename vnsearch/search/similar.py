"""More like this, and near-identical copies of a document."""

from __future__ import annotations

import time
from collections import Counter

from whoosh import query as q

from vnsearch.codec.schema import section_values
from vnsearch.dedup.store import open_readonly
from vnsearch.errors import DocumentNotFoundError, DuplicateStoreError
from vnsearch.search.results import Results
from vnsearch.search.run import _hit


def similar(index, doc_id: str, *, limit: int = 10, exclude=()) -> Results:
    """More like this: the document's most distinctive body terms; the document itself and the
    ids in ``exclude`` are left out."""
    t0 = time.perf_counter()
    s = index.searcher()
    docnum = s.document_number(id=doc_id)
    if docnum is None:
        raise DocumentNotFoundError(f"no document with id {doc_id!r}")
    doc = index.get(doc_id)
    text = "\n".join(x for x in (doc.title, doc.summary, doc.body) if x)

    words = section_values("body", text).get("body_w", "").split()
    top = _key_terms(s, "body_w", words, 25)
    if not top:
        return Results(doc_id, 0, 0, limit, 0.0, [])
    wq = q.Or([q.Term("body_w", w, boost=wt) for w, wt in top])
    banned = [q.Term("id", d) for d in {doc_id, *exclude}]
    results = s.search(wq, limit=limit, mask=q.Or(banned) if len(banned) > 1 else banned[0])
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


def near_copies(index, doc_id: str) -> list[dict]:
    """Near-identical copies of ``doc_id`` (its duplicate group), with estimated similarity."""
    with open_readonly(index.path) as store:
        group = store.copies_of(doc_id)
        direct = dict(store.similar(doc_id))
        similarity = {d: direct.get(d) for d in group}
    out = []
    for d in group:
        try:
            doc = index.get(d)
        except DocumentNotFoundError:
            continue
        out.append({"id": d, "title": doc.title, "date": doc.date,
                    "similarity": similarity[d]})  # None: a copy of a copy (same group)
    out.sort(key=lambda c: (-(c["similarity"] or 0.0), c["id"]))
    return out


def copies_or_none(index, doc_id: str) -> list[dict] | None:
    """:func:`near_copies`, or None when the index has no duplicate data."""
    try:
        return near_copies(index, doc_id)
    except DuplicateStoreError:
        return None
    except DocumentNotFoundError:  # indexed, but not in the duplicate data yet
        return []


def similar_split(index, doc_id: str, limit: int = 10):
    """``vnsearch similar``: (near-identical copies, related articles without those copies).

    Copies is None when the index has no duplicate data.
    """
    doc_id = index.resolve_id(doc_id)
    copies = copies_or_none(index, doc_id)
    results = similar(index, doc_id, limit=limit, exclude=[c["id"] for c in copies or ()])
    return copies, results
