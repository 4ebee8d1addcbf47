"""The search engines compared in bench/peers.py and bench/quality.py, each behind the
``bench.common.System`` protocol.

Every system indexes the same two fields, summary and body (the title is left out so headline
queries are a retrieval task), and runs each query as a disjunction ("OR") of its terms: the
query is cut into terms by the engine's own analyzer and one term query per term and field is
OR-ed. That is what each engine's free-text parser does for plain words, without letting
characters that are syntax to the engine (``:`` ``"`` ``(`` ``-`` ``*``, all common in
headlines) change the query. vnsearch gets the raw query: handling such text is its job.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import sys
from pathlib import Path
from typing import Sequence

from bench.common import OUT_DIR, BenchDoc, BuildStats, presegment, query_words

FIELDS = ("summary", "body")


# --------------------------------------------------------------------------- Whoosh


class _WhooshSystem:
    """Whoosh BM25F (k1 1.2, b 0.75) over summary and body with a given analyzer."""

    name = "whoosh"
    description = ""

    def __init__(self) -> None:
        self._ix = None
        self._searcher = None
        self._query_analyzer = None

    def _analyzer(self):
        raise NotImplementedError

    def prepare(self, docs: Sequence[BenchDoc]) -> tuple[Sequence[BenchDoc], float]:
        return docs, 0.0

    def _terms(self, query: str) -> list[str]:
        if self._query_analyzer is None:
            self._query_analyzer = self._analyzer()
        return [t.text for t in self._query_analyzer(query)]

    def build(self, docs: Sequence[BenchDoc], workdir: Path) -> BuildStats:
        from whoosh import fields, index

        analyzer = self._analyzer()
        schema = fields.Schema(
            id=fields.ID(stored=True, unique=False),
            summary=fields.TEXT(analyzer=analyzer),
            body=fields.TEXT(analyzer=analyzer),
        )
        ix = index.create_in(str(workdir), schema)
        writer = ix.writer(limitmb=256)
        for d in docs:
            writer.add_document(id=d.id, summary=d.summary, body=d.body)
        writer.commit()
        self._open(ix)
        return BuildStats(notes="1 process, limitmb=256")

    def _open(self, ix) -> None:
        from whoosh import scoring

        self._ix = ix
        self._searcher = ix.searcher(weighting=scoring.BM25F(B=0.75, K1=1.2))

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        from whoosh import query as wq

        terms = self._terms(query)
        if not terms:
            return []
        q = wq.Or([wq.Term(f, t) for t in terms for f in FIELDS])
        results = self._searcher.search(q, limit=k)
        return [(hit["id"], hit.score) for hit in results]

    def cli_command(self, query: str) -> list[str] | None:
        return None  # Whoosh is a library only

    def close(self) -> None:
        if self._searcher is not None:
            self._searcher.close()
        self._searcher = self._ix = None


class WhooshStandard(_WhooshSystem):
    name = "Whoosh StandardAnalyzer"
    description = "Whoosh BM25F, StandardAnalyzer (regex words, lower-case, English stop list), no segmentation"

    def _analyzer(self):
        from whoosh.analysis import StandardAnalyzer

        return StandardAnalyzer()


class _PresegmentedMixin:
    """Index pyvi-segmented text (words as ``_``-joined syllables); queries segmented the same
    way. Segmentation time is counted in the build (from the cache entry when reused)."""

    jobs = 2
    cache_dir = OUT_DIR

    def prepare(self, docs: Sequence[BenchDoc]) -> tuple[Sequence[BenchDoc], float]:
        seg = presegment(docs, self.jobs, self.cache_dir)
        return seg.docs, seg.seconds

    def _terms(self, query: str) -> list[str]:
        return query_words(query)


class WhooshPyviWords(_PresegmentedMixin, _WhooshSystem):
    name = "Whoosh pyvi words"
    description = "Whoosh BM25F over pyvi words only (pre-segmented, whitespace tokens, lower-case)"

    def __init__(self, jobs: int = 2) -> None:
        super().__init__()
        self.jobs = jobs

    def _analyzer(self):
        from whoosh.analysis import LowercaseFilter, SpaceSeparatedTokenizer

        return SpaceSeparatedTokenizer() | LowercaseFilter()


# --------------------------------------------------------------------------- Tantivy


class _TantivySystem:
    """tantivy-py, BM25 (k1 1.2, b 0.75) over summary and body."""

    name = "tantivy"
    description = ""
    tokenizer = "default"

    def __init__(self) -> None:
        self._index = None
        self._searcher = None
        self._analyzer_obj = None

    def _make_analyzer(self):
        import tantivy as tv

        # tantivy's "default" tokenizer, spelled out: SimpleTokenizer, RemoveLong(40), LowerCaser.
        return tv.TextAnalyzerBuilder(tv.Tokenizer.simple()).filter(tv.Filter.remove_long(40)).filter(
            tv.Filter.lowercase()
        ).build()

    def prepare(self, docs: Sequence[BenchDoc]) -> tuple[Sequence[BenchDoc], float]:
        return docs, 0.0

    def _terms(self, query: str) -> list[str]:
        return self._analyzer_obj.analyze(query)

    def _register(self, index) -> None:
        pass

    def build(self, docs: Sequence[BenchDoc], workdir: Path) -> BuildStats:
        import tantivy as tv

        sb = tv.SchemaBuilder()
        sb.add_text_field("id", stored=True, tokenizer_name="raw")
        for f in FIELDS:
            sb.add_text_field(f, stored=False, tokenizer_name=self.tokenizer)
        schema = sb.build()
        index = tv.Index(schema, path=str(workdir))
        self._register(index)
        writer = index.writer()  # 128 MB heap, tantivy picks the thread count
        for d in docs:
            writer.add_document(tv.Document(id=d.id, summary=d.summary, body=d.body))
        writer.commit()
        writer.wait_merging_threads()
        index.reload()
        self._index = index
        self._schema = schema
        self._searcher = index.searcher()
        self._analyzer_obj = self._make_analyzer()
        return BuildStats(notes="writer heap 128 MB, auto threads")

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        import tantivy as tv

        terms = self._terms(query)
        if not terms:
            return []
        q = tv.Query.boolean_query(
            [(tv.Occur.Should, tv.Query.term_query(self._schema, f, t)) for t in terms for f in FIELDS]
        )
        result = self._searcher.search(q, limit=k)
        out = []
        for score, address in result.hits:
            out.append((self._searcher.doc(address)["id"][0], score))
        return out

    def cli_command(self, query: str) -> list[str] | None:
        return None  # tantivy-cli is a separate Rust tool, not part of the Python bindings

    def close(self) -> None:
        self._searcher = self._index = None


class TantivyDefault(_TantivySystem):
    name = "Tantivy default tokenizer"
    description = "tantivy-py BM25, default tokenizer (split on non-alphanumerics, lower-case), no segmentation"


class TantivyPyviWords(_PresegmentedMixin, _TantivySystem):
    name = "Tantivy pyvi words"
    description = "tantivy-py BM25 over pyvi pre-segmented text (whitespace tokens, lower-case)"
    tokenizer = "ws_lower"

    def __init__(self, jobs: int = 2) -> None:
        super().__init__()
        self.jobs = jobs

    def _make_analyzer(self):
        import tantivy as tv

        return tv.TextAnalyzerBuilder(tv.Tokenizer.whitespace()).filter(tv.Filter.lowercase()).build()

    def _register(self, index) -> None:
        index.register_tokenizer(self.tokenizer, self._make_analyzer())


# --------------------------------------------------------------------------- SQLite FTS5

_FTS_TOKEN = re.compile(r"[^\W_]+")  # unicode61 token characters: letters and digits


class SqliteFts5:
    name = "SQLite FTS5"
    description = 'stdlib sqlite3 FTS5, tokenize="unicode61 remove_diacritics 2", bm25()'

    def __init__(self) -> None:
        self._conn: sqlite3.Connection | None = None
        self._db: Path | None = None

    def prepare(self, docs: Sequence[BenchDoc]) -> tuple[Sequence[BenchDoc], float]:
        return docs, 0.0

    def build(self, docs: Sequence[BenchDoc], workdir: Path) -> BuildStats:
        self._db = workdir / "fts.db"
        conn = sqlite3.connect(self._db)
        conn.execute(
            "CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, summary, body, "
            "tokenize=\"unicode61 remove_diacritics 2\")"
        )
        with conn:
            conn.executemany(
                "INSERT INTO docs(id, summary, body) VALUES (?, ?, ?)",
                ((d.id, d.summary, d.body) for d in docs),
            )
        with conn:
            conn.execute("INSERT INTO docs(docs) VALUES ('optimize')")
        self._conn = conn
        return BuildStats(notes="one transaction, then 'optimize'")

    @staticmethod
    def match_expression(query: str) -> str:
        """OR of double-quoted terms: FTS5 syntax characters inside quotes are plain text."""
        terms = _FTS_TOKEN.findall(query)
        return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        expr = self.match_expression(query)
        if not expr:
            return []
        rows = self._conn.execute(
            "SELECT id, bm25(docs) FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT ?", (expr, k)
        ).fetchall()
        return [(docid, -score) for docid, score in rows]  # bm25() is lower-is-better

    def cli_command(self, query: str) -> list[str] | None:
        exe = shutil.which("sqlite3")
        expr = self.match_expression(query)
        if exe is None or not expr:
            return None
        sql = "SELECT id FROM docs WHERE docs MATCH '{}' ORDER BY rank LIMIT 10;".format(expr.replace("'", "''"))
        return [exe, "-readonly", str(self._db), sql]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None


# --------------------------------------------------------------------------- vnsearch


class Vnsearch:
    """The product, through its public Python API (``vnsearch.Index``)."""

    name = "vnsearch"
    description = "vnsearch Index.add / Index.search (raw query, its own parser and ranking)"

    def __init__(self, jobs: int = 2) -> None:
        self.jobs = jobs
        self._idx = None
        self._path: Path | None = None

    @staticmethod
    def available() -> str | None:
        """None when the API is importable, else why not."""
        try:
            from vnsearch import Document, Index  # noqa: F401
        except ImportError as exc:
            return f"vnsearch.Index not available: {exc}"
        return None

    def prepare(self, docs: Sequence[BenchDoc]) -> tuple[Sequence[BenchDoc], float]:
        return docs, 0.0

    def build(self, docs: Sequence[BenchDoc], workdir: Path) -> BuildStats:
        from vnsearch import Document, Index

        self._path = workdir / "vnsearch"
        idx = Index.create(self._path, overwrite=True)
        idx.add((Document(id=d.id, title="", summary=d.summary, body=d.body) for d in docs), jobs=self.jobs)
        self._idx = idx
        return BuildStats(notes=f"jobs={self.jobs}")

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        results = self._idx.search(query, limit=k, snippets=False)
        return [(hit.id, hit.score) for hit in results.hits]

    def cli_command(self, query: str) -> list[str] | None:
        return [sys.executable, "-m", "vnsearch", "search", query, "--index", str(self._path), "--limit", "10", "--json"]

    def close(self) -> None:
        close = getattr(self._idx, "close", None)
        if close is not None:
            close()
        self._idx = None


def peer_systems(jobs: int) -> list:
    """The four peers plus the pyvi-words Whoosh baseline, baseline (Whoosh standard) first."""
    return [WhooshStandard(), WhooshPyviWords(jobs), TantivyDefault(), TantivyPyviWords(jobs), SqliteFts5()]
