"""Serving the labeling app: a bound socket, uvicorn (h11) running the Starlette app of ``routes.py``.

Header validation, keep-alive timeouts and the connection limit come from uvicorn and h11; on top of
them each request has a read deadline (``request_timeout``), so a client that sends half a request
cannot hold a connection. Bound to a non-loopback address the server refuses to start without a
token (``token`` shared, or one per person in ``users``).
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from collections.abc import Mapping

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from semisup.app.addresses import is_loopback
from semisup.app.routes import build_asgi
from semisup.app.service import LabelApp

__all__ = ["AppError", "LabelServer", "check_bind", "is_loopback", "make_server"]

KEEP_ALIVE_S = 5  # an idle browser connection is closed after this
MAX_CONNECTIONS = 64  # more at once get 503 from uvicorn
MAX_HEADER_BYTES = 16 * 1024  # h11 refuses a request line + headers longer than this
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9._~-]+")


class AppError(ValueError):
    """The server cannot start as asked (e.g. a public address without a token)."""


def check_bind(host: str, token: str | None, users: Mapping[str, str] | None = None) -> None:
    """Refuse a non-loopback ``host`` without a token (anyone on the network could label), tokens with
    characters that cannot travel in a URL and a cookie as they are, and one token for two people.
    ``users`` maps each labeler's name to their token."""
    tokens = [t for t in [token, *(users or {}).values()] if t]
    for t in tokens:
        if not _TOKEN_CHARS.fullmatch(t):
            raise AppError(
                "the token may hold only letters, digits and - . _ ~ (it travels in a URL and a cookie); "
                "pass --token auto for a random one"
            )
    if len(set(tokens)) != len(tokens):
        raise AppError("two labelers (or a labeler and --token) share a token: each needs their own")
    if not is_loopback(host) and not tokens:
        raise AppError(
            f"listening on {host!r} (not a loopback address) needs a token: anyone who can reach it could "
            "read the data and write labels. Pass --token auto (or --token SECRET, or set "
            "SEMISUP_LABEL_TOKEN), or --users NAMES, or keep the default --host 127.0.0.1"
        )


class _ReadDeadline(H11Protocol):
    """uvicorn's h11 protocol with a deadline for reading each request. uvicorn times out idle keep-alive
    connections only: a client sending half a request (or a body byte by byte) would otherwise hold its
    connection, and a slot of the connection limit, for ever."""

    request_timeout = 10.0
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request on this connection gets its own deadline

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = self.loop.call_later(self.request_timeout, self._expire)

    def _expire(self) -> None:
        self._deadline = None
        cycle = self.cycle
        # Still reading: no request yet (or only its start), the last one answered, or its body unfinished.
        # A request fully read and being answered is left alone; its response re-arms the deadline.
        reading = cycle is None or cycle.response_complete or cycle.more_body
        if reading and not self.transport.is_closing():
            self.transport.close()


class LabelServer:
    """The app on a bound socket: ``serve_forever()`` (blocks; run it in a thread or the main one),
    ``shutdown()`` from another thread (returns once serving stopped), ``server_close()``."""

    def __init__(
        self,
        sock: socket.socket,
        app: LabelApp,
        token: str | None = None,
        users: Mapping[str, str] | None = None,
        request_timeout: float = 10.0,
    ) -> None:
        self.socket, self.app, self.token, self.users = sock, app, token, dict(users or {})
        self.server_address: tuple[str, int] = sock.getsockname()[:2]
        self.loopback = is_loopback(self.server_address[0])
        tokens: dict[str, str | None] = {t: name for name, t in self.users.items()}
        if token:
            tokens[token] = None
        protocol = type("ReadDeadlineH11", (_ReadDeadline,), {"request_timeout": request_timeout})
        config = uvicorn.Config(
            build_asgi(app, tokens, self.loopback),
            http=protocol,
            ws="none",
            lifespan="off",
            loop="asyncio",
            interface="asgi3",
            log_config=None,
            log_level="warning",
            access_log=False,
            proxy_headers=False,  # no X-Forwarded-* rewriting: the socket's peer is the client
            server_header=False,
            date_header=False,
            timeout_keep_alive=KEEP_ALIVE_S,
            limit_concurrency=MAX_CONNECTIONS,
            h11_max_incomplete_event_size=MAX_HEADER_BYTES,
            timeout_graceful_shutdown=3,
        )
        self._server = uvicorn.Server(config)
        self._serving = threading.Event()
        self._stopped = threading.Event()

    def _url(self, token: str | None) -> str:
        host, port = self.server_address
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/" + (f"?token={token}" if token else "")

    @property
    def url(self) -> str:
        """The address to open (with the shared token, if any)."""
        return self._url(self.token)

    def user_urls(self) -> dict[str, str]:
        """Each labeler's own address (``--users``): the token in it says who labels."""
        return {name: self._url(t) for name, t in self.users.items()}

    def serve_forever(self) -> None:
        """Serve until ``shutdown()``; in the main thread Ctrl-C stops cleanly, then raises
        KeyboardInterrupt."""
        self._serving.set()
        try:
            self._server.run(sockets=[self.socket])
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        self._server.should_exit = True
        if self._serving.is_set():
            self._stopped.wait()

    def server_close(self) -> None:
        self.socket.close()


def make_server(
    app: LabelApp,
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str | None = None,
    users: Mapping[str, str] | None = None,
    request_timeout: float = 10.0,
) -> LabelServer:
    """A bound (not yet serving) server; ``port=0`` picks a free port. ``users``: name -> token. See
    ``check_bind``. ``request_timeout``: seconds a client has to send a whole request."""
    check_bind(host, token, users)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart at once after a stop
        sock.bind((host, port))
        sock.listen(128)
    except OSError as e:
        sock.close()
        raise AppError(
            f"cannot listen on {host}:{port} ({e.strerror or e}); pick another --port (0 = any)"
        ) from e
    return LabelServer(sock, app, token, users, request_timeout)
