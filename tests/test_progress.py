"""Progress as a person meets it: 80 columns keep step and ETA; piped output gets plain lines."""

from __future__ import annotations

import io
import re

from rich.console import Console

import semisup.engine.progress as progress
from semisup.engine.progress import ProgressBar

VALUES = {
    "train/loss": 0.4123,
    "train/sup_loss": 0.1,
    "train/unsup_loss": 0.3,
    "train/mask_ratio": 0.95,
    "train/pseudo_acc": 0.98,
    "val/acc": 0.9712,
}


def test_bar_in_80_columns_keeps_step_elapsed_and_eta():
    out = io.StringIO()
    console = Console(file=out, width=80, force_terminal=True, color_system=None)
    bar = ProgressBar(2000, 0, "fixmatch", True, console=console)
    bar.update(1250, VALUES)
    bar.progress.refresh()
    bar.close()
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())  # drop cursor/erase escapes
    lines = [ln for ln in text.replace("\r", "\n").splitlines() if "fixmatch" in ln]
    last = lines[-1]
    assert "1250/2000" in last and "eta" in last and "0:00:" in last
    assert len(last.rstrip()) <= 80


def test_piped_output_gets_plain_lines(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(progress, "PLAIN_EVERY", 0.0)
    bar = ProgressBar(1000, 0, "fixmatch", True, console=Console(file=io.StringIO()), plain_file=out)
    assert bar.plain  # a StringIO is not a terminal
    bar.update(250, VALUES)
    bar.update(500)
    bar.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and lines[0].startswith("fixmatch step 250/1,000 (25%) 0:00:00 eta")
    assert "loss=0.412" in lines[0] and "val_acc=0.971" in lines[0]
    assert lines[-1].startswith("fixmatch step 500/1,000 (50%)")
