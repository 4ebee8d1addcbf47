"""The ``vnsearch serve`` command. Only click is imported here: the server stack is imported when
the command runs, and its absence is one line naming the install command (exit 2)."""

from __future__ import annotations

import click

from vnsearch.errors import EXIT_ERROR, VnsearchError
from vnsearch.serve import DEFAULT_MAX_LIMIT, INSTALL_COMMAND, missing_dependencies


@click.command("serve", short_help="HTTP JSON API and a search page in the browser.")
@click.option("--index", "index_dir", metavar="DIR", default=None,
              help="Index directory (default: $VNSEARCH_INDEX or ./index).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (anything but loopback reaches the network).")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Server processes.")
@click.option("--threads", type=click.IntRange(min=1), default=4, show_default=True,
              help="Search threads per process.")
@click.option("--allow-writes", is_flag=True,
              help="Enable POST /api/documents, /api/delete, /api/reindex (needs a token).")
@click.option("--token-env", default="VNSEARCH_TOKEN", show_default=True, metavar="NAME",
              help="Environment variable holding the bearer token for writes.")
@click.option("--token-file", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Read the bearer token from this file's first line instead.")
@click.option("--reindex-path", "reindex_paths", multiple=True, type=click.Path(exists=True),
              metavar="DIR", help="Folder POST /api/reindex brings up to date (repeatable).")
@click.option("--cors", multiple=True, metavar="ORIGIN",
              help="Allow browser pages of this origin to call the API (repeatable).")
@click.option("--max-limit", type=click.IntRange(1, 10_000), default=DEFAULT_MAX_LIMIT,
              show_default=True, help="Most hits one request may ask for.")
@click.option("--max-body", type=click.IntRange(min=1), default=16 * 1024 * 1024,
              show_default=True, metavar="BYTES", help="Largest request body.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=10.0,
              show_default=True, metavar="SECONDS",
              help="A read taking longer is answered 503.")
@click.option("--quiet", "-q", is_flag=True, help="No access log.")
def serve_cmd(index_dir, host, port, workers, threads, allow_writes, token_env, token_file,
              reindex_paths, cors, max_limit, max_body, timeout, quiet):
    """Serve the index over HTTP: a search page at /, the JSON API under /api/ (the objects
    `--json` prints), its OpenAPI description at /openapi.json and docs at /docs.

    \b
    Writes are off unless --allow-writes, with the token in $VNSEARCH_TOKEN or --token-file
    (never on the command line). One JSON access-log line per request on stderr.
    """
    missing = missing_dependencies()
    if missing:
        click.echo(f"vnsearch: error: `vnsearch serve` needs {' and '.join(missing)}: "
                   f"{INSTALL_COMMAND}", err=True)
        raise SystemExit(EXIT_ERROR)
    from vnsearch.index import Index, default_index_dir
    from vnsearch.serve.app import ServeConfig, create_app, is_loopback, run

    path = index_dir or default_index_dir()
    config = ServeConfig(
        index=path, host=host, port=port, allow_writes=allow_writes, token_env=token_env,
        token_file=token_file, cors=list(cors), threads=threads, workers=workers,
        max_limit=max_limit, max_body=max_body, timeout=timeout,
        reindex_paths=list(reindex_paths), log=not quiet,
    )
    try:
        if reindex_paths and not allow_writes:
            raise VnsearchError("--reindex-path is for --allow-writes servers")
        with Index.open(path) as ix:
            documents = len(ix)
        create_app(config)  # the token and the app, checked before listening
    except VnsearchError as e:
        click.echo(f"vnsearch: error: {e}", err=True)
        raise SystemExit(e.exit_code) from None
    if not is_loopback(host) and not allow_writes:
        click.echo(f"vnsearch: warning: listening on {host}: anyone who reaches it can search "
                   "this index (no token protects reads)", err=True)
    click.echo(f"vnsearch: serving {documents} documents from {path} on "
               f"http://{host if ':' not in host else f'[{host}]'}:{port}/ "
               f"(writes {'on' if allow_writes else 'off'})", err=True)
    run(config)
