"""The labeling app's HTTP API as a Starlette ASGI app: routes, access checks, JSON bodies.

Routes (every error is JSON ``{"error": message}`` with a 4xx status; nothing a client sends gives 5xx):

- ``GET /``: the page (``static/index.html``, one file of HTML and JavaScript).
- ``GET /api/status?shown=ID``: progress, estimated accuracy, classes, shortcut keys, model version, and
  ``labeler`` (the name bound to the request's token, if any); ``shown`` renews the session's lease on the
  item on screen (the page polls every 1.5 s, so an item being looked at is never handed to another).
- ``GET /api/next?n=10``: the next items to label, with suggestion and confidence.
- ``GET /api/item?id=ID``, ``GET /api/labels?limit=20`` (latest labels), ``GET /api/image?id=ID`` (PNG).
- ``GET /files/PATH``: an image-folder item's file; only files of the data set, resolved inside its root.
- ``POST /api/label {"id", "label", "user"?}``, ``POST /api/skip {"id", "user"?}``,
  ``POST /api/undo {"event_id"?}``, ``POST /api/release {"ids": [...]}`` (hand leased items back).

Security: with tokens every request carries one (``Authorization: Bearer T``, ``X-Semisup-Token: T``,
``?token=T`` or the cookie that ``/?token=T`` sets, holding the server's own copy of the token, never the
request's). A per-person token (``--users``) decides who a label is from; otherwise the body's ``user``
does. Bound to loopback, requests must name a loopback ``Host`` (no DNS rebinding); POSTs must be
``application/json`` from the same origin (no cross-site form posts). Every response carries a
Content-Security-Policy and the usual hardening headers.
"""

from __future__ import annotations

import hmac
import json
import mimetypes
import secrets
import sys
import traceback
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from semisup.app.addresses import host_name, is_loopback
from semisup.app.service import LabelApp
from semisup.app.store import LabelError, UnknownItemError

__all__ = ["CSP", "MAX_BODY", "HTTPError", "build_asgi"]

MAX_BODY = 64 * 1024
MAX_IDS = 100  # the service's own batch cap
MAX_USER = 64
# The page is one file with inline script and style; nothing else may load or be framed.
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)
HARDENING = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": CSP,
}


class HTTPError(Exception):
    """A request the API refuses: ``status`` and a message for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _json(obj: object, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps(obj).encode()
    return Response(body, status, {**HARDENING, **(headers or {})}, media_type="application/json")


# --- middleware ---------------------------------------------------------------------------------------
class _Shield:
    """Outermost: hardening headers on every response, ``Connection: close`` after a refusal (its body
    may be unread), and a JSON 500 without the traceback for a bug (the traceback goes to stderr)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def hardened(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for k, v in HARDENING.items():
                    headers.setdefault(k, v)
                if message["status"] >= 400:
                    headers["Connection"] = "close"
            await send(message)

        try:
            await self.app(scope, receive, hardened)
        except Exception as e:  # a bug, not a bad request: say so, keep serving, show it in the terminal
            traceback.print_exc(file=sys.stderr)
            if not started:
                message = f"internal error ({type(e).__name__}); see the server's terminal"
                await _json({"error": message}, 500)(scope, receive, hardened)


class _Guard:
    """Before any route: the ``Host`` check (loopback servers) and the token check. Records the matched
    token and the name bound to it in ``scope["state"]``."""

    def __init__(self, app: ASGIApp, tokens: Mapping[str, str | None], loopback: bool) -> None:
        self.app, self.tokens, self.loopback = app, dict(tokens), loopback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            try:
                token = self._check(Request(scope))
            except HTTPError as e:
                await _json({"error": e.message}, e.status)(scope, receive, send)
                return
            state = scope.setdefault("state", {})
            state["token"], state["labeler"] = token, self.tokens.get(token) if token else None
        await self.app(scope, receive, send)

    def _check(self, request: Request) -> str | None:
        host = host_name(request.headers.get("host", ""))
        if self.loopback and not is_loopback(host):
            raise HTTPError(403, f"Host {host!r} is not a loopback name; open the URL the server printed")
        if not self.tokens:
            return None
        auth = request.headers.get("authorization", "")
        given = [
            auth[7:].strip() if auth.lower().startswith("bearer ") else "",
            request.headers.get("x-semisup-token", ""),
            request.query_params.get("token", ""),
            request.cookies.get("semisup_token", ""),
        ]
        for g in given:
            # compare against every token, so the time taken does not tell which one nearly matched
            hits = [t for t in self.tokens if g and hmac.compare_digest(g.encode(), t.encode())]
            if hits:
                return hits[0]
        raise HTTPError(
            401,
            "missing or wrong token: open the URL printed by `semisup label` (it ends in ?token=...) "
            "or send the header 'Authorization: Bearer TOKEN'",
        )


async def _on_error(request: Request, exc: Exception) -> Response:
    """Refusals raised inside routes (``HTTPError``, the service's ``LabelError``, Starlette's 404/405)."""
    if isinstance(exc, HTTPError):
        return _json({"error": exc.message}, exc.status)
    if isinstance(exc, UnknownItemError):
        return _json({"error": str(exc)}, 404)
    if isinstance(exc, LabelError):
        return _json({"error": str(exc)}, 400)
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return _json({"error": f"no such page {request.url.path!r}"}, 404)
    if exc.status_code == 405:
        allow = (exc.headers or {}).get("Allow", "")
        return _json(
            {"error": f"method {request.method} not allowed on {request.url.path}; use {allow}"},
            405,
            {"Allow": allow},
        )
    return _json({"error": str(exc.detail)}, exc.status_code)


# --- request values -----------------------------------------------------------------------------------
def _session(request: Request) -> str:
    s = request.cookies.get("semisup_session") or request.headers.get("x-session") or "api"
    return s[:64]


def _query_int(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    """An integer query value, clamped to ``[lo, hi]`` (``n=1000`` asks for as many as allowed)."""
    text = request.query_params.get(name)
    if text is None:
        return default
    try:
        value = int(text)  # ValueError also for > 4300 digits (Python's int parsing limit)
    except ValueError:
        raise HTTPError(400, f"{name} must be an integer, got {text[:40]!r}") from None
    return max(lo, min(value, hi))


def _required(d: Mapping[str, Any], key: str) -> Any:
    if key not in d:
        raise HTTPError(400, f"missing field {key!r}")
    return d[key]


def _item_id(value: object, name: str = "id") -> str | int:
    if isinstance(value, str) or (
        isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63
    ):
        return value
    raise HTTPError(400, f"{name} must be a string or a 64-bit integer, got {_kind(value)}")


def _label(value: object) -> str:
    if not isinstance(value, str):
        raise HTTPError(400, f"label must be a string (a class name), got {_kind(value)}")
    return value


def _user(value: object) -> str | None:
    if value is None:
        return None
    if not (isinstance(value, str) and value.strip() and len(value) <= MAX_USER and value.isprintable()):
        raise HTTPError(400, f"user must be a name of 1 to {MAX_USER} printable characters, or null")
    return value.strip()


def _event_id(value: object) -> int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63):
        return value
    raise HTTPError(400, f"event_id must be an integer or null, got {_kind(value)}")


def _ids(value: object) -> list[str | int]:
    if not isinstance(value, list) or len(value) > MAX_IDS:
        raise HTTPError(400, f"ids must be a list of at most {MAX_IDS} item ids")
    return [_item_id(v, "each of ids") for v in value]


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


async def _body(request: Request) -> dict[str, Any]:
    """The JSON object a POST carries: same-origin, ``application/json``, at most ``MAX_BODY`` bytes."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise HTTPError(415, f"send a JSON body with Content-Type: application/json (got {ctype[:60]!r})")
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.headers.get("host"):
        raise HTTPError(403, f"cross-origin request from {origin[:100]!r} refused")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise HTTPError(413, f"request body of {declared} bytes; at most {MAX_BODY}")  # before reading it
    raw = bytearray()
    try:
        async for chunk in request.stream():  # a chunked body has no length up front: count as it comes
            raw += chunk
            if len(raw) > MAX_BODY:
                raise HTTPError(413, f"request body over {MAX_BODY} bytes; at most {MAX_BODY}")
    except ClientDisconnect:
        raise HTTPError(400, "the connection closed before the whole body arrived") from None
    try:
        body = json.loads(bytes(raw) or b"{}")
    except RecursionError:
        raise HTTPError(400, "request body is not valid JSON: nested too deeply") from None
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError, and ints past the digit limit
        raise HTTPError(400, f"request body is not valid JSON: {e}") from None
    if not isinstance(body, dict):
        raise HTTPError(400, f"request body must be a JSON object, got {_kind(body)}")
    return body


# --- routes -------------------------------------------------------------------------------------------
class _Routes:
    """The route handlers around one ``LabelApp``; the service's (blocking) calls run in threads."""

    def __init__(self, app: LabelApp, named: bool) -> None:
        self.app, self.named = app, named
        self.page = resources.files("semisup.app").joinpath("static/index.html").read_bytes()

    async def _call(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        return await run_in_threadpool(fn, *args, **kw)

    def _user(self, request: Request, body: Mapping[str, Any]) -> str | None:
        bound = request.state.labeler  # --users: the token decides, a typed name cannot override it
        return bound if bound is not None else _user(body.get("user"))

    async def page_view(self, request: Request) -> Response:
        cookies = []
        if "semisup_session" not in request.cookies:
            cookies.append(f"semisup_session={secrets.token_hex(8)}; Path=/; SameSite=Strict")
        if "token" in request.query_params:
            # The printed URL: keep the token in a cookie, drop it from the address bar. The cookie holds
            # the server's own copy of the token the guard matched, never the request's text.
            if request.state.token:
                cookies.append(f"semisup_token={request.state.token}; Path=/; HttpOnly; SameSite=Strict")
            response = Response(b"", 303, {"Location": "/"}, media_type="text/plain")
        else:
            response = Response(self.page, 200, media_type="text/html; charset=utf-8")
        for cookie in cookies:
            response.headers.append("Set-Cookie", cookie)
        return response

    async def status(self, request: Request) -> Response:
        shown = request.query_params.get("shown")  # the item on screen: its lease is renewed
        st = await self._call(self.app.status, _session(request), shown=shown[:200] if shown else None)
        return _json({**st, "labeler": {"name": request.state.labeler, "from_token": self.named}})

    async def next_items(self, request: Request) -> Response:
        n = _query_int(request, "n", 10, 1, MAX_IDS)
        return _json({"items": await self._call(self.app.next_items, _session(request), n)})

    async def item(self, request: Request) -> Response:
        return _json(await self._call(self.app.item, _required(request.query_params, "id")))

    async def labels(self, request: Request) -> Response:
        limit = _query_int(request, "limit", 20, 0, MAX_IDS)
        return _json({"labels": await self._call(self.app.recent, limit)})

    async def image(self, request: Request) -> Response:
        k = self.app.index_of(_required(request.query_params, "id"))
        items = self.app.items
        if items.inputs is None or items.kind != "image":
            raise HTTPError(404, "this data set has no image arrays; image folders use /files/PATH")
        return Response(await self._call(items.png, k), media_type="image/png")

    async def file(self, request: Request) -> Response:
        rel = request.path_params["rel"]
        items = self.app.items
        if "\x00" in rel:
            raise HTTPError(400, "file names cannot hold a NUL character")
        if items.root is None:
            raise HTTPError(404, "this data set is not an image folder: it serves no files")
        if not (items.root / rel).resolve().is_relative_to(items.root):
            raise HTTPError(403, f"{rel!r} is outside the data set's folder")
        path = items.file_of(rel)
        if path is None:
            raise HTTPError(404, f"{rel!r} is not an item of the data set")
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return Response(await self._call(Path(path).read_bytes), media_type=ctype)

    async def label(self, request: Request) -> Response:
        body = await _body(request)
        item, label = _item_id(_required(body, "id")), _label(_required(body, "label"))
        user = self._user(request, body)
        return _json(await self._call(self.app.label, _session(request), item, label, user=user))

    async def skip(self, request: Request) -> Response:
        body = await _body(request)
        item, user = _item_id(_required(body, "id")), self._user(request, body)
        return _json(await self._call(self.app.skip, _session(request), item, user=user))

    async def undo(self, request: Request) -> Response:
        event_id = _event_id((await _body(request)).get("event_id"))
        return _json(await self._call(self.app.undo, _session(request), event_id=event_id))

    async def release(self, request: Request) -> Response:
        ids = _ids(_required(await _body(request), "ids"))
        return _json(await self._call(self.app.release, _session(request), ids))


def build_asgi(app: LabelApp, tokens: Mapping[str, str | None], loopback: bool) -> Starlette:
    """The ASGI app serving ``app``. ``tokens`` maps each accepted token to the labeler it names (None:
    a shared token); empty means no token is asked for. ``loopback``: refuse non-loopback ``Host``s."""
    r = _Routes(app, named=any(name is not None for name in tokens.values()))
    get, post = ["GET"], ["POST"]
    routes = [
        Route("/", r.page_view, methods=get),
        Route("/api/status", r.status, methods=get),
        Route("/api/next", r.next_items, methods=get),
        Route("/api/item", r.item, methods=get),
        Route("/api/labels", r.labels, methods=get),
        Route("/api/image", r.image, methods=get),
        Route("/files/{rel:path}", r.file, methods=get),
        Route("/api/label", r.label, methods=post),
        Route("/api/skip", r.skip, methods=post),
        Route("/api/undo", r.undo, methods=post),
        Route("/api/release", r.release, methods=post),
    ]
    handlers = {HTTPError: _on_error, LabelError: _on_error, HTTPException: _on_error}
    middleware = [Middleware(_Shield), Middleware(_Guard, tokens=tokens, loopback=loopback)]
    asgi = Starlette(routes=routes, middleware=middleware, exception_handlers=handlers)  # type: ignore[arg-type]
    asgi.router.redirect_slashes = False  # a redirect would copy the request's path into Location
    return asgi
