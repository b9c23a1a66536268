"""Tiny data sets and a real labeling server on a free port, for the test_app_* files.

Not a conftest.py: tests/conftest.py is imported by name (``from conftest import ...``) elsewhere.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from semisup.app import LabelApp, LabelStore, Suggester, load_items, make_server

CLASSES = ["zero", "one", "two"]


def digits_subset(per_class: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """(3 * per_class, 8, 8) uint8 digit images of 0, 1, 2 and their labels, interleaved."""
    from sklearn.datasets import load_digits

    d = load_digits()
    idx = np.concatenate([np.flatnonzero(d.target == c)[:per_class] for c in range(3)])
    idx = idx.reshape(3, per_class).T.ravel()  # 0, 1, 2, 0, 1, 2, ...
    return (d.images[idx] * (255 / 16)).astype(np.uint8), d.target[idx]


def make_image_npz(tmp_path: Path) -> Path:
    """30 unlabeled 8x8 digit images (classes zero/one/two) in a .npz."""
    X, _ = digits_subset()
    path = tmp_path / "digits3.npz"
    np.savez(path, X=X, y=np.full(len(X), -1), classes=np.array(CLASSES))
    return path


def make_image_folder(tmp_path: Path) -> Path:
    """data/zero/, data/one/ (1 image each), data/unlabeled/ (6 images); a secret file beside data/."""
    X, y = digits_subset(per_class=3)
    root = tmp_path / "data"
    for k, (x, c) in enumerate(zip(X[:8], y[:8], strict=True)):
        folder = root / (["zero", "one"][k] if k < 2 else "unlabeled")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(x).save(folder / f"img{k}_{c}.png")
    (tmp_path / "secret.txt").write_text("not part of the data set")
    return root


def make_app(data: Path | str, db: Path, retrain: bool = False, every: int = 5, **kw) -> LabelApp:
    items = load_items(str(data), **kw)
    store = LabelStore(db, items.classes, items.ids, data_name=items.name, kind=items.kind)
    app = LabelApp(items, store, user="tester")
    app.suggester = Suggester(items, app.human_labels, every=every, retrain=retrain)
    return app


class Client:
    """JSON over HTTP to one server; ``session`` goes in the X-Session header."""

    def __init__(self, base: str, session: str = "s1", token: str | None = None) -> None:
        self.base, self.session, self.token = base, session, token

    def call(self, method: str, path: str, body: object = None, headers: dict | None = None, raw=None):
        h = {"X-Session": self.session, **(headers or {})}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        data = raw
        if body is not None:
            data, h["Content-Type"] = json.dumps(body).encode(), "application/json"
        req = urllib.request.Request(self.base + path, data=data, headers=h, method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                payload = r.read()
                status, ctype = r.status, r.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            payload, status, ctype = e.read(), e.code, e.headers.get("Content-Type", "")
        return status, (json.loads(payload) if ctype.startswith("application/json") else payload)

    def get(self, path: str, **kw):
        return self.call("GET", path, **kw)

    def post(self, path: str, body: object = None, **kw):
        return self.call("POST", path, body if body is not None else {}, **kw)

    def raw_get(self, path: str) -> tuple[int, dict]:
        """GET ``path`` exactly as written (no URL normalisation): for path traversal attempts."""
        host, port = self.base.split("//")[1].rstrip("/").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        conn.request("GET", path, headers={"X-Session": self.session})
        r = conn.getresponse()
        out = r.status, json.loads(r.read())
        conn.close()
        return out


@contextlib.contextmanager
def serving(app: LabelApp, token: str | None = None, host: str = "127.0.0.1", **server_kw) -> Iterator[str]:
    """Serve ``app`` on a free port in a thread; yields the base URL; stops the server after.
    ``server_kw``: more ``make_server`` arguments (``users``, ``request_timeout``)."""
    server = make_server(app, host, 0, token, **server_kw)
    app.start()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        app.stop()
        app.store.close()
