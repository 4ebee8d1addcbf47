"""Properties of any search on the corpus: totals, pages, filters, sorting and facets agree.

Queries are built from the corpus's own words and operators, options at random; whatever the
combination, the numbers a script relies on must be consistent with each other.
"""

from __future__ import annotations

from conftest import CORPUS_BY_ID, ids
from hypothesis import given, settings
from hypothesis import strategies as st

from vnsearch import QueryError
from vnsearch.codec.schema import key_form

WORDS = ["vàng", "bạc", "giá", "tổ chức", "to chuc", "đảng", "dang", "hòa", "má", "mưa lũ",
         "hội*", '"vàng bạc"', "title:giá", 'tag:"kinh tế"', "date:2023", "vàmg~",
         "xây dựng"]  # fmt: skip
OPS = ["", "AND", "OR", "NOT", "-"]
AUTHORS = [None, "Trần Thị Bình", "le hoang", "Nguyễn Văn An"]
TAGS = [None, "kinh tế", "đời sống", "xây dựng Đảng"]
DATES = [None, "2023-01-01", "2023-07-15", "2024-01-10"]


@st.composite
def queries(draw):
    parts = [draw(st.sampled_from(WORDS))]
    for _ in range(draw(st.integers(0, 2))):
        op = draw(st.sampled_from(OPS))
        word = draw(st.sampled_from(WORDS))
        parts.append(f"-{word}" if op == "-" else f"{op} {word}".strip())
    return " ".join(parts)


def in_filters(doc, author, tag, since, until) -> bool:
    if author and key_form(author) not in key_form(doc.author):
        return False
    if tag and key_form(tag) not in {key_form(t) for t in doc.tags}:
        return False
    return not (since and doc.date < since) and not (until and doc.date > until)


@settings(max_examples=150, deadline=None)
@given(
    query=queries(),
    author=st.sampled_from(AUTHORS),
    tag=st.sampled_from(TAGS),
    since=st.sampled_from(DATES),
    until=st.sampled_from(DATES),
    sort=st.sampled_from(["relevance", "date", "-date"]),
    page=st.integers(1, 4),
)
def test_totals_pages_filters_sorting_and_facets_agree(
    corpus, query, author, tag, since, until, sort, page
):
    options = dict(author=author, tag=tag, since=since, until=until, sort=sort)
    try:
        everything = corpus.search(query, limit=100, facets=["year", "author"], **options)
    except QueryError:
        return
    hits = everything.hits
    assert everything.total == len(hits)
    assert len({h.id for h in hits}) == len(hits)
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert sum(everything.facets["year"].values()) == everything.total
    assert sum(everything.facets["author"].values()) == everything.total
    for h in hits:
        assert in_filters(CORPUS_BY_ID[h.id], author, tag, since, until), h.id
    if sort == "relevance":
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    else:
        dates = [h.date for h in hits]
        assert dates == sorted(dates, reverse=(sort == "-date"))
    # Paging walks the same list, and the total does not depend on the page.
    pages = []
    for offset in range(0, len(hits), page):
        chunk = corpus.search(query, limit=page, offset=offset, **options)
        assert chunk.total == everything.total
        pages += [h.id for h in chunk.hits]
    assert pages == [h.id for h in hits]


def test_totals_are_exact_across_segments_and_deletions(tmp_path):
    from conftest import CORPUS, build

    ix = build(tmp_path / "ix", CORPUS[:7])
    ix.add(CORPUS[7:], jobs=1)  # a second segment
    ix.delete(["d04", "d12"])
    for query in ("vàng", "vàng OR bạc", "tổ chức -đảng", "hoà NOT tổ", '"vàng bạc"', "date:2023",
                  "chuy*", "+vàng bạc", "to chuc dang"):  # fmt: skip
        everything = ix.search(query, limit=100)
        assert not {"d04", "d12"} & set(ids(everything))
        for limit in (0, 1, 2):
            assert ix.search(query, limit=limit).total == everything.total == len(everything.hits)
        assert ix.search(query, limit=1, since="2023-06-01").total == len(
            ix.search(query, limit=100, since="2023-06-01").hits
        )
