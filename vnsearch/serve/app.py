"""The ASGI application: Starlette routes over :mod:`vnsearch.serve.endpoints`, the search page,
the OpenAPI document and its browsable page, served by uvicorn.

Reads run on a fixed pool of threads sharing the process's one :class:`~vnsearch.Index`: each
thread reads through a searcher of its own, reopened when a commit lands, and the ranking data of
each snapshot is built once for all of them (so a commit costs one rebuild per process, not one
per thread). Writes run one at a time on one more thread, through ``Index.add``/``delete``/
``index_paths`` (the crash-safe pipeline and its write lock, which also makes other processes'
writers wait).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import logging
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from vnsearch.cli.render import dumps
from vnsearch.errors import VnsearchError
from vnsearch.index import Index
from vnsearch.serve import endpoints as api
from vnsearch.serve import openapi

STATIC_DIR = Path(__file__).resolve().parent / "static"
#: Environment variable holding the configuration for worker processes (``--workers N``).
CONFIG_ENV = "VNSEARCH_SERVE_CONFIG"
DEFAULT_TOKEN_ENV = "VNSEARCH_TOKEN"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")

#: Content-Security-Policy of the pages: their own scripts and styles only, nothing inline.
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
            "form-action 'self'")

access_log = logging.getLogger("vnsearch.access")


@dataclass
class ServeConfig:
    """What ``vnsearch serve`` was started with (the token itself is read from ``token_env`` or
    ``token_file`` by each worker, never passed around)."""

    index: str = "index"
    host: str = "127.0.0.1"
    port: int = 8080
    allow_writes: bool = False
    token_env: str = DEFAULT_TOKEN_ENV
    token_file: str | None = None
    cors: list[str] = field(default_factory=list)
    threads: int = 4
    workers: int = 1
    max_limit: int = api.DEFAULT_MAX_LIMIT
    max_body: int = 16 * 1024 * 1024
    timeout: float = 10.0
    reindex_paths: list[str] = field(default_factory=list)
    log: bool = True

    def read_token(self) -> str | None:
        """The bearer token: the file's first line, else the environment variable."""
        if self.token_file:
            try:
                with open(self.token_file, encoding="utf-8") as f:
                    token = f.readline().strip()
            except (OSError, UnicodeDecodeError) as e:
                raise VnsearchError(f"cannot read the token file {self.token_file}: "
                                    f"{getattr(e, 'strerror', None) or e}") from None
            if not token:
                raise VnsearchError(f"the token file {self.token_file} is empty")
            return token
        return os.environ.get(self.token_env, "").strip() or None

    def to_json(self) -> str:
        return orjson.dumps(asdict(self)).decode()

    @classmethod
    def from_json(cls, text: str) -> ServeConfig:
        return cls(**orjson.loads(text))


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _Runner:
    """Runs endpoint handlers off the event loop: reads on ``threads`` threads, writes one at
    a time on their own thread, all on one Index (opened by the first request)."""

    def __init__(self, config: ServeConfig):
        self.config = config
        self.reads = ThreadPoolExecutor(config.threads, thread_name_prefix="vnsearch-read")
        self.writes = ThreadPoolExecutor(1, thread_name_prefix="vnsearch-write")
        self._index: Index | None = None
        self._opening = threading.Lock()

    def index(self) -> Index:
        if self._index is None:
            with self._opening:
                if self._index is None:
                    self._index = Index.open(self.config.index)
        return self._index

    def _call(self, ep: api.Endpoint, params, body):
        ix = self.index() if ep.needs_index else None
        if ep.name == "reindex":
            return api.reindex(ix, params, body, paths=self.config.reindex_paths)
        return ep.handler(ix, params, body)

    async def run(self, ep: api.Endpoint, params, body):
        loop = asyncio.get_running_loop()
        if ep.write:  # no time limit: a write that started finishes, and says how it went
            return await loop.run_in_executor(self.writes, self._call, ep, params, body)
        future = loop.run_in_executor(self.reads, self._call, ep, params, body)
        try:
            return await asyncio.wait_for(future, self.config.timeout)
        except asyncio.TimeoutError:
            raise api.ApiError(503, f"the request took longer than {self.config.timeout:g} s "
                                    "(the server's limit); try a narrower query") from None

    def close(self):
        self.reads.shutdown(wait=False, cancel_futures=True)
        self.writes.shutdown(wait=True)


def _json(obj, status: int = 200, headers=None) -> Response:
    return Response(dumps(obj).encode("utf-8"), status_code=status, headers=headers,
                    media_type="application/json")


def _error(status: int, message: str, headers=None) -> Response:
    return _json(api.error_body(status, message), status, headers)


class _BodyTooLarge(Exception):
    pass


def _multi(request: Request) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in request.query_params.multi_items():
        out.setdefault(k, []).append(v)
    return out


def _route(ep: api.Endpoint, runner: _Runner, token: str | None, limits: dict):
    config = runner.config

    async def endpoint(request: Request) -> Response:
        try:
            if ep.write:
                _check_token(config, token, request)
            params = api.parse_params(ep.params, _multi(request), limits)
            body = await _read_body(request) if ep.body_schema else None
            return _json(await runner.run(ep, params, body))
        except api.ApiError as e:
            headers = {"WWW-Authenticate": "Bearer"} if e.status == 401 else None
            return _error(e.status, e.message, headers)
        except VnsearchError as e:
            return _error(api.status_of(e), str(e))

    endpoint.__name__ = ep.name
    return Route(ep.path, endpoint, methods=[ep.method])


def _check_token(config: ServeConfig, token: str | None, request: Request) -> None:
    if not config.allow_writes or not token:
        raise api.ApiError(403, "writes are off on this server (start it with --allow-writes "
                                "and a token)")
    auth = request.headers.get("authorization", "")
    scheme, _, given = auth.partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise api.ApiError(401, "this request needs 'Authorization: Bearer TOKEN'")
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise api.ApiError(403, "wrong token")


async def _read_body(request: Request):
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise api.ApiError(415, "send the body as JSON (Content-Type: application/json)")
    try:
        raw = await request.body()
    except _BodyTooLarge as e:
        raise api.ApiError(413, str(e)) from None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise api.ApiError(400, f"the body is not valid JSON: {e}") from None


class _Guard:
    """Pure ASGI middleware, outermost: the Host check (a page elsewhere must not reach a
    loopback server through DNS rebinding), the request-size cap, security headers and one
    JSON access-log line per request."""

    def __init__(self, app, config: ServeConfig):
        self.app = app
        self.config = config
        self.loopback = is_loopback(config.host)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        info = {"status": 500, "bytes": 0}
        headers = dict(scope["headers"])

        async def send_logged(message):
            if message["type"] == "http.response.start":
                info["status"] = message["status"]
                extra = [(b"x-content-type-options", b"nosniff"),
                         (b"referrer-policy", b"no-referrer")]
                ctype = dict(message.get("headers") or []).get(b"content-type", b"")
                if ctype.startswith(b"text/html"):
                    extra += [(b"content-security-policy", PAGE_CSP.encode()),
                              (b"x-frame-options", b"DENY")]
                message = {**message, "headers": list(message.get("headers") or []) + extra}
            elif message["type"] == "http.response.body":
                info["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            problem = self._refuse(headers)
            if problem:
                await _error(*problem)(scope, receive, send_logged)
            else:
                await self.app(scope, self._capped(receive), send_logged)
        finally:
            if self.config.log:
                self._log(scope, info, t0)

    def _refuse(self, headers) -> tuple[int, str] | None:
        if self.loopback:
            host = headers.get(b"host", b"").decode("latin-1")
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if name.strip("[]").lower() not in LOOPBACK_NAMES and not is_loopback(name):
                return 400, f"Host {host!r} is not this loopback server"
        length = headers.get(b"content-length")
        if length is not None:
            try:
                n = int(length)
            except ValueError:
                return 400, "bad Content-Length"
            if n > self.config.max_body:
                return 413, f"the body is {n:,} bytes; the limit is {self.config.max_body:,}"
        return None

    def _capped(self, receive):
        seen = 0
        limit = self.config.max_body

        async def wrapped():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _BodyTooLarge(f"the body is over {limit:,} bytes (the limit)")
            return message

        return wrapped

    @staticmethod
    def _log(scope, info, t0):
        client = scope.get("client") or ("", 0)
        access_log.info(dumps({
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "client": client[0],
            "method": scope.get("method"),
            "path": scope.get("path"),
            "query": scope.get("query_string", b"").decode("latin-1"),
            "status": info["status"],
            "bytes": info["bytes"],
            "ms": round((time.perf_counter() - t0) * 1000, 2),
        }))


def _setup_logging() -> None:
    if not access_log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_log.addHandler(handler)
        access_log.setLevel(logging.INFO)
        access_log.propagate = False


def create_app(config: ServeConfig | None = None) -> Starlette:
    """The ASGI app for ``config`` (raises :class:`~vnsearch.VnsearchError` for a token file
    that cannot be read)."""
    config = config or ServeConfig()
    token = config.read_token() if config.allow_writes else None
    if config.allow_writes and not token:
        raise VnsearchError(f"--allow-writes needs a token: set ${config.token_env} or give "
                            "--token-file FILE")
    limits = {"limit": config.max_limit}
    runner = _Runner(config)
    spec = openapi.build(limits, writes=config.allow_writes)

    async def openapi_json(request: Request) -> Response:
        return _json(spec)

    async def page(request: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html")

    async def docs(request: Request) -> Response:
        return FileResponse(STATIC_DIR / "docs.html")

    async def http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 404:
            return _error(404, f"no such endpoint: {request.url.path} (see /docs)")
        if exc.status_code == 405:
            return _error(405, f"{request.method} is not allowed on {request.url.path}",
                          exc.headers)
        return _error(exc.status_code, str(exc.detail))

    async def server_error(request: Request, exc: Exception) -> Response:
        logging.getLogger("vnsearch.serve").error(
            "error on %s %s: %s: %s", request.method, request.url.path,
            exc.__class__.__name__, exc, exc_info=exc)
        return _error(500, "internal error (logged by the server)")

    routes = [_route(ep, runner, token, limits) for ep in api.ENDPOINTS]
    routes += [
        Route("/openapi.json", openapi_json),
        Route("/", page),
        Route("/docs", docs),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    middleware = [Middleware(_Guard, config=config)]
    if config.cors:
        middleware.append(Middleware(
            CORSMiddleware, allow_origins=config.cors, allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        ))
    if config.log:
        _setup_logging()
    handlers: dict[Any, Any] = {HTTPException: http_error, Exception: server_error}
    app = Starlette(
        routes=routes, middleware=middleware,
        exception_handlers=handlers,
        lifespan=_lifespan(runner),
    )
    app.state.config = config
    app.state.runner = runner
    return app


def _lifespan(runner: _Runner):
    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        runner.close()

    return lifespan


def app_from_environment() -> Starlette:
    """The app of a worker process (``--workers N``): its configuration from
    :data:`CONFIG_ENV`."""
    return create_app(ServeConfig.from_json(os.environ[CONFIG_ENV]))


def run(config: ServeConfig) -> None:
    """Serve until interrupted (uvicorn; ``config.workers`` processes)."""
    import uvicorn

    options: dict[str, Any] = dict(host=config.host, port=config.port, access_log=False,
                   timeout_graceful_shutdown=5, server_header=False, log_level="info")
    if config.workers > 1:
        os.environ[CONFIG_ENV] = config.to_json()
        # uvicorn restarts a worker that does not answer its supervisor within 5 s by default;
        # search threads reopening a large index after each commit can hold the interpreter
        # that long on two busy cores, and the restart dropped every connection of the worker.
        if _accepts_healthcheck(uvicorn):
            options["timeout_worker_healthcheck"] = 60
        uvicorn.run("vnsearch.serve.app:app_from_environment", factory=True,
                    workers=config.workers, **options)
    else:
        uvicorn.run(create_app(config), **options)


def _accepts_healthcheck(uvicorn) -> bool:
    import inspect

    return "timeout_worker_healthcheck" in inspect.signature(uvicorn.run).parameters
