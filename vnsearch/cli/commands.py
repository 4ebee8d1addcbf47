"""The ``vnsearch`` command: a thin click layer over :class:`vnsearch.Index`.

Exit codes are those of :mod:`vnsearch.errors` (the README's table).
"""

from __future__ import annotations

import functools
import os
import sys

import click

from vnsearch import __version__
from vnsearch.errors import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_NO_RESULTS,
    EXIT_OK,
    OutputError,
    VnsearchError,
)
from vnsearch.search.results import MAX_LIMIT, check_fields
from vnsearch.serve.command import serve_cmd
from vnsearch.text.normalize import display_name

DEFAULT_CORPUS = "seeds"


def _out(text: str, color: bool | None = None) -> None:
    """A line on standard output; one that cannot be written (a full disk, ``>/dev/full``)
    is an :class:`OutputError`, reported on stderr only."""
    try:
        click.echo(text, color=color)
    except BrokenPipeError:
        raise
    except OSError as e:
        raise OutputError(f"cannot write the output: {e.strerror or e}") from None


def _echo_json(obj) -> None:
    from vnsearch.cli.render import dumps

    _out(dumps(obj))


def _echo_text(text: str, color: bool) -> None:
    # color=True: click would otherwise strip our codes when stdout is not a terminal,
    # and --color always is for exactly that case (less -R, tests).
    _out(text, color=color or None)


def handle_errors(fn):
    """One line on stderr (and a JSON error object under --json), never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except OutputError as e:
            _silence_stdout()  # what could not be written must not be tried again at exit
            _fail(str(e), e.exit_code, False)
        except VnsearchError as e:
            _fail(str(e), e.exit_code, _wants_json(kwargs))
        except KeyboardInterrupt:
            click.echo("vnsearch: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except BrokenPipeError:
            # The reader went away (`| head -1`): stop quietly with the exit code the command
            # had settled on (click would exit 1, "no results", whatever the outcome).
            _silence_stdout()
            ctx = click.get_current_context(silent=True)
            sys.exit(ctx.meta.get(_OUTCOME, 0) if ctx else 0)
        except OSError as e:  # the system's refusal (disk full, permissions...): not a bug
            where = f": {e.filename}" if e.filename else ""
            _fail(f"{e.strerror or e}{where}", EXIT_ERROR, _wants_json(kwargs))

    return wrapper


_OUTCOME = "vnsearch.exit_code"


def _settle(code: int) -> int:
    """Record the exit code a command ends with, before it prints: a reader that leaves early
    does not change it."""
    click.get_current_context().meta[_OUTCOME] = code
    return code


def _wants_json(kwargs: dict) -> bool:
    return bool(kwargs.get("as_json") or kwargs.get("as_jsonl"))


def _fail(message: str, code: int, as_json: bool):
    """Report an error: one line on stderr (and a JSON object on stdout), then exit ``code``."""
    try:
        if as_json:
            try:
                _echo_json({"error": message, "exit_code": code})
            except OutputError:  # stdout is full as well: stderr still says it
                _silence_stdout()
        click.echo(f"vnsearch: error: {display_name(message)}", err=True)
    except BrokenPipeError:  # nobody is reading (`2>&1 | head -0`): the exit code still says it
        _silence_stdout()
    sys.exit(code)


def _utf8(ctx, param, value):
    """Reject arguments that are not UTF-8 text (bytes from a Latin-1 terminal reach Python as
    lone surrogates, which no output could encode)."""
    for v in value if isinstance(value, tuple) else (value,):
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                raise click.BadParameter("not UTF-8 text (check the terminal's encoding)") from None
    return value


def index_option(fn):
    return click.option(
        "--index", "index_dir", metavar="DIR", default=None,
        help="Index directory (default: $VNSEARCH_INDEX or ./index).",
    )(fn)


def color_option(fn):
    return click.option(
        "--color", type=click.Choice(["auto", "always", "never"]), default="auto",
        show_default=True, help="auto: on a terminal, unless NO_COLOR is set.",
    )(fn)


def _open_index(index_dir):
    from vnsearch.index import Index, default_index_dir

    return Index.open(index_dir or default_index_dir())


class _Group(click.Group):
    """click's group, with its usage errors (a bad option value, an unknown option) reported like
    every other error: one line on stderr, and a JSON error object on stdout under
    ``--json``/``--jsonl``, exit 2."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        argv = list(sys.argv[1:] if args is None else args)
        try:
            rv = super().main(argv, prog_name, complete_var, False, **extra)
        except click.ClickException as e:
            if isinstance(e, getattr(click.exceptions, "NoArgsIsHelpError", ())):
                e.show()  # plain `vnsearch`: the help text, as click prints it
                sys.exit(e.exit_code)
            message = " ".join(e.format_message().split())
            ctx = getattr(e, "ctx", None)
            if isinstance(e, click.NoSuchOption) and ctx and ctx.command.name == "search":
                message += (" A query starting with '-' goes last, after '--': "
                            "vnsearch search [OPTIONS] -- '-word ...'.")
            if ctx is not None:
                message += f" (see '{ctx.command_path} --help')"
            _fail(message, e.exit_code, "--json" in argv or "--jsonl" in argv)
        except click.Abort:
            click.echo("vnsearch: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        sys.exit(rv if isinstance(rv, int) else 0)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vnsearch")
def cli():
    """Full-text search for Vietnamese press releases and news articles."""


# -- index --------------------------------------------------------------------------------
@cli.command("index")
@click.argument("paths", nargs=-1, type=click.Path())
@index_option
@click.option("--rebuild", is_flag=True, help="Start the index over.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Worker processes for analysis (default: all cores).")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, metavar="N",
              help="Documents per commit; an interrupted run keeps every committed batch "
                   "(default 4000).")
@click.option("--lock-timeout", type=click.FloatRange(min=0), default=30.0, show_default=True,
              metavar="SECONDS", help="How long to wait for another indexer to finish.")
@click.option("--max-file-size", type=click.IntRange(min=1), default=None, metavar="BYTES",
              help="Skip files larger than this, and JSON Lines records (streamed: the "
                   "file may be any size) (default 50 MB).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar, no per-file warnings.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
@handle_errors
def index_cmd(paths, index_dir, rebuild, jobs, batch_size, lock_timeout, max_file_size, quiet,
              as_json):
    """Index files and folders (default: ./seeds), or '-': JSON Lines (or one document) from
    standard input. Re-runs only analyse new and changed files, and remove documents of files
    deleted under the given folders.

    \b
    Reads .txt .md .json .jsonl (.gz too) .docx .odt .pdf .html .rtf .doc.
    Exit codes: 0 everything indexed; 3 some files failed, the rest was indexed;
    2 nothing indexed from what was named (each reason is printed), or nothing could be
    done (no index, locked, incompatible version: use --rebuild).
    """
    from vnsearch.index import Index, default_index_dir
    from vnsearch.ingest.walk import EXTENSIONS

    paths = list(paths) or [DEFAULT_CORPUS]
    stdin = "-" in paths
    if stdin and len(paths) > 1:
        raise VnsearchError("'-' (standard input) cannot be mixed with paths: index it alone")
    if not stdin and not any(os.path.lexists(p) for p in paths):  # before an index is made
        raise VnsearchError(f"nothing to index: {', '.join(map(repr, paths))} not found")
    path = index_dir or default_index_dir()
    bar = None if quiet else _progress_bar()
    try:
        with Index.lock(path, lock_timeout):  # a --rebuild is not interleaved with another run
            ix = Index.create(path, overwrite=rebuild, lock_timeout=lock_timeout)
            ix.batch_size = batch_size
            if stdin:
                report = ix.add_stream(sys.stdin.buffer, jobs=jobs, max_size=max_file_size,
                                       progress=bar.update if bar else None)
            else:
                report = ix.index_paths(paths, jobs=jobs, max_file_size=max_file_size,
                                        progress=bar.update if bar else None)
    finally:
        if bar:
            bar.close()
    code = _settle(report.exit_code)
    if not quiet:
        for p in report.problems:
            click.echo(f"vnsearch: {p.severity}: {display_name(str(p))}", err=True)
    click.echo(f"vnsearch: {report.summary()}", err=True)
    if report.nothing_indexed:
        reason = str(report.problems[0]) if report.problems else (
            "no file vnsearch reads (" + " ".join(EXTENSIONS) + ")")
        named = "standard input" if stdin else ", ".join(paths)
        click.echo(f"vnsearch: nothing indexed from {named}: {reason}", err=True)
    if as_json:
        _echo_json(report.to_dict())
    sys.exit(code)


def _progress_bar():
    """A progress bar on a terminal (stderr), None when piped."""
    if not sys.stderr.isatty():
        return None
    from vnsearch.cli.progress import ProgressBar

    return ProgressBar()


# -- search -------------------------------------------------------------------------------
def _split_csv(value):
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


@cli.command("search")
@click.argument("query", nargs=-1, callback=_utf8)
@index_option
@click.option("-n", "--limit", type=click.IntRange(min=0), default=10, show_default=True,
              help=f"Hits to print (at most {MAX_LIMIT}).")
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True,
              help="Skip this many hits first (paging).")
@click.option("--sort", type=click.Choice(["relevance", "date", "-date"]), default="relevance",
              show_default=True, help="date: oldest first; -date: newest first.")
@click.option("--author", multiple=True, callback=_utf8,
              help="Only this author (accents and case ignored; repeat for any of several).")
@click.option("--tag", multiple=True, callback=_utf8,
              help="Only documents with this tag (repeat for any of several).")
@click.option("--since", metavar="YYYY-MM-DD", callback=_utf8,
              help="Only documents dated on or after (YYYY or YYYY-MM: its first day).")
@click.option("--until", metavar="YYYY-MM-DD", callback=_utf8,
              help="Only documents dated on or before (YYYY or YYYY-MM: its last day).")
@click.option("--where", multiple=True, callback=_utf8, metavar="FIELD=VALUE",
              help="Only documents whose metadata FIELD (category, source, any key of the "
                   "records) has VALUE (accents and case ignored; repeat: every field, any "
                   "of a field's values).")
@click.option("--facets", metavar="author,tags,year,month,FIELD", default="",
              help="Count results by these fields (whole result set); any metadata field "
                   "too (category, source...).")
@click.option("--fields", metavar="a,b", default="", help="Only these keys in JSON hits.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object (schema_version 1).")
@click.option("--jsonl", "as_jsonl", is_flag=True, help="One JSON hit per line.")
@color_option
@click.option("--no-snippets", is_flag=True, help="Skip snippets (faster).")
@click.option("--collapse", is_flag=True,
              help="One hit per group of near-identical copies; JSON lists the others.")
@click.option("--queries", "queries_file", type=click.Path(dir_okay=False, allow_dash=True),
              help="Batch: JSONL {qid, query} or one query per line; one output line each.")
@click.option("--format", "batch_format", type=click.Choice(["jsonl", "trec"]), default=None,
              help="Batch output format (with --queries; default jsonl).")
@handle_errors
def search_cmd(query, index_dir, limit, offset, sort, author, tag, since, until, where, facets,
               fields, as_json, as_jsonl, color, no_snippets, collapse, queries_file,
               batch_format):
    """Search the index. QUERY supports "phrases", AND/OR/NOT, -word, title:/author:/tag:/date:,
    date:[2023-01-01 TO 2023-08-31], wildcards* and fuzzy~. Unquoted words are one query
    (`vnsearch search xây dựng Đảng`), as if quoted by the shell; a query starting with '-'
    goes last, after '--' (`vnsearch search -n 5 -- -vàng giá`)."""
    from vnsearch.cli.render import dumps, format_results, use_color

    query = " ".join(query)

    if as_json and as_jsonl:
        raise VnsearchError("--json and --jsonl are exclusive")
    _check_batch_options(queries_file, query, batch_format, as_json, as_jsonl, facets)
    keys = _split_csv(fields) or None
    check_fields(keys)
    ix = _open_or_bootstrap(index_dir)
    options = dict(
        limit=limit, offset=offset, sort=sort, author=list(author) or None,
        tag=list(tag) or None, since=since, until=until, facets=_split_csv(facets),
        collapse=collapse, where=list(where) or None,
    )
    if queries_file:
        from vnsearch.cli.batch import run_batch

        run_batch(ix, queries_file, batch_format or "jsonl", options, _out, keys)
        return
    if not query.strip() and not (author or tag or since or until or where):
        raise VnsearchError("give a QUERY (or --queries FILE, or a filter)")
    results = ix.search(query, snippets=not no_snippets, **options)
    code = _settle(EXIT_NO_RESULTS if results.total == 0 else EXIT_OK)
    if results.suggestion:
        click.echo(f"vnsearch: did you mean: {display_name(results.suggestion)}", err=True)
    if as_json:
        _out(dumps(results.to_dict(keys)))
    elif as_jsonl:
        for h in results.hits:
            _out(dumps(h.to_dict(keys)))
    else:
        _echo_text(format_results(results, use_color(color)), use_color(color))
    sys.exit(code)


def _check_batch_options(queries_file, query, batch_format, as_json, as_jsonl, facets):
    """Options that one mode would silently ignore in the other are errors instead."""
    if not queries_file:
        if batch_format:
            raise VnsearchError("--format is for --queries batches (one query: --json, --jsonl)")
        return
    if query:
        raise VnsearchError("give a QUERY or --queries FILE, not both")
    if as_json or facets or (as_jsonl and batch_format == "trec"):
        raise VnsearchError("--queries writes one line per query (--format jsonl|trec); "
                            "--json and --facets are for a single query")


def _open_or_bootstrap(index_dir):
    """Open the index; with no index yet and ./seeds present, build it first (and say so)."""
    from vnsearch.index import Index, default_index_dir

    path = index_dir or default_index_dir()
    if not Index.exists(path) and index_dir is None and os.path.isdir(DEFAULT_CORPUS):
        click.echo(f"vnsearch: no index at {display_name(path)}; indexing ./{DEFAULT_CORPUS} "
                   "first", err=True)
        ix = Index.create(path)
        report = ix.index_paths([DEFAULT_CORPUS])
        click.echo(f"vnsearch: {report.summary()}", err=True)
        return ix
    return Index.open(path)


# -- show / similar -----------------------------------------------------------------------
@cli.command("show")
@click.argument("doc_id", callback=_utf8)
@index_option
@click.option("--json", "as_json", is_flag=True, help="The document as one JSON object.")
@handle_errors
def show_cmd(doc_id, index_dir, as_json):
    """Print one document, full text and metadata."""
    from vnsearch.cli.render import format_document

    doc = _open_index(index_dir).get(doc_id)
    if as_json:
        _echo_json(doc.to_dict())
    else:
        _out(format_document(doc))


@cli.command("similar", short_help="Copies of DOC_ID, then related articles.")
@click.argument("doc_id", callback=_utf8)
@index_option
@click.option("-n", "--limit", type=click.IntRange(min=1), default=10, show_default=True,
              help="Related articles to print.")
@click.option("--json", "as_json", is_flag=True,
              help='One JSON object: "copies" and the search envelope of related articles.')
@color_option
@handle_errors
def similar_cmd(doc_id, index_dir, limit, as_json, color):
    """Near-identical copies of DOC_ID, then related articles (more like this)."""
    from vnsearch.cli.render import format_copies, format_results, use_color

    ix = _open_index(index_dir)
    copies = ix.near_copies(doc_id)
    results = ix.similar(doc_id, limit=limit)
    code = _settle(EXIT_NO_RESULTS if not results.hits and not copies else EXIT_OK)
    if as_json:
        _echo_json({"copies": copies, **results.to_dict()})
    else:
        if copies is not None:
            _out(format_copies(copies) + "\n\nRelated articles:\n")
        _echo_text(format_results(results, use_color(color)), use_color(color))
    sys.exit(code)


@cli.command("duplicates")
@index_option
@click.option("--threshold", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=None, help="Estimated Jaccard similarity of copies (default: the index's).")
@click.option("--min-size", type=click.IntRange(min=2), default=2, show_default=True,
              help="Only groups of at least this many documents.")
@click.option("--json", "as_json", is_flag=True, help="Every group as one JSON object.")
@handle_errors
def duplicates_cmd(index_dir, threshold, min_size, as_json):
    """List groups of near-identical copies (syndicated articles)."""
    from vnsearch.cli.render import format_groups

    groups = _open_index(index_dir).duplicate_groups(threshold=threshold, min_size=min_size)
    code = _settle(EXIT_NO_RESULTS if not groups else EXIT_OK)
    if as_json:
        _echo_json({"schema_version": 1, "groups": groups})
    else:
        _out(format_groups(groups))
    sys.exit(code)


# -- analyze / stats ----------------------------------------------------------------------
@cli.command("analyze", short_help="How TEXT is normalised, segmented, folded.")
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="Tokens with offsets as one JSON object.")
@index_option
@handle_errors
def analyze_cmd(text, as_json, index_dir):
    """Show how TEXT is normalised, segmented and folded (with offsets), and the acronym pairs
    the index learned for its words (``UBND`` ↔ ``Ủy ban nhân dân``), when there is an index."""
    from vnsearch.index import Index, default_index_dir
    from vnsearch.text.analysis import analyze

    a = analyze(text)
    result = {**a.to_dict(), "acronyms": []}
    if index_dir or Index.exists(default_index_dir()):
        result = _open_index(index_dir).analyze(text)
    if as_json:
        _echo_json(result)
        return
    from vnsearch.text.normalize import clean_for_display

    _out(f"normalized: {clean_for_display(a.normalized)}")
    for t in a.tokens:
        syl = " ".join(s.text for s in t.syllables)
        _out(f"{t.start:>5}-{t.end:<5} {clean_for_display(t.text)!s:<24} "
                   f"word={t.word}  syllables=[{syl}]  folded={t.folded}")
    for p in result["acronyms"]:
        _out(f"acronym: {p['acronym']} = {p['full'].replace('_', ' ')} "
             f"({p['documents']} documents)")


@cli.command("stats")
@index_option
@click.option("--json", "as_json", is_flag=True, help="The statistics as one JSON object.")
@handle_errors
def stats_cmd(index_dir, as_json):
    """Document count, fields, size, last update, format versions."""
    st = _open_index(index_dir).stats()
    if as_json:
        _echo_json(st)
        return
    for k, v in st.items():
        if k == "fields":
            v = ", ".join(v)
        _out(f"{k}: {display_name(str(v))}")


@cli.command("optimize", short_help="Merge the index's segments into one.")
@index_option
@click.option("--lock-timeout", type=click.FloatRange(min=0), default=30.0, show_default=True,
              help="Seconds to wait for another indexing run to finish.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Processes merging (at most 2; default: 2 on two cores or more).")
@click.option("--json", "as_json", is_flag=True, help="The outcome as one JSON object.")
@handle_errors
def optimize_cmd(index_dir, lock_timeout, jobs, as_json):
    """Merge the index's segments into one, for the fastest searches of an archive that is
    built (every document is rewritten: about a millisecond each). Interrupted, the index
    stays as it was."""
    ix = _open_index(index_dir)
    ix.lock_timeout = lock_timeout
    got = ix.optimize(jobs=jobs)
    if as_json:
        _echo_json(got)
        return
    docs = f"{got['documents']:,} document{'' if got['documents'] == 1 else 's'}"
    if got["segments"] == got["segments_before"] and got["segments"] <= 1:
        _out(f"nothing to merge: {docs} in {got['segments']} segment"
             f"{'' if got['segments'] == 1 else 's'}")
    else:
        _out(f"merged {got['segments_before']} segment{'' if got['segments_before'] == 1 else 's'}"
             f" into {got['segments']} ({docs}) in {got['seconds']:.1f} s")


cli.add_command(serve_cmd)


def main(argv=None):
    """Entry point: UTF-8 output whatever the locale, quiet on a closed pipe (``vnsearch
    search x | head -1``)."""
    _utf8_streams()
    try:
        cli.main(args=argv, prog_name="vnsearch", standalone_mode=True)
    except BrokenPipeError:
        _silence_stdout()
        sys.exit(0)
    except SystemExit as e:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _silence_stdout()
        except OSError as err:  # output left in the buffer, and the disk is full
            _silence_stdout()
            click.echo(f"vnsearch: error: cannot write the output: {err.strerror or err}",
                       err=True)
            sys.exit(EXIT_ERROR)
        raise e


def _utf8_streams():
    """The contract is UTF-8 output: a Latin-1 or ASCII locale must not turn Vietnamese text
    into a UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if encoding != "utf8":
            try:
                stream.reconfigure(encoding="utf-8")
            except (AttributeError, ValueError):  # not a text wrapper, or already written to
                pass


def _silence_stdout():
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
