"""Incremental indexing: only new and changed files are analysed, deleted files leave the index,
every run reports what it did, and exit codes say whether everything went in."""

from __future__ import annotations

import os
import random
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

import vnsearch.write.pipeline
from vnsearch import Document, Index
from vnsearch.cli import cli

WORDS = (
    "tổ chức hội nghị xây dựng Đảng chính quyền nhân dân kinh tế xã hội phát triển bền vững "
    "giáo dục đào tạo y tế sức khỏe cộng đồng giao thông vận tải nông nghiệp nông thôn mới "
    "du lịch văn hóa thể thao môi trường biến đổi khí hậu thiên tai mưa lũ doanh nghiệp "
    "đầu tư công nghệ thông tin chuyển đổi số an ninh quốc phòng tỉnh ủy thành phố huyện xã"
).split()
NAMES = ["NGUYỄN VĂN AN", "TRẦN THỊ BÌNH", "LÊ HOÀNG CƯỜNG", "PHẠM MINH ĐỨC"]


def press_release(rng: random.Random, n: int) -> str:
    """A small generated press release in the seeds' text format."""

    def sentence(k: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(k)).capitalize() + "."

    title = f"Tin số {n}: " + sentence(8)[:-1]
    byline = f"{rng.choice(NAMES)} | {rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/2023"
    paragraphs = [" ".join(sentence(rng.randint(8, 16)) for _ in range(3)) for _ in range(3)]
    return "\n\n".join([title, byline, *paragraphs]) + "\n"


def write_corpus(folder: Path, count: int, seed: int = 1) -> list[Path]:
    """``count`` generated press releases as ``folder/NNNN.txt``."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for n in range(count):
        path = folder / f"{n:04d}.txt"
        path.write_text(press_release(rng, n), encoding="utf-8")
        files.append(path)
    return files


@pytest.fixture
def analysed(monkeypatch) -> list[str]:
    """Ids of the documents analysed (in this process: use jobs=1)."""
    seen: list[str] = []
    real = vnsearch.write.pipeline.prepare

    def spy(doc, *args, **kwargs):
        seen.append(doc.id)
        return real(doc, *args, **kwargs)

    monkeypatch.setattr(vnsearch.write.pipeline, "prepare", spy)
    return seen


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write_corpus(tmp_path / "press", 12)
    return tmp_path


def counts(report) -> tuple[int, int, int, int, int]:
    return report.added, report.updated, report.removed, report.unchanged, report.failed


def ids(ix: Index) -> list[str]:
    return sorted(h.id for h in ix.search("", since="1900-01-01", limit=1000).hits)


def test_a_second_run_on_an_unchanged_folder_analyses_nothing(workdir, analysed):
    ix = Index.create("ix")
    first = ix.index_paths(["press"], jobs=1)
    assert counts(first) == (12, 0, 0, 0, 0)
    assert len(analysed) == 12
    analysed.clear()
    again = ix.index_paths(["press"], jobs=1)
    assert counts(again) == (0, 0, 0, 12, 0)
    assert analysed == []
    assert len(ix) == 12


def test_touching_a_file_without_changing_it_analyses_nothing(workdir, analysed):
    ix = Index.create("ix")
    ix.index_paths(["press"], jobs=1)
    analysed.clear()
    path = workdir / "press" / "0003.txt"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 5_000_000_000))
    assert counts(ix.index_paths(["press"], jobs=1)) == (0, 0, 0, 12, 0)
    assert analysed == []


def test_added_changed_deleted_and_renamed_files(workdir, analysed):
    ix = Index.create("ix")
    ix.index_paths(["press"], jobs=1)
    press = workdir / "press"
    analysed.clear()
    (press / "0001.txt").write_text("Giá vàng tăng kỷ lục\n\nHôm nay giá vàng tăng mạnh.\n")
    (press / "0002.txt").unlink()
    (press / "0003.txt").rename(press / "0099.txt")
    (press / "new.txt").write_text("Lễ hội pháo hoa Đà Nẵng\n\nKhán giả đông kín bờ sông.\n")

    report = ix.index_paths(["press"], jobs=1)
    # the renamed file is a new id (ids follow paths): one removal, one addition
    assert counts(report) == (2, 1, 2, 9, 0)
    assert sorted(analysed) == ["press/0001.txt", "press/0099.txt", "press/new.txt"]
    assert "press/0002.txt" not in ids(ix) and "press/0003.txt" not in ids(ix)
    assert len(ix) == 12
    assert [h.id for h in ix.search("\"giá vàng\"").hits] == ["press/0001.txt"]
    assert [h.id for h in ix.search("\"pháo hoa\"").hits] == ["press/new.txt"]
    assert counts(ix.index_paths(["press"], jobs=1)) == (0, 0, 0, 12, 0)


def test_only_changed_records_of_a_jsonl_file_are_analysed(tmp_path, analysed):
    data = tmp_path / "feed.jsonl"
    records = [{"id": f"r{i}", "title": f"Bản tin {i}", "body": "Thời tiết hôm nay nắng."}
               for i in range(5)]
    data.write_bytes(b"\n".join(orjson.dumps(r) for r in records))
    ix = Index.create(tmp_path / "ix")
    assert counts(ix.index_paths([str(data)], jobs=1)) == (5, 0, 0, 0, 0)
    analysed.clear()
    records[2]["body"] = "Mưa lớn kéo dài cả ngày."
    del records[4]
    data.write_bytes(b"\n".join(orjson.dumps(r) for r in records))
    assert counts(ix.index_paths([str(data)], jobs=1)) == (0, 1, 1, 3, 0)
    assert analysed == ["r2"]
    assert [h.id for h in ix.search("\"mưa lớn\"").hits] == ["r2"]
    assert len(ix) == 4


def test_deleted_files_are_removed_only_under_the_folders_being_indexed(workdir):
    write_corpus(workdir / "other", 3, seed=2)
    ix = Index.create("ix")
    ix.index_paths(["press", "other"], jobs=1)
    (workdir / "other" / "0000.txt").unlink()
    (workdir / "press" / "0000.txt").unlink()
    report = ix.index_paths(["press"], jobs=1)
    assert (report.removed, report.files_removed) == (1, 1)
    assert "other/0000.txt" in ids(ix) and "press/0000.txt" not in ids(ix)
    report = ix.index_paths(["press", "other"], jobs=1)
    assert report.removed == 1 and "other/0000.txt" not in ids(ix)


def test_a_folder_that_is_gone_removes_nothing(workdir):
    ix = Index.create("ix")
    ix.index_paths(["press"], jobs=1)
    (workdir / "press").rename(workdir / "elsewhere")
    report = ix.index_paths(["press"], jobs=1)
    assert report.failed == 1 and report.removed == 0
    assert len(ix) == 12


def test_an_index_without_state_learns_it_without_analysing_again(workdir, analysed):
    ix = Index.create("ix")
    ix.index_paths(["press"], jobs=1)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(f"ix/state.sqlite{suffix}"):
            os.remove(f"ix/state.sqlite{suffix}")
    analysed.clear()
    assert counts(Index.open("ix").index_paths(["press"], jobs=1)) == (0, 0, 0, 12, 0)
    assert analysed == []


def test_adding_unchanged_documents_through_the_api_analyses_nothing(tmp_path, analysed):
    ix = Index.create(tmp_path / "ix")
    docs = [Document(id=f"d{i}", title=f"Tin {i}", body="Hội nghị tổng kết.") for i in range(3)]
    ix.add(docs, jobs=1)
    analysed.clear()
    docs[1].body = "Nội dung mới."
    report = ix.add(docs, jobs=1)
    assert (report.added, report.updated, report.unchanged) == (0, 1, 2)
    assert analysed == ["d1"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_same_id_twice_in_one_run_keeps_the_last_version(tmp_path, jobs):
    ix = Index.create(tmp_path / "ix")
    ix.add([Document(id="x", body="bản đầu"), Document(id="x", body="bản cuối")], jobs=jobs)
    assert len(ix) == 1 and ix.get("x").body == "bản cuối"


def write_feed(path: Path, doc_id: str, title: str, body: str) -> None:
    path.write_bytes(orjson.dumps({"id": doc_id, "title": title, "body": body}) + b"\n")


@pytest.fixture
def shared_id(tmp_path, monkeypatch) -> Index:
    """feeds/a.jsonl and feeds/b.jsonl both hold a record with id X; an empty index."""
    monkeypatch.chdir(tmp_path)
    Path("feeds").mkdir()
    write_feed(Path("feeds/a.jsonl"), "X", "Bản A", "Quả táo")
    write_feed(Path("feeds/b.jsonl"), "X", "Bản B", "Quả cam")
    ix = Index.create("ix")
    return ix


def test_an_id_found_in_two_files_keeps_the_first_copy_and_warns(shared_id):
    ix = shared_id
    report = ix.index_paths(["feeds"], jobs=1)
    assert [str(p) for p in report.problems] == [
        "feeds/b.jsonl: id 'X' already indexed from feeds/a.jsonl"
    ]
    assert (report.added, report.skipped, report.failed) == (1, 1, 0)
    assert ix.get("X").title == "Bản A"
    again = ix.index_paths(["feeds"], jobs=1)  # still warned, nothing analysed again
    assert (again.added, again.updated, again.skipped) == (0, 0, 1)
    assert ix.get("X").title == "Bản A"


@pytest.mark.parametrize("change", ["delete", "drop the id"])
def test_an_id_found_in_two_files_survives_the_first_file_letting_it_go(shared_id, change):
    ix = shared_id
    ix.index_paths(["feeds"], jobs=1)
    if change == "delete":
        Path("feeds/a.jsonl").unlink()
    else:
        write_feed(Path("feeds/a.jsonl"), "Y", "Bản A", "Quả táo")
    report = ix.index_paths(["feeds"], jobs=1)
    assert report.problems == []
    assert ix.get("X").title == "Bản B"
    assert counts(ix.index_paths(["feeds"], jobs=1))[:3] == (0, 0, 0)


def test_an_id_found_in_two_files_survives_the_second_file_being_deleted(shared_id):
    ix = shared_id
    ix.index_paths(["feeds"], jobs=1)
    Path("feeds/b.jsonl").unlink()
    ix.index_paths(["feeds"], jobs=1)
    assert ix.get("X").title == "Bản A"
    assert [h.id for h in ix.search("táo").hits] == ["X"]


def test_segments_are_built_aside_and_leftovers_of_a_killed_run_are_cleared(workdir):
    ix = Index.create("ix")
    leftover = Path("ix") / ".staging-7"  # as a worker killed with its parent leaves it
    leftover.mkdir()
    (leftover / "MAIN_abandoned.seg").write_bytes(b"half a segment")
    ix.batch_size = 5
    assert counts(ix.index_paths(["press"], jobs=2)) == (12, 0, 0, 0, 0)
    assert not [name for name in os.listdir("ix") if name.startswith(".staging")]
    assert len(Index.open("ix")) == 12


def test_a_failing_worker_stops_the_run_and_keeps_the_committed_batches(workdir, monkeypatch):
    ix = Index.create("ix")
    ix.batch_size = 4
    real = vnsearch.write.pipeline.prepare

    def fail_on_0009(doc, *args, **kwargs):
        if doc.id.startswith("press/0009"):
            raise ValueError("analysis failed")
        return real(doc, *args, **kwargs)

    monkeypatch.setattr(vnsearch.write.pipeline, "prepare", fail_on_0009)
    with pytest.raises(RuntimeError, match="analysis failed"):
        ix.index_paths(["press"], jobs=2)
    reopened = Index.open("ix")
    assert len(reopened) in (0, 4, 8)  # whole batches only
    monkeypatch.setattr(vnsearch.write.pipeline, "prepare", real)
    assert reopened.index_paths(["press"], jobs=2).failed == 0
    assert len(Index.open("ix")) == 12


def test_workers_and_small_batches_index_the_same_documents(workdir):
    ix = Index.create("ix")
    ix.batch_size = 5
    report = ix.index_paths(["press"], jobs=2)
    assert counts(report) == (12, 0, 0, 0, 0)
    assert len(ix) == 12 and len(ids(ix)) == 12
    assert ix.search("xây dựng").total > 0


def test_stats_after_batches_show_documents_segments_and_versions(workdir):
    ix = Index.create("ix")
    ix.batch_size = 4
    ix.index_paths(["press"], jobs=1)
    stats = Index.open("ix").stats()
    assert stats["documents"] == 12 and stats["segments"] >= 1
    assert stats["format_version"] >= 1 and stats["analysis_version"] >= 1
    assert stats["updated"] >= stats["created"]


def test_delete_by_id(workdir):
    ix = Index.create("ix")
    ix.index_paths(["press"], jobs=1)
    assert ix.delete(["press/0000.txt", "no-such-id"]) == 1
    assert len(ix) == 11
    # the file is still there, unchanged on disk, but its document was deleted: it comes back
    assert Index.open("ix").index_paths(["press"], jobs=1).added == 1


# ---------------------------------------------------------------------------------- CLI


def run(*args):
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_cli_reports_counts_as_json_and_on_stderr(workdir):
    code, out, err = run("index", "press", "--index", "ix", "--jobs", "1", "--json")
    assert code == 0
    summary = orjson.loads(out)
    assert (summary["added"], summary["unchanged"], summary["failed"]) == (12, 0, 0)
    assert "added 12" in err
    code, out, err = run("index", "press", "--index", "ix", "--json", "--quiet")
    assert code == 0 and orjson.loads(out)["unchanged"] == 12 and "unchanged 12" in err


def test_cli_exit_code_3_when_some_files_failed(workdir):
    (workdir / "press" / "bad.json").write_text("{not json")
    code, out, err = run("index", "press", "--index", "ix", "--jobs", "1", "--json")
    assert code == 3
    assert orjson.loads(out)["added"] == 12 and "bad.json" in err


def test_cli_exit_code_2_when_nothing_could_be_indexed(workdir):
    code, _, err = run("index", "missing-folder", "--index", "ix")
    assert code == 2 and "missing-folder" in err


def test_paths_that_all_do_not_exist_leave_no_index_behind_and_rebuild_nothing(workdir):
    # A typo must not leave an empty index (searches would then say "0 results" instead of
    # "no index"), nor wipe a good one with --rebuild. ./seeds is the default path.
    for args in (["missing-folder"], [], ["missing", "also-missing"]):
        code, _, err = run("index", *args, "--index", "ix")
        assert code == 2 and len(err.splitlines()) == 1 and "nothing to index" in err
        assert not (workdir / "ix").exists()
    assert run("index", "press", "--index", "ix", "--jobs", "1")[0] == 0
    code, _, _ = run("index", "typo", "--index", "ix", "--rebuild")
    assert code == 2 and len(Index.open(workdir / "ix")) == 12


def test_cli_rebuild_starts_over(workdir):
    run("index", "press", "--index", "ix", "--jobs", "1")
    code, out, _ = run("index", "press", "--index", "ix", "--rebuild", "--json")
    assert code == 0 and orjson.loads(out)["added"] == 12


def test_an_incompatible_index_says_so_in_one_line_and_suggests_rebuild(workdir):
    run("index", "press", "--index", "ix", "--jobs", "1")
    meta = orjson.loads(Path("ix/vnsearch.json").read_bytes())
    meta["format_version"] = 999
    Path("ix/vnsearch.json").write_bytes(orjson.dumps(meta))
    for command in (["index", "press"], ["search", "xây dựng"], ["stats"]):
        code, _, err = run(*command, "--index", "ix")
        assert code == 2
        assert err.count("\n") == 1 and "999" in err and "--rebuild" in err
    code, out, _ = run("index", "press", "--index", "ix", "--rebuild", "--json")
    assert code == 0 and orjson.loads(out)["added"] == 12


def test_a_corrupt_state_file_is_a_one_line_error(workdir):
    run("index", "press", "--index", "ix", "--jobs", "1")
    Path("ix/state.sqlite").write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        Path(f"ix/state.sqlite{suffix}").unlink(missing_ok=True)
    code, _, err = run("index", "press", "--index", "ix")
    assert code == 2 and err.count("\n") == 1 and "--rebuild" in err
    code, out, _ = run("index", "press", "--index", "ix", "--rebuild", "--json")
    assert code == 0 and orjson.loads(out)["added"] == 12


def test_an_index_path_that_is_a_file_or_cannot_be_made_is_a_one_line_error(workdir):
    Path("taken").write_text("a file, not a folder")
    for where in ("taken", "taken/ix", "/proc/vnsearch-index"):
        code, out, err = run("index", "press", "--index", where)
        assert code == 2 and err.count("\n") == 1 and where in err, (where, err)
        assert "Traceback" not in err and out == ""
    assert Path("taken").read_text() == "a file, not a folder"


def test_an_index_from_a_newer_vnsearch_asks_for_an_upgrade_before_a_rebuild(workdir):
    run("index", "press", "--index", "ix", "--jobs", "1")
    meta = orjson.loads(Path("ix/vnsearch.json").read_bytes())
    meta["format_version"] += 1
    Path("ix/vnsearch.json").write_bytes(orjson.dumps(meta))
    code, _, err = run("search", "xây dựng", "--index", "ix")
    assert code == 2 and err.count("\n") == 1
    assert "newer vnsearch" in err and err.index("upgrade") < err.index("--rebuild")


@pytest.mark.parametrize("meta", [b"[1, 2]", b'"text"', b"null"])
def test_index_metadata_that_is_not_an_object_is_a_one_line_error(workdir, meta):
    run("index", "press", "--index", "ix", "--jobs", "1")
    Path("ix/vnsearch.json").write_bytes(meta)
    for command in (["search", "xây dựng"], ["stats"], ["index", "press"]):
        code, _, err = run(*command, "--index", "ix")
        assert code == 2 and err.count("\n") == 1 and "vnsearch.json" in err, (command, err)


def test_a_damaged_segment_is_a_one_line_error_that_suggests_rebuild(workdir):
    run("index", "press", "--index", "ix", "--jobs", "1")
    for seg in Path("ix").glob("*.seg"):
        seg.write_bytes(b"")
    for command in (["search", "xây dựng"], ["stats"], ["show", "press/0000.txt"]):
        code, _, err = run(*command, "--index", "ix")
        assert code == 2 and err.count("\n") == 1 and "--rebuild" in err, (command, err)


def test_a_file_name_that_is_not_utf8_fails_alone_and_the_rest_is_indexed(workdir):
    # A Latin-1 file name: its id could never be printed, searched or shown as UTF-8.
    bad = os.path.join(b"press", b"b\xe0d.txt")
    with open(bad, "wb") as f:
        f.write("Giá vàng\n\nGiá vàng tăng mạnh.\n".encode())
    code, out, err = run("index", "press", os.fsdecode(b"missing-\xe0"), "--index", "ix",
                         "--jobs", "1", "--json")  # fmt: skip
    assert code == 3, err
    report = orjson.loads(out)
    assert report["added"] == 12 and report["failed"] == 2
    assert "press/b\ufffdd.txt: file name is not UTF-8 (rename it)" in report["problems"]
    assert "missing-\ufffd: no such file or folder" in report["problems"]
    assert "Traceback" not in err


def test_indexing_a_folder_that_holds_the_index_leaves_the_index_alone(workdir):
    for _ in range(2):
        code, out, err = run("index", ".", "--index", "ix", "--jobs", "1", "--json")
        report = orjson.loads(out)
        assert code == 0 and report["files"] == 12, err
        assert report["problems"] == [] and report["skipped"] == 0
    code, _, err = run("index", "ix", "--index", "ix")
    assert "ix: a vnsearch index folder" in err


@pytest.mark.parametrize("rebuild", [[], ["--rebuild"]])
def test_an_index_is_never_made_in_a_folder_of_other_files(workdir, rebuild):
    # `vnsearch index press --index press` once deleted every file in press/.
    before = sorted(p.name for p in Path("press").iterdir())
    code, out, err = run("index", "press", "--index", "press", *rebuild)
    assert code == 2 and err.count("\n") == 1 and "not empty" in err, err
    assert sorted(p.name for p in Path("press").iterdir()) == before
    assert not Path("press/vnsearch.json").exists()


def test_an_index_can_be_made_in_an_empty_folder_or_over_a_half_made_index(workdir):
    Path("empty").mkdir()
    (Path("empty") / ".gitkeep").write_text("")
    Path("half").mkdir()
    (Path("half") / "_MAIN_0.toc").write_bytes(b"\x00" * 8)  # a create that died before its meta
    for where in ("empty", "half"):
        code, _, err = run("index", "press", "--index", where, "--jobs", "1")
        assert code == 0, err
        assert Index.open(where).stats()["documents"] == 12
    assert (Path("empty") / ".gitkeep").exists()


def test_an_os_error_midway_is_one_line_with_its_file_not_a_traceback(workdir, monkeypatch):
    import errno

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", "ix/MAIN_x.seg")

    monkeypatch.setattr(vnsearch.write.pipeline, "index_files", disk_full)
    code, out, err = run("index", "press", "--index", "ix", "--json")
    assert code == 2 and err.count("\n") == 1
    message = orjson.loads(out)["error"]
    assert err == f"vnsearch: error: {message}\n"
    assert message.startswith("cannot write the index at ix: No space left on device: "
                              "ix/MAIN_x.seg (file system ")


def test_a_partial_run_exits_3_even_when_nobody_reads_its_report(workdir):
    import subprocess
    import sys

    from conftest import REPO

    (workdir / "press" / "bad.json").write_text("{not json")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vnsearch", "index", "press", "--index", "ix", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    proc.stdout.close()
    assert proc.wait(timeout=120) == 3


def test_indexing_dot_in_another_folder_keeps_the_documents_of_the_first(tmp_path, monkeypatch):
    # One index ($VNSEARCH_INDEX) fed from two folders, each as `vnsearch index .`: both give
    # paths relative to '.', so the first folder's files looked deleted from the second.
    write_corpus(tmp_path / "press", 2)
    (tmp_path / "feeds").mkdir()
    write_feed(tmp_path / "feeds" / "f.jsonl", "X", "Giá vàng", "Giá vàng tăng.")
    ix = Index.create(tmp_path / "ix")
    monkeypatch.chdir(tmp_path / "press")
    ix.index_paths(["."], jobs=1)
    monkeypatch.chdir(tmp_path / "feeds")
    report = ix.index_paths(["."], jobs=1)
    assert (report.added, report.removed) == (1, 0)
    assert ids(ix) == ["0000.txt", "0001.txt"] and ix.get("X").title == "Giá vàng"
    monkeypatch.chdir(tmp_path / "press")
    os.remove("0001.txt")  # deleting under the folder being indexed still removes
    report = ix.index_paths(["."], jobs=1)
    assert report.removed == 1 and ids(ix) == ["0000.txt"] and len(ix) == 2


def test_a_file_deleted_while_its_folder_was_moved_is_removed(tmp_path, monkeypatch):
    write_corpus(tmp_path / "a" / "press", 2)
    ix = Index.create(tmp_path / "ix")
    monkeypatch.chdir(tmp_path / "a")
    ix.index_paths(["press"], jobs=1)
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "press").rename(tmp_path / "b" / "press")
    os.remove(tmp_path / "b" / "press" / "0001.txt")
    monkeypatch.chdir(tmp_path / "b")
    report = ix.index_paths(["press"], jobs=1)
    assert (report.removed, report.unchanged) == (1, 1) and ids(ix) == ["press/0000.txt"]


def test_a_whole_file_of_ids_indexed_elsewhere_lists_twenty_and_counts_the_rest(tmp_path):
    records = b"".join(
        orjson.dumps({"id": f"r{i}", "title": f"Tin {i}", "body": "Nội dung."}) + b"\n"
        for i in range(25)
    )
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "a.jsonl").write_bytes(records)
    (tmp_path / "feeds" / "copy.jsonl").write_bytes(records)
    report = Index.create(tmp_path / "ix").index_paths([str(tmp_path / "feeds")], jobs=1)
    assert report.added == 25 and len(report.problems) == 21
    assert str(report.problems[-1]) == (
        "feeds/copy.jsonl: 5 more ids already indexed from other files (25 in all)"
    )
