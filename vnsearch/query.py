"""From what a user types to a Whoosh query over our analysed fields.

Whoosh's parser handles the syntax (words, ``"phrases"``, ``AND``/``OR``/``NOT``/``-word``,
parentheses, ``field:value``, ranges, ``*`` and ``~``). Plain words are then re-joined and
analysed together as Vietnamese text, because pyvi segments a phrase, not isolated syllables,
and each run becomes a weighted disjunction over the index fields:

* pyvi words (``*_w``) > syllables > folded syllables, so exact words rank above syllable-only
  matches, which rank above matches that exist only without diacritics;
* folded adjacent pairs (``*_fb``) reward proximity and disambiguate diacritic-free queries;
* sections are weighted (title > summary > body > captions), BM25F per field;
* an ``Or`` with a coordination factor ranks documents matching all words first without ever
  dropping documents that miss one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import QueryError

MAX_QUERY_CHARS = 2000

SECTION_BOOST = {"title": 3.0, "summary": 1.5, "body": 1.0, "captions": 0.7}
WORD_BOOST = 1.0  # *_w
SYLLABLE_BOOST = 0.5  # syllable field
FOLDED_BOOST = 0.2  # folded syllables, query with diacritics
FOLDED_ASCII_BOOST = 0.5  # folded syllables, query typed without diacritics
PAIR_BOOST = 0.6  # folded adjacent pairs, query with diacritics
PAIR_ASCII_BOOST = 1.2  # folded pairs carry the disambiguation when diacritics are missing
TAG_BOOST = 1.5
COORDINATION = 0.5
MAX_DF_RATIO = 0.1  # terms in more documents than this are left out of free-text queries...
MIN_DF_CAP = 500  # ...but only in indexes large enough for that to matter
KEEP_WHEN_ALL_COMMON = 4

_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


@dataclass
class QueryTerms:
    """What the query asks for in text, used to highlight and to suggest corrections."""

    syllables: list[str] = field(default_factory=list)
    ascii_only: bool = False


def _parse_schema():
    from whoosh import fields
    from whoosh.analysis import IDTokenizer

    keep = IDTokenizer()  # each whitespace-separated word reaches us intact
    return fields.Schema(
        text=fields.TEXT(analyzer=keep, phrase=True),
        title=fields.TEXT(analyzer=keep, phrase=True),
        author=fields.TEXT(analyzer=keep, phrase=True),
        tag=fields.TEXT(analyzer=keep, phrase=True),
        date=fields.ID(),
    )


_parser = None


def _get_parser():
    global _parser
    if _parser is None:
        from whoosh import qparser

        p = qparser.QueryParser("text", _parse_schema(), group=qparser.OrGroup)
        p.add_plugin(qparser.FuzzyTermPlugin())
        # '+'/'-' only at the start of a word: COVID-19, 2023-08 and 18-NQ/TW stay whole.
        # A lone dash ("Kế hoạch - đầu tư (KH - ĐT)") is punctuation, not an operator.
        p.add_plugin(qparser.PlusMinusPlugin(r"(?<![^\s(])\+(?=[^\s)])", r"(?<![^\s(])-(?=[^\s)])"))
        p.remove_plugin_class(qparser.BoostPlugin)  # '^' is rare in news text, keep it literal
        p.add_plugin(qparser.GtLtPlugin())
        _parser = p
    return _parser


def parse(text: str, sections=None, reader=None):
    """Parse a user query into a Whoosh query; returns ``(query, QueryTerms)``.

    ``sections`` restricts free text to some sections (e.g. to leave the title out)."""
    from whoosh import query as q

    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"query is {len(text)} characters long; the limit is {MAX_QUERY_CHARS}")
    stripped = text.strip()
    if not stripped:
        raise QueryError("empty query")
    builder = _Builder(tuple(sections or SECTION_BOOST), reader)
    try:
        parsed = _get_parser().parse(stripped)
    except Exception as e:  # whoosh's parser errors are not one class
        raise QueryError(f"cannot parse query {text!r}: {e}") from None
    result = builder.convert(parsed)
    if result is None or result is q.NullQuery:
        raise QueryError(f"query {text!r} has no searchable words")
    return result, builder.terms


class _Builder:
    def __init__(self, sections: tuple[str, ...], reader=None):
        self.sections = sections
        self.reader = reader  # for document frequencies (pruning); None: no pruning
        self.terms = QueryTerms()
        self.negated = False  # inside NOT / -word: match what was typed, not its folded form

    # -- tree walk -------------------------------------------------------------------------
    def convert(self, node):
        from whoosh import query as q

        if isinstance(node, (q.And, q.Or, q.DisjunctionMax)):
            return self._compound(node)
        if isinstance(node, q.Not):
            inner = self._negative(node.query)
            return q.Not(inner) if inner is not None else None
        if isinstance(node, q.AndNot):
            a, b = self.convert(node.a), self._negative(node.b)
            if a is None:
                return None
            return q.AndNot(a, b) if b is not None else a
        if isinstance(node, q.AndMaybe):
            a, b = self.convert(node.a), self.convert(node.b)
            if a is None:
                return b
            return q.AndMaybe(a, b) if b is not None else a
        if isinstance(node, q.Require):
            a, b = self.convert(node.a), self.convert(node.b)
            if a is None or b is None:
                return a or b
            return q.Require(a, b)
        if isinstance(node, q.Phrase):
            return self._phrase(node.fieldname, " ".join(node.words), node.slop)
        if isinstance(node, q.FuzzyTerm):
            return self._fuzzy(node)
        if isinstance(node, (q.Wildcard, q.Prefix)):
            return self._wildcard(node)
        if isinstance(node, (q.TermRange, q.NumericRange)):
            return self._range(node)
        if isinstance(node, q.Term):
            if _is_quoted_phrase(node):
                return self._phrase(node.fieldname, str(node.text), 1)
            return self._text(node.fieldname, str(node.text), node.boost)
        if node is q.NullQuery or isinstance(node, q.Every):
            return None
        raise QueryError(f"unsupported query part: {node!r}")

    def _negative(self, node):
        was, self.negated = self.negated, True
        seen = len(self.terms.syllables)
        try:
            return self.convert(node)
        finally:
            self.negated = was
            del self.terms.syllables[seen:]  # excluded words are not highlighted or corrected

    def _compound(self, node):
        """Merge runs of plain free-text words so they are segmented together."""
        from whoosh import query as q

        out = []
        run: list[str] = []
        run_field = None

        def flush():
            nonlocal run, run_field
            if run:
                sub = self._text(run_field, " ".join(run))
                if sub is not None:
                    out.append(sub)
            run, run_field = [], None

        for child in node.subqueries:
            plain = (
                type(child) is q.Term
                and child.fieldname in ("text", "title")
                and not _is_quoted_phrase(child)
            )
            if plain and isinstance(node, q.Or) and (run_field in (None, child.fieldname)):
                run.append(str(child.text))
                run_field = child.fieldname
                continue
            flush()
            if plain:
                run.append(str(child.text))
                run_field = child.fieldname
                flush()
                continue
            sub = self.convert(child)
            if sub is not None:
                out.append(sub)
        flush()
        if not out:
            return None
        if isinstance(node, q.Or):
            # "vàng NOT bạc" means vàng without bạc (as in Lucene), not "vàng, or anything
            # without bạc".
            banned = [s.query for s in out if isinstance(s, q.Not)]
            kept = [s for s in out if not isinstance(s, q.Not)]
            if banned and kept:
                pos = kept[0] if len(kept) == 1 else q.Or(kept, scale=COORDINATION)
                return q.AndNot(pos, banned[0] if len(banned) == 1 else q.Or(banned))
        if len(out) == 1:
            return out[0]
        if isinstance(node, q.And):
            return q.And(out)
        return q.Or(out, scale=COORDINATION)

    # -- leaves ----------------------------------------------------------------------------
    def _sections_for(self, fieldname: str) -> tuple[str, ...]:
        return ("title",) if fieldname == "title" else self.sections

    def _text(self, fieldname: str, text: str, boost: float = 1.0):
        """Free text (one or more words) in text sections, author or tag."""
        from whoosh import query as q

        from .analysis import analyze
        from .normalize import fold

        if fieldname == "author":
            return self._phrase("author", text, 1)
        if fieldname == "tag":
            return self._tag(text)
        if fieldname == "date":
            return self._date_prefix(text)
        tokens = analyze(text).tokens
        if not tokens:
            return None
        syllables = [s.text for t in tokens for s in t.syllables]
        folded = [s.folded for t in tokens for s in t.syllables]
        ascii_only = all(s == f for s, f in zip(syllables, folded))
        self.terms.syllables.extend(syllables)
        self.terms.ascii_only = self.terms.ascii_only or ascii_only
        fboost = FOLDED_ASCII_BOOST if ascii_only else FOLDED_BOOST
        pboost = PAIR_ASCII_BOOST if ascii_only else PAIR_BOOST
        words = [t.word for t in tokens]
        pairs = [f"{a}_{b}" for a, b in zip(folded, folded[1:])]
        subs = []
        for sec in self._sections_for(fieldname):
            sb = SECTION_BOOST[sec]
            subs += [q.Term(sec + "_w", w, boost=sb * WORD_BOOST) for w in words]
            subs += [q.Term(sec, s, boost=sb * SYLLABLE_BOOST) for s in syllables]
            if self.negated and not ascii_only:
                continue  # "-đá" must not exclude "Đà Nẵng"
            subs += [q.Term(sec + "_f", f, boost=sb * fboost) for f in folded]
            subs += [q.Term(sec + "_fb", p, boost=sb * pboost) for p in pairs]
        if fieldname != "title":
            subs += [q.Term("tags", f, boost=TAG_BOOST) for f in folded]
        if not self.negated:
            subs = self._prune(subs)
        one_typed_word = len(text.split()) == 1
        if one_typed_word and len(syllables) > 1 and fieldname in ("text", "title"):
            # One typed "word" that analysis split (COVID-19, 1/6/2023, 18-NQ/TW): the parts
            # must appear together, as a phrase.
            # (q.And, not q.Require: whoosh's RequireMatcher.skip_to_quality trips an assertion.)
            seen = len(self.terms.syllables)
            phrase = self._phrase(fieldname, text, 1)
            del self.terms.syllables[seen:]  # already recorded above
            return q.And([q.Or(subs, boost=boost), phrase]) if phrase is not None else None
        return q.Or(subs, boost=boost, scale=COORDINATION if len(tokens) > 1 else None)

    def _prune(self, subs):
        """Drop terms the index does not have, merge repeats, and leave out very common ones.

        A term in more than MAX_DF_RATIO of a large index adds almost nothing to BM25 but makes
        Whoosh visit nearly every document; long queries (headlines, abstracts) are full of them.
        Small indexes are left alone, and if every term is common the rarest are kept."""
        from whoosh import query as q

        reader = self.reader
        if reader is None:
            return subs
        n = max(1, reader.doc_count_all())
        cap = max(MIN_DF_CAP, MAX_DF_RATIO * n)
        merged: dict[tuple[str, str], float] = {}
        dfs: dict[tuple[str, str], int] = {}
        for t in subs:
            key = (t.fieldname, t.text)
            if key not in dfs:
                dfs[key] = reader.doc_frequency(*key)
            if dfs[key]:
                merged[key] = merged.get(key, 0.0) + t.boost
        keep = [k for k in merged if dfs[k] <= cap]
        if not keep:
            keep = sorted(merged, key=lambda k: dfs[k])[:KEEP_WHEN_ALL_COMMON]
        if not keep:
            return subs[:1]  # nothing indexed: one term, so the query validly matches nothing
        return [q.Term(f, t, boost=merged[(f, t)]) for f, t in keep]

    def _phrase(self, fieldname: str, text: str, slop: int = 1):
        from whoosh import query as q

        from .analysis import analyze
        from .schema import key_form

        if fieldname == "tag":
            return self._tag(text)
        if fieldname == "date":
            return self._date_prefix(text)
        tokens = analyze(text).tokens
        syls = [s for t in tokens for s in t.syllables]
        if not syls:
            return None
        if fieldname == "author":
            parts = key_form(text).split("_")
            parts = [p for p in parts if p]
            if not parts:
                return None
            if len(parts) == 1:
                return q.Term("author", parts[0])
            return q.Phrase("author", parts, slop=1)
        exact = [s.text for s in syls]
        folded = [s.folded for s in syls]
        ascii_only = exact == folded
        self.terms.syllables.extend(exact)
        self.terms.ascii_only = self.terms.ascii_only or ascii_only
        subs = []
        for sec in self._sections_for(fieldname):
            sb = SECTION_BOOST[sec]
            if ascii_only:
                fld, words = sec + "_f", folded
            else:
                fld, words = sec, exact
            if len(words) == 1:
                subs.append(q.Term(fld, words[0], boost=sb))
            else:
                subs.append(q.Phrase(fld, words, slop=max(1, slop), boost=sb))
        return q.Or(subs)

    def _tag(self, text: str):
        from whoosh import query as q

        from .schema import key_form

        key = key_form(text)
        return q.Term("tags", key) if key else None

    def _fuzzy(self, node):
        from whoosh import query as q

        from .normalize import fold, normalize

        word = normalize(str(node.text)).lower().strip()
        if not word:  # "\u200b~": nothing left to be fuzzy about (whoosh would crash)
            return None
        folded = fold(word)
        self.terms.syllables.append(word)
        subs = []
        for sec in self._sections_for(node.fieldname):
            sb = SECTION_BOOST[sec]
            subs.append(q.FuzzyTerm(sec, word, maxdist=node.maxdist, prefixlength=1, boost=sb))
            subs.append(
                q.FuzzyTerm(
                    sec + "_f", folded, maxdist=node.maxdist, prefixlength=1, boost=sb * 0.5
                )
            )
        return q.Or(subs)

    def _wildcard(self, node):
        from whoosh import query as q

        from .normalize import fold, normalize

        pattern = normalize(str(node.text)).lower()
        if isinstance(node, q.Prefix):
            pattern += "*"
        if fieldname_is_meta(node.fieldname):
            if node.fieldname == "date":
                return q.Wildcard("date", pattern)
            if node.fieldname == "author":
                return q.Wildcard("author", fold(pattern))
            return q.Wildcard("tags", fold(pattern))
        if len(pattern.replace("*", "").replace("?", "")) < 2:
            raise QueryError(f"wildcard {node.text!r} is too broad: give at least 2 letters")
        subs = []
        folded = fold(pattern)
        for sec in self._sections_for(node.fieldname):
            sb = SECTION_BOOST[sec]
            if folded == pattern:
                subs.append(q.Wildcard(sec + "_f", folded, boost=sb))
            else:
                subs.append(q.Wildcard(sec, pattern, boost=sb))
        return q.Or(subs)

    def _date_prefix(self, text: str):
        from whoosh import query as q

        m = _valid_date(text)
        if not m:
            raise QueryError(f"bad date {text!r}: use YYYY, YYYY-MM or YYYY-MM-DD")
        y, mo, d = m.groups()
        if d:
            return q.Term("date", f"{y}-{int(mo):02d}-{int(d):02d}")
        if mo:
            return q.Term("month", f"{y}-{int(mo):02d}")
        return q.Term("year", y)

    def _range(self, node):
        from whoosh import query as q

        if node.fieldname != "date":
            raise QueryError(f"ranges are supported on date: only, not {node.fieldname}:")
        start = _date_bound(node.start, low=True) if node.start else None
        end = _date_bound(node.end, low=False) if node.end else None
        return q.TermRange("date", start, end, startexcl=node.startexcl, endexcl=node.endexcl)


def _is_quoted_phrase(node) -> bool:
    """The parse schema keeps a quoted phrase whole, as one Term with spaces in it."""
    return len(str(node.text).split()) > 1


def fieldname_is_meta(name: str) -> bool:
    return name in ("author", "tag", "date")


def _valid_date(value):
    """The match of a YYYY[-MM[-DD]] date that exists (2023-13-45 does not), or None."""
    import datetime

    m = _DATE_RE.match(str(value).strip())
    if m:
        y, mo, d = m.groups()
        try:
            datetime.date(int(y), int(mo or 1), int(d or 1))
        except ValueError:
            return None
    return m


def _date_bound(value, low: bool) -> str:
    m = _valid_date(value)
    if not m:
        raise QueryError(f"bad date {value!r}: use YYYY, YYYY-MM or YYYY-MM-DD")
    y, mo, d = m.groups()
    mo = f"{int(mo):02d}" if mo else ("01" if low else "12")
    d = f"{int(d):02d}" if d else ("01" if low else "31")
    return f"{y}-{mo}-{d}"


def date_filter(since: str | None, until: str | None):
    """A Whoosh filter for ``--since``/``--until`` (inclusive ISO dates or None)."""
    from whoosh import query as q

    if not since and not until:
        return None
    lo = _date_bound(since, True) if since else None
    hi = _date_bound(until, False) if until else None
    if lo and hi and lo > hi:
        raise QueryError(f"--since {since} is after --until {until}")
    return q.TermRange("date", lo, hi)
