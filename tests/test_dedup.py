"""Near-duplicate groups: syndicated copies are grouped as the threshold says, and stay right
through incremental updates, reopening and threshold changes."""

from __future__ import annotations

import random
import sqlite3
import unicodedata

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vnsearch.dedup.minhash import (
    DEFAULT_THRESHOLD,
    MinHasher,
    estimate_jaccard,
    group_signatures,
    shingle_hashes,
    signature_text,
)
from vnsearch.dedup.store import DuplicateStore, DuplicateStoreError
from vnsearch.document import Document
from vnsearch.errors import DocumentNotFoundError, IndexFormatError

# ------------------------------------------------------------------ a Vietnamese-like article generator

WORDS = """
tỉnh ủy ban tổ chức hội nghị đánh giá tình hình kết quả công tác xây dựng đảng tháng đầu năm
triển khai nhiệm vụ trọng tâm cuối trưởng chủ trì ngành đã thực hiện các được giao đạt nhiều
quan trọng trong đó tham mưu hoàn thành chương trình cấp thường vụ đến nay cơ bản tiếp tục tốt
bộ máy cụ thể điều kiện để trung tâm chính trị huyện thị xã thành phố đi vào hoạt động từ ngày
xác định đơn vị hành chính thuộc diện sắp xếp giai đoạn gồm nông sơn hiệp đức quảng nam đà nẵng
người dân doanh nghiệp đầu tư phát triển kinh tế xã hội giáo dục y tế môi trường nông nghiệp
chính quyền địa phương sở ngành liên quan kiểm tra giám sát báo cáo đề xuất giải pháp nâng cao
chất lượng hiệu quả lãnh đạo chỉ đạo điều hành cán bộ đảng viên quần chúng nhân dân tích cực
chuyển biến mạnh mẽ đồng bộ toàn diện bền vững an ninh quốc phòng trật tự an toàn giao thông
mưa lũ thiên tai khắc phục hậu quả hỗ trợ kịp thời gia đình chính sách học sinh sinh viên
""".split()


def make_article(rng: random.Random, paragraphs: int = 6, sentences: int = 4) -> list[list[str]]:
    """Paragraphs of sentences of 8–18 words drawn from WORDS."""
    return [
        [
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 18))).capitalize() + "."
            for _ in range(sentences)
        ]
        for _ in range(paragraphs)
    ]


def render(article: list[list[str]]) -> str:
    return "\n".join(" ".join(p) for p in article)


def drop_paragraph(article, index: int = 2):
    return [p for i, p in enumerate(article) if i != index]


def reorder_sentences(article, rng: random.Random):
    out = [list(p) for p in article]
    for p in out:
        rng.shuffle(p)
    return out


def edit_words(text: str, share: float, rng: random.Random) -> str:
    """Substitute, insert or delete ``share`` of the words."""
    out: list[str] = []
    for w in text.split(" "):
        if rng.random() < share:
            op = rng.randrange(3)
            if op == 0:
                out.append(rng.choice(WORDS))
            elif op == 1:
                out.extend([w, rng.choice(WORDS)])
        else:
            out.append(w)
    return " ".join(out)


def exact_jaccard(a: str, b: str, size: int = 3) -> float:
    sa, sb = set(shingle_hashes(a, size).tolist()), set(shingle_hashes(b, size).tolist())
    return len(sa & sb) / len(sa | sb)


@pytest.fixture
def rng() -> random.Random:
    return random.Random(20230803)


@pytest.fixture
def store(tmp_path):
    with DuplicateStore.in_index(tmp_path) as s:
        yield s


def partition(groups) -> set[frozenset[str]]:
    return {frozenset(g.members if hasattr(g, "members") else g) for g in groups}


# ------------------------------------------------------------------ signatures


def test_signature_text_is_summary_body_and_captions_without_the_title():
    doc = Document(id="a", title="Tiêu đề mới", summary="Tóm tắt.", body="Nội dung.",
                   captions=["Ảnh: TTXVN"])
    assert signature_text(doc) == "Tóm tắt.\nNội dung.\nẢnh: TTXVN"


def test_a_new_headline_does_not_change_the_signature():
    hasher = MinHasher()
    a = Document(id="a", title="Bộ Công Thương họp xử lý 12 dự án", body="Nội dung bài viết dài.")
    b = Document(id="b", title="Tin mới nhất về 12 dự án thua lỗ", body="Nội dung bài viết dài.")
    assert np.array_equal(hasher.signature(signature_text(a)), hasher.signature(signature_text(b)))


def test_signatures_ignore_case_and_unicode_composition():
    hasher = MinHasher()
    text = "Trưởng ban Tổ chức Tỉnh ủy Nguyễn Chín chủ trì hội nghị"
    decomposed = unicodedata.normalize("NFD", text.upper())
    assert np.array_equal(hasher.signature(text), hasher.signature(decomposed))


def test_signatures_ignore_tone_placement_and_invisible_junk():
    hasher = MinHasher()
    new_style = "Hoà Vang khoẻ mạnh, thuỷ lợi Quảng Nam"
    old_style = "Hòa Vang kh\u00adỏe mạnh, th\u200bủy lợi Quảng Nam"
    assert np.array_equal(hasher.signature(new_style), hasher.signature(old_style))


def test_signatures_are_stable_across_processes_and_hashers():
    # Signatures are persisted: they must not depend on Python's per-process hash seed.
    text = "Chiều 3/8, Ban Tổ chức Tỉnh ủy tổ chức hội nghị đánh giá tình hình"
    assert np.array_equal(MinHasher().signature(text), MinHasher().signature(text))
    assert MinHasher().signature(text)[:4].tolist() == MinHasher(seed=1).signature(text)[:4].tolist()
    assert not np.array_equal(MinHasher(seed=2).signature(text), MinHasher().signature(text))


def test_empty_text_has_no_signature_and_short_text_has_one_shingle():
    assert MinHasher().signature(" … \n") is None
    assert shingle_hashes("Đà Nẵng", 3).size == 1


def test_estimated_jaccard_tracks_exact_jaccard(rng):
    hasher = MinHasher()
    base = render(make_article(rng))
    for share in (0.0, 0.05, 0.1, 0.2, 0.3):
        copy = edit_words(base, share, rng)
        est = estimate_jaccard(hasher.signature(base), hasher.signature(copy))
        assert abs(est - exact_jaccard(base, copy)) < 0.15  # 3+ standard errors at 128 perms


# ------------------------------------------------------------------ grouping by edit level


def test_syndicated_copies_are_grouped_and_other_stories_are_not(store, rng):
    article = make_article(rng)
    original = render(article)
    copies = {
        "headline-changed": original,
        "paragraph-dropped": render(drop_paragraph(article)),
        "sentences-reordered": render(reorder_sentences(article, rng)),
        "words-edited-5%": edit_words(original, 0.05, rng),
    }
    store.add("original", original)
    for doc_id, text in copies.items():
        store.add(doc_id, text)
    store.add("heavily-rewritten-30%", edit_words(original, 0.30, rng))
    store.add("other-story", render(make_article(rng)))

    group = store.group_of("original")
    assert store.members(group) == sorted(["original", *copies])
    assert store.group_of("heavily-rewritten-30%") != group
    assert store.group_of("other-story") != group
    assert [g.members for g in store.groups()] == [sorted(["original", *copies])]


@pytest.mark.parametrize("threshold", [0.3, DEFAULT_THRESHOLD, 0.7])
@pytest.mark.parametrize("share", [0.05, 0.1, 0.2, 0.3])
def test_edited_copies_are_grouped_as_the_threshold_says(tmp_path, rng, threshold, share):
    original = render(make_article(rng, paragraphs=8))
    copy = edit_words(original, share, rng)
    similarity = exact_jaccard(original, copy)
    with DuplicateStore.in_index(tmp_path, threshold=threshold) as store:
        store.add("original", original)
        store.add("copy", copy)
        together = store.group_of("original") == store.group_of("copy")
    if similarity >= threshold + 0.12:
        assert together, f"Jaccard {similarity:.2f} is well above {threshold}"
    elif similarity <= threshold - 0.12:
        assert not together, f"Jaccard {similarity:.2f} is well below {threshold}"


def test_documents_without_text_are_never_duplicates(store):
    store.add("empty-1", "")
    store.add("empty-2", "  \n ")
    assert store.group_of("empty-1") != store.group_of("empty-2")
    assert store.groups() == []
    assert store.similar("empty-1") == []


# ------------------------------------------------------------------ incremental maintenance


def test_groups_follow_edits_deletions_and_new_copies(store, rng):
    article = make_article(rng)
    original = render(article)
    for doc_id in ("a", "b", "c"):
        store.add(doc_id, edit_words(original, 0.03, rng))
    group = store.group_of("a")
    assert store.members(group) == ["a", "b", "c"]

    store.add("b", render(make_article(rng)))  # b rewritten into another story
    assert store.members(group) == ["a", "c"]
    assert store.group_of("b") != group

    store.remove("c")
    assert store.members(group) == ["a"]
    assert "c" not in store
    with pytest.raises(DocumentNotFoundError):
        store.group_of("c")

    store.add("d", render(drop_paragraph(article, 0)))  # a new copy arrives
    assert store.members(group) == ["a", "d"]
    assert store.copies_of("d") == ["a"]


def test_removed_and_rewritten_documents_leave_no_bands(tmp_path, rng):
    with DuplicateStore.in_index(tmp_path) as store:
        for doc_id in ("a", "b", "c"):
            store.add(doc_id, render(make_article(rng)))
        store.add("b", render(make_article(rng)))
        store.remove("c")
        store.add("e", "")
        store.remove("e")
        store.retune(0.6)  # bands made again from the signatures
        store.remove("a")
        store.add("a", render(make_article(rng)))
    db = sqlite3.connect(tmp_path / "duplicates.sqlite")
    per_doc = dict(db.execute("SELECT doc_id, count(*) FROM bands JOIN docs USING (num) "
                              "GROUP BY doc_id"))
    bands = int(db.execute("SELECT value FROM meta WHERE key='bands'").fetchone()[0])
    assert per_doc == {"a": bands, "b": bands}
    assert db.execute("SELECT count(*) FROM sqlite_master WHERE type='index' AND "
                      "tbl_name='bands'").fetchone()[0] == 0  # the primary key only
    db.close()


def test_readding_unchanged_text_keeps_the_group(store, rng):
    text = render(make_article(rng))
    store.add("a", text)
    store.add("b", text)
    group = store.group_of("a")
    assert store.add("a", text) == group
    assert store.members(group) == ["a", "b"]


def chain(rng: random.Random):
    """Texts A, B, C of 4 blocks: A~B and B~C share 3 blocks (J≈0.6), A and C 2 (J≈0.33)."""
    blocks = [render(make_article(rng, paragraphs=1, sentences=6)) for _ in range(6)]
    return ["\n".join(blocks[i : i + 4]) for i in (0, 1, 2)]


def test_removing_a_bridge_document_splits_its_group(tmp_path, rng):
    a, b, c = chain(rng)
    assert exact_jaccard(a, b) > 0.55 > 0.4 > exact_jaccard(a, c)
    with DuplicateStore.in_index(tmp_path, threshold=0.47) as store:
        store.add("a", a)
        store.add("c", c)
        assert store.group_of("a") != store.group_of("c")
        store.add("b", b)  # the bridge merges both groups into the older one
        group = store.group_of("a")
        assert store.members(group) == ["a", "b", "c"]
        store.remove("b")
        assert store.group_of("a") != store.group_of("c")
        assert group in (store.group_of("a"), store.group_of("c"))  # one part keeps the id
        assert store.groups() == []


texts_pool = st.sampled_from(range(8))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.tuples(st.sampled_from(["add", "remove"]), st.integers(0, 5), texts_pool),
                    max_size=25))
def test_incremental_groups_equal_a_fresh_build(tmp_path_factory, ops):
    rng = random.Random(5)
    a, b, c = chain(rng)
    base = render(make_article(rng))
    pool = [a, b, c, base, edit_words(base, 0.05, rng), edit_words(base, 0.1, rng),
            render(drop_paragraph(make_article(random.Random(9)))), ""]
    path = tmp_path_factory.mktemp("store")
    current: dict[str, str] = {}
    with DuplicateStore.in_index(path, threshold=0.47) as store:
        for op, doc, text in ops:
            doc_id = f"d{doc}"
            if op == "add":
                store.add(doc_id, pool[text])
                current[doc_id] = pool[text]
            else:
                store.remove(doc_id)
                current.pop(doc_id, None)
        stored = partition(store.groups(min_size=1))
    hasher = MinHasher()
    ids = sorted(d for d, t in current.items() if t)
    sigs = np.stack([hasher.signature(current[d]) for d in ids]) if ids else np.empty((0, 128))
    fresh = partition(group_signatures(ids, sigs, 0.47)) | {
        frozenset([d]) for d, t in current.items() if not t
    }
    assert stored == fresh


# ------------------------------------------------------------------ persistence and thresholds


def test_groups_survive_reopening(tmp_path, rng):
    text = render(make_article(rng))
    with DuplicateStore.in_index(tmp_path) as store:
        store.add("a", text)
        store.add("b", edit_words(text, 0.03, rng))
        group = store.group_of("a")
    with DuplicateStore.in_index(tmp_path, readonly=True) as store:
        assert store.members(group) == ["a", "b"]
        assert store.threshold == DEFAULT_THRESHOLD
        with pytest.raises(DuplicateStoreError):
            store.add("c", text)


def test_a_new_threshold_regroups_from_stored_signatures(tmp_path, rng):
    original = render(make_article(rng, paragraphs=8))
    texts = {"original": original, "light": edit_words(original, 0.05, rng),
             "heavy": edit_words(original, 0.2, rng), "other": render(make_article(rng))}
    with DuplicateStore.in_index(tmp_path, threshold=0.7) as store:
        for doc_id, text in texts.items():
            store.add(doc_id, text)
        strict = partition(store.groups())
        assert partition(store.groups(threshold=0.3)) == {frozenset(["original", "light", "heavy"])}
    with DuplicateStore.in_index(tmp_path, threshold=0.3) as store:  # reopened, retuned
        assert store.threshold == 0.3
        assert partition(store.groups()) == {frozenset(["original", "light", "heavy"])}
        assert partition(store.groups(threshold=0.7)) == strict == {frozenset(["original", "light"])}
    with DuplicateStore.in_index(tmp_path) as store:  # no threshold given: the stored one
        assert store.threshold == 0.3


def test_bad_thresholds_are_refused(tmp_path):
    with pytest.raises(DuplicateStoreError):
        DuplicateStore.in_index(tmp_path, threshold=1.5)
    with DuplicateStore.in_index(tmp_path) as store, pytest.raises(DuplicateStoreError):
        store.groups(threshold=0)


def test_similar_lists_direct_copies_best_first(store, rng):
    text = render(make_article(rng))
    store.add("a", text)
    store.add("same", text)
    store.add("edited", edit_words(text, 0.05, rng))
    store.add("other", render(make_article(rng)))
    near = store.similar("a")
    assert [d for d, _ in near] == ["same", "edited"]
    assert near[0][1] == 1.0 > near[1][1] >= DEFAULT_THRESHOLD


def test_a_failed_batch_leaves_the_store_as_it_was(store, rng):
    text = render(make_article(rng))
    store.add("a", text)
    with pytest.raises(RuntimeError), store.transaction():
        store.add("b", text)
        store.remove("a")
        raise RuntimeError("indexing failed half-way")
    assert store.doc_ids() == {"a"}


def test_readers_see_committed_state_only(tmp_path, rng):
    text = render(make_article(rng))
    with DuplicateStore.in_index(tmp_path) as writer:
        writer.add("a", text)
        with writer.transaction():
            writer.add("b", text)
            with DuplicateStore.in_index(tmp_path, readonly=True) as reader:
                assert reader.doc_ids() == {"a"}
        with DuplicateStore.in_index(tmp_path, readonly=True) as reader:
            assert reader.members(reader.group_of("a")) == ["a", "b"]


def test_a_second_writer_gets_a_clear_lock_error(tmp_path, rng):
    from vnsearch.errors import IndexLockedError

    with DuplicateStore.in_index(tmp_path) as first, first.transaction():
        first.add("a", render(make_article(rng)))
        with DuplicateStore.in_index(tmp_path, timeout=0.1) as second:
            with pytest.raises(IndexLockedError):
                second.add("b", "Một văn bản khác")


def test_a_corrupt_sidecar_is_a_clear_error(tmp_path):
    (tmp_path / "duplicates.sqlite").write_bytes(b"not a database at all" * 100)
    with pytest.raises(IndexFormatError):
        DuplicateStore.in_index(tmp_path)


def test_a_missing_sidecar_cannot_be_opened_read_only(tmp_path):
    with pytest.raises(DuplicateStoreError):
        DuplicateStore.in_index(tmp_path, readonly=True)
    assert not (tmp_path / "duplicates.sqlite").exists()


def test_a_sidecar_from_another_format_is_refused(tmp_path):
    DuplicateStore.in_index(tmp_path).close()
    with sqlite3.connect(tmp_path / "duplicates.sqlite") as db:
        db.execute("UPDATE meta SET value='99' WHERE key='format'")
    with pytest.raises(IndexFormatError):
        DuplicateStore.in_index(tmp_path)
