"""From what a user types to vnsearch's query nodes.

Whoosh's parser handles the syntax (words, ``"phrases"``, ``AND``/``OR``/``NOT``/``-word``,
parentheses, ``field:value``, ranges, ``*`` and ``~``); its tree is then converted into the
typed nodes below, which :mod:`vnsearch.search.rank` scores. Plain words are re-joined and
analysed together as Vietnamese text, because pyvi segments a phrase, not isolated syllables:
each run becomes one :class:`Words` node holding every form of its words the index has (pyvi
words, syllables, folded syllables, folded adjacent pairs).

The nodes say *what* is asked, never how it is weighted: weights live in the ranker, and
Whoosh query objects are built only there, for the parts Whoosh executes (fuzzy words,
wildcards, date ranges, author and tag terms).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field

from vnsearch.codec.schema import key_form
from vnsearch.errors import QueryError
from vnsearch.text.acronyms import typed_acronym
from vnsearch.text.analysis import analyze, syllable_form
from vnsearch.text.forms import SECTIONS
from vnsearch.text.normalize import fold, normalize

MAX_QUERY_CHARS = 2000
#: Fuzzy words ("vàmg~") per query: each one scans the term dictionary in Python (about
#: 0.05-0.1 s on a few thousand articles, more on larger indexes).
MAX_FUZZY_WORDS = 10
MAX_SLOP = 100

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
_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
_META_FIELDS = ("author", "tag", "date")
_OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "REQUIRE"}


# -- the query model ------------------------------------------------------------------------
@dataclass
class Words:
    """A run of plain words in text sections, in every form the index holds: pyvi ``words``,
    ``syllables`` (lower-cased), ``folded`` syllables and folded adjacent ``pairs``.

    ``sizes``: how many syllables each pyvi word has; ``acronyms``: the key of each word
    typed as an acronym (``UBND`` → ``ubnd``; "" for other words).
    ``ascii_only``: typed without any diacritic. ``negated``: inside ``NOT``/``-word`` (match
    the forms as typed only). ``with_tags``: the words may also match a tag (``tag_key``).
    ``query_syllables``: how many syllables the query scores in all (a long query split by a
    quoted phrase is still a long query)."""

    words: list[str]
    syllables: list[str]
    folded: list[str]
    pairs: list[str]
    ascii_only: bool
    sections: tuple[str, ...]
    negated: bool = False
    with_tags: bool = True
    tag_key: str = ""
    sizes: list[int] = field(default_factory=list)
    acronyms: list[str] = field(default_factory=list)
    query_syllables: int = 0


@dataclass
class Phrase:
    """Syllables in order in text sections, each within ``slop`` positions of the previous
    one; ``folded``: matched on the diacritic-free syllables. Found on positions, scored as
    its :class:`Words`."""

    terms: list[str]
    folded: bool
    slop: int
    sections: tuple[str, ...]
    words: Words


@dataclass
class FieldTerm:
    """One term of a metadata field: ``author``, ``tags``, ``date``, ``month`` or ``year``."""

    field: str
    text: str


@dataclass
class FieldPhrase:
    """Terms in order in a metadata field (an author's name)."""

    field: str
    terms: list[str]
    slop: int = 1


@dataclass
class Fuzzy:
    """A word within ``maxdist`` edits (first letter fixed), exact or diacritic-free."""

    word: str
    folded: str
    maxdist: int
    sections: tuple[str, ...]


@dataclass
class Wildcard:
    """A ``*``/``?`` pattern: on text sections (``folded``: a pattern typed without
    diacritics, matched on folded syllables), or on one metadata ``field``."""

    pattern: str
    sections: tuple[str, ...] = ()
    folded: bool = False
    field: str | None = None


@dataclass
class DateRange:
    """Dates between ``start`` and ``end`` (``YYYY-MM-DD``, None: open)."""

    start: str | None
    end: str | None
    startexcl: bool = False
    endexcl: bool = False


@dataclass
class AllOf:
    """Every part must match; scores add up."""

    parts: list


@dataclass
class AnyOf:
    """Any part may match; ``coordinated``: documents matching more parts rank higher."""

    parts: list
    coordinated: bool = False


@dataclass
class Not:
    """Documents not matching ``part`` (scores nothing)."""

    part: object


@dataclass
class AndNot:
    """``positive`` without ``negative``."""

    positive: object
    negative: object


@dataclass
class AndMaybe:
    """``required``; ``optional`` only adds to the score."""

    required: object
    optional: object


@dataclass
class Require:
    """``required``, restricted to documents that also match ``also`` (which scores nothing)."""

    required: object
    also: object


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


# -- parsing --------------------------------------------------------------------------------
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
        from whoosh import qparser  # lazily: Whoosh's import is most of a cold start

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


def parse(text: str, sections: tuple[str, ...] | None = None):
    """Parse a user query into query nodes; returns ``(node, QueryTerms)``.

    ``sections`` restricts free text to some sections (e.g. to leave the title out)."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"query is {len(text)} characters long; the limit is {MAX_QUERY_CHARS}")
    stripped = text.strip()
    if not stripped:
        raise QueryError("empty query")
    typed = _LONE_WILDCARD_RE.sub(" ", _QUESTION_MARK_RE.sub("", stripped))
    sections = tuple(sections or SECTIONS)
    builder = _Builder(sections, typed)
    try:
        parsed = _get_parser().parse(typed)
    except Exception as e:  # whoosh's parser errors are not one class
        why = "too deeply nested" if isinstance(e, RecursionError) else e
        raise QueryError(f"cannot parse query {_shown(text)}: {why}") from None
    result = builder.convert(parsed)
    if result is None and _MINUS_RE.search(typed):
        # Only excluded words: whoosh drops them all; mean what "NOT word" means.
        negated = _MINUS_RE.sub("NOT ", typed)
        builder = _Builder(sections, negated)
        result = builder.convert(_get_parser().parse(negated))
    if result is None:
        raise QueryError(f"query {_shown(text)} has no searchable words")
    scored = list(scored_words(result))
    total = sum(len(w.folded) for w in scored)
    for words in scored:
        words.query_syllables = total
    return result, builder.terms


def scored_words(node):
    """The :class:`Words` a query node scores (not those it excludes)."""
    if isinstance(node, Words):
        yield node
    elif isinstance(node, Phrase):
        yield node.words
    elif isinstance(node, (AllOf, AnyOf)):
        for part in node.parts:
            yield from scored_words(part)
    elif isinstance(node, AndNot):
        yield from scored_words(node.positive)
    elif isinstance(node, (AndMaybe, Require)):
        yield from scored_words(node.required)
        if isinstance(node, AndMaybe):
            yield from scored_words(node.optional)


def _shown(text: str, limit: int = 60) -> str:
    """``text`` quoted for a one-line error message, long queries cut in the middle."""
    if len(text) > limit:
        text = text[: limit // 2] + " … " + text[-limit // 2 :]
    return repr(text)


class _Builder:
    """Converts Whoosh's parse tree into query nodes, recording :class:`QueryTerms`."""

    def __init__(self, sections: tuple[str, ...], text: str = ""):
        self.sections = sections
        self.text = text  # what was typed: runs of words are cut from it (see _run_text)
        self.terms = QueryTerms()
        self.negated = False  # inside NOT / -word: match what was typed, not its folded form
        self.fuzzy_words = 0

    # -- tree walk -------------------------------------------------------------------------
    def convert(self, node):
        from whoosh import query as q

        if isinstance(node, (q.And, q.Or, q.DisjunctionMax)):
            return self._compound(node)
        if isinstance(node, (q.Not, q.AndNot, q.AndMaybe, q.Require)):
            return self._binary(node)
        if isinstance(node, q.Phrase):
            return self._phrase(node.fieldname, " ".join(node.words), node.slop)
        if isinstance(node, q.FuzzyTerm):
            return self._fuzzy(node)
        if isinstance(node, (q.Wildcard, q.Prefix)):
            return self._wildcard(node, isinstance(node, q.Prefix))
        if isinstance(node, (q.TermRange, q.NumericRange)):
            return self._range(node)
        if isinstance(node, q.Term):
            if _is_quoted_phrase(node):
                return self._phrase(node.fieldname, str(node.text), self._slop_after(node))
            return self._text(node.fieldname, str(node.text))
        if node is q.NullQuery or isinstance(node, q.Every):
            return None
        raise QueryError(f"unsupported query part: {node!r}")

    def _binary(self, node):
        from whoosh import query as q

        if isinstance(node, q.Not):
            inner = self._negative(node.query)
            return Not(inner) if inner is not None else None
        if isinstance(node, q.AndNot):
            a, b = self.convert(node.a), self._negative(node.b)
            if a is None:
                return None
            return AndNot(a, b) if b is not None else a
        a, b = self.convert(node.a), self.convert(node.b)
        if isinstance(node, q.AndMaybe):
            if a is None:
                return b
            return AndMaybe(a, b) if b is not None else a
        if a is None or b is None:  # Require
            return a or b
        return Require(a, b)

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
        from whoosh import query as q

        out = []
        run: list = []
        for child in node.subqueries:
            plain = (
                type(child) is q.Term
                and child.fieldname in ("text", "title")
                and not _is_quoted_phrase(child)
            )
            if plain and isinstance(node, q.Or) and (not run or _same_field(run[0], child)):
                run.append(child)
                continue
            self._flush(run, out, _start(child))
            run = [child] if plain else []
            if plain:
                self._flush(run, out, _start(child))
                run = []
                continue
            sub = self.convert(child)
            if sub is not None:
                out.append(sub)
        self._flush(run, out)
        if not out:
            return None
        if isinstance(node, q.Or):
            return _any_of(out)
        if len(out) == 1:
            return out[0]
        return AllOf(out) if isinstance(node, q.And) else AnyOf(out, coordinated=True)

    def _flush(self, run: list, out: list, bound: int | None = None) -> None:
        if run:
            sub = self._text(run[0].fieldname, self._run_text(run, bound))
            if sub is not None:
                out.append(sub)

    def _run_text(self, run, bound: int | None = None) -> str:
        """The words of a run as typed, repeats included.

        Whoosh's parser drops a repeated word from an ``Or`` ("giấu xác trong thùng" after an
        earlier "trong" loses its "trong"; "lũ quét lũ" its last "lũ"), which would change the
        words pyvi sees and the adjacent pairs; the typed text between the run's words, and
        after its last one up to ``bound`` (where the next part of the query starts) or the
        first operator, group or phrase, puts them back."""
        words = [str(run[0].text)]
        for prev, node in zip(run, run[1:]):
            end, start = getattr(prev, "endchar", None), getattr(node, "startchar", None)
            if end is not None and start is not None and 0 <= end <= start <= len(self.text):
                words += [w for w in self.text[end:start].split() if _is_plain_word(w)]
            words.append(str(node.text))
        end = getattr(run[-1], "endchar", None)
        stop = len(self.text) if bound is None else bound
        if end is not None and 0 <= end <= stop <= len(self.text):
            for w in self.text[end:stop].split():
                closed = w.rstrip(")")
                if closed and _is_plain_word(closed):
                    words.append(closed)
                if closed != w or not _is_plain_word(w):
                    break  # a group closes, or syntax: the run ends here
        return " ".join(words)

    # -- leaves ----------------------------------------------------------------------------
    def _sections_for(self, fieldname: str) -> tuple[str, ...]:
        return ("title",) if fieldname == "title" else self.sections

    def _text(self, fieldname: str, text: str, whole: bool = True):
        """Free text (one or more words) in text sections, author or tag.

        ``whole=False``: only the words, never the phrase a single split word gets."""
        if fieldname in _META_FIELDS:
            return self._phrase(fieldname, text, 1)
        tokens = analyze(text).tokens
        if not tokens:
            return None
        syllables = [s.text for t in tokens for s in t.syllables]
        folded = [s.folded for t in tokens for s in t.syllables]
        ascii_only = all(s == fold(s) for s in syllables)
        self.terms.syllables.extend(syllables)
        self.terms.ascii_only = self.terms.ascii_only or ascii_only
        words = Words(
            words=[t.word for t in tokens], syllables=syllables, folded=folded,
            pairs=[f"{a}_{b}" for a, b in zip(folded, folded[1:])], ascii_only=ascii_only,
            sections=self._sections_for(fieldname), negated=self.negated,
            with_tags=fieldname != "title", tag_key="_".join(folded),
            sizes=[len(t.syllables) for t in tokens],
            acronyms=[typed_acronym(t.text) for t in tokens],
        )
        if whole and len(text.split()) == 1 and len(syllables) > 1:
            # One typed "word" that analysis split (COVID-19, 1/6/2023, 18-NQ/TW): the parts
            # must appear together, as a phrase.
            seen = len(self.terms.syllables)
            phrase = self._phrase(fieldname, text, 1)
            del self.terms.syllables[seen:]  # already recorded above
            return None if phrase is None else AllOf([words, phrase])
        return words

    def _phrase(self, fieldname: str, text: str, slop: int = 1):
        if fieldname == "tag":
            return self._tag(text)
        if fieldname == "date":
            return self._date_prefix(text)
        syls = [s for t in analyze(text).tokens for s in t.syllables]
        if not syls:
            return None
        if fieldname == "author":
            return _author(text)
        exact = [s.text for s in syls]
        folded = [s.folded for s in syls]
        ascii_only = all(s == fold(s) for s in exact)
        self.terms.syllables.extend(exact)
        if len(folded) > 1 and slop <= 1:  # side by side: highlighted only together
            self.terms.phrases.append(tuple(folded))
        self.terms.ascii_only = self.terms.ascii_only or ascii_only
        # Found on positions; its words score like any other words, so documents matched by the
        # rest of the query still earn them.
        seen = len(self.terms.syllables)
        words = self._text(fieldname, text, whole=False)
        del self.terms.syllables[seen:]
        return Phrase(folded if ascii_only else exact, ascii_only, max(1, slop),
                      self._sections_for(fieldname), words)

    def _tag(self, text: str):
        key = key_form(text)
        return FieldTerm("tags", key) if key else None

    def _fuzzy(self, node):
        word = syllable_form(normalize(str(node.text)).strip())
        if not word:  # "\u200b~": nothing left to be fuzzy about (whoosh would crash)
            return None
        self.fuzzy_words += 1
        if self.fuzzy_words > MAX_FUZZY_WORDS:
            raise QueryError(f"too many fuzzy (~) words: the limit is {MAX_FUZZY_WORDS}")
        self.terms.syllables.append(word)
        self.terms.fuzzy.append((word, node.maxdist))
        return Fuzzy(word, fold(word), node.maxdist, self._sections_for(node.fieldname))

    def _wildcard(self, node, prefix: bool):
        pattern = normalize(str(node.text)).lower() + ("*" if prefix else "")
        if node.fieldname in _META_FIELDS:
            if node.fieldname == "date":
                return Wildcard(pattern, field="date")
            return Wildcard(fold(pattern), field="author" if node.fieldname == "author" else "tags")
        if len(pattern.replace("*", "").replace("?", "")) < 2:
            raise QueryError(f"wildcard {node.text!r} is too broad: give at least 2 letters")
        self.terms.wildcards.append(pattern)
        sections = self._sections_for(node.fieldname)
        return Wildcard(pattern, sections, folded=fold(pattern) == pattern)

    def _date_prefix(self, text: str):
        m = _valid_date(text)
        if not m:
            raise QueryError(f"bad date {text!r}: use YYYY, YYYY-MM or YYYY-MM-DD")
        y, mo, d = m.groups()
        if d:
            return FieldTerm("date", f"{y}-{int(mo):02d}-{int(d):02d}")
        if mo:
            return FieldTerm("month", f"{y}-{int(mo):02d}")
        return FieldTerm("year", y)

    def _range(self, node):
        if node.fieldname != "date":
            raise QueryError(f"ranges are supported on date: only, not {node.fieldname}:")
        # A partial date is a period: excluding it ("date:>2023-10", "date:<2023") excludes
        # all of it, so an exclusive start is its last day and an exclusive end its first.
        start = _date_bound(node.start, low=not node.startexcl) if node.start else None
        end = _date_bound(node.end, low=node.endexcl) if node.end else None
        return DateRange(start, end, node.startexcl, node.endexcl)


def _any_of(parts: list):
    """An ``OR`` group: "vàng NOT bạc" means vàng without bạc (as in Lucene), not "vàng, or
    anything without bạc"; "-vàng -bạc" means neither, not either."""
    banned = [p.part for p in parts if isinstance(p, Not)]
    kept = [p for p in parts if not isinstance(p, Not)]
    if banned and kept:
        positive = kept[0] if len(kept) == 1 else AnyOf(kept, coordinated=True)
        return AndNot(positive, banned[0] if len(banned) == 1 else AnyOf(banned))
    if len(banned) > 1 and not kept:
        return Not(AnyOf(banned))
    return parts[0] if len(parts) == 1 else AnyOf(parts, coordinated=True)


def _author(text: str):
    parts = [p for p in key_form(text).split("_") if p]
    if not parts:
        return None
    if len(parts) == 1:
        return FieldTerm("author", parts[0])
    return FieldPhrase("author", parts, slop=1)


def _start(node) -> int | None:
    """Where a Whoosh query node starts in the typed text (its first leaf), if known."""
    starts = [s for s in (getattr(leaf, "startchar", None) for leaf in node.leaves())
              if s is not None]
    return min(starts) if starts else None


def _same_field(a, b) -> bool:
    return bool(a.fieldname == b.fieldname)


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


def date_filter(since: str | None, until: str | None) -> DateRange | None:
    """The filter of ``--since``/``--until`` (inclusive ISO dates or None)."""
    if not since and not until:
        return None
    lo = _date_bound(since, True) if since else None
    hi = _date_bound(until, False) if until else None
    if lo and hi and lo > hi:
        raise QueryError(f"--since {since} is after --until {until}")
    return DateRange(lo, hi)


def filters(author, tag, since, until):
    """The node of ``--author``, ``--tag`` (a value or a list: any of them), ``--since`` and
    ``--until``, all required; None without any."""
    parts = []
    for name, values in (("author", author), ("tags", tag)):
        if not values:
            continue
        if isinstance(values, str):
            values = [values]
        alts = []
        for v in values:
            key = key_form(v)
            if not key:
                raise QueryError(f"empty --{'tag' if name == 'tags' else name} value")
            if name == "tags":
                alts.append(FieldTerm("tags", key))
            else:
                words = key.split("_")
                alts.append(FieldPhrase("author", words) if len(words) > 1
                            else FieldTerm("author", key))
        parts.append(AnyOf(alts) if len(alts) > 1 else alts[0])
    dates = date_filter(since, until)
    if dates is not None:
        parts.append(dates)
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else AllOf(parts)
