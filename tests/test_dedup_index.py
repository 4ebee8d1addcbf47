"""Duplicate groups inside an index: kept while indexing, used by search --collapse,
`vnsearch duplicates` and `vnsearch similar`."""

from __future__ import annotations

import os
import random

import orjson
import pytest
from click.testing import CliRunner
from test_dedup import drop_paragraph, edit_words, make_article, render

from vnsearch import Document, Index
from vnsearch.cli import cli
from vnsearch.dedup.store import STORE_FILENAME, DuplicateStore, store_path


def story(rng: random.Random):
    return make_article(rng, paragraphs=5)


@pytest.fixture
def corpus() -> list[Document]:
    """One press release republished three times under new headlines, and two other stories."""
    rng = random.Random(42)
    release, other, third = story(rng), story(rng), story(rng)
    text = render(release)
    return [
        Document(id="tinh-uy", title="Hội nghị công tác xây dựng Đảng", body=text,
                 date="2023-08-03", source="Báo Quảng Nam"),
        Document(id="bao-a", title="Tỉnh ủy đánh giá công tác xây dựng Đảng",
                 summary="Tóm tắt ngắn.", body=render(drop_paragraph(release)),
                 date="2023-08-04", source="Báo A"),
        Document(id="bao-b", title="Nhiều chuyển biến trong xây dựng Đảng",
                 body=edit_words(text, 0.04, rng), date="2023-08-05", source="Báo B"),
        Document(id="bao-c", title="Công tác xây dựng Đảng 7 tháng",
                 body=render(release[1:]) + "\nẢnh: PV", date="2023-08-06"),
        Document(id="mua-lu", title="Mưa lũ và công tác xây dựng Đảng", body=render(other),
                 date="2023-08-01"),
        Document(id="giao-duc", title="Giáo dục", body=render(third), date="2023-08-02"),
    ]


@pytest.fixture
def index(tmp_path, corpus) -> Index:
    ix = Index.create(tmp_path / "ix")
    ix.add(corpus, jobs=1)
    return ix


COPIES = ["bao-a", "bao-b", "bao-c", "tinh-uy"]


def dup_store(ix: Index) -> DuplicateStore:
    return DuplicateStore(store_path(ix.path), readonly=True)


def test_indexing_groups_syndicated_copies(index):
    assert os.path.exists(os.path.join(index.path, STORE_FILENAME))
    with dup_store(index) as store:
        assert [g.members for g in store.groups()] == [COPIES]


def test_search_collapses_copies_into_the_best_ranked_hit(index):
    plain = [h.id for h in index.search("xây dựng đảng", limit=10).hits]
    assert set(COPIES) <= set(plain) and "mua-lu" in plain
    best = next(i for i in plain if i in COPIES)
    collapsed = index.search("xây dựng đảng", limit=10, collapse=True)
    assert [h.id for h in collapsed.hits] == [i for i in plain if i not in COPIES or i == best]
    hit = next(h for h in collapsed.hits if h.id == best)
    assert sorted(hit.duplicates + [best]) == COPIES
    assert hit.to_dict()["duplicates"] == 3
    assert all(h.duplicates == [] for h in collapsed.hits if h.id != best)
    assert [h.rank for h in collapsed.hits] == list(range(1, len(collapsed.hits) + 1))


def test_collapsed_pages_of_one_still_list_every_copy(index):
    plain = [h.id for h in index.search("xây dựng đảng", limit=10).hits]
    seen = []
    for offset in range(len(plain)):
        page = index.search("xây dựng đảng", limit=1, offset=offset, collapse=True).hits
        if not page:
            break
        (hit,) = page
        seen.append(hit.id)
        if hit.id in COPIES:
            assert sorted(hit.duplicates + [hit.id]) == COPIES
    assert len(seen) == len(plain) - 3 and len(set(seen)) == len(seen)


def test_collapse_only_counts_copies_that_match_the_filters(index):
    res = index.search("xây dựng đảng", since="2023-08-05", collapse=True)
    assert [(h.id, sorted(h.duplicates)) for h in res.hits] in (
        [("bao-b", ["bao-c"])], [("bao-c", ["bao-b"])]
    )


def test_groups_follow_updates_and_deletions(index, corpus):
    rng = random.Random(7)
    rewritten = Document(id="bao-b", title="Bài mới hoàn toàn", body=render(story(rng)))
    report = index.add([rewritten], jobs=1)
    assert report.updated == 1
    index.delete(["bao-c"])
    with dup_store(index) as store:
        assert [g.members for g in store.groups()] == [["bao-a", "tinh-uy"]]
    newcomer = Document(id="bao-d", title="Lại một bản sao", body=corpus[0].body)
    index.add([newcomer], jobs=1)
    with dup_store(index) as store:
        assert [g.members for g in store.groups()] == [["bao-a", "bao-d", "tinh-uy"]]


def test_a_lost_sidecar_is_rebuilt_on_the_next_indexing_run(index, corpus):
    for suffix in ("", "-wal", "-shm"):
        path = store_path(index.path) + suffix
        if os.path.exists(path):
            os.remove(path)
    report = index.add(corpus, jobs=1)  # nothing changed in the index itself
    assert report.unchanged == len(corpus)
    with dup_store(index) as store:
        assert [g.members for g in store.groups()] == [COPIES]


def test_indexing_with_workers_gives_the_same_groups(tmp_path, corpus):
    ix = Index.create(tmp_path / "ix")
    ix.add(corpus, jobs=2)
    with dup_store(ix) as store:
        assert [g.members for g in store.groups()] == [COPIES]


def test_collapse_without_duplicate_data_is_a_clear_error(tmp_path, corpus):
    ix = Index.create(tmp_path / "ix")
    ix.track_duplicates = False
    ix.add(corpus, jobs=1)
    from vnsearch.errors import VnsearchError

    with pytest.raises(VnsearchError, match="vnsearch index"):
        ix.search("xây dựng đảng", collapse=True)


# ------------------------------------------------------------------ CLI


def run(*args):
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_cli_search_collapse_json_lists_the_collapsed_ids(index):
    code, out = run("search", "xây dựng đảng", "--index", index.path, "--collapse", "--json")
    assert code == 0
    hits = orjson.loads(out)["hits"]
    grouped = [h for h in hits if h["id"] in COPIES]
    assert len(grouped) == 1
    assert grouped[0]["duplicates"] == 3
    assert sorted(grouped[0]["duplicate_ids"] + [grouped[0]["id"]]) == COPIES
    assert "duplicates" not in next(h for h in hits if h["id"] == "mua-lu")


def test_cli_duplicates_lists_groups_with_titles_and_dates(index):
    code, out = run("duplicates", "--index", index.path, "--json")
    assert code == 0
    (group,) = orjson.loads(out)["groups"]
    assert group["size"] == 4
    assert [m["id"] for m in group["members"]] == ["tinh-uy", "bao-a", "bao-b", "bao-c"]  # by date
    assert group["members"][0] == {"id": "tinh-uy", "title": "Hội nghị công tác xây dựng Đảng",
                                   "date": "2023-08-03", "source": "Báo Quảng Nam"}
    code, text = run("duplicates", "--index", index.path)
    assert code == 0 and "4 copies" in text and "2023-08-05  bao-b" in text
    assert text.rstrip().endswith("\n1 group, 4 documents")  # not "1 groups"


def test_cli_duplicates_with_a_strict_threshold_finds_fewer_copies(index):
    code, out = run("duplicates", "--index", index.path, "--json", "--threshold", "0.99")
    groups = orjson.loads(out)["groups"]
    assert code == (0 if groups else 1)
    assert all(g["size"] < 4 for g in groups)
    code, _ = run("duplicates", "--index", index.path, "--threshold", "1.5")
    assert code == 2


def test_cli_similar_separates_copies_from_related_articles(index):
    code, out = run("similar", "bao-a", "--index", index.path, "--json")
    assert code == 0
    data = orjson.loads(out)
    assert sorted(c["id"] for c in data["copies"]) == ["bao-b", "bao-c", "tinh-uy"]
    assert not {h["id"] for h in data["hits"]} & set(COPIES)
    code, text = run("similar", "bao-a", "--index", index.path, "--color", "never")
    assert "Near-identical copies:" in text and "Related articles:" in text


def test_similar_in_python_leaves_out_copies_unless_asked(index):
    # The same answer as `vnsearch similar`: related articles, not the same text republished.
    related = [h.id for h in index.similar("bao-a").hits]
    assert related and not set(related) & set(COPIES)
    with_copies = [h.id for h in index.similar("bao-a", copies=True).hits]
    assert {"bao-b", "bao-c", "tinh-uy"} <= set(with_copies) and "bao-a" not in with_copies


def test_ids_with_control_characters_print_none_in_duplicates_and_similar(tmp_path, corpus):
    # Ids come from JSON feeds and file names: they reach the terminal like titles do.
    evil = [Document(**{**d.to_dict(), "id": f"\x1b[2J{d.id}\x07"}) for d in corpus]
    ix = Index.create(tmp_path / "ix")
    ix.add(evil, jobs=1)
    code, text = run("duplicates", "--index", ix.path)
    assert code == 0 and "4 copies" in text and "bao-b" in text
    assert "\x1b" not in text and "\x07" not in text
    code, text = run("similar", "\x1b[2Jbao-a\x07", "--index", ix.path, "--color", "never")
    assert code == 0 and "Near-identical copies:" in text and "tinh-uy" in text
    assert "\x1b" not in text and "\x07" not in text
