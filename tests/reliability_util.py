"""Helpers of the reliability tests (tests/test_reliability_*.py): real ``vnsearch`` processes,
small corpora, and the hostile environments the audit uses (a full disk, read-only media)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent


def env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUTF8": "1", **extra}


def vnsearch(*args, cwd=None, timeout: float = 180, **kwargs) -> subprocess.CompletedProcess:
    """Run ``python -m vnsearch ARGS`` in a real process; stdout and stderr as bytes."""
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.run(
        [sys.executable, "-m", "vnsearch", *map(str, args)], cwd=cwd, env=env(),
        timeout=timeout, **kwargs,
    )


def start(*args, cwd=None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "vnsearch", *map(str, args)], cwd=cwd, env=env(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


BODY_WORDS = (
    "hội nghị tổng kết công tác năm tỉnh ủy ban nhân dân xây dựng đảng chính quyền kinh tế "
    "phát triển bền vững người dân doanh nghiệp đầu tư hạ tầng giao thông"
).split()


def record(n: int, prefix: str = "doc") -> dict:
    words = [BODY_WORDS[(n * 7 + k * 3) % len(BODY_WORDS)] for k in range(40)]
    return {"id": f"{prefix}{n}", "title": f"Tin số {n} về {BODY_WORDS[n % len(BODY_WORDS)]}",
            "body": " ".join(words) + f" mã {n}."}


def write_jsonl(path: Path, records) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        for r in records:
            f.write(orjson.dumps(r) + b"\n")
    return path


def doc_count(index: Path) -> int:
    proc = vnsearch("stats", "--json", "--index", index)
    assert proc.returncode == 0, proc.stderr.decode()
    return orjson.loads(proc.stdout)["documents"]


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    """The stderr of a failed command: exactly one line, no traceback."""
    err = proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("vnsearch: error: "), err
    return lines[0]


# -- mounts (root only) -------------------------------------------------------------------------
def can_mount() -> bool:
    """Whether this process may mount file systems (root with CAP_SYS_ADMIN, as in CI)."""
    if os.geteuid() != 0:
        return False
    probe = Path("/tmp") / f"vnsearch-mount-probe-{uuid.uuid4().hex}"
    probe.mkdir()
    try:
        ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)],
                            capture_output=True).returncode == 0
        if ok:
            subprocess.run(["umount", str(probe)], check=True)
        return ok
    except OSError:
        return False
    finally:
        probe.rmdir()


@contextlib.contextmanager
def tmpfs(where: Path, size: str):
    """A small tmpfs mounted at ``where`` (a disk that fills up)."""
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                   check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


@contextlib.contextmanager
def read_only_view(folder: Path, where: Path):
    """``folder`` seen read-only at ``where``: a read-only bind mount, which stops root too."""
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "--bind", str(folder), str(where)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(where)], check=True)
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file of a folder with its size and mtime (to prove nothing was written)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        st = p.stat()
        out[str(p.relative_to(folder))] = (st.st_size, st.st_mtime_ns)
    return out
