"""benchmarks/gpu_check.py runs its cases on CPU too: every row finished, losses finite, table written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


def test_gpu_check_smoke_on_cpu(tmp_path):
    out = tmp_path / "check.md"
    cmd = [sys.executable, str(SCRIPT), "--accelerator", "cpu", "--algorithms", "fixmatch", "flexmatch",
           "--precision", "32-true", "--steps", "2", "--warmup", "1", "--batch-size", "4", "--mu", "2",
           "--no-compile", "--no-wrn", "--out", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "2 cases, 0 failed" in proc.stdout
    table = out.read_text().splitlines()
    rows = [line for line in table if line.startswith("| fixmatch") or line.startswith("| flexmatch")]
    assert len(rows) == 2 and all(line.rstrip().endswith("| ok |") for line in rows)
