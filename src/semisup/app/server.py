"""HTTP for the labeling app: the standard library's ``ThreadingHTTPServer``, JSON in and out.

Routes (all errors are JSON ``{"error": message}`` with a 4xx status):

- ``GET /``: the page (``static/index.html``, one file of HTML and JavaScript).
- ``GET /api/status``: progress, estimated accuracy, classes, shortcut keys, model version.
- ``GET /api/next?n=10``: the next items to label, with suggestion and confidence.
- ``GET /api/item?id=ID``, ``GET /api/labels?limit=20`` (latest labels), ``GET /api/image?id=ID`` (PNG).
- ``GET /files/PATH``: an image-folder item's file; only files of the data set, resolved inside its root.
- ``POST /api/label {"id", "label"}``, ``POST /api/skip {"id"}``, ``POST /api/undo {}``.

Security: bound to a non-loopback address the server refuses to start without a token. With a token
every request carries it (``Authorization: Bearer T``, ``X-Semisup-Token: T``, ``?token=T`` or the
cookie that ``/?token=T`` sets). Bound to loopback, requests must name a loopback ``Host`` (no DNS
rebinding); POSTs must be ``application/json`` from the same origin (no cross-site form posts).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import mimetypes
import re
import secrets
import socket
import traceback
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from semisup.app.service import LabelApp
from semisup.app.store import LabelError, UnknownItemError

__all__ = ["AppError", "LabelServer", "check_bind", "is_loopback", "make_server"]

MAX_BODY = 64 * 1024
# The page is one file with inline script and style; nothing else may load or be framed.
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)
_LOOPBACK_NAMES = ("localhost", "localhost.localdomain")
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9._~-]+")


class AppError(ValueError):
    """The server cannot start as asked (e.g. a public address without a token)."""


class _HTTPError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    host = host.strip("[]")
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse a non-loopback ``host`` without a token (anyone on the network could label), and a token
    with characters that cannot travel in a URL and a cookie as they are."""
    if token and not _TOKEN_CHARS.fullmatch(token):
        raise AppError(
            "the token may hold only letters, digits and - . _ ~ (it travels in a URL and a cookie); "
            "pass --token auto for a random one"
        )
    if not is_loopback(host) and not token:
        raise AppError(
            f"listening on {host!r} (not a loopback address) needs a token: anyone who can reach it could "
            "read the data and write labels. Pass --token auto (or --token SECRET, or set "
            "SEMISUP_LABEL_TOKEN), or keep the default --host 127.0.0.1"
        )


class LabelServer(ThreadingHTTPServer):
    """A threading HTTP server holding the ``LabelApp``, the token and the page."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: LabelApp, token: str | None = None) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        self.app, self.token = app, token
        self.loopback = is_loopback(address[0])
        self.page = resources.files("semisup.app").joinpath("static/index.html").read_bytes()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/" + (f"?token={self.token}" if self.token else "")


def make_server(
    app: LabelApp, host: str = "127.0.0.1", port: int = 8765, token: str | None = None
) -> LabelServer:
    """A bound (not yet serving) server; ``port=0`` picks a free port. See ``check_bind``."""
    check_bind(host, token)
    try:
        return LabelServer((host, port), app, token)
    except OSError as e:
        raise AppError(
            f"cannot listen on {host}:{port} ({e.strerror or e}); pick another --port (0 = any)"
        ) from e


class _Handler(BaseHTTPRequestHandler):
    server: LabelServer
    protocol_version = "HTTP/1.1"
    server_version = "semisup-label"

    def log_message(self, format: str, *args) -> None:  # noqa: A002  (the stdlib's name)
        pass  # quiet: the terminal shows the URL and errors only

    # --- plumbing ------------------------------------------------------------------------------------
    def _send(
        self, status: int, body: bytes, ctype: str, headers: list[tuple[str, str]] | None = None
    ) -> None:
        for k, v in headers or []:  # defence in depth: no header may carry a line break or NUL
            if any(c in f"{k}{v}" for c in "\r\n\x00"):
                raise RuntimeError(f"refusing to send header {k!r} with a control character")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Content-Security-Policy", CSP)
        for k, v in headers or []:
            self.send_header(k, v)
        if status >= 400:  # a refused request may leave its body unread: do not reuse the connection
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, obj: object, status: int = 200, headers: list[tuple[str, str]] | None = None) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json", headers)

    def _cookies(self) -> dict[str, str]:
        c = SimpleCookie()
        try:
            c.load(self.headers.get("Cookie", ""))
        except Exception:  # a malformed cookie header is ignored, like browsers do
            return {}
        return {k: m.value for k, m in c.items()}

    def _session(self) -> str:
        s = self._cookies().get("semisup_session") or self.headers.get("X-Session") or "api"
        return s[:64]

    def _check_access(self, query: dict[str, list[str]]) -> None:
        host = _host_name(self.headers.get("Host") or "")
        if self.server.loopback and not is_loopback(host):
            raise _HTTPError(403, f"Host {host!r} is not a loopback name; open the URL the server printed")
        token = self.server.token
        if not token:
            return
        auth = self.headers.get("Authorization", "")
        given = [
            auth[7:].strip() if auth.lower().startswith("bearer ") else "",
            self.headers.get("X-Semisup-Token", ""),
            (query.get("token") or [""])[0],
            self._cookies().get("semisup_token", ""),
        ]
        if not any(g and hmac.compare_digest(g.encode(), token.encode()) for g in given):
            raise _HTTPError(
                401,
                "missing or wrong token: open the URL printed by `semisup label` (it ends in ?token=...) "
                "or send the header 'Authorization: Bearer TOKEN'",
            )

    def _body(self) -> dict:
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise _HTTPError(415, f"send a JSON body with Content-Type: application/json (got {ctype!r})")
        origin = self.headers.get("Origin")
        if origin and urlsplit(origin).netloc != self.headers.get("Host"):
            raise _HTTPError(403, f"cross-origin request from {origin!r} refused")
        try:
            n = int(self.headers.get("Content-Length", ""))
        except ValueError:
            raise _HTTPError(411, "a Content-Length header is required") from None
        if n < 0 or n > MAX_BODY:
            raise _HTTPError(413, f"request body of {n} bytes; at most {MAX_BODY}")
        raw = self.rfile.read(n)
        try:
            body = json.loads(raw or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise _HTTPError(400, f"request body is not valid JSON: {e}") from None
        if not isinstance(body, dict):
            raise _HTTPError(400, f"request body must be a JSON object, got {type(body).__name__}")
        return body

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        try:
            self._check_access(query)
            if method == "GET":
                self._get(url.path, query)
            else:
                self._post(url.path, self._body())
        except _HTTPError as e:
            self._json({"error": e.message}, e.status)
        except UnknownItemError as e:
            self._json({"error": str(e)}, 404)
        except LabelError as e:
            self._json({"error": str(e)}, 400)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as e:  # a bug, not a bad request: say so, keep serving, show it in the terminal
            traceback.print_exc()
            self._json({"error": f"internal error: {type(e).__name__}: {e}"}, 500)

    def do_GET(self) -> None:  # noqa: N802  (http.server's naming)
        self._dispatch("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def _not_allowed(self) -> None:
        self._json({"error": f"method {self.command} not allowed"}, 405, [("Allow", "GET, POST")])

    do_PUT = do_DELETE = do_PATCH = _not_allowed

    # --- routes --------------------------------------------------------------------------------------
    def _get(self, path: str, query: dict[str, list[str]]) -> None:
        app = self.server.app
        arg = {k: v[0] for k, v in query.items()}
        if path == "/":
            headers = []
            if "semisup_session" not in self._cookies():
                headers.append(
                    ("Set-Cookie", f"semisup_session={secrets.token_hex(8)}; Path=/; SameSite=Strict")
                )
            if "token" in arg:  # the printed URL: keep the token in a cookie, drop it from the address bar
                # The cookie's value is the server's own token, never the request's: a request value in a
                # header is a response-splitting hole (http.server writes header values unchecked). Only
                # a server with a token sets it, and _check_access has already matched it.
                if self.server.token:
                    headers.append(
                        (
                            "Set-Cookie",
                            f"semisup_token={self.server.token}; Path=/; HttpOnly; SameSite=Strict",
                        )
                    )
                self._send(303, b"", "text/plain", [*headers, ("Location", "/")])
                return
            self._send(200, self.server.page, "text/html; charset=utf-8", headers)
        elif path == "/api/status":
            self._json(app.status(self._session()))
        elif path == "/api/next":
            self._json({"items": app.next_items(self._session(), _int(arg.get("n", "10"), "n"))})
        elif path == "/api/item":
            self._json(app.item(_required(arg, "id")))
        elif path == "/api/labels":
            self._json({"labels": app.recent(_int(arg.get("limit", "20"), "limit"))})
        elif path == "/api/image":
            k = app.index_of(_required(arg, "id"))
            if app.items.inputs is None or app.items.kind != "image":
                raise _HTTPError(404, "this data set has no image arrays; image folders use /files/PATH")
            self._send(200, app.items.png(k), "image/png")
        elif path.startswith("/files/"):
            self._file(unquote(path[len("/files/") :]))
        else:
            raise _HTTPError(404, f"no such page {path!r}")

    def _file(self, rel: str) -> None:
        items = self.server.app.items
        if "\x00" in rel:
            raise _HTTPError(400, "file names cannot hold a NUL character")
        if items.root is None:
            raise _HTTPError(404, "this data set is not an image folder: it serves no files")
        target = (items.root / rel).resolve()
        if not target.is_relative_to(items.root):
            raise _HTTPError(403, f"{rel!r} is outside the data set's folder")
        path = items.file_of(rel)
        if path is None:
            raise _HTTPError(404, f"{rel!r} is not an item of the data set")
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self._send(200, Path(path).read_bytes(), ctype)

    def _post(self, path: str, body: dict) -> None:
        app, session = self.server.app, self._session()
        if path == "/api/label":
            self._json(app.label(session, _required(body, "id"), _required(body, "label")))
        elif path == "/api/skip":
            self._json(app.skip(session, _required(body, "id")))
        elif path == "/api/undo":
            self._json(app.undo(session))
        else:
            raise _HTTPError(404, f"no such endpoint {path!r}")


def _required(d: dict, key: str) -> object:
    if key not in d:
        raise _HTTPError(400, f"missing field {key!r}")
    return d[key]


def _int(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _HTTPError(400, f"{name} must be an integer, got {text!r}") from None


def _host_name(host: str) -> str:
    """The name in a ``Host`` header, without the port (``[::1]:80`` -> ``[::1]``)."""
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0]
