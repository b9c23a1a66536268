"""Labeling app: label round-trip latency with several people labeling at once while the model refits.

For each data set, ``semisup label DATA`` runs as its own process (the command a user runs: uvicorn,
background refits every ``--every`` labels). ``--labelers`` threads, each its own session on its own
keep-alive connection, do what the page does: fetch a batch with ``GET /api/next?n=10``, then label
its items one by one with ``POST /api/label`` (the true class), one key press every ``--pace``
seconds, for ``--seconds``. Printed: p50/p99 of the label round trip and of the batch fetch, the labels
given, and how many refits finished meanwhile.

    OMP_NUM_THREADS=1 python benchmarks/label_latency.py [--data digits mnist5k] [--seconds 30]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from semisup.data.load import read_data

ROOT = Path(__file__).resolve().parents[1]


class Labeler(threading.Thread):
    """One person: a session on one keep-alive connection, a key press every ``pace`` seconds."""

    def __init__(self, port: int, session: str, truth: dict[str, str], pace: float, until: float) -> None:
        super().__init__(daemon=True)
        self.port, self.session, self.truth, self.pace, self.until = port, session, truth, pace, until
        self.label_ms: list[float] = []
        self.next_ms: list[float] = []
        self.errors: list[str] = []

    def _call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict, float]:
        headers = {"Host": f"127.0.0.1:{self.port}", "X-Session": self.session}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        t = time.perf_counter()
        self.conn.request(method, path, body=data, headers=headers)
        r = self.conn.getresponse()
        payload = json.loads(r.read())
        ms = (time.perf_counter() - t) * 1000
        if r.status >= 400:  # the server closes after a refusal: reconnect
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        return r.status, payload, ms

    def run(self) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        batch: list[str] = []
        while time.monotonic() < self.until:
            if not batch:
                status, out, ms = self._call("GET", "/api/next?n=10")
                self.next_ms.append(ms)
                batch = [it["id"] for it in out.get("items", [])]
                if not batch:
                    break  # nothing left to label
            press = time.monotonic()
            item = batch.pop(0)
            status, out, ms = self._call("POST", "/api/label", {"id": item, "label": self.truth[item]})
            if status == 200:
                self.label_ms.append(ms)
            else:
                self.errors.append(out.get("error", str(status)))
            time.sleep(max(0.0, self.pace - (time.monotonic() - press)))
        self.conn.close()


def serve(name: str, db: Path, every: int) -> tuple[subprocess.Popen, int]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
    }
    cmd = [sys.executable, "-m", "semisup", "label", name, "--db", str(db), "--port", "0",
           "--retrain-every", str(every)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("open "):
            return proc, int(line.split()[1].rstrip("/").rsplit(":", 1)[1])
        if not line:
            break
    proc.kill()
    raise RuntimeError(f"`semisup label {name}` did not start")


def status(port: int) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/api/status", headers={"Host": f"127.0.0.1:{port}"})
    out = json.loads(conn.getresponse().read())
    conn.close()
    return out


def bench(name: str, labelers: int, pace: float, seconds: float, every: int) -> dict:
    ds = read_data(name)
    truth = {str(k): ds.classes[int(c)] for k, c in enumerate(ds.y)}
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = serve(name, Path(tmp) / "labels.sqlite", every)
        try:
            start = status(port)["model"]["version"]
            until = time.monotonic() + seconds
            threads = [Labeler(port, f"bench{k}", truth, pace, until) for k in range(labelers)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            end = status(port)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    label_ms = np.concatenate([t.label_ms for t in threads])
    next_ms = np.concatenate([t.next_ms for t in threads])
    return {
        "data": name,
        "N": len(ds.y),
        "labels": len(label_ms),
        "errors": sum(len(t.errors) for t in threads),
        "label_p50": float(np.percentile(label_ms, 50)),
        "label_p99": float(np.percentile(label_ms, 99)),
        "next_p50": float(np.percentile(next_ms, 50)),
        "next_p99": float(np.percentile(next_ms, 99)),
        "refits": end["model"]["version"] - start,
        "refit_s": end["model"]["seconds"],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", nargs="+", default=["digits", "mnist5k"])
    p.add_argument("--labelers", type=int, default=4)
    p.add_argument("--pace", type=float, default=0.3, help="seconds between one labeler's key presses")
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--every", type=int, default=5, help="refit after this many new labels")
    args = p.parse_args()
    print(
        f"{args.labelers} labelers, a key press every {args.pace} s each, {args.seconds:g} s, refit every "
        f"{args.every} labels; {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"
    )
    cols = ["data", "N", "labels", "label p50 (ms)", "label p99 (ms)", "next p50 (ms)", "next p99 (ms)"]
    print("| " + " | ".join([*cols, "refits", "last refit (s)"]) + " |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.data:
        r = bench(name, args.labelers, args.pace, args.seconds, args.every)
        print(
            f"| {r['data']} | {r['N']} | {r['labels']} | {r['label_p50']:.1f} | {r['label_p99']:.1f} | "
            f"{r['next_p50']:.1f} | {r['next_p99']:.1f} | {r['refits']} | {r['refit_s']:.2f} |",
            flush=True,
        )
        if r["errors"]:
            print(f"  {r['errors']} labels refused", flush=True)


if __name__ == "__main__":
    main()
