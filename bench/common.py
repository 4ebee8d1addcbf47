"""Shared benchmark infrastructure: data loading, diacritic folding, ranx metrics, timing,
memory and disk helpers, pyvi pre-segmentation with an on-disk cache, and the ``System``
protocol every compared search engine implements.

Data lives outside the repository (``../shared/data`` next to the worktree by default, or
``--data DIR``); when it is absent the benchmark prints "data not found, skipping" and exits 0.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import hashlib
import json
import os
import pickle
import random
import re
import statistics
import sys
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Protocol, Sequence

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"
OUT_DIR = REPO_ROOT / "bench" / "out"  # git-ignored: caches, runs, scratch indexes

#: Metrics reported for every query set, computed by ranx.
METRICS = ("mrr@10", "ndcg@10", "recall@100")


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class BenchDoc:
    """The fields every system indexes. The title is deliberately absent: title queries are
    headlines, so indexing the title would turn a retrieval task into exact matching."""

    id: str
    summary: str
    body: str


@dataclass
class DevSet:
    """Documents, queries and relevance judgements of the dev collection."""

    docs: list[BenchDoc]
    title_queries: dict[str, str]  # qid -> headline
    abstract_queries: dict[str, str]  # qid -> journalist's abstract
    title_qrels: dict[str, dict[str, int]]  # qid -> {docid: rel}
    abstract_qrels: dict[str, dict[str, int]]


def add_data_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ.get("VNSEARCH_BENCH_DATA", DEFAULT_DATA_DIR)),
        help="directory holding dev/ and baomoi-35k.jsonl.gz (default: %(default)s)",
    )


def require_data(*paths: Path) -> None:
    """Exit 0 with a message when benchmark data is missing: it is never in the repository."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        print(f"data not found ({', '.join(missing)}), skipping", file=sys.stderr)
        raise SystemExit(0)


def _open_text(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def iter_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with _open_text(path) as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def load_docs(path: Path, limit: int | None = None) -> list[BenchDoc]:
    """Records -> BenchDoc (summary may be null in the source; it becomes "")."""
    docs = []
    for rec in iter_jsonl(path):
        docs.append(BenchDoc(str(rec["id"]), rec.get("summary") or "", rec.get("body") or ""))
        if limit is not None and len(docs) >= limit:
            break
    return docs


def load_queries(path: Path) -> dict[str, str]:
    return {str(r["qid"]): r["query"] for r in iter_jsonl(path)}


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    """TREC-like ``qid docid rel`` lines (tab or space separated)."""
    qrels: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 3:
                qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return qrels


def dev_paths(data_dir: Path) -> dict[str, Path]:
    dev = data_dir / "dev"
    return {
        "docs": dev / "docs.jsonl.gz",
        "title_queries": dev / "queries_title.jsonl",
        "abstract_queries": dev / "queries_abstract.jsonl",
        "title_qrels": dev / "qrels_title.tsv",
        "abstract_qrels": dev / "qrels_abstract.tsv",
    }


def speed_corpus_path(data_dir: Path) -> Path:
    return data_dir / "baomoi-35k.jsonl.gz"


def load_dev(data_dir: Path) -> DevSet:
    paths = dev_paths(data_dir)
    require_data(*paths.values())
    return DevSet(
        docs=load_docs(paths["docs"]),
        title_queries=load_queries(paths["title_queries"]),
        abstract_queries=load_queries(paths["abstract_queries"]),
        title_qrels=load_qrels(paths["title_qrels"]),
        abstract_qrels=load_qrels(paths["abstract_qrels"]),
    )


def subsample_dev(dev: DevSet, n_docs: int | None, n_queries: int, seed: int = 0) -> DevSet:
    """A smaller dev set: ``n_queries`` of each kind, every document judged for them, then
    random other documents up to ``n_docs`` (distractors keep the task honest; None = all)."""
    if n_docs is None:
        n_docs = len(dev.docs)
    rng = random.Random(seed)

    def pick(queries: dict[str, str], qrels: dict[str, dict[str, int]]) -> list[str]:
        judged = sorted(q for q in queries if q in qrels)
        return sorted(rng.sample(judged, min(n_queries, len(judged))))

    tq = pick(dev.title_queries, dev.title_qrels)
    aq = pick(dev.abstract_queries, dev.abstract_qrels)
    keep = {d for q in tq for d in dev.title_qrels[q]} | {d for q in aq for d in dev.abstract_qrels[q]}
    others = [d.id for d in dev.docs if d.id not in keep]
    keep |= set(rng.sample(others, max(0, min(len(others), n_docs - len(keep)))))
    return DevSet(
        docs=[d for d in dev.docs if d.id in keep],
        title_queries={q: dev.title_queries[q] for q in tq},
        abstract_queries={q: dev.abstract_queries[q] for q in aq},
        title_qrels={q: dev.title_qrels[q] for q in tq},
        abstract_qrels={q: dev.abstract_qrels[q] for q in aq},
    )


# --------------------------------------------------------------------------- folding


def _own_fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return unicodedata.normalize("NFC", stripped.replace("đ", "d").replace("Đ", "D"))


@functools.lru_cache(maxsize=1)
def _pick_fold() -> Callable[[str], str]:
    try:  # the package's own folding, when it exists, so bench and product agree
        from vnsearch.text.normalize import fold as package_fold  # type: ignore[attr-defined]
    except ImportError:
        return _own_fold
    return package_fold


def remove_diacritics(text: str) -> str:
    """How users type without a Vietnamese keyboard: every tone and vowel mark dropped, đ→d."""
    return _pick_fold()(text)


# --------------------------------------------------------------------------- metrics


def run_from_hits(hits_by_qid: dict[str, Sequence[tuple[str, float]]]) -> dict[str, dict[str, float]]:
    """Turn ranked lists into a ranx run whose scores encode the system's own order (ties in
    raw scores would otherwise be re-ordered by the metrics library)."""
    run: dict[str, dict[str, float]] = {}
    for qid, hits in hits_by_qid.items():
        ranked: dict[str, float] = {}
        for docid, _score in hits:
            ranked.setdefault(docid, float(len(hits) - len(ranked)))
        run[qid] = ranked
    return run


def evaluate(qrels: dict[str, dict[str, int]], hits_by_qid: dict[str, Sequence[tuple[str, float]]]) -> dict[str, float]:
    """MRR@10, nDCG@10 and Recall@100 through ranx. Queries without results count as zero."""
    import warnings

    warnings.filterwarnings("ignore", module="ranx")
    warnings.filterwarnings("ignore", message=".*unsafe cast.*")
    from ranx import Qrels, Run
    from ranx import evaluate as ranx_evaluate

    run = run_from_hits(hits_by_qid)
    for qid in qrels:  # ranx refuses empty rankings; a missing query scores 0 with make_comparable
        if not run.get(qid):
            run.pop(qid, None)
    scores = ranx_evaluate(Qrels(qrels), Run(run), list(METRICS), make_comparable=True)
    return {m: float(scores[m]) for m in METRICS}


# --------------------------------------------------------------------------- timing / memory / disk


@dataclass
class Stopwatch:
    """``with Stopwatch() as sw: ...`` then ``sw.seconds`` (time.perf_counter)."""

    seconds: float = 0.0
    _start: float = field(default=0.0, repr=False)

    def __enter__(self) -> "Stopwatch":
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._start


def percentiles(samples: Sequence[float]) -> dict[str, float]:
    """p50 and p95 (inclusive method: no extrapolation beyond the slowest sample)."""
    if not samples:
        return {"p50": float("nan"), "p95": float("nan")}
    if len(samples) == 1:
        return {"p50": samples[0], "p95": samples[0]}
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94]}


def _proc_status_kb(key: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark for this process (Linux), so the next peak is local."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def current_rss_mb() -> float:
    kb = _proc_status_kb("VmRSS")
    return kb / 1024 if kb is not None else float("nan")


def peak_rss_mb() -> float:
    """Peak RSS of this process in MB (VmHWM, or ru_maxrss where /proc is unavailable)."""
    kb = _proc_status_kb("VmHWM")
    if kb is None:
        import resource

        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024


def dir_size_bytes(path: Path) -> int:
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# --------------------------------------------------------------------------- pyvi pre-segmentation

_WORDISH = re.compile(r"\w")


@functools.lru_cache(maxsize=1)
def _segmenter() -> tuple[str, Callable[[str], str]]:
    """(name, tokenize): the package's re-implementation of pyvi's ViTokenizer.tokenize when
    present (same output, ~2x faster: model loaded straight into python-crfsuite), else pyvi."""
    try:
        from vnsearch.text.segmenter import tokenize_like_pyvi
    except ImportError:
        from pyvi import ViTokenizer

        return "pyvi.ViTokenizer", ViTokenizer.tokenize
    return "vnsearch.text.segmenter.tokenize_like_pyvi", tokenize_like_pyvi


def segment_text(text: str, tokenize: Callable[[str], str] | None = None) -> str:
    """Pyvi words of ``text``, ``_``-joined syllables, space separated, one output line per input
    line; punctuation-only tokens dropped. Called per line: pyvi is quadratic in input length."""
    if tokenize is None:
        tokenize = _segmenter()[1]
    out = []
    for line in text.split("\n"):
        if line.strip():
            words = [w for w in tokenize(line).split() if _WORDISH.search(w)]
            if words:
                out.append(" ".join(words))
    return "\n".join(out)


def query_words(query: str) -> list[str]:
    """A query as lower-cased pyvi words (segmented in its original case, lower-cased after)."""
    return segment_text(query).lower().split()


_worker_tokenize: Callable[[str], str] | None = None


def _segment_docs(chunk: list[tuple[str, str]]) -> list[tuple[str, str]]:
    global _worker_tokenize
    if _worker_tokenize is None:
        _worker_tokenize = _segmenter()[1]
    return [(segment_text(s, _worker_tokenize), segment_text(b, _worker_tokenize)) for s, b in chunk]


@dataclass
class Segmented:
    """Pre-segmented copies of a document list, and what producing them cost."""

    docs: list[BenchDoc]
    seconds: float  # wall time when the cache entry was produced
    jobs: int
    segmenter: str
    cached: bool


def presegment(docs: Sequence[BenchDoc], jobs: int, cache_dir: Path = OUT_DIR) -> Segmented:
    """Segment summary and body of every document with pyvi in ``jobs`` processes, caching the
    result (and the time it took) in ``cache_dir`` keyed by a hash of segmenter and texts."""
    name, _ = _segmenter()
    h = hashlib.sha256(name.encode())
    for d in docs:
        h.update(d.id.encode())
        h.update(b"\0")
        h.update(d.summary.encode())
        h.update(b"\0")
        h.update(d.body.encode())
        h.update(b"\1")
    cache = Path(cache_dir) / f"seg-{h.hexdigest()[:20]}.pkl.gz"
    if cache.exists():
        with gzip.open(cache, "rb") as fh:
            meta, pairs = pickle.load(fh)
        return Segmented(
            [BenchDoc(d.id, s, b) for d, (s, b) in zip(docs, pairs)],
            meta["seconds"], meta["jobs"], meta["segmenter"], True,
        )
    pairs_in = [(d.summary, d.body) for d in docs]
    chunks = [pairs_in[i:i + 200] for i in range(0, len(pairs_in), 200)]
    with Stopwatch() as sw:
        if jobs > 1 and len(chunks) > 1:
            import multiprocessing as mp

            with mp.get_context("fork").Pool(jobs) as pool:
                results = pool.map(_segment_docs, chunks, chunksize=1)
        else:
            results = [_segment_docs(c) for c in chunks]
    pairs = [p for chunk in results for p in chunk]
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    with gzip.open(tmp, "wb", compresslevel=1) as fh:
        pickle.dump(({"seconds": sw.seconds, "jobs": jobs, "segmenter": name}, pairs), fh)
    tmp.replace(cache)
    return Segmented([BenchDoc(d.id, s, b) for d, (s, b) in zip(docs, pairs)], sw.seconds, jobs, name, False)


# --------------------------------------------------------------------------- the System protocol


@dataclass
class BuildStats:
    """What building an index cost. ``extra_seconds`` is work done before ``build`` that a user
    would also pay (pyvi pre-segmentation), added to the measured wall time."""

    seconds: float = 0.0
    extra_seconds: float = 0.0
    docs: int = 0
    size_bytes: int = 0
    rss_growth_mb: float = float("nan")
    notes: str = ""

    @property
    def total_seconds(self) -> float:
        return self.seconds + self.extra_seconds

    @property
    def docs_per_second(self) -> float:
        return self.docs / self.total_seconds if self.total_seconds > 0 else float("nan")


class System(Protocol):
    """A search engine under comparison. Every system indexes summary+body of the same docs."""

    name: str
    description: str

    def prepare(self, docs: Sequence[BenchDoc]) -> tuple[Sequence[BenchDoc], float]:
        """Work a user must do before indexing (pyvi pre-segmentation): the documents to index
        and its cost in seconds. Not timed by ``measure_build``; the returned cost is added."""

    def build(self, docs: Sequence[BenchDoc], workdir: Path) -> BuildStats:
        """Index ``docs`` into ``workdir`` (created empty by the caller)."""

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """Top ``k`` (docid, score) for a free-text query as a user would type it."""

    def cli_command(self, query: str) -> list[str] | None:
        """argv that answers ``query`` from a fresh process, or None without a CLI."""

    def close(self) -> None:
        """Release readers and handles."""


def measure_build(system: System, docs: Sequence[BenchDoc], workdir: Path) -> BuildStats:
    """Build with wall time, RSS growth of this process and on-disk size filled in."""
    import gc
    import shutil

    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    prepared, extra = system.prepare(docs)
    gc.collect()
    base = current_rss_mb()
    reset_peak_rss()
    with Stopwatch() as sw:
        stats = system.build(prepared, workdir)
    stats.seconds = sw.seconds
    stats.extra_seconds = extra
    stats.docs = len(docs)
    # RSS can fall a little between reading the base and resetting the peak: no growth is 0.
    stats.rss_growth_mb = max(0.0, peak_rss_mb() - base)
    stats.size_bytes = dir_size_bytes(workdir)
    return stats


@dataclass
class SearchRun:
    """Hits per qid, per-query latencies (seconds) and the queries the system refused."""

    hits: dict[str, list[tuple[str, float]]]
    latencies: list[float]
    errors: dict[str, str]


def search_all(system: System, queries: dict[str, str], k: int, warmup: int = 5) -> SearchRun:
    """Run every query. A query the system raises on counts as an empty result (that is what
    its user gets) and is listed in ``errors``."""
    for q in list(queries.values())[:warmup]:
        try:
            system.search(q, k)
        except Exception:
            pass
    run = SearchRun({}, [], {})
    for qid, q in queries.items():
        t0 = time.perf_counter()
        try:
            run.hits[qid] = system.search(q, k)
        except Exception as exc:
            run.hits[qid] = []
            run.errors[qid] = f"{type(exc).__name__}: {exc}"
        run.latencies.append(time.perf_counter() - t0)
    return run


def cold_cli_seconds(system: System, queries: Iterable[str], cwd: Path = REPO_ROOT) -> float | None:
    """Median wall time of a fresh CLI process answering one query (page cache warm: no root to
    drop it). None when the system has no CLI."""
    import subprocess

    times = []
    for q in queries:
        argv = system.cli_command(q)
        if argv is None:
            return None
        t0 = time.perf_counter()
        proc = subprocess.run(argv, cwd=cwd, capture_output=True)
        elapsed = time.perf_counter() - t0
        if proc.returncode not in (0, 1):
            raise RuntimeError(f"{argv[:3]}... exited {proc.returncode}: {proc.stderr.decode()[-300:]}")
        times.append(elapsed)
    return statistics.median(times) if times else None
