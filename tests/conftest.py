"""Shared fixtures: a small Vietnamese news corpus built once per session, and the seeds index.

The corpus is written so that each search behaviour has a document that proves it and a
document that would wrongly win if the behaviour broke (``má``/``mà``, ``đang``/``đảng``, a pyvi
word against the same syllables apart, two articles on the same day for tie-breaks...).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from vnsearch import Document, Index

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
SEED_FILE = "000_2bc2382ec64f120d.txt"

_NUMBERS_BODY = (
    "Theo Hiệp hội Kinh doanh vàng, sáng 15/7 giá vàng miếng được niêm yết ở mức 1.000.000 "
    "đồng mỗi chỉ, tăng mạnh so với tuần trước. Tỷ lệ người mua vàng tích trữ chiếm 60,52% "
    "tổng số giao dịch trong tuần. Các chuyên gia cho rằng nhu cầu mua vàng tăng do lãi suất "
    "tiết kiệm giảm liên tục trong nhiều tháng. Nhiều cửa hàng kéo dài giờ mở cửa để phục vụ "
    "khách. Ngân hàng Nhà nước cho biết sẽ tiếp tục theo dõi sát diễn biến thị trường và sẵn "
    "sàng can thiệp khi cần thiết. Giá vàng thế giới cũng tăng 2.345.678 đồng quy đổi, tương "
    "đương 12,5% kể từ đầu năm, mức cao nhất trong 5 năm qua."
)

CORPUS = [
    Document(
        id="d01", title="Hội nghị tổ chức xây dựng Đảng năm 2023",
        body="Chiều 3/8, Ban Tổ chức Tỉnh ủy tổ chức hội nghị đánh giá công tác tổ chức xây "
             "dựng Đảng 7 tháng đầu năm. Các cấp ủy đảng đã hoàn thành nhiều nhiệm vụ trọng tâm.",
        author="Nguyễn Văn An", date="2023-08-03", tags=["xây dựng Đảng", "Tổ chức"],
    ),
    Document(
        id="d02", title="Giá vàng trong nước tăng mạnh", body=_NUMBERS_BODY,
        author="Trần Thị Bình", date="2023-07-15", tags=["kinh tế", "vàng"],
    ),
    Document(
        id="d03", title="Giá bạc giảm nhẹ",
        body="Giá bạc trên thị trường giảm nhẹ trong phiên sáng nay, người mua bạc còn ít.",
        author="Trần Thị Bình", date="2023-07-15", tags=["kinh tế"],
    ),
    Document(
        id="d04", title="Thị trường vàng bạc đá quý sôi động",
        body="Các cửa hàng vàng bạc đá quý đông khách dịp cuối tuần.",
        author="TRẦN THỊ BÌNH", date="2023-06-20", tags=["kinh tế", "vàng"],
    ),
    Document(
        id="d05", title="Hòa bình và hợp tác trong khu vực",
        body="Hội thảo về hòa bình, hợp tác và phát triển bền vững được tổ chức tại Đà Nẵng.",
        author="Lê Hoàng", date="2022-12-01", tags=["đối ngoại"],
    ),
    Document(
        id="d06", title="Chuyện người mẹ quê",
        body="Má tôi dậy sớm nấu cơm. Má kể chuyện ngày xưa cho các con nghe mỗi tối.",
        author="Phạm Minh Châu", date="2023-03-08", tags=["đời sống"],
    ),
    Document(
        id="d07", title="Chuyện đường phố",
        body="Trời mưa to mà đường vẫn đông. Ai cũng vội mà không ai nhường ai mỗi tối.",
        author="Phạm Minh Châu", date="2023-03-08", tags=["đời sống"],
    ),
    Document(
        id="d08", title="Công trình cầu mới",
        body="Công trình cầu vượt đang thi công, công nhân đang làm việc cả ngày lẫn đêm.",
        author="Võ Thanh Tùng", date="2024-01-10", tags=["giao thông"],
    ),
    Document(
        id="d09", title="Sinh hoạt chi bộ",
        body="Chi bộ khu phố sinh hoạt định kỳ, đảng viên góp ý cho công tác của đảng.",
        author="Võ Thanh Tùng", date="2024-01-10", tags=["xây dựng Đảng"],
    ),
    Document(
        id="d10", title="Người dân vùng lũ",
        body="Sau trận lũ, người dân tự dựng lều tạm và xây bếp để nấu ăn, chờ nước rút.",
        author="Lê Hoàng", date="2023-10-20", tags=["thiên tai"],
    ),
    Document(
        id="d11", title="Chuyển đổi số trong cơ quan nhà nước",
        body="Tỉnh đẩy mạnh chuyển đổi số, xây dựng chính quyền điện tử phục vụ người dân.",
        author="Nguyễn Văn An", date="2024-02-05", tags=["chuyển đổi số"],
    ),
    Document(
        id="d12", title="Lễ hội pháo hoa quốc tế",
        body="Đội pháo hoa chủ nhà giành giải vàng, khán giả kín hai bờ sông Hàn.",
        author="Lê Hoàng", date="2023-06-20", tags=["du lịch", "lễ hội"],
    ),
    Document(
        id="d13", title="Thông cáo \x1b[31mkhẩn\x1b[0m về mưa lũ",
        body="Cảnh báo \x1b[1;31mkhẩn\x1b[0m cấp: mưa lũ diện rộng\x07 ở miền Trung "
             "\x1b]0;pwned\x07.",
        author="Ban Chỉ huy \x1b[2Jphòng chống thiên tai", date="2023-10-21", tags=["thiên tai"],
    ),
]  # fmt: skip

CORPUS_BY_ID = {d.id: d for d in CORPUS}


def build(path: Path, docs=CORPUS) -> Index:
    ix = Index.create(path)
    report = ix.add(list(docs), jobs=1)
    assert report.failed == 0
    return ix


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory) -> Path:
    """An index of :data:`CORPUS` (build it once; tests only read it)."""
    path = tmp_path_factory.mktemp("corpus") / "ix"
    build(path).close()
    return path


@pytest.fixture(scope="session")
def corpus(corpus_dir) -> Index:
    return Index.open(corpus_dir)


@pytest.fixture(scope="session")
def seeds_dir(tmp_path_factory) -> Path:
    """An index of the repository's seeds/ folder."""
    path = tmp_path_factory.mktemp("seeds") / "ix"
    ix = Index.create(path)
    report = ix.index_paths([str(SEEDS)], jobs=1)
    assert report.failed == 0 and report.indexed >= 1
    ix.close()
    return path


@pytest.fixture(scope="session")
def seeds_index(seeds_dir) -> Index:
    return Index.open(seeds_dir)


@pytest.fixture
def seeds_workdir(tmp_path, monkeypatch) -> Path:
    """A fresh working directory holding a copy of seeds/ and no index, chdir'ed into."""
    shutil.copytree(SEEDS, tmp_path / "seeds")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VNSEARCH_INDEX", raising=False)
    return tmp_path


def ids(results) -> list[str]:
    """Hit ids in rank order."""
    return [h.id for h in results.hits]
