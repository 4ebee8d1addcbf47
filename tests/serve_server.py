"""A real ``vnsearch serve`` on 127.0.0.1 for the server and page tests, and a tiny HTTP client
(urllib: nothing between the tests and the wire)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from conftest import CORPUS

from vnsearch import Document, Index

#: The test corpus plus a syndicated copy and a document whose text is HTML and script.
EXTRA = [
    Document(
        id="x01", title="Giá vàng trong nước tăng mạnh (đăng lại)", body=CORPUS[1].body,
        author="Báo Đăng Lại", date="2023-07-16", tags=["kinh tế"], source="Báo Đăng Lại",
    ),
    Document(
        id="x02", title='<script>window.__pwned = 1</script> Thông cáo <b>đậm</b> về pháo hoa',
        body='Nội dung <img src=x onerror="window.__pwned = 2"> có thẻ <script>window.__pwned '
             '= 3</script> trong thông cáo pháo hoa & "trích dẫn".',
        author="Ban <i>Biên tập</i>", date="2023-06-21", tags=["<u>lễ hội</u>"],
    ),
]
DOCS = CORPUS + EXTRA


def build_index(path: Path, docs=DOCS) -> Path:
    ix = Index.create(path)
    assert ix.add(list(docs), jobs=1).failed == 0
    ix.close()
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, status: int, headers, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)


class Server:
    """``python -m vnsearch serve ARGS`` on a free loopback port, ready when /api/health
    answers; its stderr (the access log) is kept in ``log``."""

    def __init__(self, index, *args: str, env: dict | None = None, log_dir: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log_dir / f"serve-{self.port}.log"
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "vnsearch", "serve", "--index", str(index),
                 "--port", str(self.port), *args],
                stdout=subprocess.DEVNULL, stderr=err, env=full_env,
            )
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}: {self.log_text()}")
            try:
                if self.get("/openapi.json").status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server did not start: {self.log_text()}")
            time.sleep(0.1)

    def log_text(self) -> str:
        return self.log.read_text("utf-8", "replace")

    def request(self, method: str, path: str, params=None, body: bytes | None = None,
                headers: dict | None = None) -> Response:
        url = self.base + path
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return Response(r.status, r.headers, r.read())
        except urllib.error.HTTPError as e:
            return Response(e.code, e.headers, e.read())

    def get(self, path: str, params=None, headers=None) -> Response:
        return self.request("GET", path, params, headers=headers)

    def post(self, path: str, obj=None, *, raw: bytes | None = None, token: str | None = None,
             content_type: str = "application/json") -> Response:
        headers = {"Content-Type": content_type}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        body = raw if raw is not None else json.dumps(obj).encode()
        return self.request("POST", path, body=body, headers=headers)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
