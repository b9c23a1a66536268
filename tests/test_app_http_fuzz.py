"""A bounded fuzz run of the labeling app's HTTP API (issue 13): hypothesis sends random methods, paths,
query strings, headers and JSON bodies to two real loopback servers (image arrays with a shared and a
per-person token; an image folder without a token). No response may be a 5xx, every refusal and every
API answer is JSON, every response carries the hardening headers, and no request value with a line
break ever reaches a response header.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from app_support import make_app, make_image_folder, make_image_npz, serving
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

MARK = "Injected"  # a request value carries "\r\nX-Injected: 1"; no response header may hold it
TOKENS = ["s3cret", "tok-alice"]
ROUTES = ["/", "/api/status", "/api/next", "/api/item", "/api/labels", "/api/image", "/api/label",
          "/api/skip", "/api/undo", "/api/release", "/files/zero/img0_0.png", "/files/../x"]  # fmt: skip
HARDENING = ("content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy")


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> Iterator[list[tuple[int, str | None]]]:
    """(port, token) of two servers: image arrays behind tokens, an image folder without one."""
    tmp = tmp_path_factory.mktemp("fuzz")
    npz_app = make_app(make_image_npz(tmp), tmp / "a.sqlite")
    folder_app = make_app(make_image_folder(tmp), tmp / "b.sqlite")
    with (
        serving(npz_app, token="s3cret", users={"alice": "tok-alice"}) as a,
        serving(folder_app) as b,
    ):
        yield [(int(a.rsplit(":", 1)[1]), "s3cret"), (int(b.rsplit(":", 1)[1]), None)]


injected = st.sampled_from(
    ["x\r\nX-Injected: 1", "\rX-Injected: 1", "\nX-Injected: 1", "\x00\r\nX-Injected:"]
)
text = st.one_of(st.text(max_size=30), injected, st.sampled_from(["0", "7", "-1", "9" * 5000, ""]))
json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=0, max_value=40), st.floats(), text
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
fields = st.fixed_dictionaries(
    {},
    optional={
        "id": json_value,
        "label": st.sampled_from(["zero", "one", "two", "three"]) | json_value,
        "user": json_value,
        "event_id": json_value,
        "ids": json_value,
    },  # fmt: skip
)
body = st.one_of(
    st.none(),
    fields.map(lambda d: json.dumps(d).encode()),
    json_value.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
    st.sampled_from([b"[" * 5000, b'{"a":' * 3000 + b"1" + b"}" * 3000, b'{"id": ' + b"9" * 5000 + b"}"]),
)
path = st.one_of(
    st.sampled_from(ROUTES),
    st.sampled_from(ROUTES),
    st.sampled_from(ROUTES),
    st.lists(st.text(max_size=12), min_size=1, max_size=4).map(lambda p: "/" + "/".join(p)),
    injected.map(lambda v: "/files/" + v),
)
query = st.dictionaries(
    st.sampled_from(["n", "limit", "id", "token", "x"]) | st.text(max_size=6), text, max_size=3
)
header_value = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
headers = st.fixed_dictionaries(
    {},
    optional={
        "Cookie": st.sampled_from(["semisup_session=x", "semisup_session=x; semisup_token=;"]) | header_value,
        "X-Session": header_value,
        "X-Semisup-Token": st.sampled_from(TOKENS) | header_value,
    },
)
# Mostly well-formed requests, so that most examples get past the access checks to the routes.
OK = "ok"
host = st.one_of(*[st.just(OK)] * 8, st.sampled_from(["evil.example", "localhost", "[::1]:1"]), header_value)
content_type = st.one_of(
    *[st.just(OK)] * 6, st.sampled_from(["text/plain", "application/json; charset=utf-8"]), header_value
)
origin = st.one_of(*[st.none()] * 6, st.sampled_from([OK, "http://evil.example", "null"]), header_value)
POSTS = ("/api/label", "/api/skip", "/api/undo", "/api/release")


def _send(port: int, method: str, target: str, hdrs: dict[str, str], data: bytes | None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest(method, target, skip_host="Host" in hdrs, skip_accept_encoding=True)
        for k, v in hdrs.items():
            conn.putheader(k, v)
        if data is not None:
            conn.putheader("Content-Length", str(len(data)))
        conn.endheaders(data)
        r = conn.getresponse()
        return r.status, r.getheaders(), r.read()
    finally:
        conn.close()


FUZZ = settings(
    deadline=None,  # loopback round trips on a shared CPU: timing is not what is tested
    database=None,  # nothing written into the source tree
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


def _target(path: str, query: dict[str, str]) -> str:
    return quote(path, safe="/") + "?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in query.items())


def _check(port: int, method: str, path: str, target: str, hdrs: dict[str, str], data: bytes | None) -> None:
    """Send one request; the answer must be no 5xx, JSON where it should be, and hardened."""
    try:
        status, response_headers, payload = _send(port, method, target, hdrs, data)
    except (TimeoutError, ConnectionResetError, BrokenPipeError) as e:
        raise AssertionError(f"the server dropped {method} {target}: {e!r}") from e
    event(f"status {status}")
    assert status < 500, (method, target, hdrs, data, payload[:300])
    names = {k.lower(): v for k, v in response_headers}
    for k, v in response_headers:
        assert MARK not in k and MARK not in v and "\r" not in v and "\n" not in v, (k, v)
    if status == 400 and names.get("content-type", "").startswith("text/plain"):
        return  # h11 refused the request itself (e.g. a Host header h11 finds malformed), before the app
    assert all(h in names for h in HARDENING), names
    if method == "HEAD":
        return
    if status == 200 and path == "/api/image":
        assert names["content-type"] == "image/png"
    elif status >= 400 or path.startswith("/api/"):
        assert names["content-type"] == "application/json", (status, names)
        answer = json.loads(payload)
        if status >= 400:
            assert isinstance(answer["error"], str) and answer["error"]


@settings(FUZZ, max_examples=400)
@given(
    which=st.sampled_from([0, 1]),
    path=st.sampled_from(ROUTES),
    query=st.dictionaries(st.sampled_from(["n", "limit", "id", "x"]), text, max_size=2),
    data=body,
    user_token=st.booleans(),
)
def test_fuzzed_api_calls_never_fail_the_server(servers, which, path, query, data, user_token):
    """Well-formed calls of every route (its method, a loopback Host, a valid token, JSON) with random
    query values and bodies: what gets past the access checks to the routes and the service."""
    port, token = servers[which]
    method = "POST" if path in POSTS else "GET"
    hdrs = {"Host": f"127.0.0.1:{port}", "X-Session": "fuzz"}
    if token:
        hdrs["Authorization"] = f"Bearer {'tok-alice' if user_token else token}"
    if method == "POST":
        hdrs["Content-Type"] = "application/json"
    _check(port, method, path, _target(path, query), hdrs, data if method == "POST" else None)


@settings(FUZZ, max_examples=300)
@given(
    which=st.sampled_from([0, 1]),
    method=st.sampled_from([OK] * 6 + ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS"]),
    path=path,
    query=query,
    hdrs=headers,
    host=host,
    content_type=content_type,
    origin=origin,
    data=body,
    auth=st.sampled_from(["bearer"] * 3 + ["cookie", "query", "none"]),
)
def test_fuzzed_requests_never_fail_the_server(
    servers, which, method, path, query, hdrs, host, content_type, origin, data, auth
):
    """Anything goes: methods, paths, Hosts, Origins, tokens, cookies, content types, line breaks."""
    port, token = servers[which]
    if method == OK:  # the route's own method
        method = "POST" if path in POSTS else "GET"
    hdrs = {**hdrs, "Host": f"127.0.0.1:{port}" if host == OK else host}
    if method == "POST":
        hdrs["Content-Type"] = "application/json" if content_type == OK else content_type
    if origin is not None:
        hdrs["Origin"] = f"http://127.0.0.1:{port}" if origin == OK else origin
    if token and auth == "bearer":
        hdrs["Authorization"] = f"Bearer {token}"
    elif token and auth == "query":
        query = {**query, "token": token}
    elif token and auth == "cookie":
        hdrs["Cookie"] = f"semisup_token={token}; " + hdrs.get("Cookie", "")
    _check(port, method, path, _target(path, query), hdrs, data)
