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

import datetime
import re
from dataclasses import dataclass, field

from whoosh import fields, qparser
from whoosh import query as q
from whoosh.analysis import IDTokenizer

from vnsearch.codec.schema import key_form
from vnsearch.errors import QueryError
from vnsearch.text.analysis import analyze, syllable_form
from vnsearch.text.normalize import fold, normalize

MAX_QUERY_CHARS = 2000
#: Fuzzy words ("vàmg~") per query: each one scans the term dictionary in Python (about
#: 0.05-0.1 s on a few thousand articles, more on larger indexes).
MAX_FUZZY_WORDS = 10

SECTION_BOOST = {"title": 3.0, "summary": 1.5, "body": 1.0, "captions": 0.7}
TAG_BOOST = 1.5
COORDINATION = 0.5

# "Khởi tố khi nào?" is a question, not a one-character wildcard: a "?" ending a word is
# punctuation (inside a word, "ng?y", it still matches any one character).
_QUESTION_MARK_RE = re.compile(r"(?<=[^\s?*])\?+(?=[\s)\]\"'.,;:!]|$)")
# A "*" not attached to a word ("* Tôi đã đăng ký ...", a bullet; "(*)", a footnote mark;
# "(vàng)*") would make Whoosh match every document and drop the words; like a "?" that
# stands alone, it is punctuation.
_LONE_WILDCARD_RE = re.compile(r"(?<!\w)[*?]+(?!\w)")
_SLOP_RE = re.compile(r'"~(\d+)')
# "-word": a minus starting a word, not before a digit (a sign) or alone (a dash).
_MINUS_RE = re.compile(r"(?<![^\s(])-(?=[^\s)\d])")
MAX_SLOP = 100
_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


@dataclass
class QueryTerms:
    """What the query asks for in text, used to highlight and to suggest corrections."""

    syllables: list[str] = field(default_factory=list)
    ascii_only: bool = False
    #: ``*``/``?`` patterns on text (normalised, lower-cased; diacritic-free ones match the
    #: folded syllables), and fuzzy words with their maximum edit distance.
    wildcards: list[str] = field(default_factory=list)
    fuzzy: list[tuple[str, int]] = field(default_factory=list)
    #: Phrases (quoted, or one typed word analysis split: ``22/7``) as folded syllables.
    phrases: list[tuple[str, ...]] = field(default_factory=list)


def _parse_schema():
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
        p = qparser.QueryParser("text", _parse_schema(), group=qparser.OrGroup)
        p.add_plugin(qparser.FuzzyTermPlugin())
        # '+'/'-' only at the start of a word: COVID-19, 2023-08 and 18-NQ/TW stay whole.
        # A lone dash ("Kế hoạch - đầu tư (KH - ĐT)") is punctuation, not an operator, and
        # so is a sign before a digit: "-5 độ C", "+84 ...", and the "S -300" or "8 -3" that
        # copied text leaves behind are numbers, not an exclusion ("NOT 300" excludes).
        p.add_plugin(qparser.PlusMinusPlugin(r"(?<![^\s(])\+(?=[^\s)\d])", _MINUS_RE.pattern))
        p.remove_plugin_class(qparser.BoostPlugin)  # '^' is rare in news text, keep it literal
        # Vietnamese headlines put words in single quotes for emphasis ('thi gan', 'cháu đã
        # sai'): they are punctuation, not syntax. Phrases are "double-quoted".
        p.remove_plugin_class(qparser.SingleQuotePlugin)
        p.add_plugin(qparser.GtLtPlugin())
        # Field names in any case ("Title:" from a phone keyboard), and "tags:" as in JSON.
        aliases = {name: [name.capitalize(), name.upper()]
                   for name in ("title", "author", "tag", "date")}  # fmt: skip
        aliases["tag"] += ["tags", "Tags", "TAGS"]
        p.add_plugin(qparser.FieldAliasPlugin(aliases))
        _parser = p
    return _parser


def parse(text: str, sections=None):
    """Parse a user query into a Whoosh query; returns ``(query, QueryTerms)``.

    ``sections`` restricts free text to some sections (e.g. to leave the title out)."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"query is {len(text)} characters long; the limit is {MAX_QUERY_CHARS}")
    stripped = text.strip()
    if not stripped:
        raise QueryError("empty query")
    typed = _LONE_WILDCARD_RE.sub(" ", _QUESTION_MARK_RE.sub("", stripped))
    builder = _Builder(tuple(sections or SECTION_BOOST), typed)
    try:
        parsed = _get_parser().parse(typed)
    except Exception as e:  # whoosh's parser errors are not one class
        why = "too deeply nested" if isinstance(e, RecursionError) else e
        raise QueryError(f"cannot parse query {_shown(text)}: {why}") from None
    result = builder.convert(parsed)
    if (result is None or result is q.NullQuery) and _MINUS_RE.search(typed):
        # Only excluded words: whoosh drops them all; mean what "NOT word" means.
        negated = _MINUS_RE.sub("NOT ", typed)
        builder = _Builder(tuple(sections or SECTION_BOOST), negated)
        result = builder.convert(_get_parser().parse(negated))
    if result is None or result is q.NullQuery:
        raise QueryError(f"query {_shown(text)} has no searchable words")
    return result, builder.terms


def _shown(text: str, limit: int = 60) -> str:
    """``text`` quoted for a one-line error message, long queries cut in the middle."""
    if len(text) > limit:
        text = text[: limit // 2] + " … " + text[-limit // 2 :]
    return repr(text)


class _Builder:
    def __init__(self, sections: tuple[str, ...], text: str = ""):
        self.sections = sections
        self.text = text  # what was typed: runs of words are cut from it (see _run_text)
        self.terms = QueryTerms()
        self.negated = False  # inside NOT / -word: match what was typed, not its folded form
        self.fuzzy_words = 0

    # -- tree walk -------------------------------------------------------------------------
    def convert(self, node):
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
                return self._phrase(node.fieldname, str(node.text), self._slop_after(node))
            return self._text(node.fieldname, str(node.text), node.boost)
        if node is q.NullQuery or isinstance(node, q.Every):
            return None
        raise QueryError(f"unsupported query part: {node!r}")

    def _slop_after(self, node) -> int:
        """The slop typed after a quoted phrase (``"tổ đảng"~2``): the parse schema turns the
        phrase into one Term, which loses it."""
        end = getattr(node, "endchar", None)
        m = _SLOP_RE.match(self.text, end) if end is not None else None
        return min(int(m.group(1)), MAX_SLOP) if m else 1

    def _negative(self, node):
        was, self.negated = self.negated, True
        t = self.terms
        seen = len(t.syllables), len(t.wildcards), len(t.fuzzy), len(t.phrases)
        try:
            return self.convert(node)
        finally:
            self.negated = was
            # excluded words are not highlighted or corrected
            del t.syllables[seen[0]:], t.wildcards[seen[1]:], t.fuzzy[seen[2]:]
            del t.phrases[seen[3]:]

    def _compound(self, node):
        """Merge runs of plain free-text words so they are segmented together."""
        out = []
        run: list = []
        run_field = None

        def flush():
            nonlocal run, run_field
            if run:
                sub = self._text(run_field, self._run_text(run))
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
                run.append(child)
                run_field = child.fieldname
                continue
            flush()
            if plain:
                run.append(child)
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
            if len(banned) > 1 and not kept:  # "-vàng -bạc": neither, not either
                return q.Not(q.Or(banned))
        if len(out) == 1:
            return out[0]
        if isinstance(node, q.And):
            return q.And(out)
        return q.Or(out, scale=COORDINATION)

    def _run_text(self, run) -> str:
        """The words of a run as typed, repeats included.

        Whoosh's parser drops a repeated word from an ``Or`` ("giấu xác trong thùng" after an
        earlier "trong" loses its "trong"), which would change the words pyvi sees and the
        adjacent pairs; the typed text between the run's words puts them back."""
        words = [str(run[0].text)]
        for prev, node in zip(run, run[1:]):
            end, start = getattr(prev, "endchar", None), getattr(node, "startchar", None)
            if end is not None and start is not None and 0 <= end <= start <= len(self.text):
                words += [w for w in self.text[end:start].split() if _is_plain_word(w)]
            words.append(str(node.text))
        return " ".join(words)

    # -- leaves ----------------------------------------------------------------------------
    def _sections_for(self, fieldname: str) -> tuple[str, ...]:
        return ("title",) if fieldname == "title" else self.sections

    def _text(self, fieldname: str, text: str, boost: float = 1.0, whole: bool = True):
        """Free text (one or more words) in text sections, author or tag.

        ``whole=False``: only the words' FreeText, never the phrase a single split word gets."""
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
        ascii_only = all(s == fold(s) for s in syllables)
        self.terms.syllables.extend(syllables)
        self.terms.ascii_only = self.terms.ascii_only or ascii_only
        words = [t.word for t in tokens]
        pairs = [f"{a}_{b}" for a, b in zip(folded, folded[1:])]
        # The same terms as a plain Whoosh Or (what vnsearch.search.rank scores, it scores better).
        # Imported here: rank imports this module (the query/ranking cycle issue 14 removes).
        from vnsearch.search.rank import form_weights


        weight = form_weights(ascii_only, self.negated)
        subs: list[q.Query] = []
        for sec in self._sections_for(fieldname):
            sb = SECTION_BOOST[sec]
            for suffix, terms in (("_w", words), ("", syllables), ("_f", folded), ("_fb", pairs)):
                if weight.get(suffix):
                    subs += [q.Term(sec + suffix, t, boost=sb * weight[suffix])
                             for t in dict.fromkeys(terms)]
        if fieldname != "title" and not self.negated:
            subs += [q.Term("tags", f, boost=TAG_BOOST) for f in dict.fromkeys(folded)]
        FreeText = _free_text_class()
        info = dict(
            words=words, syllables=syllables, folded=folded, pairs=pairs,
            ascii_only=ascii_only, sections=self._sections_for(fieldname),
            negated=self.negated, with_tags=fieldname != "title", tag_key="_".join(folded),
        )
        one_typed_word = len(text.split()) == 1
        if whole and one_typed_word and len(syllables) > 1 and fieldname in ("text", "title"):
            # One typed "word" that analysis split (COVID-19, 1/6/2023, 18-NQ/TW): the parts
            # must appear together, as a phrase.
            # (q.And, not q.Require: whoosh's RequireMatcher.skip_to_quality trips an assertion.)
            seen = len(self.terms.syllables)
            phrase = self._phrase(fieldname, text, 1)
            del self.terms.syllables[seen:]  # already recorded above
            if phrase is None:
                return None
            return q.And([FreeText(subs, boost=boost, **info), phrase])
        return FreeText(subs, boost=boost, scale=COORDINATION if len(tokens) > 1 else None, **info)

    def _phrase(self, fieldname: str, text: str, slop: int = 1):
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
        ascii_only = all(s == fold(s) for s in exact)
        self.terms.syllables.extend(exact)
        if len(folded) > 1 and slop <= 1:  # side by side: highlighted only together
            self.terms.phrases.append(tuple(folded))
        self.terms.ascii_only = self.terms.ascii_only or ascii_only
        subs: list[q.Query] = []
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
        found = q.Or(subs)
        # Whoosh finds the documents with the phrase; vnsearch.search.rank scores its words.
        seen = len(self.terms.syllables)
        found.vn_text = self._text(fieldname, text, whole=False)  # type: ignore[attr-defined]
        del self.terms.syllables[seen:]
        return found

    def _tag(self, text: str):
        key = key_form(text)
        return q.Term("tags", key) if key else None

    def _fuzzy(self, node):
        word = syllable_form(normalize(str(node.text)).strip())
        if not word:  # "\u200b~": nothing left to be fuzzy about (whoosh would crash)
            return None
        self.fuzzy_words += 1
        if self.fuzzy_words > MAX_FUZZY_WORDS:
            raise QueryError(f"too many fuzzy (~) words: the limit is {MAX_FUZZY_WORDS}")
        folded = fold(word)
        self.terms.syllables.append(word)
        self.terms.fuzzy.append((word, node.maxdist))
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
        self.terms.wildcards.append(pattern)
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
        if node.fieldname != "date":
            raise QueryError(f"ranges are supported on date: only, not {node.fieldname}:")
        # A partial date is a period: excluding it ("date:>2023-10", "date:<2023") excludes
        # all of it, so an exclusive start is its last day and an exclusive end its first.
        start = _date_bound(node.start, low=not node.startexcl) if node.start else None
        end = _date_bound(node.end, low=node.endexcl) if node.end else None
        return q.TermRange("date", start, end, startexcl=node.startexcl, endexcl=node.endexcl)


def _free_text_class():
    cls = globals().get("FreeText")
    if cls is not None:
        return cls

    class FreeText(q.Or):
        """A run of plain words, as a Whoosh ``Or`` over every (field, term) it may match,
        plus the analysed forms :mod:`vnsearch.search.rank` scores with BM25F."""

        def __init__(self, subqueries, boost=1.0, minmatch=0, scale=None, **info):
            super().__init__(subqueries, boost=boost, minmatch=minmatch, scale=scale)
            self.words = info.get("words", [])
            self.syllables = info.get("syllables", [])
            self.folded = info.get("folded", [])
            self.pairs = info.get("pairs", [])
            self.ascii_only = info.get("ascii_only", False)
            self.sections = info.get("sections", tuple(SECTION_BOOST))
            self.negated = info.get("negated", False)
            self.with_tags = info.get("with_tags", True)
            self.tag_key = info.get("tag_key", "")

    globals()["FreeText"] = FreeText
    return FreeText


def __getattr__(name):
    # FreeText subclasses a Whoosh class: built on first use so importing this module
    # does not import Whoosh.
    if name == "FreeText":
        return _free_text_class()
    raise AttributeError(name)


_OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "REQUIRE"}


def _is_plain_word(word: str) -> bool:
    """A typed word the parser would have read as a plain term (not syntax)."""
    return (
        word not in _OPERATORS
        and not any(c in word for c in '"\'():*?~[]{}^')
        and word[0] not in "+-"
    )


def _is_quoted_phrase(node) -> bool:
    """The parse schema keeps a quoted phrase whole, as one Term with spaces in it."""
    return len(str(node.text).split()) > 1


def fieldname_is_meta(name: str) -> bool:
    return name in ("author", "tag", "date")


def _valid_date(value):
    """The match of a YYYY[-MM[-DD]] date that exists (2023-13-45 does not), or None."""
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
    if not since and not until:
        return None
    lo = _date_bound(since, True) if since else None
    hi = _date_bound(until, False) if until else None
    if lo and hi and lo > hi:
        raise QueryError(f"--since {since} is after --until {until}")
    return q.TermRange("date", lo, hi)
