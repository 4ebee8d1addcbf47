"""What only a real process shows: colour on a TTY, NO_COLOR, no control characters from
documents, and silence on a closed pipe (`vnsearch search x --jsonl | head -1`)."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner
from conftest import REPO, build

from vnsearch import Document
from vnsearch.cli import cli
from vnsearch.cli.render import BOLD, BOLD_RED, DIM, RESET

OUR_CODES = re.compile("|".join(re.escape(c) for c in (BOLD_RED, BOLD, DIM, RESET)))
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # \t and \n are fine


def env(**extra) -> dict:
    e = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "VNSEARCH_INDEX")}
    e["PYTHONPATH"] = str(REPO) + os.pathsep + e.get("PYTHONPATH", "")
    e.update(extra)
    return e


def run_on_tty(args, **extra_env) -> tuple[str, int]:
    """Run ``python -m vnsearch ARGS`` with stdout on a pseudo-terminal; (output, exit code)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "vnsearch", *map(str, args)],
        stdout=slave, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env(**extra_env),
    )  # fmt: skip
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    stderr = proc.stderr.read()
    proc.stderr.close()
    code = proc.wait()
    assert b"Traceback" not in stderr, stderr
    return b"".join(chunks).decode("utf-8"), code


def test_a_tty_gets_colour_and_no_color_turns_it_off(corpus_dir):
    out, code = run_on_tty(["search", "vàng", "--index", corpus_dir])
    assert code == 0 and BOLD_RED + "vàng" + RESET in out
    out, code = run_on_tty(["search", "vàng", "--index", corpus_dir], NO_COLOR="1")
    assert code == 0 and "\x1b" not in out and "vàng" in out


def test_colour_never_on_a_tty_and_always_in_a_pipe(corpus_dir):
    out, _ = run_on_tty(["search", "vàng", "--index", corpus_dir, "--color", "never"])
    assert "\x1b" not in out
    piped = CliRunner().invoke(
        cli, ["search", "vàng", "--index", str(corpus_dir), "--color", "always"]
    )
    assert BOLD_RED + "vàng" + RESET in piped.stdout
    plain = CliRunner().invoke(cli, ["search", "vàng", "--index", str(corpus_dir)])
    assert "\x1b" not in plain.stdout  # auto: not a terminal


def test_escape_sequences_in_documents_never_reach_the_terminal(corpus_dir):
    # d13 carries colour codes, a screen clear, a title-setting OSC and a bell in its title,
    # body and author; only our own highlighting codes may be printed.
    for args in (["search", "mưa lũ"], ["search", "mưa lũ", "--facets", "author"],
                 ["show", "d13"], ["similar", "d10"]):  # fmt: skip
        out, code = run_on_tty([*args, "--index", corpus_dir])
        assert code == 0 and out
        assert not CONTROL.search(OUR_CODES.sub("", out).replace("\r", "")), (args, out)
    forced = CliRunner().invoke(
        cli, ["search", "mưa lũ", "--index", str(corpus_dir), "--color", "always"]
    )
    assert OUR_CODES.search(forced.stdout)
    assert not CONTROL.search(OUR_CODES.sub("", forced.stdout))


# -- closed pipes -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def big_dir(tmp_path_factory):
    """Enough hits that the output overflows a pipe buffer."""
    path = tmp_path_factory.mktemp("big") / "ix"
    docs = [
        Document(id=f"b{n:04d}", title=f"Giá vàng phiên {n}",
                 body=f"Phiên {n}: giá vàng miếng tăng {n}.000 đồng mỗi lượng so với hôm qua. " * 4,
                 date=f"2023-{n % 12 + 1:02d}-{n % 28 + 1:02d}")
        for n in range(400)
    ]  # fmt: skip
    build(path, docs).close()
    return path


@pytest.mark.parametrize("fmt", ["--jsonl", "--json", "--color=never"])
def test_a_closed_pipe_is_quiet(big_dir, fmt):
    cmd = f'"{sys.executable}" -m vnsearch search vàng {fmt} -n 400 --index "{big_dir}" | head -1'
    proc = subprocess.run(["sh", "-c", cmd], capture_output=True, env=env(), timeout=120)
    assert proc.returncode == 0
    assert proc.stderr == b"", proc.stderr.decode()
    assert proc.stdout.count(b"\n") == 1


@pytest.mark.parametrize("fmt", ["--jsonl", "--color=never"])
def test_a_closed_pipe_keeps_exit_code_0_when_there_were_results(big_dir, fmt):
    # `set -o pipefail; vnsearch search x | head -1` must not report "no results" (exit 1).
    proc = subprocess.Popen(
        [sys.executable, "-m", "vnsearch", "search", "vàng", fmt, "-n", "400",
         "--index", str(big_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(),
    )  # fmt: skip
    assert proc.stdout.readline()
    proc.stdout.close()  # like `head -1`: 400 hits do not fit in the pipe's buffer
    stderr = proc.stderr.read()
    assert proc.wait(timeout=120) == 0
    assert stderr == b"", stderr.decode()


def test_a_pipe_closed_before_any_output_is_quiet(corpus_dir):
    cmd = f'"{sys.executable}" -m vnsearch search vàng --jsonl --index "{corpus_dir}" | true'
    proc = subprocess.run(["sh", "-c", cmd], capture_output=True, env=env(), timeout=120)
    assert proc.stderr == b"", proc.stderr.decode()


@pytest.mark.parametrize("encoding", ["latin-1", "ascii"])
def test_output_is_utf8_whatever_the_locale_says(corpus_dir, encoding):
    for fmt in ("--json", "--color=never"):
        proc = subprocess.run(
            [sys.executable, "-m", "vnsearch", "search", "vàng", fmt, "--index", str(corpus_dir)],
            capture_output=True, env=env(PYTHONIOENCODING=encoding), timeout=120,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr.decode()
        assert "trong nước tăng mạnh" in proc.stdout.decode("utf-8")


@pytest.mark.parametrize(
    "args", [["--json"], ["--color=never"], ["--json", "--offset=-1"], ["--offset=-1"]]
)
def test_an_error_keeps_exit_code_2_when_its_reader_is_gone(args):
    # `vnsearch search x --index missing 2>&1 | head -0`: still 2 ("error"), not 1 ("no results").
    proc = subprocess.Popen(
        [sys.executable, "-m", "vnsearch", "search", "vàng", *args, "--index", "/nonexistent"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env(),
    )  # fmt: skip
    proc.stdout.close()
    assert proc.wait(timeout=120) == 2


@pytest.mark.parametrize("fmt", ["--json", "--color=never"])
def test_no_results_keeps_exit_code_1_when_the_reader_is_gone(corpus_dir, fmt):
    proc = subprocess.Popen(
        [sys.executable, "-m", "vnsearch", "search", "từkhôngcó", fmt, "--index", str(corpus_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env(),
    )  # fmt: skip
    proc.stdout.close()  # the envelope or the "0 results" footer has nowhere to go
    assert proc.wait(timeout=120) == 1


def test_errors_in_a_real_process_are_one_line(corpus_dir):
    proc = subprocess.run(
        [sys.executable, "-m", "vnsearch", "search", "date:abc", "--index", str(corpus_dir)],
        capture_output=True, env=env(), timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2 and proc.stdout == b""
    assert len(proc.stderr.decode().splitlines()) == 1


def test_a_new_user_in_a_folder_with_seeds_gets_results_from_a_real_process(tmp_path):
    import shutil

    from conftest import SEEDS

    shutil.copytree(SEEDS, tmp_path / "seeds")
    proc = subprocess.run(
        [sys.executable, "-m", "vnsearch", "search", "xây dựng Đảng"],
        capture_output=True, env=env(), cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()
    assert "indexing ./seeds first" in proc.stderr.decode()
    assert " 1. " in proc.stdout.decode() and "xây dựng Đảng" in proc.stdout.decode()
