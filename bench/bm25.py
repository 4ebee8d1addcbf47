"""Plain BM25 baselines for bench/quality.py, as sparse matrices: fast enough to rerun on the
whole dev collection in the same run as vnsearch (Whoosh takes 0.3-1 s per dev query).

BM25 (k1 1.2, b 0.75) per field, summary and body scored separately and summed, as Whoosh's
BM25F scores an ``Or`` of one ``Term`` per (term, field) in bench/systems.py; idf
``log(1 + (N - df + 0.5) / (df + 0.5))`` per field. A term typed twice counts twice.

Two tokenisations, the reference baselines of issue-style comparisons:

* **syllables**: runs of letters and digits (``[^\\W_]+``), lower-cased;
* **pyvi words**: the text pre-segmented with pyvi (bench.common.presegment), one token per
  ``_``-joined word, lower-cased; queries segmented the same way (bench.common.query_words).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Callable, Sequence

from bench.common import BenchDoc, BuildStats, presegment, query_words

K1 = 1.2
B = 0.75
FIELDS = ("summary", "body")
_SYLLABLE = re.compile(r"[^\W_]+")


def syllable_tokens(text: str) -> list[str]:
    return [t.lower() for t in _SYLLABLE.findall(text)]


def pyvi_tokens(segmented: str) -> list[str]:
    return segmented.lower().split()


class SparseBM25:
    """A ``bench.common.System``: BM25 over ``tokenize``d fields, scored with scipy."""

    def __init__(self, name: str, description: str, tokenize: Callable[[str], list[str]],
                 query_tokens: Callable[[str], list[str]], presegmented: bool = False, jobs: int = 2):
        self.name = name
        self.description = description
        self._tokenize = tokenize
        self._query_tokens = query_tokens
        self._presegmented = presegmented
        self.jobs = jobs
        self._vocab: dict[str, int] = {}
        self._fields: list = []  # per field: (CSC weight matrix, idf array)
        self._ids: list[str] = []

    def prepare(self, docs: Sequence[BenchDoc]) -> tuple[Sequence[BenchDoc], float]:
        if not self._presegmented:
            return docs, 0.0
        seg = presegment(docs, self.jobs)
        return seg.docs, seg.seconds

    def build(self, docs: Sequence[BenchDoc], workdir: Path) -> BuildStats:
        import numpy as np
        from scipy import sparse

        self._ids = [d.id for d in docs]
        vocab = self._vocab
        self._fields = []
        n = len(docs)
        for field in FIELDS:
            rows, cols, vals, lengths = [], [], [], np.zeros(n, dtype=np.float64)
            for i, d in enumerate(docs):
                toks = self._tokenize(getattr(d, field))
                lengths[i] = len(toks)
                for t, c in Counter(toks).items():
                    rows.append(i)
                    cols.append(vocab.setdefault(t, len(vocab)))
                    vals.append(c)
            tf = sparse.csr_matrix((np.asarray(vals, dtype=np.float64), (rows, cols)), shape=(n, len(vocab) + 1))
            avg = max(lengths.mean(), 1.0)
            norm = K1 * (1 - B + B * lengths / avg)
            tf = tf.tocoo()
            w = tf.data * (K1 + 1) / (tf.data + norm[tf.row])
            df = np.bincount(tf.col, minlength=tf.shape[1]).astype(np.float64)
            idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
            self._fields.append((sparse.csc_matrix((w, (tf.row, tf.col)), shape=tf.shape), idf))
        return BuildStats(notes="scipy sparse BM25 (in memory)")

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        import numpy as np

        counts = Counter(self._query_tokens(query))
        scores = np.zeros(len(self._ids))
        for t, qtf in counts.items():
            col = self._vocab.get(t)
            if col is None:
                continue
            for w, idf in self._fields:
                if col >= w.shape[1]:
                    continue
                a, b = w.indptr[col], w.indptr[col + 1]
                scores[w.indices[a:b]] += (qtf * idf[col]) * w.data[a:b]
        hit = np.flatnonzero(scores)
        if not len(hit):
            return []
        if len(hit) > k:
            hit = hit[np.argpartition(-scores[hit], k - 1)[:k]]
        hit = hit[np.lexsort((hit, -scores[hit]))]
        return [(self._ids[i], float(scores[i])) for i in hit]

    def cli_command(self, query: str) -> list[str] | None:
        return None

    def close(self) -> None:
        self._fields = []


def bm25_syllables() -> SparseBM25:
    return SparseBM25("BM25 syllables", "BM25 over lower-cased syllables (letters and digits)",
                      syllable_tokens, syllable_tokens)


def bm25_pyvi_words(jobs: int = 2) -> SparseBM25:
    return SparseBM25("BM25 pyvi words", "BM25 over lower-cased pyvi words (pre-segmented)",
                      pyvi_tokens, query_words, presegmented=True, jobs=jobs)
