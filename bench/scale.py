"""An archive, not a sample: one index grown through ``vnsearch index FOLDER`` in steps, the way
a newsroom's feed lands, next to SQLite FTS5 and Tantivy grown on the same documents.

    python bench/scale.py [--steps 10000,40000,100000,all] [--queries 300] [--jobs N]
                          [--no-peers] [--breakdown] [--optimize] [--plot docs/scaling.png]
    python bench/scale.py --replot bench/out/scale-RUN.json --plot docs/scaling.png

Documents: ``scale/vietnews-train.jsonl.gz``, then ``baomoi-35k.jsonl.gz``, then
``dev/docs.jsonl.gz`` under ``--data`` (~160k; the first id wins). Each step writes the next
slice as one more JSON Lines file into the folder and runs ``vnsearch index FOLDER`` (a fresh
process, as a user would; only the new file is read). Per step:

- indexing: documents/s of the step, CPU utilisation (CPU seconds of the process tree over
  wall seconds times cores), CPU seconds of the parent and of its workers, peak RSS of every
  process (sampled from /proc every 50 ms; the largest single process and the parent);
- the index: bytes on disk (KB/document), and with ``--breakdown`` where they go (postings
  and positions per field, term dictionaries, stored fields, other columns);
- search: p50/p95 of 300 dev headline queries, in-process (a fresh process opens the index;
  top 10 with snippets), and the median wall time of a cold ``vnsearch search`` process.
  The queries run as the index is left on disk (``p95_unwarmed_ms``), then ``--rounds``
  times after its files are read once (:func:`read_once`), the round with the median p95
  reported (one round's p95 moved by a quarter between runs on this shared machine). On this
  virtual machine the kernel reclaims pages idle for a few minutes (DAMON), so the unwarmed
  run of a step reads from disk the segments written minutes before it and not those written
  last, which measured the disk, and more so the larger the index;
- peers (FTS5 from the standard library; Tantivy from the bench extra): the same documents
  (id, title, summary, body) added in the same steps; bytes, documents/s, p50/p95 on the same
  queries (each engine's own OR of the query's terms, as in bench/systems.py).

``--optimize`` then runs ``vnsearch optimize`` on the last index (time, CPU, peak RSS) and
measures the same searches on the one segment it leaves.

Ratios are printed against the first step and against the peers of the same run. Results go
to ``bench/out/scale-<time>.json``; ``--plot`` draws the curve (matplotlib, bench extra).
Skips with a message (exit 0) when the data is absent.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):
    sys.path.insert(0, str(ROOT))

from bench.common import DEFAULT_DATA_DIR, OUT_DIR, dir_size_bytes, percentiles  # noqa: E402
from bench.systems import SqliteFts5, TantivyDefault  # noqa: E402
from vnsearch.codec.blocks import MAGIC  # noqa: E402

DEFAULT_STEPS = "10000,40000,100000,all"
KEEP_KEYS = ("id", "title", "summary", "body", "author", "date", "tags", "category", "source")


# --------------------------------------------------------------------------- data


def sources(data: Path) -> list[Path]:
    return [data / "scale" / "vietnews-train.jsonl.gz", data / "baomoi-35k.jsonl.gz",
            data / "dev" / "docs.jsonl.gz"]


def iter_records(paths: list[Path]):
    """Records of every present source in order, the first of each id only, known keys only."""
    seen: set[str] = set()
    for path in paths:
        if not path.exists():
            continue
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                rec = json.loads(line)
                rid = str(rec.get("id"))
                if rid in seen:
                    continue
                seen.add(rid)
                yield {k: rec[k] for k in KEEP_KEYS if rec.get(k) is not None}


def headline_queries(data: Path, n: int) -> list[str]:
    path = data / "dev" / "queries_title.jsonl"
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                out.append(json.loads(line)["query"])
            if len(out) >= n:
                break
    return out


# --------------------------------------------------------------------------- process tree


def _rss_kb(pid: int) -> tuple[int, int]:
    """(resident, resident anonymous) KB: the second leaves out pages of memory-mapped index
    files, which the kernel drops under pressure."""
    rss = anon = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("RssAnon:"):
                    anon = int(line.split()[1])
    except OSError:
        pass
    return rss, anon


def _children(pid: int) -> list[int]:
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out.extend(int(c) for c in f.read().split())
    except OSError:
        pass
    return out


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        todo.extend(_children(p))
    return pids


def _cpu_seconds(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _children_cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_tree(cmd: list[str], env: dict | None = None) -> dict:
    """Run ``cmd``, sampling its process tree: wall and CPU seconds, CPU seconds and peak RSS
    per process (the parent is ``cmd`` itself)."""
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
    peak: dict[int, int] = defaultdict(int)
    peak_anon: dict[int, int] = defaultdict(int)
    cpu: dict[int, float] = {}

    def watch():
        while proc.poll() is None:
            for p in _tree(proc.pid):
                rss, anon = _rss_kb(p)
                peak[p] = max(peak[p], rss)
                peak_anon[p] = max(peak_anon[p], anon)
                c = _cpu_seconds(p)
                if c is not None:
                    cpu[p] = c
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    total_cpu = _children_cpu() - cpu0
    watcher.join()
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd[:4])} ... failed ({proc.returncode}): {err.decode()[-2000:]}")
    parent_cpu = cpu.get(proc.pid, 0.0)
    return {
        "wall_s": wall,
        "cpu_s": total_cpu,
        "parent_cpu_s": parent_cpu,
        "workers_cpu_s": max(0.0, total_cpu - parent_cpu),
        "parent_peak_rss_mb": peak.get(proc.pid, 0) / 1024,
        "max_process_peak_rss_mb": max(peak.values(), default=0) / 1024,
        "max_process_peak_anon_mb": max(peak_anon.values(), default=0) / 1024,
        "processes": len(peak),
        "stdout": out.decode("utf-8", "replace"),
    }


# --------------------------------------------------------------------------- where bytes go


def _file_kind(name: str) -> str:
    if name.endswith(".trm"):
        return "term dictionaries"
    if name.endswith(".pst"):
        return "postings (with positions or frequencies)"
    if name.endswith(".vps"):
        return "term vectors"
    if name.endswith("._stored.col"):
        return "stored fields"
    if name.endswith(".col"):
        return "columns (lengths, sort keys)"
    if name.endswith(".sqlite") or ".sqlite-" in name:
        return "state and duplicates (SQLite)"
    return "other"


def _block_sizes(post, offset: int, length: int) -> tuple[int, int]:
    """(bytes, bytes without the position values) of one term's posting list: its third
    array (:mod:`vnsearch.codec.blocks`) holds the values."""
    post.seek(offset)
    raw = post.read(length)
    if raw[:4] != MAGIC:
        raise ValueError(f"not a posting list of index format 3 or 4 at offset {offset}")
    if not raw[8]:  # no values
        return length, length
    pos = 9
    for _ in range(2):  # document-number gaps, frequencies
        pos += 6 + int.from_bytes(raw[pos + 2:pos + 6], "little")
    return length, pos


#: W3TermInfo: a fixed struct, then the offset (q) and length (i) of the postings.
_TI_SIZE = 23
_EXTENT = __import__("struct").Struct("!qi").unpack_from


def live_segments(index_dir: Path) -> list[int]:
    """Live documents of each segment a search reads, largest first."""
    from whoosh import index as windex

    ix = windex.open_dir(str(index_dir), indexname="MAIN")
    return sorted((s.doc_count() for s in ix._segments()), reverse=True)


def _segment_stores(index_dir: Path):
    """(storage, file names, close) per segment: compound ``.seg`` files are opened as their
    own storage, loose segment files read from the folder."""
    from whoosh.filedb.compound import CompoundStorage
    from whoosh.filedb.filestore import FileStorage

    folder = FileStorage(str(index_dir))
    loose = [n for n in folder.list() if n.endswith(".trm")]
    for name in loose:
        stem = name[:-4]
        yield folder, [n for n in folder.list() if n.startswith(stem + ".")], lambda: None
    for name in folder.list():
        if name.endswith(".seg"):
            f = folder.open_file(name)
            cs = CompoundStorage(f, use_mmap=False)
            yield cs, list(cs.list()), cs.close


def breakdown(index_dir: Path, sample: int = 300) -> dict:
    """Bytes per kind of file (inside compound segments too), and per field: postings
    (positions estimated from a sample of terms re-encoded without them) and term dictionary
    rows."""
    import random

    from whoosh.filedb.filetables import OrderedHashReader

    kinds: dict[str, int] = defaultdict(int)
    for p in index_dir.rglob("*"):
        if p.is_file() and not p.name.endswith(".seg"):
            kinds[_file_kind(p.name)] += p.stat().st_size
    fields: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    rng = random.Random(0)
    for storage, names, close in _segment_stores(index_dir):
        for n in names:
            kinds[_file_kind(n)] += storage.file_length(n)
        trm = next(n for n in names if n.endswith(".trm"))
        dbfile = storage.open_file(trm)
        tindex = OrderedHashReader(dbfile, storage.file_length(trm))
        unmap = {num: name for name, num in tindex.extras["fieldmap"].items()}
        post = storage.open_file(trm[:-4] + ".pst")
        extents: dict[str, list] = defaultdict(list)
        seg_postings: dict[str, int] = defaultdict(int)
        for key, value in tindex.items():
            name = unmap[int.from_bytes(key[:2], "big")]
            f = fields[name]
            f["terms"] += 1
            f["term dictionary"] += 8 + len(key) + len(value)
            if value[0]:  # postings inlined in the term info
                continue
            off, length = _EXTENT(value, _TI_SIZE)
            seg_postings[name] += length
            extents[name].append((off, length))
        for name, ext in extents.items():
            fields[name]["postings"] += seg_postings[name]
            picked = ext if len(ext) <= sample else rng.sample(ext, sample)
            full = bare = 0
            for off, length in picked:
                a, b = _block_sizes(post, off, length)
                full, bare = full + a, bare + b
            if full:
                fields[name]["positions"] += (full - bare) / full * seg_postings[name]
        post.close()
        dbfile.close()
        close()
    out = {}
    for name, f in fields.items():
        out[name] = {"terms": int(f["terms"]), "term dictionary": int(f["term dictionary"]),
                     "postings": int(f["postings"] - f["positions"]), "positions": int(f["positions"])}
    return {"files": dict(kinds), "fields": out}


def print_breakdown(b: dict, docs: int) -> None:
    total = sum(b["files"].values())
    print(f"  where the bytes go ({total / 1e6:.1f} MB, {total / docs / 1024:.1f} KB/doc):")
    for kind, size in sorted(b["files"].items(), key=lambda kv: -kv[1]):
        print(f"    {kind:34} {size / 1e6:9.1f} MB  {size / total:6.1%}")
    rows = sorted(b["fields"].items(), key=lambda kv: -(kv[1]["postings"] + kv[1]["positions"]))
    print(f"    {'field':14} {'terms':>10} {'postings MB':>12} {'values MB':>13} {'term dict MB':>13}")
    for name, f in rows:
        print(f"    {name:14} {f['terms']:10d} {f['postings'] / 1e6:12.1f} {f['positions'] / 1e6:13.1f} "
              f"{f['term dictionary'] / 1e6:13.1f}")


# --------------------------------------------------------------------------- search timing


def latency_child(index_dir: str, queries_file: str) -> None:
    """In a fresh process: open the index, 5 warm-up queries, then each query timed (top 10,
    snippets); prints JSON with the latencies and this process's peak RSS."""
    from vnsearch import Index

    with open(queries_file, encoding="utf-8") as fh:
        queries = json.load(fh)
    t0 = time.perf_counter()
    ix = Index.open(index_dir)
    ix.search(queries[0], limit=10)
    first = time.perf_counter() - t0
    for q in queries[1:5]:
        ix.search(q, limit=10)
    lat = []
    for q in queries:
        t = time.perf_counter()
        ix.search(q, limit=10)
        lat.append(time.perf_counter() - t)
    with open("/proc/self/status") as fh:
        hwm = next((int(line.split()[1]) for line in fh if line.startswith("VmHWM:")), 0)
    print(json.dumps({"latencies": lat, "first_query_s": first, "peak_rss_mb": hwm / 1024}))


def read_once(path: Path) -> None:
    """Read every file under ``path`` (into the page cache)."""
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        with open(f, "rb") as fh:
            while fh.read(1 << 24):
                pass


def vnsearch_latency(index_dir: Path, queries: list[str], work: Path, rounds: int = 3) -> dict:
    qfile = work / "queries.json"
    qfile.write_text(json.dumps(queries, ensure_ascii=False), encoding="utf-8")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_latency", str(index_dir), str(qfile)]

    def timed() -> dict:
        return json.loads(run_tree(cmd)["stdout"].strip().splitlines()[-1])

    unwarmed = timed()
    read_once(index_dir)
    runs = []
    for _ in range(max(1, rounds)):
        data = timed()
        runs.append((percentiles(data["latencies"]), data))
    runs.sort(key=lambda r: r[0]["p95"])
    pct, data = runs[len(runs) // 2]  # the round with the median p95
    return {"p50_ms": pct["p50"] * 1000, "p95_ms": pct["p95"] * 1000,
            "max_ms": max(data["latencies"]) * 1000, "search_peak_rss_mb": data["peak_rss_mb"],
            "p95_rounds_ms": [r[0]["p95"] * 1000 for r in runs],
            "p95_unwarmed_ms": percentiles(unwarmed["latencies"])["p95"] * 1000}


def cold_search(index_dir: Path, queries: list[str], runs: int) -> float:
    """Median wall seconds of a fresh ``vnsearch search`` process. Bytecode is cached, as in an
    installed package (one untimed run writes it): with PYTHONDONTWRITEBYTECODE set, every run
    compiled vnsearch's modules from source (~0.07 s of CPU, which no user pays)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    times = []
    for i, q in enumerate(queries[: runs + 1]):
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "vnsearch", "search", q, "--index",
                               str(index_dir), "-n", "10"], capture_output=True, env=env)
        if proc.returncode not in (0, 1):
            sys.exit(f"vnsearch search failed: {proc.stderr.decode()[-500:]}")
        if i > 0:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


# --------------------------------------------------------------------------- peers, grown in steps


class GrowingFts5(SqliteFts5):
    """FTS5 over id, title, summary, body; each step inserts the new rows in one transaction,
    then merges the b-trees ('optimize'), as a batch job would."""

    name = "SQLite FTS5"

    def open(self, workdir: Path) -> None:
        import sqlite3

        self._db = workdir / "fts.db"
        self._conn = sqlite3.connect(self._db)
        self._conn.execute(
            "CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, title, summary, body, "
            "tokenize=\"unicode61 remove_diacritics 2\")")

    def add(self, recs: list[dict]) -> None:
        with self._conn:
            self._conn.executemany(
                "INSERT INTO docs(id, title, summary, body) VALUES (?, ?, ?, ?)",
                ((r["id"], r.get("title", ""), r.get("summary", ""), r.get("body", "")) for r in recs))
        with self._conn:
            self._conn.execute("INSERT INTO docs(docs) VALUES ('optimize')")

    def size(self) -> int:
        return dir_size_bytes(self._db.parent)


class GrowingTantivy(TantivyDefault):
    """Tantivy over id (stored), title, summary, body (default tokenizer, not stored); each step
    adds the new documents and commits, merges by Tantivy's own policy."""

    name = "Tantivy"

    def open(self, workdir: Path) -> None:
        import tantivy as tv

        sb = tv.SchemaBuilder()
        sb.add_text_field("id", stored=True, tokenizer_name="raw")
        for f in ("title", "summary", "body"):
            sb.add_text_field(f, stored=False, tokenizer_name=self.tokenizer)
        self._schema = sb.build()
        self._dir = workdir
        self._index = tv.Index(self._schema, path=str(workdir))
        self._analyzer_obj = self._make_analyzer()

    def add(self, recs: list[dict]) -> None:
        import tantivy as tv

        writer = self._index.writer()
        for r in recs:
            writer.add_document(tv.Document(id=r["id"], title=r.get("title", ""),
                                            summary=r.get("summary", ""), body=r.get("body", "")))
        writer.commit()
        writer.wait_merging_threads()
        self._index.reload()
        self._searcher = self._index.searcher()

    def search(self, query: str, k: int):
        import tantivy as tv

        terms = self._terms(query)
        if not terms:
            return []
        q = tv.Query.boolean_query([(tv.Occur.Should, tv.Query.term_query(self._schema, f, t))
                                    for t in terms for f in ("title", "summary", "body")])
        return [(self._searcher.doc(a)["id"][0], s) for s, a in self._searcher.search(q, limit=k).hits]

    def size(self) -> int:
        return dir_size_bytes(self._dir)


def peer_latency(system, queries: list[str]) -> dict:
    for q in queries[:5]:
        system.search(q, 10)
    lat = []
    for q in queries:
        t0 = time.perf_counter()
        system.search(q, 10)
        lat.append(time.perf_counter() - t0)
    pct = percentiles(lat)
    return {"p50_ms": pct["p50"] * 1000, "p95_ms": pct["p95"] * 1000}


# --------------------------------------------------------------------------- the run


def parse_steps(text: str, available: int) -> list[int]:
    steps = []
    for part in text.split(","):
        part = part.strip().lower()
        n = available if part == "all" else int(part.replace("_", ""))
        n = min(n, available)
        if not steps or n > steps[-1]:
            steps.append(n)
    return steps


def run(args) -> dict:
    data = Path(args.data)
    present = [p for p in sources(data) if p.exists()]
    qpath = data / "dev" / "queries_title.jsonl"
    if not present or not qpath.exists():
        print(f"data not found ({data}: scale/, baomoi-35k, dev/), skipping", file=sys.stderr)
        raise SystemExit(0)
    queries = headline_queries(data, args.queries)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="vnsearch-scale-"))
    folder, ix, peers_dir = work / "feed", work / "index", work / "peers"
    for d in (folder, ix, peers_dir):
        shutil.rmtree(d, ignore_errors=True)
    folder.mkdir(parents=True)
    limit = max(int(s) for s in args.steps.split(",") if s.strip().lower() != "all") \
        if "all" not in args.steps.lower() else None
    print(f"reading {', '.join(p.name for p in present)} ...", flush=True)
    records = []
    for rec in iter_records(present):
        records.append(rec)
        if limit is not None and len(records) >= limit:
            break
    steps = parse_steps(args.steps, len(records))
    print(f"{len(records)} documents; steps {steps}; {len(queries)} headline queries; "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}", flush=True)

    peers = []
    if not args.no_peers:
        peers.append(GrowingFts5())
        try:
            import tantivy  # noqa: F401

            peers.append(GrowingTantivy())
        except ImportError:
            print("tantivy not installed (pip install -e '.[bench]'): FTS5 only", file=sys.stderr)
        for p in peers:
            d = peers_dir / p.name.replace(" ", "_")
            d.mkdir(parents=True)
            p.open(d)

    result = {"steps": [], "cores": os.cpu_count(), "queries": len(queries),
              "started": time.strftime("%Y-%m-%d %H:%M:%S"), "argv": sys.argv[1:]}
    prev = 0
    for k, n in enumerate(steps, 1):
        part = folder / f"part-{k:03d}.jsonl"
        with open(part, "w", encoding="utf-8") as fh:
            for rec in records[prev:n]:
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        cmd = [sys.executable, "-m", "vnsearch", "index", str(folder), "--index", str(ix),
               "--json", "--quiet", "--max-file-size", str(1 << 40)]
        if args.jobs:
            cmd += ["--jobs", str(args.jobs)]
        if args.batch_size:
            cmd += ["--batch-size", str(args.batch_size)]
        load0 = os.getloadavg()[0]
        res = run_tree(cmd)
        report = json.loads(res.pop("stdout"))
        added = n - prev
        if report["added"] != added:
            sys.exit(f"step {k}: vnsearch added {report['added']} of {added}")
        cores = os.cpu_count() or 1
        row = {"step": k, "docs": n, "added": added, **res,
               "docs_per_s": added / res["wall_s"],
               "cpu_utilisation": res["cpu_s"] / (res["wall_s"] * cores),
               "load_before": load0,
               "index_bytes": dir_size_bytes(ix),
               "segments": live_segments(ix)}
        row.update(vnsearch_latency(ix, queries, work, args.rounds))
        row["cold_search_s"] = cold_search(ix, queries, args.cold)
        if args.breakdown:
            row["breakdown"] = breakdown(ix)
        for p in peers:
            t0 = time.perf_counter()
            p.add(records[prev:n])
            secs = time.perf_counter() - t0
            read_once(peers_dir / p.name.replace(" ", "_"))
            row[p.name] = {"docs_per_s": added / secs, "bytes": p.size(), **peer_latency(p, queries)}
        result["steps"].append(row)
        print_row(row, peers)
        if args.breakdown:
            print_breakdown(row["breakdown"], n)
        prev = n
        save(result, args)
    if args.optimize:
        result["optimized"] = optimized(ix, queries, work, args)
        save(result, args)
    print_summary(result, [p.name for p in peers])
    if args.plot:
        plot(result, Path(args.plot))
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return result


def optimized(ix: Path, queries: list[str], work: Path, args) -> dict:
    """`vnsearch optimize` on the last step's index (its cost), then the same searches on the
    one segment it leaves."""
    res = run_tree([sys.executable, "-m", "vnsearch", "optimize", "--index", str(ix), "--json"])
    row = {**json.loads(res.pop("stdout")), **res, "index_bytes": dir_size_bytes(ix),
           "segments": live_segments(ix)}
    row.update(vnsearch_latency(ix, queries, work, args.rounds))
    row["cold_search_s"] = cold_search(ix, queries, args.cold)
    print(f"optimize: {row['segments_before']} segments into {len(row['segments'])} in "
          f"{row['wall_s']:.0f} s ({row['cpu_s']:.0f} s CPU, largest process "
          f"{row['max_process_peak_rss_mb']:.0f} MB, {row.get('max_process_peak_anon_mb', 0):.0f} "
          f"MB anonymous); index {row['index_bytes'] / 1e6:.0f} MB; search p50/p95 "
          f"{row['p50_ms']:.0f}/{row['p95_ms']:.0f} ms; cold CLI {row['cold_search_s']:.2f} s",
          flush=True)
    return row


def save(result: dict, args) -> None:
    out = Path(args.out) if args.out else OUT_DIR / f"scale-{result['started'].replace(' ', 'T')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    args.out = str(out)


def print_row(r: dict, peers) -> None:
    print(f"step {r['step']}: {r['docs'] - r['added']:,} -> {r['docs']:,} (+{r['added']:,}) in "
          f"{r['wall_s']:.0f} s: {r['docs_per_s']:.0f} docs/s, CPU {r['cpu_utilisation']:.0%} of "
          f"{os.cpu_count()} cores (parent {r['parent_cpu_s']:.0f} s, workers "
          f"{r['workers_cpu_s']:.0f} s), peak RSS parent {r['parent_peak_rss_mb']:.0f} MB, "
          f"largest process {r['max_process_peak_rss_mb']:.0f} MB "
          f"({r.get('max_process_peak_anon_mb', float('nan')):.0f} MB anonymous); index "
          f"{r['index_bytes'] / 1e6:.0f} MB ({r['index_bytes'] / r['docs'] / 1024:.1f} KB/doc); "
          f"search p50/p95 {r['p50_ms']:.0f}/{r['p95_ms']:.0f} ms (max {r['max_ms']:.0f}; p95 "
          f"before the index was read once {r.get('p95_unwarmed_ms', float('nan')):.0f}; search "
          f"RSS {r['search_peak_rss_mb']:.0f} MB), cold CLI {r['cold_search_s']:.2f} s; "
          f"segments {r['segments']}; load before {r['load_before']:.1f}", flush=True)
    for p in peers:
        s = r[p.name]
        print(f"  {p.name}: {s['docs_per_s']:.0f} docs/s, {s['bytes'] / 1e6:.0f} MB "
              f"(vnsearch {r['index_bytes'] / s['bytes']:.1f}x), p50/p95 {s['p50_ms']:.1f}/"
              f"{s['p95_ms']:.1f} ms", flush=True)


def print_summary(result: dict, peer_names: list[str]) -> None:
    rows = result["steps"]
    if not rows:
        return
    print("\n| step | docs | docs/s | CPU | peak RSS (largest process) | index | KB/doc | p50 / p95 ms "
          "| cold CLI s |" + "".join(f" {n} MB | {n} p95 ms |" for n in peer_names))
    print("|---" * (9 + 2 * len(peer_names)) + "|")
    for r in rows:
        line = (f"| {r['docs'] - r['added']:,} → {r['docs']:,} | {r['docs']:,} | {r['docs_per_s']:.0f} | "
                f"{r['cpu_utilisation']:.0%} | {r['max_process_peak_rss_mb']:.0f} MB | "
                f"{r['index_bytes'] / 1e6:.0f} MB | {r['index_bytes'] / r['docs'] / 1024:.1f} | "
                f"{r['p50_ms']:.0f} / {r['p95_ms']:.0f} | {r['cold_search_s']:.2f} |")
        for n in peer_names:
            line += f" {r[n]['bytes'] / 1e6:.0f} | {r[n]['p95_ms']:.1f} |"
        print(line)
    first, last = rows[0], rows[-1]
    print(f"\nlast/first step docs/s: {last['docs_per_s'] / first['docs_per_s']:.2f} (goal >= 0.8)")
    print(f"largest process peak RSS over all steps: "
          f"{max(r['max_process_peak_rss_mb'] for r in rows):.0f} MB (goal <= 1500; anonymous "
          f"{max(r.get('max_process_peak_anon_mb', float('nan')) for r in rows):.0f} MB)")
    print("CPU seconds per 1000 documents, parent / workers: " + ", ".join(
        f"{1000 * r['parent_cpu_s'] / r['added']:.1f} / {1000 * r['workers_cpu_s'] / r['added']:.1f}"
        for r in rows) + " (what load on a shared machine skews least)")
    print(f"p95 last/first: {last['p95_ms'] / first['p95_ms']:.2f} for "
          f"{last['docs'] / first['docs']:.1f}x the documents (goal <= 2, and <= 100 ms); "
          f"before the index was read once: "
          f"{last.get('p95_unwarmed_ms', float('nan')) / first.get('p95_unwarmed_ms', 1):.2f}")
    print(f"cold CLI at {last['docs']:,}: {last['cold_search_s']:.2f} s (goal <= 0.5)")
    for n in peer_names:
        print(f"index bytes / {n} at {last['docs']:,}: {last['index_bytes'] / last[n]['bytes']:.2f}"
              + (" (goal <= 2)" if "FTS5" in n else ""))


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["steps"]
    peers = [k for k in rows[0] if isinstance(rows[0][k], dict) and "bytes" in rows[0][k]]
    x = [r["docs"] / 1000 for r in rows]
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.8))
    ax = axes[0]
    ax.plot(x, [r["docs_per_s"] for r in rows], "o-", label="vnsearch")
    for p in peers:
        ax.plot(x, [r[p]["docs_per_s"] for r in rows], "s--", label=p)
    ax.set_yscale("log")
    ax.set_title("indexing, docs/s of each step")
    ax = axes[1]
    ax.plot(x, [r["max_process_peak_rss_mb"] for r in rows], "o-", label="largest process")
    ax.plot(x, [r["parent_peak_rss_mb"] for r in rows], "^:", label="parent")
    ax.axhline(1500, color="grey", lw=0.8)
    ax.set_title("indexing peak RSS, MB")
    ax = axes[2]
    ax.plot(x, [r["index_bytes"] / 1e6 for r in rows], "o-", label="vnsearch")
    for p in peers:
        ax.plot(x, [r[p]["bytes"] / 1e6 for r in rows], "s--", label=p)
    ax.set_title("index size, MB")
    ax = axes[3]
    ax.plot(x, [r["p95_ms"] for r in rows], "o-", label="vnsearch p95 (snippets)")
    ax.plot(x, [r["p50_ms"] for r in rows], "o:", label="vnsearch p50")
    for p in peers:
        ax.plot(x, [r[p]["p95_ms"] for r in rows], "s--", label=f"{p} p95")
    ax.set_yscale("log")
    ax.set_title("search latency, ms (300 headlines)")
    for ax in axes:
        ax.set_xlabel("documents in the index (thousands)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    print(f"plot: {path}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.environ.get("VNSEARCH_BENCH_DATA", str(DEFAULT_DATA_DIR)))
    ap.add_argument("--steps", default=DEFAULT_STEPS,
                    help="cumulative document counts, 'all' = every document (default %(default)s)")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--cold", type=int, default=3, help="cold CLI runs (median)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="timed search runs per step, each in a fresh process (the median p95)")
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--breakdown", action="store_true", help="bytes per field and form")
    ap.add_argument("--optimize", action="store_true",
                    help="then `vnsearch optimize` the index: its cost, and searches on one segment")
    ap.add_argument("--work", default=None, help="keep the feed folder and indexes here")
    ap.add_argument("--out", default=None, help="JSON results (default bench/out/scale-TIME.json)")
    ap.add_argument("--plot", default=None, help="PNG of the curve (matplotlib)")
    ap.add_argument("--replot", default=None, help="only draw --plot from this JSON")
    ap.add_argument("--_latency", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._latency:
        latency_child(*args._latency)
        return 0
    if args.replot:
        result = json.loads(Path(args.replot).read_text(encoding="utf-8"))
        print_summary(result, [k for k in result["steps"][0]
                               if isinstance(result["steps"][0][k], dict) and "bytes" in result["steps"][0][k]])
        plot(result, Path(args.plot or "docs/scaling.png"))
        return 0
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
