"""``vnsearch serve``: the JSON API through a real server on 127.0.0.1 (a subprocess started as
users start it), compared with what the CLI prints under ``--json``."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time

import pytest

pytest.importorskip("starlette", reason="the serve extra: pip install -e '.[test]'")
pytest.importorskip("uvicorn", reason="the serve extra: pip install -e '.[test]'")

from serve_server import DOCS, Server, build_index  # noqa: E402

TOKEN = "s3cret-token-for-tests"


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    return build_index(tmp_path_factory.mktemp("serve") / "ix")


@pytest.fixture(scope="module")
def server(index_dir, tmp_path_factory):
    """Read-only, defaults, two worker processes."""
    s = Server(index_dir, "--workers", "2", log_dir=tmp_path_factory.mktemp("logs"))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def writable(tmp_path_factory):
    """Writes on (token from a file), a folder to re-index, a small body cap, CORS for one
    origin."""
    base = tmp_path_factory.mktemp("writable")
    ix = build_index(base / "ix", DOCS[:3])
    folder = base / "feed"
    folder.mkdir()
    token_file = base / "token"
    token_file.write_text(TOKEN + "\n")
    s = Server(ix, "--allow-writes", "--token-file", str(token_file), "--reindex-path",
               str(folder), "--max-body", "200000", "--cors", "http://cms.example",
               log_dir=base)
    s.folder = folder
    yield s
    s.stop()


def cli_json(index_dir, *args):
    out = subprocess.run([sys.executable, "-m", "vnsearch", *args, "--index", str(index_dir),
                          "--json"], capture_output=True, text=True, encoding="utf-8")
    assert out.returncode in (0, 1), out.stderr
    return json.loads(out.stdout)


def without_timing(obj):
    return {k: v for k, v in obj.items() if k != "took_ms"}


# -- the same objects as --json -----------------------------------------------------------------
def test_search_is_the_cli_json_envelope(server, index_dir):
    r = server.get("/api/search", {"q": "giá vàng", "facets": "author,tags,year,month",
                                   "limit": 3, "offset": 1, "sort": "relevance"})
    assert r.status == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    cli = cli_json(index_dir, "search", "giá vàng", "--facets", "author,tags,year,month",
                   "-n", "3", "--offset", "1")
    assert body["schema_version"] == 1
    assert without_timing(body) == without_timing(cli)
    assert body["total"] >= 4 and len(body["hits"]) == 3 and body["hits"][0]["rank"] == 2


def test_filters_sort_fields_and_collapse_match_the_cli(server, index_dir):
    params = {"q": "vàng", "author": ["trần thị bình", "Báo Đăng Lại"], "tag": "kinh tế",
              "since": "2023-07", "until": "2023-12-31", "sort": "-date",
              "fields": "id,date,author", "collapse": "true"}
    body = server.get("/api/search", params).json()
    cli = cli_json(index_dir, "search", "vàng", "--author", "trần thị bình", "--author",
                   "Báo Đăng Lại", "--tag", "kinh tế", "--since", "2023-07", "--until",
                   "2023-12-31", "--sort", "-date", "--fields", "id,date,author", "--collapse")
    assert without_timing(body) == without_timing(cli)
    assert body["hits"] and all(set(h) <= {"id", "date", "author", "duplicates",
                                           "duplicate_ids"} for h in body["hits"])


def test_metadata_filters_and_facets_match_the_cli(server, index_dir):
    params = {"q": "vàng", "where": "source=bao dang lai", "facets": "source,tags"}
    body = server.get("/api/search", params).json()
    cli = cli_json(index_dir, "search", "vàng", "--where", "source=bao dang lai", "--facets",
                   "source,tags")
    assert without_timing(body) == without_timing(cli)
    assert [h["id"] for h in body["hits"]] == ["x01"]
    assert body["facets"]["source"] == {"Báo Đăng Lại": 1}


def test_a_listing_by_filter_alone(server):
    body = server.get("/api/search", {"author": "Lê Hoàng", "snippets": "false"}).json()
    assert body["total"] == 3 and [h["date"] for h in body["hits"]] == sorted(
        [h["date"] for h in body["hits"]], reverse=True)


def test_snippet_spans_are_code_points_into_the_text(server):
    body = server.get("/api/search", {"q": "Hiệp hội kinh doanh"}).json()
    hit = body["hits"][0]
    marked = [h["text"][s:e].lower() for h in hit["highlights"] for s, e in h["spans"]]
    assert "hiệp hội kinh doanh" in marked


def test_suggestion_and_no_results(server):
    body = server.get("/api/search", {"q": '"gia vang"'}).json()
    assert body["suggestion"] == '"giá vàng"'
    none = server.get("/api/search", {"q": "zzqxv"})
    assert none.status == 200 and none.json()["total"] == 0


def test_show_similar_duplicates_analyze_stats_match_the_cli(server, index_dir):
    assert server.get("/api/show", {"id": "d02"}).json() == cli_json(index_dir, "show", "d02")
    similar = server.get("/api/similar", {"id": "d02", "limit": 3}).json()
    assert without_timing(similar) == without_timing(cli_json(index_dir, "similar", "d02",
                                                              "-n", "3"))
    assert [c["id"] for c in similar["copies"]] == ["x01"]
    dups = server.get("/api/duplicates").json()
    assert dups == cli_json(index_dir, "duplicates")
    assert {m["id"] for g in dups["groups"] for m in g["members"]} >= {"d02", "x01"}
    text = "Ban Tổ chức Tỉnh ủy họp ngày 1/6/2023"
    out = subprocess.run([sys.executable, "-m", "vnsearch", "analyze", text, "--json"],
                         capture_output=True, text=True, encoding="utf-8")
    assert server.get("/api/analyze", {"text": text}).json() == json.loads(out.stdout)
    assert server.get("/api/stats").json() == cli_json(index_dir, "stats")


def test_health(server):
    body = server.get("/api/health").json()
    assert body["status"] == "ok" and body["documents"] == len(DOCS)


def test_highlight_gives_the_whole_text_with_spans(server):
    body = server.get("/api/highlight", {"id": "d02", "q": "vàng"}).json()
    fields = {h["field"]: h for h in body["highlights"]}
    assert fields["body"]["text"] == DOCS[1].body
    words = {fields["body"]["text"][s:e] for s, e in fields["body"]["spans"]}
    assert words == {"vàng"} and len(fields["body"]["spans"]) == DOCS[1].body.count("vàng")
    plain = server.get("/api/highlight", {"id": "d02"}).json()
    assert all(h["spans"] == [] for h in plain["highlights"])


# -- errors: a status and {"error", "status"}, never a traceback --------------------------------
@pytest.mark.parametrize("path, params, status, words", [
    ("/api/search", {"q": "x", "lmit": "3"}, 400, "unknown parameter 'lmit'"),
    ("/api/search", {"q": "x", "limit": "1000"}, 400, "at most 100"),
    ("/api/search", {"q": "x", "limit": "ten"}, 400, "whole number"),
    ("/api/search", {"q": "x", "offset": "-1"}, 400, "at least 0"),
    ("/api/search", {"q": "x", "sort": "title"}, 400, "must be one of"),
    ("/api/search", {"q": "x", "facets": "a b"}, 400, "unknown facet"),
    ("/api/search", {"q": "x", "where": "category"}, 400, "FIELD=VALUE"),
    ("/api/search", {"q": "x", "fields": "id,colour"}, 400, "unknown fields value"),
    ("/api/search", {"q": "x", "snippets": "maybe"}, 400, "true or false"),
    ("/api/search", {"q": ["a", "b"]}, 400, "given 2 times"),
    ("/api/search", {"q": "x" * 2001}, 400, "the limit is 2000"),
    ("/api/search", {"q": "a~ b~ c~ d~ e~ f~ g~ h~ i~ j~ k~"}, 400, "fuzzy"),
    ("/api/search", {"q": "x", "since": "2023-13-45"}, 400, "date"),
    ("/api/search", {}, 400, "empty query"),
    ("/api/show", {}, 400, "'id' is required"),
    ("/api/show", {"id": "nope"}, 404, "no document"),
    ("/api/similar", {"id": "nope"}, 404, "no document"),
    ("/api/similar", {"id": "d01", "limit": "0"}, 400, "at least 1"),
    ("/api/highlight", {"id": "nope", "q": "x"}, 404, "no document"),
    ("/api/duplicates", {"threshold": "1.5"}, 400, "at most"),
    ("/api/duplicates", {"threshold": "nan"}, 400, "finite"),
    ("/api/analyze", {"text": "a" * 10_001}, 400, "the limit is 10000"),
    ("/api/nothing-here", {}, 404, "no such endpoint"),
])
def test_errors_are_json_with_a_status(server, path, params, status, words):
    r = server.get(path, params)
    body = r.json()
    assert r.status == status and body["status"] == status
    assert words in body["error"] and "Traceback" not in body["error"]


def test_wrong_method_and_foreign_host(server):
    r = server.post("/api/search", {"q": "x"})
    assert r.status == 405 and r.json()["status"] == 405
    r = server.get("/api/health", headers={"Host": "attacker.example"})
    assert r.status == 400 and "not this loopback server" in r.json()["error"]


def test_writes_are_off_by_default(server):
    r = server.post("/api/documents", {"id": "n1", "title": "mới"}, token=TOKEN)
    assert r.status == 403 and "--allow-writes" in r.json()["error"]
    assert server.post("/api/reindex", {}).status == 403


def test_cors_is_off_unless_asked(server, writable):
    origin = {"Origin": "http://cms.example"}
    assert "access-control-allow-origin" not in server.get("/api/health", headers=origin).headers
    r = writable.get("/api/health", headers=origin)
    assert r.headers["access-control-allow-origin"] == "http://cms.example"
    other = writable.get("/api/health", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in other.headers


# -- writes --------------------------------------------------------------------------------------
def test_writes_need_the_token(writable):
    doc = {"id": "n1", "title": "Thông cáo mới"}
    r = writable.post("/api/documents", doc)
    assert r.status == 401 and r.headers["www-authenticate"] == "Bearer"
    assert writable.post("/api/documents", doc, token="wrong").status == 403
    assert writable.post("/api/documents", raw=b"{", token=TOKEN).status == 400
    r = writable.post("/api/documents", raw=b"id=n1", token=TOKEN,
                      content_type="application/x-www-form-urlencoded")
    assert r.status == 415
    r = writable.post("/api/documents", {"title": "no id"}, token=TOKEN)
    assert r.status == 400 and "'id' is required" in r.json()["error"]
    r = writable.post("/api/documents", {"id": "n1", "tags": [[1]]}, token=TOKEN)
    assert r.status == 400 and "document 1 ('n1')" in r.json()["error"]
    assert writable.post("/api/delete", {"ids": "n1"}, token=TOKEN).status == 400


def test_a_body_over_the_cap_is_refused_before_it_is_read(writable):
    conn = http.client.HTTPConnection("127.0.0.1", writable.port, timeout=30)
    conn.putrequest("POST", "/api/documents")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Authorization", f"Bearer {TOKEN}")
    conn.putheader("Content-Length", str(10**9))
    conn.endheaders()  # and no body: the answer comes from the headers alone
    r = conn.getresponse()
    assert r.status == 413 and "the limit is 200,000" in json.loads(r.read())["error"]
    conn.close()


def test_writes_are_visible_to_the_next_search(writable):
    add = writable.post("/api/documents", [
        {"id": "n1", "title": "Khánh thành cầu Rạch Miễu 2", "body": "Cây cầu mới nối đôi bờ.",
         "date": "2025-01-02", "tags": ["giao thông"]},
        {"id": "n2", "title": "Hội chợ nông sản", "body": "Nông sản vùng cao lên phố."},
    ], token=TOKEN)
    assert add.status == 200 and add.json()["added"] == 2
    hits = writable.get("/api/search", {"q": "Rạch Miễu"}).json()["hits"]
    assert [h["id"] for h in hits] == ["n1"]
    upd = writable.post("/api/documents", {"documents": [
        {"id": "n1", "title": "Khánh thành cầu Đình Khao", "body": "Cầu mới."}]}, token=TOKEN)
    assert upd.json()["updated"] == 1
    assert writable.get("/api/search", {"q": "Rạch Miễu"}).json()["total"] == 0
    assert writable.get("/api/show", {"id": "n1"}).json()["title"] == "Khánh thành cầu Đình Khao"
    gone = writable.post("/api/delete", {"ids": ["n1", "n2", "never"]}, token=TOKEN)
    assert gone.json() == {"schema_version": 1, "deleted": 2}
    assert writable.get("/api/show", {"id": "n1"}).status == 404


def test_reindex_brings_the_configured_folders_up_to_date(writable):
    (writable.folder / "a.txt").write_text(
        "Thông cáo về lễ hội hoa ban\n\nLễ hội hoa ban Điện Biên khai mạc tối nay.\n",
        encoding="utf-8")
    r = writable.post("/api/reindex", {}, token=TOKEN)
    assert r.status == 200 and r.json()["added"] == 1
    assert writable.get("/api/search", {"q": '"hoa ban"'}).json()["total"] == 1
    (writable.folder / "a.txt").unlink()
    assert writable.post("/api/reindex", None, raw=b"", token=TOKEN).json()["removed"] == 1
    assert writable.get("/api/search", {"q": '"hoa ban"'}).json()["total"] == 0


def test_the_access_log_has_one_json_line_per_request(writable):
    writable.get("/api/search", {"q": "access log probe"})
    # The server writes the line once the response is sent: on a busy machine the client can
    # read the log first, so wait for it (a few seconds at most).
    deadline = time.monotonic() + 10
    while True:
        lines = [json.loads(line) for line in writable.log_text().splitlines()
                 if line.startswith("{")]
        probe = [x for x in lines if "access+log+probe" in x["query"]]
        if probe or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert probe and probe[-1]["path"] == "/api/search" and probe[-1]["status"] == 200
    assert {"time", "client", "method", "ms", "bytes"} <= set(probe[-1])
    assert TOKEN not in writable.log_text()


# -- serving while indexing ----------------------------------------------------------------------
def test_searches_never_fail_while_an_indexer_commits(server, index_dir, tmp_path):
    feed = tmp_path / "feed.jsonl"
    with open(feed, "w", encoding="utf-8") as f:
        for i in range(300):
            f.write(json.dumps({"id": f"live{i}", "title": f"Tin nhanh số {i} về thời tiết",
                                "body": f"Bản tin thời tiết số {i}: trời nắng, gió nhẹ."},
                               ensure_ascii=False) + "\n")
    indexer = subprocess.Popen(
        [sys.executable, "-m", "vnsearch", "index", str(feed), "--index", str(index_dir),
         "--batch-size", "15", "--jobs", "1", "-q"], stderr=subprocess.PIPE)
    before = server.get("/api/search", {"q": "thời tiết"}).json()["total"]
    statuses, errors = [], []

    def client():
        while indexer.poll() is None:
            r = server.get("/api/search", {"q": "thời tiết", "limit": 5})
            statuses.append(r.status)
            if r.status != 200:
                errors.append(r.body)

    threads = [threading.Thread(target=client) for _ in range(3)]
    for t in threads:
        t.start()
    indexer.wait(120)
    for t in threads:
        t.join()
    assert indexer.returncode == 0, indexer.stderr.read()
    assert not errors and len(statuses) > 10
    deadline = time.monotonic() + 5
    while server.get("/api/search", {"q": "thời tiết"}).json()["total"] != before + 300:
        assert time.monotonic() < deadline, "the server did not see the last commit"
        time.sleep(0.1)
    subprocess.run([sys.executable, "-m", "vnsearch", "index", str(feed), "--index",
                    str(index_dir), "-q"], check=True)  # unchanged: nothing removed


# -- the API's description and the pages ---------------------------------------------------------
def test_openapi_describes_every_endpoint_and_the_bodies_follow_it(server):
    spec = server.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    assert set(paths) == {"/api/search", "/api/show", "/api/highlight", "/api/similar",
                          "/api/duplicates", "/api/analyze", "/api/stats", "/api/health",
                          "/api/documents", "/api/delete", "/api/reindex"}
    schemas = spec["components"]["schemas"]
    calls = {"/api/search": {"q": "vàng"}, "/api/show": {"id": "d01"},
             "/api/highlight": {"id": "d01", "q": "đảng"}, "/api/similar": {"id": "d02"},
             "/api/duplicates": {}, "/api/analyze": {"text": "Hòa"}, "/api/stats": {},
             "/api/health": {}}
    for path, params in calls.items():
        op = paths[path]["get"]
        names = {p["name"] for p in op["parameters"]}
        assert set(params) <= names
        ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        required = schemas[ref.rsplit("/", 1)[1]]["required"]
        body = server.get(path, params).json()
        assert set(required) <= set(body), path
    limit = next(p for p in paths["/api/search"]["get"]["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 100


def test_pages_load_only_local_assets(server):
    for path in ("/", "/docs"):
        r = server.get(path)
        html = r.body.decode()
        assert r.status == 200 and r.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert "http://" not in html and "https://" not in html and "//cdn" not in html
    for asset in ("/static/app.js", "/static/dom.js", "/static/style.css", "/static/docs.js"):
        r = server.get(asset)
        assert r.status == 200 and b"https://" not in r.body
    for script in ("/static/app.js", "/static/dom.js", "/static/docs.js"):
        assert b"innerHTML" not in server.get(script).body


# -- the command ---------------------------------------------------------------------------------
def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "vnsearch", *args], capture_output=True,
                          text=True, encoding="utf-8", env={**os.environ, **(env or {})},
                          timeout=60)


def test_writes_without_a_token_refuse_to_start(index_dir):
    env = {k: v for k, v in os.environ.items() if k != "VNSEARCH_TOKEN"}
    out = subprocess.run([sys.executable, "-m", "vnsearch", "serve", "--index", str(index_dir),
                          "--allow-writes"], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 2 and "needs a token" in out.stderr and "Traceback" not in out.stderr


def test_a_missing_index_refuses_to_start(tmp_path):
    out = run_cli("serve", "--index", str(tmp_path / "none"))
    assert out.returncode == 2 and "no index at" in out.stderr


def test_without_the_extra_serve_names_the_install_command(tmp_path):
    blocked = tmp_path / "blocked"
    (blocked / "starlette").mkdir(parents=True)
    (blocked / "starlette" / "__init__.py").write_text("raise ImportError('not installed')\n")
    out = run_cli("serve", env={"PYTHONPATH": f"{blocked}{os.pathsep}"
                                              f"{os.environ.get('PYTHONPATH', '')}"})
    assert out.returncode == 2
    assert "pip install 'vnsearch[serve]'" in out.stderr and "Traceback" not in out.stderr


def test_importing_vnsearch_and_other_commands_never_load_the_server_stack():
    code = ("import sys, vnsearch\n"
            "from vnsearch.cli import main\n"
            "sys.argv = ['vnsearch', '--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "loaded = [m for m in ('starlette', 'uvicorn', 'anyio') if m in sys.modules]\n"
            "assert not loaded, loaded\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "serve" in out.stdout


def test_what_counts_as_loopback():
    from vnsearch.serve.app import is_loopback

    assert all(map(is_loopback, ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost")))
    assert not any(map(is_loopback, ("0.0.0.0", "::", "192.168.1.2", "example.com", "")))
