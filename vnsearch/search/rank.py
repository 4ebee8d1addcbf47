"""Ranking: BM25F over the text sections, a term at a time, with numpy.

Whoosh scores a query by walking every posting list document by document in Python, through
a tree of matchers; a Vietnamese headline becomes a few hundred term matchers (four term forms
per word, four sections), which took about a second per query. Here each posting list is
decoded a term at a time (:mod:`vnsearch.codec.postings`) into arrays and scored in one
vectorised step into a dense score vector over the index's documents; the top hits are
sorted from the few documents scoring at least the k-th best of the blocks' maxima
(:func:`best_candidates`).

Scoring is true BM25F (Robertson & Zaragoza): for one term, the frequencies in the sections
are length-normalised per section, weighted (title > summary > body > captions) and summed
*before* saturation, and the document frequency is that of the whole document. Each query
word contributes in four forms, weighted so that exact > syllable-only > folded-only:

* the pyvi word (``*_w``), the syllables, the diacritic-free syllables (``*_f``), and
  diacritic-free adjacent pairs (``*_fb``, the proximity bonus);
* a query typed without diacritics carries no information in its exact forms, so it is scored
  on the folded syllables and pairs only, the pairs doing the disambiguation;
* a coordination factor ranks documents matching more of the query's syllables first without
  dropping those that miss some; it fades in queries longer than a headline, which describe
  rather than list what they want;
* among the best matches of a run of words, the terms most of them hold (the names and words
  of the story they all report) count less, the more so the longer the query: they cannot
  tell those matches apart;
* syllables found in more than half the documents of a large index (an idf below log 2) are
  left out: they weigh next to nothing and have the longest posting lists; unless the query
  has nothing else. pyvi words and syllable pairs are kept, and so is every syllable of a
  query typed without diacritics (docs/benchmarks.md has the measurements);
* an acronym typed (``UBND``) also matches the full form the index learned for it, and a full
  form typed its acronym, at ACRONYM_WEIGHT of what the form typed would score;
* among the best matches, a document whose lead (summary, first sentences) holds more of the
  query ranks higher (LEAD_WEIGHT): news puts the essentials first.

The input is the query model of :mod:`vnsearch.search.parse`. Boolean structure (AND, NOT,
``-word``, groups) and phrases are evaluated on the same vectors; fuzzy words, wildcards,
date ranges and metadata terms are executed by Whoosh (the only Whoosh queries built are
built here) and their Whoosh scores added in.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass, replace

import numpy as np
import orjson
from whoosh import query as wq

from vnsearch.codec.postings import SnapshotReader
from vnsearch.codec.schema import ACRONYMS, key_form
from vnsearch.search.parse import (
    AllOf,
    AndMaybe,
    AndNot,
    AnyOf,
    DateRange,
    FieldPhrase,
    FieldTerm,
    Fuzzy,
    Not,
    Phrase,
    QueryTerms,
    Require,
    Wildcard,
    Words,
    scored_words,
)
from vnsearch.text.acronyms import BUILT_IN
from vnsearch.text.analysis import fold_syllable, syllables_of
from vnsearch.text.forms import FOLDED, PAIRS, SYLLABLES, WORDS
from vnsearch.text.normalize import fold

K1 = 1.2
B = 0.75
#: Section weights (BM25F): a word in the title counts three times one in the body.
SECTION_WEIGHT = {"title": 3.0, "summary": 1.5, "body": 1.0, "captions": 0.7}
#: A query word that is a document's tag (folded) adds this many times its idf.
TAG_WEIGHT = 1.5
#: Share of a group's score that depends on how many of its parts (or syllables) a document
#: matches: documents with all of them first, none dropped for missing one.
COORDINATION = 0.5
#: About a headline's length in syllables. Up to it a query lists what is wanted, and each
#: of its words counts; a longer query (an abstract, a pasted paragraph) describes one article,
#: which paraphrases part of it, so the share of its syllables a document holds says more about
#: the document's length than about its relevance. The coordination fades beyond this length
#: (``COORDINATION * HEADLINE_SYLLABLES / syllables``), and the weighting of terms among the
#: best matches (LOCAL_WEIGHT) grows up to it. Chosen on training articles
#: (docs/benchmarks.md, tenth session).
HEADLINE_SYLLABLES = 16
#: Weight of each term form when the query has diacritics, and when it has none.
FORM_WEIGHT = {WORDS: 1.0, SYLLABLES: 0.5, FOLDED: 0.2, PAIRS: 0.6}
FORM_WEIGHT_ASCII = {WORDS: 0.0, SYLLABLES: 0.0, FOLDED: 1.0, PAIRS: 1.0}
#: A query word typed as an acronym (``UBND``) also matches its full form learned from the
#: index (``Ủy ban nhân dân``), and a full form typed matches the acronym, at this share of
#: the score the typed form would get: the form typed ranks first.
ACRONYM_WEIGHT = 0.8
MAX_FULL_FORM_WORDS = 6
#: Fuzzy matches on the folded syllables count half as much as on the syllables.
FUZZY_FOLDED_WEIGHT = 0.5
#: Syllables (exact or folded) in more documents than this share of the index are left out of
#: free-text scoring, but only in indexes large enough for that to matter (MIN_DF_CAP); pyvi
#: words and adjacent pairs are specific enough to be kept whatever their frequency.
MAX_DF_RATIO = {SYLLABLES: 0.5, FOLDED: 0.5, WORDS: 1.0, PAIRS: 1.0}
MIN_DF_CAP = 500
KEEP_WHEN_ALL_COMMON = 4
#: A term in at least this share of the documents is added to a query's scores as a dense
#: vector over the index, kept (:meth:`Scorer.dense_bm25f`): one pass over the index instead
#: of a scatter per posting, 5x faster from a quarter of the documents on, in at most twice the
#: memory of the postings.
DENSE_SHARE = 0.25
#: A word typed without diacritics in a query with some is taken as typed without its own when
#: its readings with diacritics are this many times more frequent than it is as typed.
BARE_RATIO = 20
#: Press writing puts the essentials first (an inverted pyramid), and a headline or an abstract
#: restates them: among the LEAD_TOP best matches, a document's score is multiplied by
#: ``1 + LEAD_WEIGHT * share``, the share being the idf-weighted share of the query's distinct
#: syllables found in its summary and first LEAD_SYLLABLES syllables (chosen on training
#: articles, never on the dev queries: docs/benchmarks.md, seventh session).
LEAD_SYLLABLES = 120
LEAD_WEIGHT = 0.2
LEAD_TOP = 20
#: The best matches of a query are mostly articles on one story, and they all hold its names
#: and words: those terms' scores there differ by term frequency and length, not by what the
#: query asks. Among the LOCAL_TOP best matches of a run of words, each term's score is
#: weighted by ``1 - w + w * g``, ``g`` being the term's idf among them scaled to 1 for a term
#: one of them holds (about 0 for a term all of them hold), and ``w`` LOCAL_WEIGHT in a query
#: of HEADLINE_SYLLABLES or more, less in a shorter one: the best matches of a few words all
#: hold those words, and what tells them apart is noise. Their scores keep their sum.
LOCAL_TOP = 20
LOCAL_WEIGHT = 0.5

def form_weights(ascii_only: bool, negated: bool = False) -> dict[str, float]:
    """Weight of each term form (field suffix) for a run of query words."""
    if negated:  # "-đá" must not exclude "Đà Nẵng": the forms as typed only
        return {FOLDED: 1.0} if ascii_only else {WORDS: 1.0, SYLLABLES: 1.0}
    return FORM_WEIGHT_ASCII if ascii_only else FORM_WEIGHT


@dataclass
class Evidence:
    """Dense per-document evidence of a run of words (:meth:`Scorer.evidence`): per term form,
    the BM25F summed over the query's terms, each counted as often as typed (``forms``) or
    once (``once``); ``coverage``: the share of the query's syllables found (as often as
    typed, capped); ``idf_coverage``: the idf-weighted share of its distinct syllables found;
    ``extra``: scores already weighted (acronym forms, tags, words typed bare)."""

    forms: dict
    once: dict
    coverage: np.ndarray
    idf_coverage: np.ndarray
    extra: np.ndarray
    matched: np.ndarray


class Scorer:
    """Scores query nodes against one Whoosh searcher (one snapshot of the index).

    Field lengths, the deletion mask, term lookups, postings and facet columns are loaded once
    per snapshot into ``self.shared`` (:class:`~vnsearch.codec.snapshot_cache.SnapshotCache`),
    which the scorers of every thread searching that snapshot share when the searcher carries
    it (``searcher._vnsearch_cache``, set by :class:`vnsearch.Index`); a searcher itself is
    never shared between threads."""

    def __init__(self, searcher):
        self.searcher = searcher
        self.snapshot = SnapshotReader(searcher.reader(), getattr(searcher, "_vnsearch_cache",
                                                                  None))
        self.shared = self.snapshot.cache
        self.n = self.snapshot.doc_count
        self.alive = self.shared.get("alive", self.snapshot.alive)
        self.live_count = max(1, int(self.alive.sum()))
        self.all_alive = bool(self.alive.all())
        # Fields with no text in this index (no document has captions, say) are skipped.
        schema = searcher.schema
        self.fields = {
            name: schema[name]
            for name in schema.names()
            if not schema[name].scorable or self.snapshot.field_length(name) > 0
        }

    # -- building blocks -------------------------------------------------------------------
    def lengths(self, field: str):
        """Per-document lengths of ``field`` (Whoosh's one-byte approximation) and their mean."""
        def make():
            total = self.snapshot.field_length(field)
            return self.snapshot.lengths(field), max(total / self.live_count, 1.0)

        return self.shared.get(("lengths", field), make)

    def _infos(self, field: str, term: str):
        """``(document frequency, per-segment infos)``: one dictionary lookup per segment,
        cached (queries repeat words; the snapshot never changes)."""
        return self.snapshot.term_infos(field, term) if field in self.fields else (0, [])

    def doc_frequency(self, field: str, term: str) -> int:
        """Documents containing ``term`` in ``field`` (deleted ones included, as in Whoosh)."""
        return self._infos(field, term)[0]

    def postings(self, field: str, term: str):
        """(document numbers, term frequencies) of ``term`` in ``field``, or None.

        Decoded lists are kept, least recently used dropped first (see
        :mod:`vnsearch.codec.snapshot_cache`): a long-running process reads each common term
        from disk once, and the common terms, which every query uses, stay."""
        if field not in self.fields:
            return None
        return self.snapshot.term_postings(field, term)

    def column(self, field: str):
        """Per-document values of a sortable field (``date``, ``year``, ...) as a numpy object
        array over the index's document numbers; "" where a document has none."""
        return self.shared.get(("column", field), lambda: self.snapshot.column(field))

    def date_keys(self):
        """``date`` as integers (20230815; 0 without a date), for sorting."""
        def make():
            dates = self.column("date")
            return np.array([int(d.replace("-", "")) if d else 0 for d in dates], dtype=np.int64)

        return self.shared.get(("column", "date:int"), make)

    def metadata(self, name: str):
        """Per-document values of a stored metadata field (``category``, ``source``, or a key
        the records carried in ``extra``) as a numpy object array of tuples of text, read
        once per snapshot from the stored documents (no index field holds them)."""
        def make():
            out = np.empty(self.n, dtype=object)
            out.fill(())
            for docnum, stored in self.snapshot.reader.iter_docs():
                doc = orjson.loads(stored["doc"])
                value = doc.get(name) if name in doc else (doc.get("extra") or {}).get(name)
                out[docnum] = metadata_values(value)
            return out

        return self.shared.get(("metadata", name), make)

    def keyword_postings(self, field: str) -> list:
        """``[(value, document numbers)]`` for every value of a keyword field (tag facets)."""
        def make():
            out = []
            for value in self.snapshot.terms(field):
                ids = self.doc_ids(field, value)
                if ids is not None:
                    out.append((value, ids))
            return out

        return self.shared.get(("keywords", field), make)

    def doc_ids(self, field: str, term: str):
        """Sorted document numbers holding ``term`` in ``field`` (deleted ones included), or
        None (from :meth:`postings`, whose cache keeps them)."""
        got = self.postings(field, term)
        return None if got is None else got[0]

    def phrase(self, field: str, words: list[str], slop: int = 1):
        """Boolean mask of the documents where ``words`` occur in order in ``field``, each
        within ``slop`` positions of the previous one (1: adjacent).

        The documents holding every word come from the posting lists (rarest first); positions
        are read for those documents only, and followed word by word as arrays of
        ``(document, position)`` keys, which a phrase of common words needs: Python sets per
        document took 0.4 s on a quoted headline at 160k documents."""
        mask = np.zeros(self.n, dtype=bool)
        lists = []
        for w in words:
            ids = self.doc_ids(field, w)
            if ids is None:
                return mask
            lists.append(ids)
        if len(lists) == 1:
            mask[lists[0]] = True
            return mask & self.alive
        slop = max(slop, 1)
        cand = min(lists, key=len)
        for ids in sorted(lists, key=len):
            if ids is not cand:
                cand = np.intersect1d(cand, ids, assume_unique=True)
            if not len(cand):
                return mask
        reach = np.zeros(0, dtype=np.int64)  # sorted (index into cand) << 32 | position
        for i, w in enumerate(words):
            owner, pos = self.snapshot.positions_of(field, self._infos(field, w)[1], cand)
            keys = (owner << 32) | pos
            if i:  # keep a position with a match of the words before it within slop
                before = np.searchsorted(reach, keys) - 1  # the nearest key below, if any
                prev = reach[np.maximum(before, 0)]
                keys = keys[(before >= 0) & ((prev >> 32) == owner) & (prev >= keys - slop)]
            reach = np.unique(keys)
            if not len(reach):
                return mask
        mask[cand[np.unique(reach >> 32)]] = True
        return mask & self.alive

    def norm(self, field: str):
        """Per-document ``1 / (1 - B + B * length / mean length)`` of ``field``, kept."""
        def make():
            lengths, avg = self.lengths(field)
            return 1.0 / (1 - B + B * lengths / avg)

        return self.shared.get(("norm", field), make)

    def _weighted_norm(self, section: str, field: str):
        """:meth:`norm` times the section's weight, kept (one multiplication less a posting)."""
        weight = SECTION_WEIGHT.get(section, 1.0)
        return self.shared.get(("norm", field, weight), lambda: self.norm(field) * weight)

    def bm25f(self, suffix: str, term: str, sections, boost: float = 1.0):
        """BM25F of one term over ``sections`` (fields ``<section><suffix>``), as sparse
        ``(document numbers, scores)``, or None.

        Sparse, because most terms are in few documents: the work is proportional to the
        postings, not to the index (for a term in one section, no dense pass at all). Kept per
        snapshot (read-only arrays): queries repeat the common words, the longest lists."""
        return self._kept(("bm25f", suffix, term, tuple(sections), boost),
                          lambda: self._bm25f(suffix, term, sections, boost))

    def dense_bm25f(self, suffix: str, term: str, sections):
        """:meth:`bm25f` as a dense float32 vector over the index (0 where the term is not),
        or None; kept per snapshot. For the common terms (DENSE_SHARE), whose scatter into a
        query's scores costs more than a pass over the whole index; built dense from the
        postings, without the sparse list in between."""
        got = self._kept(("dense", suffix, term, tuple(sections)),
                         lambda: self._dense_bm25f(suffix, term, sections))
        return None if got is None else got[0]

    def _kept(self, key, make):
        """Per-term scores kept in the snapshot's cache under ``key``, made on first use."""
        kept = self.shared.scores(key)
        if kept is not None:
            return kept[0]
        got = make()
        self.shared.put_scores(key, got)
        return got

    def _sections(self, suffix: str, term: str, sections):
        """``(document numbers, frequency times the section's weighted length norm)`` of a
        term in each of ``sections`` that has it."""
        for sec in sections:
            field = sec + suffix
            got = self.postings(field, term)
            if got is not None:
                ids, tf = got
                yield ids, tf * self._weighted_norm(sec, field)[ids]

    def _saturated(self, tt, df: int, boost: float = 1.0):
        """BM25 of summed weighted frequencies ``tt`` of a term in ``df`` live documents."""
        return (boost * self._idf(df) * (K1 + 1)) * tt / (K1 + tt)

    def _dense_bm25f(self, suffix: str, term: str, sections):
        acc = None
        for ids, values in self._sections(suffix, term, sections):
            if acc is None:
                acc = np.zeros(self.n, dtype=np.float32)
            acc[ids] += values
        if acc is None:
            return None
        if not self.all_alive:
            acc *= self.alive
        df = int(np.count_nonzero(acc))
        return (self._saturated(acc, df),) if df else None

    def _bm25f(self, suffix: str, term: str, sections, boost: float):
        parts = list(self._sections(suffix, term, sections))
        if not parts:
            return None
        ids, tt = parts[0] if len(parts) == 1 else _sum_sections(parts, self.n)
        if self.all_alive:  # no deletions (the usual case): nothing to mask
            df = len(ids)
        else:
            live = self.alive[ids]
            df = int(np.count_nonzero(live))
            if df < len(ids):
                ids, tt = ids[live], tt[live]
        if not df:
            return None
        return ids, self._saturated(tt, df, boost)

    # -- the query model -------------------------------------------------------------------
    def evaluate(self, node):
        """(scores, matched) of a query node: dense float32 scores and a boolean match mask."""
        if isinstance(node, Words):
            return self.free_text(node)
        if isinstance(node, Phrase):
            # Found where it occurs; its words score like any other words, so documents
            # matched by the rest of the query still earn them (the phrase itself counts
            # through the coordination of the enclosing group).
            scores, _ = self.free_text(node.words)
            return scores, self._phrase_mask(node)
        if isinstance(node, AnyOf):
            return self._any_of(node.parts, node.coordinated)
        if isinstance(node, AllOf):
            parts = [self.evaluate(c) for c in node.parts]
            matched = parts[0][1].copy()
            for _, m in parts[1:]:
                matched &= m
            scores = sum(s for s, _ in parts)
            return scores * matched, matched
        if isinstance(node, (AndNot, Require, AndMaybe, Not)):
            return self._binary(node)
        return self._whoosh_all(_whoosh_queries(node))

    def _binary(self, node):
        if isinstance(node, Not):
            _, m = self.evaluate(node.part)
            return np.zeros(self.n, dtype=np.float32), ~m & self.alive  # adds nothing to a score
        if isinstance(node, AndMaybe):
            s, m = self.evaluate(node.required)
            s2, _ = self.evaluate(node.optional)
            return (s + s2) * m, m
        s, m = self.evaluate(node.positive if isinstance(node, AndNot) else node.required)
        _, other = self.evaluate(node.negative if isinstance(node, AndNot) else node.also)
        m = m & ~other if isinstance(node, AndNot) else m & other
        return s * m, m

    def _phrase_mask(self, node: Phrase):
        """Documents holding the phrase in one of its sections."""
        mask = np.zeros(self.n, dtype=bool)
        suffix = FOLDED if node.folded else SYLLABLES
        for sec in node.sections:
            field = sec + suffix
            if field not in self.fields:
                continue
            if len(node.terms) > 1:
                mask |= self.phrase(field, node.terms, node.slop)
            else:
                got = self.postings(field, node.terms[0])
                if got is not None:
                    mask[got[0]] = True
        return mask & self.alive

    def _any_of(self, nodes, coordinated: bool):
        parts = [self.evaluate(c) for c in nodes]
        scores = np.zeros(self.n, dtype=np.float32)
        count = np.zeros(self.n, dtype=np.float32)
        for s, m in parts:
            scores += s
            count += m
        if coordinated and COORDINATION and len(parts) > 1:
            scores *= (1 - COORDINATION) + COORDINATION * count / len(parts)
        return scores, count > 0

    def free_text(self, node: Words):
        """One run of plain words: BM25F over the term forms of a :class:`Words` node; an
        acronym typed also matches its full form and a full form its acronym
        (:meth:`_acronym_alternatives`)."""
        scores = np.zeros(self.n, dtype=np.float32)
        cover = np.zeros(self.n, dtype=np.float32)
        dense_from = DENSE_SHARE * self.n
        terms = []  # (weight, document numbers or None, BM25F) of each term, for _local_idf
        for _, _, qtf, w, ids, s in self._term_scores(node, cover, None, dense_from):
            if ids is None:
                scores += (w * qtf) * s
            else:
                scores[ids] += (w * qtf) * s
            terms.append((w * qtf, ids, s))
        # every term scored adds a positive score: the matches are where the sum is, without
        # marking each posting (a million at 160k documents for a headline)
        matched = scores > 0
        alternatives = np.zeros(self.n, dtype=np.float32)
        self._alternatives(node, alternatives, cover, matched)
        scores += alternatives
        matched &= self.alive
        n_syl = len(node.folded)
        length = max(n_syl, node.query_syllables)  # the query's, when a phrase splits it
        coordination = np.float32(1.0)
        if COORDINATION and n_syl > 1:
            c = COORDINATION * min(1.0, HEADLINE_SYLLABLES / length)
            coordination = (1 - c) + c * np.minimum(cover, n_syl) / n_syl
        scores = scores * coordination * matched
        local = LOCAL_WEIGHT * min(1.0, length / HEADLINE_SYLLABLES)
        if local and not node.negated:
            self._local_idf(scores, matched, terms, alternatives, coordination, local)
        return scores, matched

    def _local_idf(self, scores, matched, terms, alternatives, coordination, local) -> None:
        """Score the LOCAL_TOP best ``scores`` again (in place), each term's score weighted
        by ``1 - local + local * g``, ``g`` its idf among them (see LOCAL_WEIGHT); their sum
        is kept, so scores stay on one scale."""
        k = LOCAL_TOP
        if int(np.count_nonzero(matched)) <= k:  # no best among them: all are the matches
            return
        live = best_candidates(scores, matched, k)
        top = np.sort(live[np.argpartition(-scores[live], k - 1)[:k]] if k < len(live) else live)
        new = alternatives[top].astype(np.float64)
        scale = math.log((k + 1) / 1.5)
        for weight, ids, s in terms:
            if ids is None:
                found = s[top]
            else:
                at = np.minimum(np.searchsorted(ids, top), len(ids) - 1)
                found = np.where(ids[at] == top, s[at], 0)
            df = int(np.count_nonzero(found))
            if df:
                g = max(math.log((k + 1) / (df + 0.5)) / scale, 0.0)
                new += (weight * (1 - local + local * g)) * found
        if np.ndim(coordination):
            new *= coordination[top]
        total = float(new.sum())
        if total > 0:
            scores[top] = new * (float(scores[top].sum()) / total)

    def evidence(self, node: Words) -> Evidence:
        """What :meth:`free_text` finds in each document before combining it into a score,
        form by form (bench/ltr.py fits combinations of these on training queries)."""
        weights = form_weights(node.ascii_only, node.negated)
        ev = Evidence({f: np.zeros(self.n, dtype=np.float32) for f in weights if weights[f]},
                      {f: np.zeros(self.n, dtype=np.float32) for f in weights if weights[f]},
                      np.zeros(self.n, dtype=np.float32), np.zeros(self.n, dtype=np.float32),
                      np.zeros(self.n, dtype=np.float32), np.zeros(self.n, dtype=bool))
        cover = np.zeros(self.n, dtype=np.float32)
        cover_form = self._cover_form(node)
        idf_total = 0.0
        for suffix, term, qtf, w, ids, s in self._term_scores(node, cover, ev.matched):
            if w != weights[suffix]:  # a word typed bare in an accented query: weighed apart
                ev.extra[ids] += (w * qtf) * s
            else:
                ev.forms[suffix][ids] += qtf * s
                ev.once[suffix][ids] += s
            if suffix == cover_form:
                idf = self._idf(len(ids))
                ev.idf_coverage[ids] += idf
                idf_total += idf
        self._alternatives(node, ev.extra, cover, ev.matched)
        ev.matched &= self.alive
        n_syl = len(node.folded)
        if n_syl:
            ev.coverage[:] = np.minimum(cover, n_syl) / n_syl
        if idf_total:
            ev.idf_coverage /= idf_total
        return ev

    def _alternatives(self, node: Words, scores, cover, matched) -> None:
        """Acronym forms and tags, added to ``scores`` (see :meth:`free_text`)."""
        if not node.negated and not node.ascii_only and node.sizes:
            self._acronym_alternatives(node, scores, cover, matched)
        self._add_tags(node, scores, matched)

    def _term_scores(self, node: Words, cover, matched, dense_from: float = math.inf):
        """``(suffix, term, qtf, weight, document numbers, BM25F)`` of each term form of a run
        of words that is scored (:meth:`_wanted`); counts the syllables found in ``cover``
        (for the coordination) and marks ``matched`` (unless None). A term in ``dense_from``
        documents or more comes as ``None`` and a dense vector (:meth:`dense_bm25f`), and is
        not marked."""
        cover_form = self._cover_form(node)
        for suffix, term, qtf, w, df in self._wanted(node):
            if df >= dense_from:
                dense = self.dense_bm25f(suffix, term, node.sections)
                if dense is None:
                    continue
                if suffix == cover_form:
                    cover += np.float32(qtf) * (dense > 0)
                yield suffix, term, qtf, w, None, dense
                continue
            got = self.bm25f(suffix, term, node.sections)
            if got is None:
                continue
            ids, s = got
            if matched is not None:
                matched[ids] = True
            if suffix == cover_form:
                cover[ids] += qtf
            yield suffix, term, qtf, w, ids, s

    @staticmethod
    def _cover_form(node: Words) -> str:
        """The form whose syllables the coordination counts."""
        return FOLDED if form_weights(node.ascii_only, node.negated).get(FOLDED) else SYLLABLES

    def _wanted(self, node: Words) -> list[tuple[str, str, int, float, int]]:
        """``(suffix, term, qtf, weight, largest document frequency in a section)`` of each
        term form of a run of words that is scored, pruning as the module doc says."""
        weights = form_weights(node.ascii_only, node.negated)
        forms = {WORDS: node.words, SYLLABLES: node.syllables, FOLDED: node.folded,
                 PAIRS: node.pairs}  # fmt: skip
        # A query with diacritics on some words only ("tổ chuc dang"): the folded forms of the
        # words typed without them are all those words have, and weigh as in a query typed
        # wholly without diacritics (FORM_WEIGHT_ASCII), and are never pruned.
        bare = self._bare_folded_terms(node) if not node.ascii_only and not node.negated else {}
        wanted = []  # (suffix, term, qtf, weight, max df)
        for suffix, terms in forms.items():
            w = weights.get(suffix, 0.0)
            if not w:
                continue
            for term, qtf in Counter(terms).items():
                df = max(self.doc_frequency(sec + suffix, term) for sec in node.sections)
                if df:
                    wanted.append((suffix, term, qtf, bare.get((suffix, term), w), df))
        if not node.negated and not node.ascii_only:
            # Typed without diacritics, the folded syllables are all the query has, and folding
            # merges words (bao: bão, báo, bảo, bao), so they are far more common than the
            # words meant: none is left out (on the dev headlines, pruning cost 0.027 MRR@10).
            kept = [t for t in wanted if (t[0], t[1]) in bare]
            wanted = kept + self._prune([t for t in wanted if (t[0], t[1]) not in bare])
        return wanted

    def _concept(self, alternatives, sections):
        """Dense ``(score, coverage)`` of one piece of evidence with alternative forms
        ``[(share, [(suffix, terms, counts for coverage)])]``: within one alternative, each
        form scores the mean BM25F of its terms, the forms combine with FORM_WEIGHT
        normalised to sum to one, times ``share``; the best alternative counts."""
        best = np.zeros(self.n, dtype=np.float32)
        hit = np.zeros(self.n, dtype=np.float32)
        for share, forms in alternatives:
            forms = [f for f in forms if f[1]]
            total = sum(FORM_WEIGHT[f[0]] for f in forms)
            score = np.zeros(self.n, dtype=np.float32)
            for suffix, terms, counts in forms:
                form, seen = self._form(suffix, terms, sections)
                score += form * (share * FORM_WEIGHT[suffix] / total)
                if counts:
                    np.maximum(hit, seen, out=hit)
            np.maximum(best, score, out=best)
        return best, hit

    def _form(self, suffix: str, terms: list[str], sections):
        """Mean BM25F of ``terms`` in one form, and the share of them each document has."""
        form = np.zeros(self.n, dtype=np.float32)
        seen = np.zeros(self.n, dtype=np.float32)
        for term in terms:
            if self._pruned(suffix, term, sections):
                continue
            got = self.bm25f(suffix, term, sections)
            if got is not None:
                ids, s = got
                form[ids] += s
                seen[ids] += 1
        return form / len(terms), seen / len(terms)

    def _full_form_spans(self, node: Words):
        """``(first word, end word, acronym key)`` of each run of query words (two or more)
        spelling a full form the index learned an acronym for."""
        starts = list(itertools.accumulate([0, *node.sizes]))
        n = len(node.sizes)
        for i in range(n):
            for j in range(i + 2, min(n, i + MAX_FULL_FORM_WORDS) + 1):
                key = self.acronym_of("_".join(node.syllables[starts[i] : starts[j]]))
                if key:
                    yield i, j, key

    def with_alternatives(self, node, terms: QueryTerms) -> QueryTerms:
        """``terms`` and the acronym forms the ranking matched the query's words on: an
        acronym's full form (highlighted as a phrase), a full form's acronym."""
        syllables: list[str] = []
        phrases: list[tuple[str, ...]] = []
        for words in scored_words(node):
            if words.negated or words.ascii_only or not words.sizes:
                continue
            for key in words.acronyms:
                full = self.full_form(key) if key else None
                if full:
                    parts = full.split("_")
                    syllables += parts
                    phrases.append(tuple(fold_syllable(p) for p in parts))
            syllables += [key for _, _, key in self._full_form_spans(words)]
        if not syllables:
            return terms
        return replace(terms, syllables=terms.syllables + syllables,
                       phrases=terms.phrases + phrases)

    # -- the lead ----------------------------------------------------------------------------
    def lead_boost(self, node, scores, matched) -> dict[int, dict]:
        """Raise the LEAD_TOP best ``scores`` (in place) by how much of the query's words
        their lead holds (see LEAD_WEIGHT). Only the best are read (stored text), and a
        boost never lowers a score, so they stay above every other match. Returns the stored
        fields read, by document number (the hits shown are among them)."""
        exact: dict[str, float] = {}
        folded: dict[str, float] = {}
        for words in scored_words(node):
            if words.negated:
                continue
            form, terms, into = ((FOLDED, words.folded, folded) if words.ascii_only
                                 else (SYLLABLES, words.syllables, exact))
            for term in terms:
                if term not in into:
                    df = self._df(form, term, words.sections)
                    if df:
                        into[term] = self._idf(df)
        total = sum(exact.values()) + sum(folded.values())
        count = int(np.count_nonzero(matched))
        if not LEAD_WEIGHT or not total or not count:
            return {}
        k = min(LEAD_TOP, count)
        live = best_candidates(scores, matched, k)
        top = live[np.argpartition(-scores[live], k - 1)[:k]] if k < len(live) else live
        read = {}
        for doc in top.tolist():
            read[doc] = fields = self.searcher.stored_fields(doc)
            lead = set(syllables_of(_lead(fields)))
            found = sum(w for t, w in exact.items() if t in lead)
            if folded:
                lead = {fold_syllable(t) for t in lead}
                found += sum(w for t, w in folded.items() if t in lead)
            scores[doc] *= 1 + LEAD_WEIGHT * found / total
        return read

    # -- acronyms --------------------------------------------------------------------------
    def _acronym_alternatives(self, node: Words, scores, cover, matched) -> None:
        """Acronyms typed (``UBND``) also match their full form, in documents without the
        acronym, and runs of words spelling a full form (``ủy ban nhân dân``) match the
        acronym, where that is more than the words give: at ACRONYM_WEIGHT of what the form
        typed would score, so the form typed ranks first."""
        starts = list(itertools.accumulate([0, *node.sizes]))
        for i, key in enumerate(node.acronyms):
            full = self.full_form(key) if key else None
            if not full:
                continue
            parts = full.split("_")
            folded = [fold_syllable(p) for p in parts]
            forms = [(SYLLABLES, parts, True),
                     (PAIRS, [f"{a}_{b}" for a, b in zip(folded, folded[1:])], False)]
            share = ACRONYM_WEIGHT * _word_weight(node.sizes[i])
            alt, hit = self._concept([(share, forms)], node.sections)
            alt[self._has_words(node.words[i : i + 1], node.sections)] = 0
            self._add_alternative(alt, hit * node.sizes[i], scores, cover, matched)
        for i, j, key in self._full_form_spans(node):
            got = self.bm25f(FOLDED, key, node.sections)
            if got is None:
                continue
            ids, s = got
            # the acronym counts as occurrences of the run's words (their idf, not its own)
            pieces = self._span_pieces(node, starts[i], starts[j], i, j)
            df = self._df(FOLDED, key, node.sections)
            weight = sum(w * self._idf(self._df(f, t, node.sections)) for f, t, w in pieces)
            alt = np.zeros(self.n, dtype=np.float32)
            alt[ids] = ACRONYM_WEIGHT * weight / self._idf(df) * s
            typed, typed_cover = self._pieces(pieces, node.sections)
            gain = np.maximum(alt - typed, 0)
            hit = np.where(gain > 0, np.maximum(starts[j] - starts[i] - typed_cover, 0), 0)
            self._add_alternative(gain, hit, scores, cover, matched)

    def _span_pieces(self, node: Words, a: int, b: int, i: int, j: int) -> list:
        """``(suffix, term, weight)`` the form scoring gives syllables ``a:b`` (words
        ``i:j``) of a run, pruned terms left out."""
        pieces = [(WORDS, w) for w in node.words[i:j]]
        pieces += [(SYLLABLES, t) for t in node.syllables[a:b]]
        pieces += [(FOLDED, t) for t in node.folded[a:b]]
        pieces += [(PAIRS, t) for t in node.pairs[a : b - 1]]
        return [(f, t, FORM_WEIGHT[f]) for f, t in pieces
                if self._df(f, t, node.sections) and not self._pruned(f, t, node.sections)]

    def _pieces(self, pieces: list, sections):
        """Dense scores of ``pieces`` as the form scoring adds them, and how many of their
        syllables (SYLLABLES form) each document has."""
        scores = np.zeros(self.n, dtype=np.float32)
        cover = np.zeros(self.n, dtype=np.float32)
        for suffix, term, w in pieces:
            got = self.bm25f(suffix, term, sections)
            if got is not None:
                scores[got[0]] += w * got[1]
                if suffix == SYLLABLES:
                    cover[got[0]] += 1
        return scores, cover

    def _df(self, suffix: str, term: str, sections) -> int:
        return max(self.doc_frequency(sec + suffix, term) for sec in sections)

    def _idf(self, df: int) -> float:
        return math.log(1 + (self.live_count - df + 0.5) / (df + 0.5))

    def _has_words(self, words: list[str], sections):
        """Documents holding any of ``words`` (pyvi words) in ``sections``."""
        mask = np.zeros(self.n, dtype=bool)
        for w in words:
            for sec in sections:
                got = self.postings(sec + WORDS, w)
                if got is not None:
                    mask[got[0]] = True
        return mask

    @staticmethod
    def _add_alternative(alt, hit, scores, cover, matched) -> None:
        got = alt > 0
        scores += alt
        cover[got] += hit[got]
        matched |= got

    def _acronym_table(self) -> tuple[dict, dict]:
        """(acronym key → best full form, full form → best acronym key), from the pairs the
        index learned (the most documents first), then the built-in ones."""
        return self.shared.get("acronyms", self._make_acronym_table)

    def _make_acronym_table(self) -> tuple[dict, dict]:
        counts: dict[tuple[str, str], int] = {}
        for value in self.snapshot.terms(ACRONYMS):
            key, _, full = value.partition("=")
            if key and full:
                counts[(key, full)] = self.doc_frequency(ACRONYMS, value)
        forward: dict[str, str] = {}
        backward: dict[str, str] = {}
        for (key, full), _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            forward.setdefault(key, full)
            backward.setdefault(full, key)
        for key, full in BUILT_IN.items():
            forward.setdefault(key, full)
        return forward, backward

    def full_form(self, key: str) -> str | None:
        """The full form (``_``-joined syllables) of an acronym key, or None."""
        return self._acronym_table()[0].get(key)

    def acronym_of(self, full: str) -> str | None:
        """The acronym key learned for a full form, or None."""
        return self._acronym_table()[1].get(full)

    def acronym_pairs(self) -> dict[str, int]:
        """Every ``acronym=full form`` pair the index learned, with its document count."""
        return {v: self.doc_frequency(ACRONYMS, v) for v in self.snapshot.terms(ACRONYMS)}

    def _pruned(self, suffix: str, term: str, sections) -> bool:
        """A syllable in more than MAX_DF_RATIO of a large index (see the module doc)."""
        ratio = self.max_df_ratio().get(suffix, 1.0)
        if ratio >= 1.0:
            return False
        df = max(self.doc_frequency(sec + suffix, term) for sec in sections)
        return df > max(MIN_DF_CAP, ratio * self.live_count)

    def _bare(self, node: Words) -> list[bool]:
        """Per syllable: typed without its diacritics in a query that has some, when, spelt
        as typed, it is rare next to its readings with diacritics ("chuc", "dang" for chức,
        đang, đảng), not a word of its own ("ban", "hoa", "tin")."""
        bare = []
        for syllable, folded in zip(node.syllables, node.folded):
            if syllable != fold(syllable) or not syllable.isalpha():
                bare.append(False)
                continue
            exact = max(self.doc_frequency(sec, syllable) for sec in node.sections)
            readings = max(self.doc_frequency(sec + FOLDED, folded) for sec in node.sections)
            bare.append(exact * BARE_RATIO < readings)
        return bare


    def _add_tags(self, node: Words, scores, matched) -> None:
        """Query words that are a document's tag (folded, one word or the whole run)."""
        if not node.with_tags or node.negated:
            return
        tags = [t for t in dict.fromkeys(node.folded + [node.tag_key]) if t]
        for t in tags:
            if not self.doc_frequency("tags", t):
                continue
            got = self.postings("tags", t)
            if got is not None:
                ids = got[0]
                df = len(ids)
                idf = math.log(1 + (self.live_count - df + 0.5) / (df + 0.5))
                scores[ids] += TAG_WEIGHT * idf
                matched[ids] = True

    def _bare_folded_terms(self, node: Words) -> dict[tuple[str, str], float]:
        """``(suffix, term) → weight`` for the folded syllables and pairs of the words of a run
        that were typed without their diacritics, weighted as in a query typed wholly without
        them. A word counts as such when, spelt as typed, it is rare next to its readings with
        diacritics ("chuc", "dang" for chức, đang, đảng), not when it is a word of its own
        ("ban", "hoa", "tin")."""
        bare = self._bare(node)
        if not any(bare):
            return {}
        out = {(FOLDED, f): FORM_WEIGHT_ASCII[FOLDED] for f, b in zip(node.folded, bare) if b}
        for i, pair in enumerate(node.pairs):
            if any(bare[i : i + 2]):
                out[(PAIRS, pair)] = FORM_WEIGHT_ASCII[PAIRS]
        return out

    def _prune(self, wanted):
        """Leave out terms in more than MAX_DF_RATIO of a large index (see the module doc)."""
        caps = {f: max(MIN_DF_CAP, r * self.live_count) for f, r in self.max_df_ratio().items()}
        kept = [t for t in wanted if t[4] <= caps.get(t[0], caps[SYLLABLES])]
        if not kept:
            kept = sorted(wanted, key=lambda t: t[4])[:KEEP_WHEN_ALL_COMMON]
        return kept

    @staticmethod
    def max_df_ratio() -> dict[str, float]:
        r = MAX_DF_RATIO
        return dict(r) if isinstance(r, dict) else dict.fromkeys(FORM_WEIGHT, r)

    def _whoosh_all(self, queries):
        """Scores (summed) and matches of Whoosh queries, each run by Whoosh's matchers."""
        scores = np.zeros(self.n, dtype=np.float32)
        matched = np.zeros(self.n, dtype=bool)
        for query in queries:
            for sub, off in self.searcher.leaf_searchers():
                m = query.matcher(sub, sub.context())
                while m.is_active():
                    d = m.id() + off
                    scores[d] += m.score()
                    matched[d] = True
                    m.next()
        matched &= self.alive
        return scores * matched, matched


def _whoosh_queries(node) -> list:
    """The Whoosh queries that execute a node only Whoosh can evaluate."""
    if isinstance(node, FieldTerm):
        return [wq.Term(node.field, node.text)]
    if isinstance(node, FieldPhrase):
        return [wq.Phrase(node.field, node.terms, slop=node.slop)]
    if isinstance(node, DateRange):
        return [wq.TermRange("date", node.start, node.end, startexcl=node.startexcl,
                             endexcl=node.endexcl)]  # fmt: skip
    if isinstance(node, Fuzzy):
        out = []
        for sec in node.sections:
            sw = SECTION_WEIGHT[sec]
            out.append(wq.FuzzyTerm(sec, node.word, maxdist=node.maxdist, prefixlength=1, boost=sw))
            out.append(wq.FuzzyTerm(sec + FOLDED, node.folded, maxdist=node.maxdist,
                                    prefixlength=1, boost=sw * FUZZY_FOLDED_WEIGHT))  # fmt: skip
        return out
    if isinstance(node, Wildcard):
        if node.field is not None:
            return [wq.Wildcard(node.field, node.pattern)]
        suffix = FOLDED if node.folded else SYLLABLES
        return [wq.Wildcard(sec + suffix, node.pattern, boost=SECTION_WEIGHT[sec])
                for sec in node.sections]
    raise TypeError(f"not a query node: {node!r}")


def _sum_sections(parts, n: int):
    """``(ids, values)`` summed over ``parts`` (a term's sections), each ``(ascending unique
    ids, values)``, for an index of ``n`` documents: through a dense vector when the lists
    hold more than a quarter of the index (a common word: 1.2 ms against 3.1 ms merging
    173k postings at 160k documents), by merging the sorted lists otherwise. The same sums
    either way (to float32 rounding)."""
    if sum(len(p[0]) for p in parts) * 4 <= n:
        return _sum_sorted(parts)
    acc = np.zeros(n, dtype=np.float32)
    seen = np.zeros(n, dtype=bool)
    for ids, values in parts:
        acc[ids] += values
        seen[ids] = True
    ids = np.flatnonzero(seen).astype(np.int32)
    return ids, acc[ids]


def _sum_sorted(parts):
    """``(ids, values)`` summed over ``parts``, each ``(ascending unique ids, values)``.

    A stable sort of the concatenation merges the already sorted runs in linear time (timsort
    finds them), several times faster than ``np.unique`` or a pass over a dense vector of the
    whole index, which were most of a long query's ranking at 160k documents."""
    ids = np.concatenate([p[0] for p in parts])
    order = np.argsort(ids, kind="stable")
    ids = ids[order]
    values = np.concatenate([p[1] for p in parts])[order]
    if not len(ids):
        return ids, values
    first = np.empty(len(ids), dtype=bool)
    first[0] = True
    np.not_equal(ids[1:], ids[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    return ids[starts], np.add.reduceat(values, starts)


def _word_weight(size: int) -> float:
    """What the forms of a query word of ``size`` syllables weigh together (FORM_WEIGHT)."""
    w = FORM_WEIGHT
    return w[WORDS] + size * (w[SYLLABLES] + w[FOLDED]) + (size - 1) * w[PAIRS]


def _lead(fields: dict) -> str:
    """A document's lead: the first LEAD_SYLLABLES syllables of its summary and body (its
    stored fields)."""
    doc = orjson.loads(fields["doc"])
    text = f"{doc.get('summary') or ''}\n{(doc.get('body') or '')[: LEAD_SYLLABLES * 12]}"
    # syllables are written apart: the first words split at spaces are the first syllables
    return " ".join(text.split(None, LEAD_SYLLABLES)[:LEAD_SYLLABLES])


class Ranked:
    """The documents a query matched, with their scores; pages come out tie-broken."""

    def __init__(self, searcher, scores, matched, scorer: Scorer | None = None,
                 stored: dict[int, dict] | None = None):
        self.searcher = searcher
        self.scorer = scorer or scorer_for(searcher)
        self.stored = stored or {}  # stored fields already read (Scorer.lead_boost)
        self.scores = scores
        self.matched = matched
        self._order = None
        self.total = int(np.count_nonzero(matched))

    def docs(self) -> set[int]:
        return set(np.flatnonzero(self.matched).tolist())

    def score(self, docnum: int) -> float:
        return float(self.scores[docnum])

    def by_date(self, n: int, reverse: bool = True) -> TopHits:
        """The first ``n`` matches by date, newest first unless ``reverse`` is False."""
        return _by_date(self, n, reverse)

    def facets(self, names) -> dict[str, dict[str, int]]:
        return facet_counts(self, names)

    def top(self, n: int) -> TopHits:
        """The best ``n`` hits: score, then date (newest first), then id."""
        n = min(n, self.total)
        if n <= 0:
            return TopHits([], self)
        cand = best_candidates(self.scores, self.matched, n, margin=ROUNDING)
        rounded = np.round(self.scores[cand].astype(np.float64), 6)
        if n < len(cand):
            # Everything tied with the n-th best must be seen, or ties would break by docnum.
            kth = -np.partition(-rounded, n - 1)[n - 1]
            keep = rounded >= kth
            cand, rounded = cand[keep], rounded[keep]
        ranked = [(float(r), RankedHit(self.searcher, int(d), float(self.scores[d]),
                                       self.stored.get(int(d))))
                  for d, r in zip(cand, rounded)]
        # Scores equal to 6 decimals tie: newer first, then by id (stable across runs).
        ranked.sort(key=lambda rh: (-rh[0], _desc(rh[1].get("date") or ""), rh[1].get("id") or ""))
        return TopHits([h for _, h in ranked[:n]], self)


#: Documents per block in :func:`best_candidates`.
TOP_BLOCK = 64
#: Scores equal to 6 decimals tie (:meth:`Ranked.top`): a score rounding as the n-th best
#: does is within 1e-6 of it; the rest of the margin covers the float32 comparison.
ROUNDING = 4e-6


def best_candidates(scores, matched, k: int, margin: float = 0.0):
    """Ascending document numbers of the matches scoring at least the ``k``-th best matched
    score less ``margin``: where the best ``k`` are, without sorting every match.

    Each block of TOP_BLOCK documents holds a best score; the ``k``-th best of those block
    maxima comes from ``k`` different documents, so it is at most the ``k``-th best score,
    and the documents scoring at least that are few. Selecting among all matches (a
    partition over most of a 160k index for a headline) took 5 ms a query; this takes one
    pass over the scores and a partition of the maxima."""
    n = len(scores)
    blocks = -(-n // TOP_BLOCK)
    if k <= 0 or blocks <= 2 * k:
        return np.flatnonzero(matched)
    masked = np.full(blocks * TOP_BLOCK, -np.inf, dtype=np.result_type(scores, np.float32))
    np.copyto(masked[:n], scores, where=matched)
    maxima = masked.reshape(blocks, TOP_BLOCK).max(axis=1)
    bound = np.partition(maxima, blocks - k)[blocks - k]
    if bound == -np.inf:  # fewer than k blocks hold a match
        return np.flatnonzero(matched)
    return np.flatnonzero(masked[:n] >= float(bound) - margin)


def _by_date(ranked: Ranked, n: int, reverse: bool) -> TopHits:
    """The first ``n`` matches by date (``reverse``: newest first), then id; documents without
    a date come first in ascending order and last in descending order."""
    n = min(n, ranked.total)
    if n <= 0:
        return TopHits([], ranked)
    keys = ranked.scorer.date_keys()
    cand = np.flatnonzero(ranked.matched)
    k = keys[cand] * (-1 if reverse else 1)
    kth = np.partition(k, n - 1)[n - 1]
    cand, k = cand[k <= kth], k[k <= kth]  # everything tied with the n-th is ordered by id
    if len(cand) > MAX_ID_FETCH:
        # A big tie (documents without dates, many on one day): the ids of the tied group come
        # from walking the id dictionary in order, not from each document's stored fields.
        better = cand[k < kth]
        tied = _first_ids(ranked.scorer, cand[k == kth], n - len(better))
        cand = np.concatenate([better, np.asarray(tied, dtype=np.int64)])
        k = keys[cand] * (-1 if reverse else 1)
    hits = [RankedHit(ranked.searcher, int(d), float(ranked.scores[d])) for d in cand]
    order = sorted(range(len(hits)), key=lambda i: (int(k[i]), hits[i].get("id") or ""))
    return TopHits([hits[i] for i in order[:n]], ranked)


MAX_ID_FETCH = 2000


def _first_ids(scorer: Scorer, group, n: int) -> list[int]:
    """The ``n`` documents of ``group`` whose ids sort first: the id field's dictionary is
    sorted, so a merged walk over the segments stops after about n × (index / group) ids."""
    if n <= 0:
        return []
    members = set(group.tolist())
    out = []
    for doc in scorer.snapshot.docs_by_term("id"):
        if doc in members and scorer.alive[doc]:
            out.append(doc)
            if len(out) == n:
                break
    return out


FACET_FIELDS = {"author": "author_facet", "year": "year", "month": "month", "tags": "tags_facet"}


def metadata_values(value) -> tuple[str, ...]:
    """A stored metadata value as the texts it holds: a string, a number, or a list of those
    (other shapes hold none)."""
    if isinstance(value, bool) or value is None:
        return ()
    if isinstance(value, (str, int, float)):
        text = str(value).strip()
        return (text,) if text else ()
    if isinstance(value, list):
        return tuple(t for v in value for t in metadata_values(v) if not isinstance(v, list))
    return ()


def metadata_mask(scorer: Scorer, where: dict[str, list[str]]):
    """Documents whose stored metadata field has one of the values asked (compared in
    :func:`~vnsearch.codec.schema.key_form`: case, accents and spacing do not matter), for
    every field asked."""
    mask = np.ones(scorer.n, dtype=bool)
    for name, values in where.items():
        wanted = {key_form(v) for v in values}
        column = scorer.metadata(name)
        mask &= np.fromiter(
            (any(key_form(v) in wanted for v in vs) for vs in column), dtype=bool, count=scorer.n
        )
    return mask


def facet_counts(ranked: Ranked, names) -> dict[str, dict[str, int]]:
    """Counts of each facet value over every matching document (not just a page), most
    frequent first, then by value."""
    out: dict[str, dict[str, int]] = {}
    for name in names:
        counts: dict[str, int] = {}
        if name not in FACET_FIELDS:  # any other stored metadata field
            for values in ranked.scorer.metadata(name)[ranked.matched]:
                for value in dict.fromkeys(values):
                    counts[value] = counts.get(value, 0) + 1
            out[name] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
            continue
        field = FACET_FIELDS[name]
        if name == "tags":
            for value, ids in ranked.scorer.keyword_postings(field):
                c = int(np.count_nonzero(ranked.matched[ids]))
                if c and value:
                    counts[value] = c
        else:
            values = ranked.scorer.column(field)[ranked.matched]
            for value, c in Counter(values.tolist()).items():
                if value:
                    counts[str(value)] = c
        out[name] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return out


class TopHits(list):
    """The first hits of a ranking; ``docs()`` is every matching document, like Whoosh's
    ``Results.docs()`` (the duplicate collapser looks copies up in it)."""

    def __init__(self, hits, ranked: Ranked):
        super().__init__(hits)
        self.ranked = ranked

    def docs(self) -> set[int]:
        return self.ranked.docs()


def _desc(s: str) -> tuple:
    return tuple(-ord(c) for c in s)


class RankedHit:
    """A hit as :func:`vnsearch.search._hit` and the duplicate collapser read it."""

    __slots__ = ("searcher", "docnum", "score", "_fields")

    def __init__(self, searcher, docnum: int, score: float, fields: dict | None = None):
        self.searcher = searcher
        self.docnum = docnum
        self.score = score
        self._fields: dict | None = fields

    def fields(self) -> dict:
        if self._fields is None:
            self._fields = self.searcher.stored_fields(self.docnum)
        return self._fields

    def get(self, key, default=None):
        return self.fields().get(key, default)

    def __getitem__(self, key):
        return self.fields()[key]


def scorer_for(searcher) -> Scorer:
    """The :class:`Scorer` of a searcher, made once (it caches field lengths)."""
    scorer = getattr(searcher, "_vnsearch_scorer", None)
    if scorer is None:
        scorer = Scorer(searcher)
        searcher._vnsearch_scorer = scorer
    return scorer


def rank(searcher, wq, flt=None, scorer: Scorer | None = None, where=None) -> Ranked:
    """Score ``wq`` over the whole index, restricted to documents matching ``flt`` and the
    metadata values of ``where`` (see :func:`metadata_mask`); ``wq=None`` matches every
    document."""
    scorer = scorer or scorer_for(searcher)
    if wq is None:  # a listing: every document (that passes the filter), all scored 0
        scores, matched = np.zeros(scorer.n, dtype=np.float32), scorer.alive.copy()
    else:
        scores, matched = scorer.evaluate(wq)
    matched = matched & scorer.alive
    if flt is not None:
        matched &= scorer.evaluate(flt)[1]
    if where:
        matched &= metadata_mask(scorer, where)
    scores = np.where(matched, scores, np.float32(0)).astype(np.float32, copy=False)
    stored = scorer.lead_boost(wq, scores, matched) if wq is not None else None
    return Ranked(searcher, scores, matched, scorer, stored)
