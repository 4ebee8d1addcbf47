"""A bounded load test of ``vnsearch serve`` on loopback while ``vnsearch index`` adds documents.

    python bench/serve.py [--data DIR] [--duration 60] [--clients 16] [--max-requests N]
                          [--workers 2] [--threads 4] [--live 2000] [--queries 300]
                          [--batch-size 100]

The baomoi collection (``baomoi-35k.jsonl.gz``) is indexed once into bench/out/serve-index,
without its last ``--live`` records; those are what ``vnsearch index`` adds during the loaded
phases, half in each (``--batch-size 100``: a commit every few seconds; 0: the indexer's default
batch). Queries are headlines of indexed articles, searched as the page does (limit 10,
snippets). The script measures, in one run:

1. in process: each query through the same function the server calls, one at a time (after
   one warming pass over the queries, as the server gets);
2. over HTTP, one client (the cost of HTTP and the server on an idle index);
3. over HTTP, ``--clients`` clients for ``--duration`` seconds (or ``--max-requests``) while the
   indexer commits: requests/s, p50/p95/p99, errors, and p95 against (1);
4. in process again, ``--clients`` threads sharing one Index for as long, while the indexer
   adds the other half: the same concurrency without HTTP, so (3) against (4) is what HTTP and
   the server cost under load, beside (3) against (1).

It binds 127.0.0.1 only and stops by itself. Data absent: it says so and exits 0.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import OUT_DIR, add_data_argument, iter_jsonl, require_data, speed_corpus_path  # noqa: E402


def cuts(samples: list[float]) -> dict[str, float]:
    """p50/p95/p99 in ms (inclusive method)."""
    if len(samples) < 2:
        v = samples[0] * 1000 if samples else float("nan")
        return {"p50": v, "p95": v, "p99": v}
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50": q[49] * 1000, "p95": q[94] * 1000, "p99": q[98] * 1000}


def vnsearch(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vnsearch", *args], **kw)


def prepare(corpus: Path, live_n: int) -> tuple[Path, Path, list[dict]]:
    """The index of all but the last ``live_n`` records (built once), the file of those, and
    the indexed records."""
    records = list(iter_jsonl(corpus))
    base, live = records[:-live_n] if live_n else records, records[-live_n:] if live_n else []
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    base_file = OUT_DIR / f"serve-base-{len(base)}.jsonl.gz"
    live_file = OUT_DIR / f"serve-live-{len(live)}.jsonl"
    index = OUT_DIR / f"serve-index-{len(base)}"
    if not base_file.exists():
        with gzip.open(base_file, "wt", encoding="utf-8") as f:
            for r in base:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    with open(live_file, "w", encoding="utf-8") as f:
        for r in live:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    ready = index / "READY"
    if not ready.exists():
        print(f"indexing {len(base)} documents into {index} (once)...", file=sys.stderr)
        t0 = time.perf_counter()
        vnsearch("index", str(base_file), "--index", str(index), "--rebuild", "-q", check=True)
        ready.write_text(f"{len(base)} documents, {time.perf_counter() - t0:.0f} s\n")
    settled = index / "SETTLED"
    if live and not settled.exists():
        # One small commit before any measurement: an index written by an older vnsearch (or
        # in one run) may have its segments merged by the next writer, minutes of work that
        # belongs to no request. The document is the first live one (it comes back unchanged).
        one = OUT_DIR / "serve-settle.jsonl"
        one.write_text(json.dumps(live[0], ensure_ascii=False) + "\n", encoding="utf-8")
        t0 = time.perf_counter()
        vnsearch("index", str(one), "--index", str(index), "-q", check=True)
        settled.write_text(f"settled in {time.perf_counter() - t0:.0f} s\n")
    return index, live_file, base


def fresh_copy(index: Path) -> Path:
    """A copy of the built index for this run (the live documents are added to the copy)."""
    import shutil

    run = OUT_DIR / "serve-run-index"
    if run.exists():
        shutil.rmtree(run)
    shutil.copytree(index, run)
    return run


def count(index: Path) -> int:
    from vnsearch.index import Index

    with Index.open(index) as ix:
        return len(ix)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def in_process(index: Path, queries: list[str]) -> list[float]:
    from vnsearch.index import Index
    from vnsearch.serve import endpoints as api

    ix = Index.open(index)
    params = api.parse_params(api.SEARCH_PARAMS, {})
    for q in queries:  # warm, as the server is before it is measured
        api.search(ix, {**params, "q": q})
    out = []
    for q in queries:
        t0 = time.perf_counter()
        api.search(ix, {**params, "q": q})
        out.append(time.perf_counter() - t0)
    ix.close()
    return out


class Load:
    """``clients`` threads, each with its own keep-alive connection, cycling over the queries
    until ``until`` (monotonic) or ``max_requests`` requests in all."""

    def __init__(self, port: int, queries: list[str], clients: int, seconds: float,
                 max_requests: int):
        self.port, self.queries, self.clients = port, queries, clients
        self.seconds, self.max_requests = seconds, max_requests
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.sent = 0

    def _next(self) -> int | None:
        with self.lock:
            if self.sent >= self.max_requests or time.monotonic() >= self.until:
                return None
            self.sent += 1
            return self.sent

    def _client(self, k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        rng = random.Random(k)
        while (n := self._next()) is not None:
            q = self._query(n, rng)
            path = "/api/search?" + urllib.parse.urlencode({"q": q, "limit": 10})
            t0 = time.perf_counter()
            try:
                conn.request("GET", path)
                r = conn.getresponse()
                body = r.read()
                dt = time.perf_counter() - t0
                if r.status != 200:
                    self.errors.append(f"{r.status} {body[:200]!r}")
                    continue
                with self.lock:
                    self.latencies.append(dt)
            except (OSError, http.client.HTTPException) as e:
                self.errors.append(f"{type(e).__name__}: {e}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.close()

    def _query(self, n: int, rng: random.Random) -> str:
        return self.queries[(n * 7 + rng.randrange(len(self.queries))) % len(self.queries)]

    def run(self) -> float:
        self.until = time.monotonic() + self.seconds
        threads = [threading.Thread(target=self._client, args=(k,)) for k in range(self.clients)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - t0


class InProcessLoad(Load):
    """``clients`` threads searching one shared Index through the server's search function."""

    def __init__(self, index: Path, queries: list[str], clients: int, seconds: float,
                 max_requests: int):
        from vnsearch.index import Index
        from vnsearch.serve import endpoints as api

        super().__init__(0, queries, clients, seconds, max_requests)
        self.ix = Index.open(index)
        self.params = api.parse_params(api.SEARCH_PARAMS, {})
        self.search = api.search
        for q in queries:  # warm, as the server is before it is measured
            self.search(self.ix, {**self.params, "q": q})

    def _client(self, k: int) -> None:
        rng = random.Random(k)
        while (n := self._next()) is not None:
            q = self._query(n, rng)
            t0 = time.perf_counter()
            try:
                self.search(self.ix, {**self.params, "q": q})
            except Exception as e:  # noqa: BLE001 - every failure is what we count
                self.errors.append(f"{type(e).__name__}: {e}"[:300])
                continue
            dt = time.perf_counter() - t0
            with self.lock:
                self.latencies.append(dt)


def start_indexer(index: Path, records: Path, batch_size: int) -> subprocess.Popen:
    """``vnsearch index`` adding ``records``, once its first batch has landed (so that the load
    runs while commits land, not while the indexer loads its model; 3 minutes at most)."""
    before = count(index)
    batch = ["--batch-size", str(batch_size)] if batch_size else []
    indexer = subprocess.Popen(
        [sys.executable, "-m", "vnsearch", "index", str(records), "--index", str(index),
         *batch, "--jobs", "1", "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while count(index) == before and time.monotonic() < deadline:
        if indexer.poll() is not None:
            break
        time.sleep(0.5)
    return indexer


def stop(indexer: subprocess.Popen) -> bool:
    """Stop the indexer (the batches it committed stay); whether it had finished."""
    done = indexer.poll() is not None
    if not done:
        indexer.terminate()
    indexer.wait(120)
    return done


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_argument(ap)
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of the loaded phase")
    ap.add_argument("--max-requests", type=int, default=20_000,
                    help="stop the loaded phase after this many requests")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2, help="server processes")
    ap.add_argument("--threads", type=int, default=4, help="search threads per process")
    ap.add_argument("--live", type=int, default=2000, help="documents added during the load")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--batch-size", type=int, default=100,
                    help="documents per commit of the indexer (0: its default)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)

    corpus = speed_corpus_path(args.data)
    require_data(corpus)
    built, live_file, base = prepare(corpus, args.live)
    index = fresh_copy(built)
    rng = random.Random(0)
    queries = [r["title"] for r in rng.sample(base, args.queries) if r.get("title")]
    lines = live_file.read_text(encoding="utf-8").splitlines(keepends=True)
    halves = [OUT_DIR / "serve-live-http.jsonl", OUT_DIR / "serve-live-inproc.jsonl"]
    for half, part in zip(halves, (lines[: len(lines) // 2], lines[len(lines) // 2 :])):
        half.write_text("".join(part), encoding="utf-8")

    load_before = os.getloadavg()
    documents_before = count(index)
    inproc = in_process(index, queries)
    port = free_port()
    server_log = open(OUT_DIR / "serve-server.log", "wb")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(
        [sys.executable, "-m", "vnsearch", "serve", "--index", str(index), "--port", str(port),
         "--workers", str(args.workers), "--threads", str(args.threads), "--quiet",
         "--max-limit", "100"], stdout=subprocess.DEVNULL, stderr=server_log)
    indexer = None
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=2).request("GET", "/")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"server did not start: see {server_log.name}")
                time.sleep(0.2)
        warm = Load(port, queries, args.workers * args.threads, 1e9, 2 * len(queries))
        warm.run()  # every search thread opens its index and warms its caches
        one = Load(port, queries, 1, 1e9, len(queries))
        one_s = one.run()

        load_during = os.getloadavg()
        indexer = start_indexer(index, halves[0], args.batch_size)
        load = Load(port, queries, args.clients, args.duration, args.max_requests)
        load_s = load.run()
        indexer_done = stop(indexer)
        load_after = os.getloadavg()
    finally:
        if indexer is not None and indexer.poll() is None:
            indexer.terminate()
        server.terminate()
        try:  # a graceful stop first answers the requests still queued from the load
            server.wait(120)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(30)
        server_log.close()

    added = count(index) - documents_before
    # (4): the same concurrency in process, the server stopped, the other half being added
    documents_mid = count(index)
    inproc_load = InProcessLoad(index, queries, args.clients, args.duration, args.max_requests)
    indexer = start_indexer(index, halves[1], args.batch_size)
    try:
        inproc_s = inproc_load.run()
    finally:
        inproc_done = stop(indexer)
    added_inproc = count(index) - documents_mid
    ip, o, lo = cuts(inproc), cuts(one.latencies), cuts(load.latencies)
    il = cuts(inproc_load.latencies)
    result = {
        "documents": documents_before, "queries": len(queries), "workers": args.workers,
        "threads": args.threads, "cpus": os.cpu_count(), "batch_size": args.batch_size,
        "load_avg_before": load_before, "load_avg_loaded_start": load_during,
        "load_avg_loaded_end": load_after,
        "in_process_ms": ip,
        "one_client": {"requests": len(one.latencies), "errors": len(one.errors),
                       "req_s": len(one.latencies) / one_s, **o},
        "loaded": {"clients": args.clients, "seconds": load_s, "requests": len(load.latencies),
                   "errors": len(load.errors), "req_s": len(load.latencies) / load_s, **lo,
                   "indexer_added": added,
                   "indexer_finished_during_load": indexer_done,
                   "first_errors": load.errors[:5]},
        "in_process_loaded": {
            "threads": args.clients, "seconds": inproc_s,
            "requests": len(inproc_load.latencies), "errors": len(inproc_load.errors),
            "req_s": len(inproc_load.latencies) / inproc_s, **il, "indexer_added": added_inproc,
            "indexer_finished_during_load": inproc_done,
            "first_errors": inproc_load.errors[:5]},
        "ratio_p95_one_client_vs_in_process": o["p95"] / ip["p95"],
        "ratio_p95_loaded_vs_in_process": lo["p95"] / ip["p95"],
        "ratio_p95_loaded_vs_in_process_loaded": lo["p95"] / il["p95"],
    }
    print(f"{documents_before:,} documents, {len(queries)} headline queries, server: {args.workers} "
          f"processes x {args.threads} threads, {os.cpu_count()} CPUs, load average before "
          f"{load_before[0]:.1f}")
    print(f"in process, one at a time:   p50 {ip['p50']:7.1f}  p95 {ip['p95']:7.1f}  "
          f"p99 {ip['p99']:7.1f} ms")
    print(f"HTTP, 1 client:              p50 {o['p50']:7.1f}  p95 {o['p95']:7.1f}  "
          f"p99 {o['p99']:7.1f} ms  {result['one_client']['req_s']:.1f} req/s, "
          f"{len(one.errors)} errors")
    print(f"HTTP, {args.clients} clients + indexer: p50 {lo['p50']:7.1f}  p95 {lo['p95']:7.1f}  "
          f"p99 {lo['p99']:7.1f} ms  {result['loaded']['req_s']:.1f} req/s, "
          f"{len(load.latencies)} requests in {load_s:.0f} s, {len(load.errors)} errors; "
          f"indexer added {added} documents "
          f"({'finished' if indexer_done else 'still running'} at the end of the load)")
    print(f"in process, {args.clients} threads + indexer: p50 {il['p50']:7.1f}  p95 "
          f"{il['p95']:7.1f}  p99 {il['p99']:7.1f} ms  "
          f"{result['in_process_loaded']['req_s']:.1f} req/s, {len(inproc_load.latencies)} "
          f"requests in {inproc_s:.0f} s, {len(inproc_load.errors)} errors; indexer added "
          f"{added_inproc} documents")
    print(f"p95 ratio to in process: 1 client {result['ratio_p95_one_client_vs_in_process']:.2f}x,"
          f" loaded {result['ratio_p95_loaded_vs_in_process']:.2f}x; loaded HTTP to loaded in "
          f"process {result['ratio_p95_loaded_vs_in_process_loaded']:.2f}x")
    print(f"load average: before {load_before[0]:.1f}, loaded phase start {load_during[0]:.1f}, "
          f"end {load_after[0]:.1f}")
    for e in (load.errors + inproc_load.errors)[:5]:
        print("error:", e)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0 if not (load.errors or one.errors or inproc_load.errors) else 1


if __name__ == "__main__":
    raise SystemExit(main())
