"""Ranking: BM25F over the text sections, a term at a time, with numpy.

Whoosh scores a query by walking every posting list document by document in Python, through
a tree of matchers; a Vietnamese headline becomes a few hundred term matchers (four term forms
per word, four sections). Here each posting list is
decoded a block at a time into arrays and scored in one vectorised step into a dense score
vector over the index's documents; the top hits come from ``argpartition``.

Scoring is true BM25F (Robertson & Zaragoza): for one term, the frequencies in the sections
are length-normalised per section, weighted (title > summary > body > captions) and summed
*before* saturation, and the document frequency is that of the whole document. Each query
word contributes in four forms, weighted so that exact > syllable-only > folded-only:

* the pyvi word (``*_w``), the syllables, the diacritic-free syllables (``*_f``), and
  diacritic-free adjacent pairs (``*_fb``, the proximity bonus);
* a query typed without diacritics carries no information in its exact forms, so it is scored
  on the folded syllables and pairs only, the pairs doing the disambiguation;
* a coordination factor ranks documents matching more of the query's syllables first without
  dropping those that miss some;
* syllables found in more than half the documents of a large index (an idf below log 2) are
  left out: they weigh next to nothing and have the longest posting lists; unless the query
  has nothing else. pyvi words and syllable pairs are kept, and so is every syllable of a
  query typed without diacritics (docs/benchmarks.md has what each choice costs).

Boolean structure (AND, NOT, ``-word``, groups) is evaluated on the same vectors; query parts
that need positions or term expansion (phrases, wildcards, fuzzy terms, ranges) are matched by
Whoosh and their Whoosh scores added in.
"""

from __future__ import annotations

import heapq
import itertools
import math
import pickle
from collections import Counter, OrderedDict

import numpy as np
import orjson
from whoosh import formats
from whoosh import query as q
from whoosh.codec import whoosh3
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.util.numeric import byte_to_length

from vnsearch.codec.schema import key_form
from vnsearch.search.parse import COORDINATION, SECTION_BOOST, TAG_BOOST, FreeText
from vnsearch.text.normalize import fold

K1 = 1.2
B = 0.75
SECTION_WEIGHT = SECTION_BOOST
#: Weight of each term form when the query has diacritics, and when it has none.
FORM_WEIGHT = {"_w": 1.0, "": 0.5, "_f": 0.2, "_fb": 0.6}
FORM_WEIGHT_ASCII = {"_w": 0.0, "": 0.0, "_f": 1.0, "_fb": 1.0}
TAG_WEIGHT = TAG_BOOST  # the weights query.py gives Whoosh's form of the query, one source
#: Syllables (exact or folded) in more documents than this share of the index are left out of
#: free-text scoring, but only in indexes large enough for that to matter (MIN_DF_CAP); pyvi
#: words and adjacent pairs are specific enough to be kept whatever their frequency.
MAX_DF_RATIO = {"": 0.5, "_f": 0.5, "_w": 1.0, "_fb": 1.0}
MIN_DF_CAP = 500
KEEP_WHEN_ALL_COMMON = 4
#: A word typed without diacritics in a query with some is taken as typed without its own when
#: its readings with diacritics are this many times more frequent than it is as typed.
BARE_RATIO = 20
POSTINGS_CACHE = 6_000_000  # decoded postings kept per index snapshot (8 bytes each: ~48 MB)


def form_weights(ascii_only: bool, negated: bool = False) -> dict[str, float]:
    """Weight of each term form (field suffix) for a run of query words."""
    if negated:  # "-đá" must not exclude "Đà Nẵng": the forms as typed only
        return {"_f": 1.0} if ascii_only else {"_w": 1.0, "": 1.0}
    return FORM_WEIGHT_ASCII if ascii_only else FORM_WEIGHT


class Scorer:
    """Scores queries against one Whoosh searcher (one snapshot of the index).

    Field lengths, the deletion mask, term lookups and facet columns are loaded once per
    snapshot and cached here (a searcher is reused until the index changes)."""

    def __init__(self, searcher):
        self.searcher = searcher
        self.reader = searcher.reader()
        self.leaves = self.reader.leaf_readers()
        self.n = self.reader.doc_count_all()
        self.alive = np.ones(self.n, dtype=bool)
        for seg, off in self.leaves:
            if seg.has_deletions():
                for d in seg.deleted_docs_set:
                    self.alive[off + d] = False
        self.live_count = max(1, int(self.alive.sum()))
        self._lengths: dict = {}
        self._norms: dict = {}
        self._columns: dict = {}  # sortable columns, date keys, keyword postings (facets)
        self._term_cache: dict = {}
        self._postings_cache: OrderedDict = OrderedDict()
        self._postings_cached = 0
        # Fields with no text in this index (no document has captions, say) are skipped.
        self.fields = {
            name: searcher.schema[name]
            for name in searcher.schema.names()
            if not searcher.schema[name].scorable or self.reader.field_length(name) > 0
        }

    # -- building blocks -------------------------------------------------------------------
    def lengths(self, field: str):
        """Per-document lengths of ``field`` (Whoosh's one-byte approximation) and their mean."""
        if field not in self._lengths:
            table = np.array([byte_to_length(i) for i in range(256)], dtype=np.float32)
            out = np.zeros(self.n, dtype=np.float32)
            for seg, off in self.leaves:
                col = _length_column(seg, field, whoosh3)
                if col is not None:
                    out[off : off + len(col)] = table[col]
            total = self.reader.field_length(field)
            self._lengths[field] = (out, max(total / self.live_count, 1.0))
        return self._lengths[field]

    def _infos(self, field: str, term: str):
        """``(document frequency, [(segment, docnum offset, term info)])``: one dictionary
        lookup per segment, cached (queries repeat words; the snapshot never changes)."""
        key = (field, term)
        got = self._term_cache.get(key)
        if got is None:
            infos = []
            df = 0
            if field in self.fields:
                tbytes = self.fields[field].to_bytes(term)
                for seg, off in self.leaves:
                    try:
                        info = seg._terms.term_info(field, tbytes)
                    except Exception:  # TermNotFound: not in this segment
                        continue
                    infos.append((seg, off, info))
                    df += info.doc_frequency()
            if len(self._term_cache) > 100_000:
                self._term_cache.clear()
            got = self._term_cache[key] = (df, infos)
        return got

    def doc_frequency(self, field: str, term: str) -> int:
        """Documents containing ``term`` in ``field`` (deleted ones included, as in Whoosh)."""
        return self._infos(field, term)[0]

    def postings(self, field: str, term: str):
        """(document numbers, term frequencies) of ``term`` in ``field``, or None.

        Decoded lists are kept, least recently used dropped first (up to POSTINGS_CACHE
        postings in all): a long-running process reads each common term from disk once, and
        the common terms, which every query uses, stay."""
        key = (field, term)
        cache = self._postings_cache
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
        got = self._read_postings(field, term)
        size = 0 if got is None else len(got[0])
        if size <= POSTINGS_CACHE // 4:
            cache[key] = got
            self._postings_cached += size
            while self._postings_cached > POSTINGS_CACHE:
                _, old = cache.popitem(last=False)
                self._postings_cached -= 0 if old is None else len(old[0])
        return got

    def _read_postings(self, field: str, term: str):
        ids, tfs = [], []
        for seg, off, info in self._infos(field, term)[1]:
            got = _leaf_postings(seg, field, info)
            ids.append(np.asarray(got[0], dtype=np.int32) + np.int32(off))  # 8 bytes a posting
            tfs.append(np.asarray(got[1], dtype=np.float32))
        if not ids:
            return None
        if len(ids) == 1:
            return ids[0], tfs[0]
        return np.concatenate(ids), np.concatenate(tfs)

    def column(self, field: str):
        """Per-document values of a sortable field (``date``, ``year``, ...) as a numpy object
        array over the index's document numbers; "" where a document has none."""
        key = ("column", field)
        if key not in self._columns:
            out = np.full(self.n, "", dtype=object)
            for seg, off in self.leaves:
                if seg.has_column(field):
                    values = list(seg.column_reader(field))
                    out[off : off + len(values)] = values
            self._columns[key] = out
        return self._columns[key]

    def date_keys(self):
        """``date`` as integers (20230815; 0 without a date), for sorting."""
        key = ("column", "date:int")
        if key not in self._columns:
            dates = self.column("date")
            self._columns[key] = np.array(
                [int(d.replace("-", "")) if d else 0 for d in dates], dtype=np.int64
            )
        return self._columns[key]

    def metadata(self, name: str):
        """Per-document values of a stored metadata field (``category``, ``source``, or a key
        the records carried in ``extra``) as a numpy object array of tuples of text, read
        once per snapshot from the stored documents (no index field holds them)."""
        key = ("metadata", name)
        if key not in self._columns:
            out = np.empty(self.n, dtype=object)
            out.fill(())
            for docnum, stored in self.reader.iter_docs():
                doc = orjson.loads(stored["doc"])
                value = doc.get(name) if name in doc else (doc.get("extra") or {}).get(name)
                out[docnum] = metadata_values(value)
            self._columns[key] = out
        return self._columns[key]

    def keyword_postings(self, field: str) -> list:
        """``[(value, document numbers)]`` for every value of a keyword field (tag facets)."""
        key = ("keywords", field)
        if key not in self._columns:
            out = []
            if field in self.searcher.schema:
                decode = self.searcher.schema[field].from_bytes
                for tbytes in self.reader.lexicon(field):
                    value = decode(tbytes)
                    ids = self.doc_ids(field, value)
                    if ids is not None:
                        out.append((value, ids))
            self._columns[key] = out
        return self._columns[key]

    def doc_ids(self, field: str, term: str):
        """Sorted document numbers holding ``term`` in ``field`` (deleted ones included), or
        None (from :meth:`postings`, whose cache keeps them)."""
        got = self.postings(field, term)
        return None if got is None else got[0]

    def positions(self, field: str, term: str):
        """(sorted document numbers, encoded positions per document) of a term, or None."""
        ids: list = []
        values: list = []
        for seg, off, info in self._infos(field, term)[1]:
            got = _leaf_postings(seg, field, info, with_values=True)
            ids.append(np.asarray(got[0], dtype=np.int64) + off)
            values.extend(got[2])
        if not ids:
            return None
        return (ids[0] if len(ids) == 1 else np.concatenate(ids)), values

    def phrase(self, field: str, words: list[str], slop: int = 1):
        """Boolean mask of the documents where ``words`` occur in order in ``field``, each
        within ``slop`` positions of the previous one (1: adjacent).

        Posting lists are intersected with numpy first; positions are decoded only for the
        documents holding every word."""
        mask = np.zeros(self.n, dtype=bool)
        lists = []
        for w in words:
            got = self.positions(field, w)
            if got is None:
                return mask
            lists.append(got)
        if len(lists) == 1:
            mask[lists[0][0]] = True
            return mask & self.alive
        cand = lists[0][0]
        for ids, _ in lists[1:]:
            cand = np.intersect1d(cand, ids, assume_unique=True)
            if not len(cand):
                return mask
        decode = _positions_decoder(self.fields[field].format)
        where = [np.searchsorted(ids, cand).tolist() for ids, _ in lists]
        values = [v for _, v in lists]
        k = len(lists)
        for j, doc in enumerate(cand.tolist()):
            if _in_order([decode(values[i][where[i][j]]) for i in range(k)], slop):
                mask[doc] = True
        return mask & self.alive

    def norm(self, field: str):
        """Per-document ``1 / (1 - B + B * length / mean length)`` of ``field``, kept."""
        if field not in self._norms:
            lengths, avg = self.lengths(field)
            self._norms[field] = 1.0 / (1 - B + B * lengths / avg)
        return self._norms[field]

    def bm25f(self, suffix: str, term: str, sections, boost: float = 1.0):
        """BM25F of one term over ``sections`` (fields ``<section><suffix>``), as sparse
        ``(document numbers, scores)``, or None.

        Sparse, because most terms are in few documents: the work is proportional to the
        postings, not to the index (for a term in one section, no dense pass at all)."""
        parts = []
        for sec in sections:
            field = sec + suffix
            got = self.postings(field, term)
            if got is not None:
                ids, tf = got
                parts.append((ids, SECTION_WEIGHT.get(sec, 1.0) * tf * self.norm(field)[ids]))
        if not parts:
            return None
        if len(parts) == 1:
            ids, tt = parts[0]
        else:
            dense = np.zeros(self.n, dtype=np.float32)
            for ids, t in parts:
                dense[ids] += t
            ids = np.flatnonzero(dense)
            tt = dense[ids]
        live = self.alive[ids]
        df = int(np.count_nonzero(live))
        if not df:
            return None
        if df < len(ids):
            ids, tt = ids[live], tt[live]
        idf = math.log(1 + (self.live_count - df + 0.5) / (df + 0.5))
        return ids, (boost * idf * (K1 + 1)) * tt / (K1 + tt)

    # -- query tree ------------------------------------------------------------------------
    def evaluate(self, node):
        """(scores, matched) of a query node: dense float32 scores and a boolean match mask."""
        if isinstance(node, FreeText):
            return self.free_text(node)
        as_text = getattr(node, "vn_text", None)
        if as_text is not None:
            # A phrase: Whoosh finds where it occurs; its words score like any other words,
            # so documents matched by the rest of the query still earn them (the phrase
            # itself counts through the coordination of the enclosing group).
            matched = self._phrase_node(node)
            scores, _ = self.free_text(as_text)
            return scores, matched
        kind = type(node)
        if kind is q.Or:
            return self._or(node)
        if kind is q.And:
            parts = [self.evaluate(c) for c in node.subqueries]
            matched = parts[0][1].copy()
            for _, m in parts[1:]:
                matched &= m
            scores = sum(s for s, _ in parts) * node.boost
            return scores * matched, matched
        if kind is q.AndNot:
            s, m = self.evaluate(node.a)
            _, banned = self.evaluate(node.b)
            m = m & ~banned
            return s * m, m
        if kind is q.Require:
            s, m = self.evaluate(node.a)
            _, m2 = self.evaluate(node.b)
            m = m & m2
            return s * m, m
        if kind is q.AndMaybe:
            s, m = self.evaluate(node.a)
            s2, _ = self.evaluate(node.b)
            return (s + s2) * m, m
        if kind is q.Not:
            _, m = self.evaluate(node.query)
            m = ~m & self.alive
            return np.zeros(self.n, dtype=np.float32), m  # matches, adds nothing to a score
        return self._whoosh(node)

    def _phrase_node(self, node):
        """Match mask of the ``Or`` of per-section phrases (or single terms) query.py makes."""
        mask = np.zeros(self.n, dtype=bool)
        for sub in node.subqueries:
            if type(sub) is q.Phrase:
                if sub.fieldname in self.fields:
                    mask |= self.phrase(sub.fieldname, list(sub.words), sub.slop)
            elif type(sub) is q.Term:
                got = (self.postings(sub.fieldname, sub.text)
                       if sub.fieldname in self.fields else None)
                if got is not None:
                    mask[got[0]] = True
            else:
                mask |= self._whoosh(sub)[1]
        return mask & self.alive

    def _or(self, node):
        parts = [self.evaluate(c) for c in node.subqueries]
        scores = np.zeros(self.n, dtype=np.float32)
        count = np.zeros(self.n, dtype=np.float32)
        for s, m in parts:
            scores += s
            count += m
        matched = count > 0
        scale = getattr(node, "scale", None)
        if scale and len(parts) > 1:
            scores *= (1 - scale) + scale * count / len(parts)
        return scores * node.boost, matched

    def free_text(self, node):
        """One run of plain words: BM25F over the term forms of
        :class:`~vnsearch.search.parse.FreeText`."""
        weights = form_weights(node.ascii_only, node.negated)
        forms = {"_w": node.words, "": node.syllables, "_f": node.folded, "_fb": node.pairs}
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
        tags = []
        if node.with_tags and not node.negated:
            tags = [t for t in dict.fromkeys(node.folded + [node.tag_key]) if t]
            tags = [t for t in tags if self.doc_frequency("tags", t)]
        if not node.negated and not node.ascii_only:
            # Typed without diacritics, the folded syllables are all the query has, and folding
            # merges words (bao: bão, báo, bảo, bao), so they are far more common than the
            # words meant: none is left out (on the dev headlines, pruning cost 0.027 MRR@10).
            kept = [t for t in wanted if (t[0], t[1]) in bare]
            wanted = kept + self._prune([t for t in wanted if (t[0], t[1]) not in bare])
        scores = np.zeros(self.n, dtype=np.float32)
        cover = np.zeros(self.n, dtype=np.float32)
        matched = np.zeros(self.n, dtype=bool)
        cover_form = "_f" if weights.get("_f") else ""  # coordination counts syllables
        for suffix, term, qtf, w, _ in wanted:
            got = self.bm25f(suffix, term, node.sections)
            if got is None:
                continue
            ids, s = got
            matched[ids] = True
            scores[ids] += (w * qtf) * s
            if suffix == cover_form:
                cover[ids] += qtf
        for t in tags:
            got = self.postings("tags", t)
            if got is not None:
                ids = got[0]
                df = len(ids)
                idf = math.log(1 + (self.live_count - df + 0.5) / (df + 0.5))
                scores[ids] += TAG_WEIGHT * idf
                matched[ids] = True
        matched &= self.alive
        n_syl = len(node.folded)
        if COORDINATION and n_syl > 1:
            scores *= (1 - COORDINATION) + COORDINATION * np.minimum(cover, n_syl) / n_syl
        return scores * node.boost * matched, matched

    def _bare_folded_terms(self, node) -> dict[tuple[str, str], float]:
        """``(suffix, term) → weight`` for the folded syllables and pairs of the words of a run
        that were typed without their diacritics, weighted as in a query typed wholly without
        them. A word counts as such when, spelt as typed, it is rare next to its readings with
        diacritics ("chuc", "dang" for chức, đang, đảng), not when it is a word of its own
        ("ban", "hoa", "tin")."""
        bare = []
        for syllable, folded in zip(node.syllables, node.folded):
            if syllable != fold(syllable) or not syllable.isalpha():
                bare.append(False)
                continue
            exact = max(self.doc_frequency(sec, syllable) for sec in node.sections)
            readings = max(self.doc_frequency(sec + "_f", folded) for sec in node.sections)
            bare.append(exact * BARE_RATIO < readings)
        if not any(bare):
            return {}
        out = {("_f", f): FORM_WEIGHT_ASCII["_f"] for f, b in zip(node.folded, bare) if b}
        for i, pair in enumerate(node.pairs):
            if any(bare[i : i + 2]):
                out[("_fb", pair)] = FORM_WEIGHT_ASCII["_fb"]
        return out

    def _prune(self, wanted):
        """Leave out terms in more than MAX_DF_RATIO of a large index (see the module doc)."""
        caps = {f: max(MIN_DF_CAP, r * self.live_count) for f, r in self.max_df_ratio().items()}
        kept = [t for t in wanted if t[4] <= caps.get(t[0], caps[""])]
        if not kept:
            kept = sorted(wanted, key=lambda t: t[4])[:KEEP_WHEN_ALL_COMMON]
        return kept

    @staticmethod
    def max_df_ratio() -> dict[str, float]:
        r = MAX_DF_RATIO
        return dict(r) if isinstance(r, dict) else {"": r, "_w": r, "_f": r, "_fb": r}

    def _whoosh(self, node):
        """Scores and matches of a node only Whoosh can evaluate (phrases, wildcards, ...)."""
        scores = np.zeros(self.n, dtype=np.float32)
        matched = np.zeros(self.n, dtype=bool)
        for sub, off in self.searcher.leaf_searchers():
            m = node.matcher(sub, sub.context())
            while m.is_active():
                d = m.id() + off
                scores[d] += m.score()
                matched[d] = True
                m.next()
        matched &= self.alive
        return scores * matched, matched


def _length_column(seg, field: str, whoosh3):
    """The raw one-byte length column of ``field`` in one segment, as a numpy array."""
    reader = seg._perdoc._cached_reader(whoosh3._lenfield(field), whoosh3.LENGTHS_COLUMN)
    if reader is None:
        return None
    raw = reader._dbfile.get(reader._basepos, reader._count * reader._fixedlen)
    return np.frombuffer(raw, dtype=np.uint8)


def _in_order(positions: list, slop: int) -> bool:
    """Whether some position of each list follows one of the previous list within ``slop``."""
    reach = set(positions[0])
    for nxt in positions[1:]:
        if slop <= 1:
            reach = reach.intersection([q - 1 for q in nxt])
            reach = {r + 1 for r in reach}
        else:
            reach = {q for q in nxt if any(q - slop <= p < q for p in reach)}
        if not reach:
            return False
    return True


def _positions_decoder(fmt):
    """A fast ``decode_positions`` for Whoosh's Positions format (4-byte header, then a
    pickled list of deltas); other formats use their own method."""
    if type(fmt) is not formats.Positions:
        return fmt.decode_positions
    loads, accumulate = pickle.loads, itertools.accumulate

    def decode(value: bytes):
        if not value.endswith(b"."):
            value += b"."
        return accumulate(loads(value[4:]))

    return decode


def _leaf_postings(seg, field: str, info, with_values: bool = False):
    """(ids, weights[, values]) of a term in one segment, decoded a block at a time.

    Deleted documents are included: callers mask them with :attr:`Scorer.alive`."""
    if info.is_inlined():
        ids, weights, values = info.inlined_postings()
        got = list(ids), _weights_list(weights, len(ids))
        return (*got, list(values)) if with_values else got
    terms = seg._terms
    m = terms._codec.postings_reader(terms._postfile, info, seg.schema[field].format)
    ids, weights, values = [], [], []
    if not isinstance(m, W3LeafMatcher) or m._byteids:  # another codec: the generic, slower way
        while m.is_active():
            ids.append(m.id())
            weights.append(m.weight())
            if with_values:
                values.append(m.value())
            m.next()
        return (ids, weights, values) if with_values else (ids, weights)

    # Each block is a pickled (id gaps, weights, values) tuple: summing the gaps with numpy,
    # not Whoosh's per-posting generator, makes reading a long list several times faster.
    while True:
        m._read_data()
        raw_ids, raw_weights = m._data[0], m._data[1]
        n = m._blocklength
        ids.append(np.cumsum(np.asarray(raw_ids, dtype=np.int64)))
        if raw_weights is None or isinstance(raw_weights, (int, float)):
            weight = 1.0 if raw_weights is None else raw_weights
            weights.append(np.full(n, weight, dtype=np.float32))
        else:
            weights.append(np.asarray(raw_weights, dtype=np.float32))
        if with_values:
            m._read_values()
            values.extend(m._values)
        if m._lastblock:
            break
        m._goto(m._nextoffset)
    ids = ids[0] if len(ids) == 1 else np.concatenate(ids)
    weights = weights[0] if len(weights) == 1 else np.concatenate(weights)
    return (ids, weights, values) if with_values else (ids, weights)


def _weights_list(weights, n: int):
    if weights is None:
        return [1.0] * n
    if isinstance(weights, (int, float)):
        return [float(weights)] * n
    return list(weights)


class Ranked:
    """The documents a query matched, with their scores; pages come out tie-broken."""

    def __init__(self, searcher, scores, matched, scorer: Scorer | None = None):
        self.searcher = searcher
        self.scorer = scorer or scorer_for(searcher)
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
        cand = np.flatnonzero(self.matched)
        rounded = np.round(self.scores[cand].astype(np.float64), 6)
        if n < len(cand):
            # Everything tied with the n-th best must be seen, or ties would break by docnum.
            kth = -np.partition(-rounded, n - 1)[n - 1]
            keep = rounded >= kth
            cand, rounded = cand[keep], rounded[keep]
        ranked = [(float(r), RankedHit(self.searcher, int(d), float(self.scores[d])))
                  for d, r in zip(cand, rounded)]
        # Scores equal to 6 decimals tie: newer first, then by id (stable across runs).
        ranked.sort(key=lambda rh: (-rh[0], _desc(rh[1].get("date") or ""), rh[1].get("id") or ""))
        return TopHits([h for _, h in ranked[:n]], self)


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

    def walk(seg, off):
        terms = seg._terms
        for (name, tbytes), info in terms.items_from("id", b""):
            if name != "id":
                return
            if info.is_inlined():
                docs = info.inlined_postings()[0]
            else:
                docs = terms.matcher("id", tbytes, seg.schema["id"].format).all_ids()
            for d in docs:
                yield tbytes, d + off

    out = []
    for _, doc in heapq.merge(*(walk(seg, off) for seg, off in scorer.leaves)):
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

    def __init__(self, searcher, docnum: int, score: float):
        self.searcher = searcher
        self.docnum = docnum
        self.score = score
        self._fields: dict | None = None

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
    return Ranked(searcher, np.where(matched, scores, 0).astype(np.float32), matched, scorer)
