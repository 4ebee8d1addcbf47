"""One hit per duplicate group: collapsing a ranked list with the duplicate store."""

from __future__ import annotations

from vnsearch.dedup.store import DuplicateStore


def collapse(ranked_ids: list[str], group_of: dict[str, int]) -> list[tuple[str, list[str]]]:
    """One entry per duplicate group, in rank order: (best-ranked id, the other ids, ranked).

    Ids missing from ``group_of`` (not in the duplicate data) are their own group.
    """
    kept: dict[object, tuple[str, list[str]]] = {}
    for doc_id in ranked_ids:
        key = group_of.get(doc_id, ("single", doc_id))
        if key in kept:
            kept[key][1].append(doc_id)
        else:
            kept[key] = (doc_id, [])
    return list(kept.values())


def collapse_results(searcher, run, offset: int, want: int, store: DuplicateStore):
    """Collapsed page of a Whoosh search: ``run(limit)`` searches with that limit.

    Returns (whoosh hits for ranks offset..want of the collapsed list, {id: duplicate ids}).
    Searches deeper until the page is full or the results are exhausted; each kept hit's
    duplicates are all matching members of its group, however deep they rank.
    """
    limit = max(want * 3, 30)
    while True:
        results = run(limit)
        hits = list(results)
        ids = [h["id"] for h in hits]
        groups = store.groups_of(ids)
        entries = collapse(ids, groups)
        if len(entries) >= want or len(hits) < limit:
            break
        limit *= 4
    page = entries[offset:want]
    by_id = {h["id"]: h for h in hits}
    matched = None
    dups: dict[str, list[str]] = {}
    for best, others in page:
        gid = groups.get(best)
        if gid is not None and len(hits) >= limit:
            # Copies ranked beyond what we fetched still count if they match the query.
            members = [m for m in store.members(gid) if m != best and m not in others]
            if members:
                if matched is None:
                    matched = set(results.docs())
                for m in members:
                    num = searcher.document_number(id=m)
                    if num is not None and num in matched:
                        others.append(m)
        dups[best] = others
    return [by_id[best] for best, _ in page], dups
