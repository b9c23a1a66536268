"""The labeling app's HTTP API against a real server on a free port (urllib, threads)."""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from app_support import (
    CLASSES,
    Client,
    digits_subset,
    make_app,
    make_image_folder,
    make_image_npz,
    serving,
)
from PIL import Image

from semisup.app import AppError, LabelStore, make_server
from semisup.app.model import informativeness

ROOT = Path(__file__).resolve().parents[1]
JSON = {"Content-Type": "application/json"}


def rows(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as c:
        return c.execute(
            "SELECT item_id, action, label, session, undone_at IS NOT NULL FROM labels ORDER BY id"
        ).fetchall()


def test_label_skip_undo_and_progress(tmp_path):
    image_npz = make_image_npz(tmp_path)
    db = tmp_path / "l.sqlite"
    with serving(make_app(image_npz, db)) as url:
        c, other = Client(url, "s1"), Client(url, "s2")
        status, st = c.get("/api/status")
        assert status == 200 and (st["total"], st["labeled"], st["remaining"]) == (30, 0, 30)
        assert st["classes"] == CLASSES and st["keys"] == ["1", "2", "3"]
        _, nxt = c.get("/api/next?n=5")
        ids = [it["id"] for it in nxt["items"]]
        assert len(set(ids)) == 5 and all(
            it["image_url"] == f"/api/image?id={it['id']}" for it in nxt["items"]
        )
        assert c.post("/api/label", {"id": ids[0], "label": "one"})[0] == 200
        status, out = c.post("/api/label", {"id": ids[1], "label": "two"})
        assert status == 200 and out["event"]["label"] == "two" and out["progress"]["labeled"] == 2
        status, out = c.post("/api/skip", {"id": ids[2]})
        assert status == 200 and (out["progress"]["skipped"], out["progress"]["remaining"]) == (1, 28)
        _, everything = c.get("/api/next?n=100")
        queue = [it["id"] for it in everything["items"]]
        assert len(queue) == 28 and queue[-1] == ids[2] and not {ids[0], ids[1]} & set(queue)
        # another session has nothing to undo; its undo must not touch s1's labels
        assert other.post("/api/undo")[1]["undone"] is None
        _, u1 = c.post("/api/undo")
        assert (u1["undone"]["action"], u1["undone"]["item_id"], u1["item"]["id"]) == ("skip", ids[2], ids[2])
        _, u2 = c.post("/api/undo")
        assert (u2["undone"]["label"], u2["item"]["id"], u2["progress"]["labeled"]) == ("two", ids[1], 1)
        _, recent = c.get("/api/labels")
        assert [(r["id"], r["label"]) for r in recent["labels"]] == [(ids[0], "one")]
    assert rows(db) == [
        (ids[0], "label", "one", "s1", 0),
        (ids[1], "label", "two", "s1", 1),  # undo = tombstone, the row stays
        (ids[2], "skip", None, "s1", 1),
    ]


def test_image_is_the_data_sets_pixels(tmp_path):
    image_npz = make_image_npz(tmp_path)
    X, _ = digits_subset()
    with serving(make_app(image_npz, tmp_path / "l.sqlite")) as url:
        status, png = Client(url).get("/api/image?id=7")
    assert status == 200
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png))), X[7])


def test_bad_requests_get_4xx_with_a_message(tmp_path):
    image_npz = make_image_npz(tmp_path)
    db = tmp_path / "l.sqlite"
    with serving(make_app(image_npz, db)) as url:
        c = Client(url)
        cases = [
            (c.post("/api/label", {"id": "0", "label": "three"}), 400, "unknown class 'three'"),
            (c.post("/api/label", {"id": "0", "label": 1}), 400, "label must be a string"),
            (c.post("/api/label", {"id": True, "label": "one"}), 400, "id must be a string or a 64-bit"),
            (c.post("/api/label", {"id": 10**30, "label": "one"}), 400, "id must be a string or a 64-bit"),
            (c.post("/api/label", {"id": "0", "label": "one", "user": "a\nb"}), 400, "printable"),
            (c.post("/api/label", {"id": "0", "label": "one", "user": "x" * 65}), 400, "1 to 64"),
            (c.post("/api/undo", {"event_id": "3"}), 400, "event_id must be an integer"),
            (c.post("/api/release", {"ids": list(range(101))}), 400, "at most 100"),
            (c.post("/api/release", {"ids": [[1]]}), 400, "each of ids must be"),
            (c.post("/api/label", {"id": "999", "label": "one"}), 404, "unknown item id '999'"),
            (c.post("/api/label", {"id": 0, "label": "one"}), 404, "unknown item id 0"),
            (c.post("/api/skip", {"id": "../0"}), 404, "unknown item id"),
            (c.post("/api/label", {"id": "0"}), 400, "missing field 'label'"),
            (c.call("POST", "/api/label", raw=b"{not json", headers={"Content-Type": "application/json"}),
             400, "not valid JSON"),
            (c.call("POST", "/api/label", raw=b"[1, 2]", headers={"Content-Type": "application/json"}),
             400, "must be a JSON object"),
            (c.call("POST", "/api/label", raw=b"[" * 10_000 + b"]" * 10_000, headers=JSON),
             400, "nested too deeply"),
            (c.call("POST", "/api/label", raw=b'{"a":' * 5000 + b"1" + b"}" * 5000, headers=JSON),
             400, "nested too deeply"),
            (c.call("POST", "/api/label", raw=b'{"id": ' + b"9" * 5000 + b"}", headers=JSON),
             400, "not valid JSON"),
            (c.call("POST", "/api/label", raw=b'{"id": "\xff"}', headers=JSON), 400, "not valid JSON"),
            (c.call("POST", "/api/label", raw=b"id=0&label=one"), 415, "Content-Type: application/json"),
            (c.call("POST", "/api/label", raw=b"x" * 70_000, headers={"Content-Type": "application/json"}),
             413, "at most"),
            (c.post("/api/label", {"id": "0", "label": "one"}, headers={"Origin": "http://evil.example"}),
             403, "cross-origin"),
            (c.get("/api/status", headers={"Host": "evil.example:80"}), 403, "not a loopback name"),
            (c.get("/api/next?n=many"), 400, "n must be an integer"),
            (c.get("/api/labels?limit=" + "9" * 5000), 400, "limit must be an integer"),
            (c.get("/api/item"), 400, "missing field 'id'"),
            (c.get("/api/nothing"), 404, "no such page"),
            (c.get("/api/status/"), 404, "no such page"),  # no slash redirect: it would echo the path
            (c.call("DELETE", "/api/label"), 405, "not allowed"),
            (c.get("/api/label"), 405, "use POST"),
            (c.get("/files/x.png"), 404, "not an image folder"),
            (c.get("/files/a%00b.png"), 400, "NUL"),
        ]  # fmt: skip
        for (status, body), want_status, want_text in cases:
            assert status == want_status, (body, want_status)
            assert want_text in body["error"]
    assert rows(db) == []  # nothing bad was written


def test_token_required_when_set_and_for_public_addresses(tmp_path):
    image_npz = make_image_npz(tmp_path)
    with pytest.raises(AppError, match="needs a token"):
        make_server(make_app(image_npz, tmp_path / "a.sqlite"), "0.0.0.0", 0, None)
    with serving(make_app(image_npz, tmp_path / "l.sqlite"), token="s3cret") as url:
        for c in (Client(url), Client(url, token="wrong")):
            status, body = c.get("/api/status")
            assert status == 401 and "token" in body["error"]
            assert c.post("/api/label", {"id": "0", "label": "one"})[0] == 401
        assert Client(url, token="s3cret").post("/api/label", {"id": "0", "label": "one"})[0] == 200
        assert Client(url).get("/api/status?token=s3cret")[0] == 200
        assert Client(url).get("/api/status", headers={"X-Semisup-Token": "s3cret"})[0] == 200
        # the printed URL: /?token=... -> cookie + redirect; the cookie then opens the API
        conn = http.client.HTTPConnection("127.0.0.1", int(url.rsplit(":", 1)[1]))
        conn.request("GET", "/?token=s3cret")
        r = conn.getresponse()
        cookies = [v for k, v in r.getheaders() if k.lower() == "set-cookie"]
        assert r.status == 303 and r.getheader("Location") == "/"
        assert any(c.startswith("semisup_token=s3cret;") and "HttpOnly" in c for c in cookies)
        status, st = Client(url).get("/api/status", headers={"Cookie": "semisup_token=s3cret"})
        assert status == 200 and st["labeled"] == 1


def test_busy_port_is_a_clear_error(tmp_path):
    image_npz = make_image_npz(tmp_path)
    with serving(make_app(image_npz, tmp_path / "l.sqlite")) as url:
        port = int(url.rsplit(":", 1)[1])
        with pytest.raises(AppError, match=f"cannot listen on 127.0.0.1:{port}.*pick another --port"):
            make_server(make_app(image_npz, tmp_path / "m.sqlite"), "127.0.0.1", port)


def test_cli_refuses_public_address_without_token(tmp_path, capsys):
    image_npz = make_image_npz(tmp_path)
    from semisup.cli import main

    db = tmp_path / "l.sqlite"
    assert main(["label", str(image_npz), "--db", str(db), "--host", "0.0.0.0"]) == 2
    assert "needs a token" in capsys.readouterr().err and not db.exists()


def test_files_only_from_the_data_set(tmp_path):
    image_folder = make_image_folder(tmp_path)
    with serving(make_app(image_folder, tmp_path / "l.sqlite")) as url:
        c = Client(url)
        _, nxt = c.get("/api/next?n=20")
        items = {it["id"]: it for it in nxt["items"]}
        assert set(items) == {f"unlabeled/img{k}_{k % 3}.png" for k in range(2, 8)}  # class folders: given
        status, data = c.get(items["unlabeled/img2_2.png"]["image_url"])
        assert status == 200 and data == (image_folder / "unlabeled/img2_2.png").read_bytes()
        for path in ("/files/../secret.txt", "/files/%2e%2e/secret.txt", "/files/zero/../../secret.txt",
                     "/files/..%2fsecret.txt", "/files//etc/passwd", "/files/%2Fetc%2Fpasswd"):  # fmt: skip
            status, body = c.raw_get(path)
            assert status == 403 and "outside the data set" in body["error"], path
        for path in ("/files/unlabeled", "/files/zero/missing.png", "/files/unlabeled/../zero/img0_0.png"):
            status, body = c.raw_get(path)
            assert status == 404 and "not an item" in body["error"], path
        assert c.post("/api/label", {"id": "unlabeled/img2_2.png", "label": "zero"})[0] == 200


def test_two_clients_labeling_at_once_lose_nothing(tmp_path):
    X, y = digits_subset(per_class=40)
    data = tmp_path / "d.npz"
    np.savez(data, X=X, y=np.full(len(X), -1), classes=np.array(CLASSES))
    db = tmp_path / "l.sqlite"
    sent: dict[str, str] = {}
    errors: list = []
    with serving(make_app(data, db, retrain=True, every=10)) as url:
        a, b = Client(url, "a"), Client(url, "b")
        ids_a = {it["id"] for it in a.get("/api/next?n=20")[1]["items"]}
        ids_b = {it["id"] for it in b.get("/api/next?n=20")[1]["items"]}
        assert not ids_a & ids_b  # items handed to one labeler are leased to it

        def hammer(session: str, part: int) -> None:
            c = Client(url, session)
            for k in range(part, len(X), 4):
                label = CLASSES[y[k]]
                status, body = c.post("/api/label", {"id": str(k), "label": label})
                if status != 200:
                    errors.append(body)
                sent[str(k)] = label

        threads = [threading.Thread(target=hammer, args=(f"s{p % 2}", p)) for p in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert a.get("/api/status")[1]["labeled"] == len(X) == 120
    store = LabelStore(db)
    assert {k: e.label for k, e in store.current().items()} == sent
    assert len(store.events()) == 120


def test_restart_on_the_same_file_keeps_labels(tmp_path):
    image_npz = make_image_npz(tmp_path)
    db = tmp_path / "l.sqlite"
    with serving(make_app(image_npz, db)) as url:
        c = Client(url)
        for k, label in (("3", "one"), ("4", "two"), ("5", "zero")):
            assert c.post("/api/label", {"id": k, "label": label})[0] == 200
        c.post("/api/undo")
    with serving(make_app(image_npz, db)) as url:
        c = Client(url)
        st = c.get("/api/status")[1]
        assert (st["labeled"], st["remaining"]) == (2, 28)
        assert [(r["id"], r["label"]) for r in c.get("/api/labels")[1]["labels"]] == [
            ("4", "two"),
            ("3", "one"),
        ]
        queue = {it["id"] for it in c.get("/api/next?n=100")[1]["items"]}
        assert len(queue) == 28 and not {"3", "4"} & queue
        assert c.get("/api/item?id=4")[1]["label"] == "two"


def test_killed_server_loses_no_label(tmp_path):
    image_npz = make_image_npz(tmp_path)
    """SIGKILL right after the responses: every acknowledged label is in the file."""
    db = tmp_path / "l.sqlite"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "semisup", "label", str(image_npz), "--db", str(db), "--port", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line.startswith("open "):
                url = line.split()[1].rstrip("/")
        assert url, "the server did not start"
        c = Client(url)
        for k in range(6):
            assert c.post("/api/label", {"id": str(k), "label": CLASSES[k % 3]})[0] == 200
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    with sqlite3.connect(db) as conn:
        got = dict(conn.execute("SELECT item_id, label FROM current_labels").fetchall())
    assert got == {str(k): CLASSES[k % 3] for k in range(6)}


def test_retraining_refreshes_suggestions_and_queue(tmp_path):
    image_npz = make_image_npz(tmp_path)
    _, y = digits_subset()
    db = tmp_path / "l.sqlite"
    app = make_app(image_npz, db, retrain=True, every=3)
    with serving(app) as url:
        c = Client(url)
        assert c.get("/api/status")[1]["model"]["version"] == 0
        assert all(it["suggestion"] is None for it in c.get("/api/next?n=5")[1]["items"])
        for k in range(3):  # items 0, 1, 2 are a zero, a one and a two
            c.post("/api/label", {"id": str(k), "label": CLASSES[y[k]]})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # a fit on the three labels has finished
            st = c.get("/api/status")[1]
            if st["model"]["labels"] == 3 and not st["model"]["training"]:
                break
            time.sleep(0.05)
        assert st["model"]["version"] >= 1 and st["model"]["labels"] == 3
        items = c.get("/api/next?n=27")[1]["items"]
        proba = app.suggester.state.proba
        scores = informativeness(proba[[int(it["id"]) for it in items]])
        assert np.all(np.diff(scores) <= 1e-12)  # most informative first
        for it in items:
            k = int(it["id"])
            assert it["suggestion"] == CLASSES[int(proba[k].argmax())]
            assert it["confidence"] == pytest.approx(float(proba[k].max()))
        # label five more with the truth (no refit meanwhile): the estimate is the agreement with the
        # suggestion the model made before each label
        app.suggester.every = 1000
        for it in items[:5]:
            c.post("/api/label", {"id": it["id"], "label": CLASSES[y[int(it["id"])]]})
        agree = sum(it["suggestion"] == CLASSES[y[int(it["id"])]] for it in items[:5])
        acc = c.get("/api/status")[1]["accuracy"]
        assert (acc["agree"], acc["n"]) == (agree, 5) and acc["estimate"] == pytest.approx(agree / 5)


def _raw_response(url: str, target: str) -> bytes:
    """The raw bytes of a response to ``GET target``, headers exactly as the server wrote them."""
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


INJECTIONS = [
    "/?token=x%0d%0aSet-Cookie:%20evil=1%0d%0a%0d%0a%3Cscript%3Ealert(1)%3C/script%3E",
    "/?token=x%0aX-Injected:%201",
    "/?token=x%0dX-Injected:%201",
    "/?token=%00x%0d%0aX-Injected:%201",
]


@pytest.mark.parametrize("token", [None, "s3cret"])
def test_no_request_value_reaches_a_response_header(tmp_path, token):
    """Regression (issue 13, critical): /?token=... was copied into Set-Cookie, even with no server
    token, so a crafted link could split the response and inject a script into the app's origin."""
    with serving(make_app(make_image_npz(tmp_path), tmp_path / "l.sqlite"), token=token) as url:
        for target in INJECTIONS:
            raw = _raw_response(url, target)
            head = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()  # header names: any case
            lines = head.split("\r\n")
            assert not any(ln.lower().startswith(("x-injected", "set-cookie: evil")) for ln in lines), head
            assert b"<script>alert(1)" not in raw
            assert "x\r" not in head and "token=x" not in head
            assert "content-security-policy" in head
            cookies = [ln for ln in lines if ln.lower().startswith("set-cookie: semisup_token")]
            assert cookies == []  # a wrong token never earns a cookie
        # the right token earns a cookie holding exactly the server's token
        if token:
            head = _raw_response(url, f"/?token={token}").split(b"\r\n\r\n")[0].decode()
            assert f"set-cookie: semisup_token={token}; Path=/; HttpOnly; SameSite=Strict" in head
        else:  # no server token: the redirect sets no token cookie at all
            head = _raw_response(url, "/?token=anything").split(b"\r\n\r\n")[0].decode()
            assert head.startswith("HTTP/1.1 303") and "semisup_token" not in head


def test_tokens_that_cannot_travel_in_a_header_are_refused(tmp_path):
    app = make_app(make_image_npz(tmp_path), tmp_path / "l.sqlite")
    for bad in ("a\r\nX: 1", "with space", "semi;colon"):
        with pytest.raises(AppError, match="only letters, digits"):
            make_server(app, "127.0.0.1", 0, bad)


HARDENING = ("content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy")


def test_hardening_headers_on_every_kind_of_response(tmp_path, capfd):
    app = make_app(make_image_npz(tmp_path), tmp_path / "l.sqlite")
    with serving(app, token="s3cret") as url:
        port = int(url.rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

        def head_of(method: str, target: str, headers: dict) -> tuple[int, dict]:
            conn.request(method, target, headers=headers)
            r = conn.getresponse()
            r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}

        auth = {"Authorization": "Bearer s3cret"}
        app.status = lambda session: 1 / 0  # a bug in the service: a 500 that must still be hardened
        for method, target, headers, want in [
            ("GET", "/", auth, 200),
            ("GET", "/api/labels", auth, 200),
            ("GET", "/api/status", {}, 401),
            ("GET", "/nowhere", auth, 404),
            ("PUT", "/api/label", auth, 405),
            ("GET", "/api/status", auth, 500),
        ]:
            status, h = head_of(method, target, headers)
            assert status == want, (target, status)
            assert all(k in h for k in HARDENING), (target, h)
            assert h["cache-control"] == "no-store" and h["x-frame-options"] == "DENY"
            assert "server" not in h and "date" not in h  # uvicorn's own headers are off
            if status >= 400:
                assert h["connection"] == "close"
                conn.close()
    capfd.readouterr()


def test_a_bug_gives_json_500_without_the_traceback_and_serving_goes_on(tmp_path, capfd):
    app = make_app(make_image_npz(tmp_path), tmp_path / "l.sqlite")
    real_status = app.status

    def broken(session: str, shown: str | None = None) -> dict:
        raise RuntimeError("secret internals")

    with serving(app) as url:
        app.status = broken
        status, body = Client(url).get("/api/status")
        assert status == 500 and body == {"error": "internal error (RuntimeError); see the server's terminal"}
        app.status = real_status
        assert Client(url).get("/api/status")[0] == 200
    err = capfd.readouterr().err
    assert "Traceback" in err and "secret internals" in err  # the terminal shows it, the client does not


def test_oversized_bodies_are_refused_before_they_are_read(tmp_path):
    with serving(make_app(make_image_npz(tmp_path), tmp_path / "l.sqlite")) as url:
        port = int(url.rsplit(":", 1)[1])
        # a declared gigabyte: refused at once, without waiting for (or reading) the body
        t0 = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(
                f"POST /api/label HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                "Content-Length: 1000000000\r\n\r\n{".encode()
            )
            reply = b""
            while b"at most" not in reply and time.monotonic() - t0 < 5:  # head and body may come apart
                part = s.recv(65536)
                if not part:
                    break
                reply += part
            reply = reply.decode()
        assert reply.startswith("HTTP/1.1 413") and "at most 65536" in reply and time.monotonic() - t0 < 5
        # a chunked body has no length up front: counted as it streams in
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        chunks = (b" " * 8192 for _ in range(10))
        conn.request("POST", "/api/label", body=chunks, headers=JSON, encode_chunked=True)
        r = conn.getresponse()
        assert r.status == 413 and "at most" in json.loads(r.read())["error"]
        conn.close()


def test_clients_holding_half_a_request_do_not_hold_the_server(tmp_path):
    """Issue 13 (medium): three held connections each kept a thread 20 s+. Now a normal request is
    answered at once while they hold, and each held connection is closed after ``request_timeout``."""
    timeout = 3.0
    with serving(make_app(make_image_npz(tmp_path), tmp_path / "l.sqlite"), request_timeout=timeout) as url:
        port = int(url.rsplit(":", 1)[1])
        partial = [
            b"",  # connected, says nothing
            b"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n",  # headers never finished
            b"GET /api/sta",  # request line never finished
            b"POST /api/label HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"id"',  # body never finished
        ]
        held = []
        for data in partial:
            s = socket.create_connection(("127.0.0.1", port), timeout=timeout + 10)
            s.sendall(data)
            held.append(s)
        t0 = time.monotonic()
        status, _ = Client(url).get("/api/status")
        assert status == 200 and time.monotonic() - t0 < timeout / 2
        for s in held:  # the server closes each: recv returns end-of-file (or a reset)
            with contextlib.suppress(ConnectionResetError):
                assert s.recv(65536) == b""
            s.close()
        assert time.monotonic() - t0 < timeout + 5


def test_named_labelers_each_label_keeps_who_gave_it(tmp_path):
    db = tmp_path / "l.sqlite"
    users = {"alice": "tok-alice", "bob": "tok-bob"}
    with serving(make_app(make_image_npz(tmp_path), db), token="shared", users=users) as url:
        alice, bob, shared = (Client(url, s, token=t) for s, t in [("a", "tok-alice"), ("b", "tok-bob"),
                                                                   ("c", "shared")])  # fmt: skip
        assert alice.get("/api/status")[1]["labeler"] == {"name": "alice", "from_token": True}
        assert shared.get("/api/status")[1]["labeler"] == {"name": None, "from_token": True}
        assert Client(url).get("/api/status")[0] == 401
        assert alice.post("/api/label", {"id": "0", "label": "one", "user": "mallory"})[0] == 200  # ignored
        assert bob.post("/api/label", {"id": "0", "label": "two"})[0] == 200
        assert bob.post("/api/skip", {"id": "1"})[0] == 200
        assert shared.post("/api/label", {"id": "2", "label": "zero", "user": "carol"})[0] == 200
        assert shared.post("/api/label", {"id": "3", "label": "zero"})[0] == 200
    with sqlite3.connect(db) as c:
        got = c.execute("SELECT item_id, action, user FROM labels ORDER BY id").fetchall()
    assert got == [("0", "label", "alice"), ("0", "label", "bob"), ("1", "skip", "bob"),
                   ("2", "label", "carol"), ("3", "label", "tester")]  # fmt: skip


def test_undo_by_event_and_release_go_through(tmp_path):
    with serving(make_app(make_image_npz(tmp_path), tmp_path / "l.sqlite")) as url:
        a, b = Client(url, "a"), Client(url, "b")
        mine = [it["id"] for it in a.get("/api/next?n=30")[1]["items"]]
        assert len(mine) == 30 and b.get("/api/next?n=30")[1]["items"] == []  # all leased to a
        assert a.post("/api/release", {"ids": mine[:4]})[1] == {"released": 4}
        assert {it["id"] for it in b.get("/api/next?n=30")[1]["items"]} == set(mine[:4])
        event = a.post("/api/label", {"id": mine[5], "label": "one"})[1]["event"]
        first = a.post("/api/undo", {"event_id": event["id"]})[1]
        again = a.post("/api/undo", {"event_id": event["id"]})[1]  # a retried undo changes nothing
        assert first["undone"]["id"] == event["id"] and again["undone"] is None and again["already"]


def test_cli_users_prints_one_url_per_labeler(tmp_path, capsys):
    image_npz = make_image_npz(tmp_path)
    from semisup.cli import main

    db = tmp_path / "l.sqlite"
    for spec, want in (("alice,alice", "names alice twice"), (" , ", "names nobody")):
        assert main(["label", str(image_npz), "--db", str(db), "--users", spec]) == 2
        assert want in capsys.readouterr().err and not db.exists()
    names = tmp_path / "team.txt"
    names.write_text("# the team\nalice\n\nbob\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "semisup", "label", str(image_npz), "--db", str(db), "--port", "0",
           "--host", "0.0.0.0", "--users", str(names)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        urls: dict[str, str] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line.startswith("open "):
                urls[line.split()[-1].strip("()")] = line.split()[1]
            if line.startswith("Ctrl-C") or not line:
                break
        assert set(urls) == {"alice", "bob"}, urls  # --users counts as tokens off loopback: no shared URL
        for name, link in urls.items():
            token = link.split("?token=")[1]
            port = int(link.split(":")[2].split("/")[0])
            c = Client(f"http://127.0.0.1:{port}", token=token)
            assert c.get("/api/status")[1]["labeler"]["name"] == name
    finally:
        proc.send_signal(signal.SIGINT)
        out = proc.communicate(timeout=30)[0]
    assert proc.returncode == 0 and "stopped; every label given is in the file" in out
