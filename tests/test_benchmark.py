"""semisup.benchmark: an interrupted grid resumes the interrupted cell and redoes nothing finished."""

from __future__ import annotations

import csv
import json

import pytest

from semisup.benchmark import Grid, run_grid
from semisup.engine.trainer import Trainer


def test_interrupted_grid_resumes_only_missing_steps(tmp_path, monkeypatch):
    grid = Grid(
        datasets=["moons"],
        algorithms=["supervised", "fixmatch"],
        labels_per_class=[2],
        seeds=[0],
        steps=6,
        overrides=["data.batch_size=4", "net.name=mlp", "net.hidden=[8]", "train.checkpoint_every=3"],
    )
    save = Trainer.save
    stopped: list[int] = []

    def save_then_stop(self: Trainer) -> None:  # the grid is killed right after fixmatch's step-3 checkpoint
        save(self)
        if self.cfg.algorithm == "fixmatch" and self.step == 3 and not stopped:
            stopped.append(self.step)
            raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "save", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        run_grid(grid, tmp_path, verbose=False)
    cell = tmp_path / "moons" / "lpc2"
    done = (cell / "supervised-seed0" / "summary.json").stat().st_mtime_ns
    assert not (cell / "fixmatch-seed0" / "summary.json").exists()

    steps: list[tuple[str, int]] = []
    train_step = Trainer.train_step

    def counted(self: Trainer, step: int):
        steps.append((self.cfg.algorithm, step))
        return train_step(self, step)

    monkeypatch.setattr(Trainer, "train_step", counted)
    rows = run_grid(grid, tmp_path, verbose=False)
    # fixmatch ran only its steps 3-5; the finished supervised cell was read back (the ceiling is new)
    assert [s for s in steps if s[0] == "fixmatch"] == [("fixmatch", 3), ("fixmatch", 4), ("fixmatch", 5)]
    assert (cell / "supervised-seed0" / "summary.json").stat().st_mtime_ns == done
    assert json.loads((cell / "fixmatch-seed0" / "summary.json").read_text())["steps"] == 6
    assert [r["method"] for r in rows] == ["supervised", "fixmatch", "supervised (all labels)"]
    assert len(list(csv.DictReader((tmp_path / "results.csv").open()))) == 3
    assert "| moons | 2 | fixmatch | 4 |" in (tmp_path / "results.md").read_text()
    assert (tmp_path / "accuracy_vs_labels.png").exists()


def test_finished_cell_with_another_config_is_refused_not_reused(tmp_path):
    from semisup.benchmark import StaleCellError, check_same_config

    grid = Grid(datasets=["moons"], algorithms=["mixmatch"], labels_per_class=[2], seeds=[0], steps=6)
    cfg = grid.config("moons", 2, "mixmatch", 0)
    run = tmp_path / "cell"
    run.mkdir()
    cfg.to_yaml(run / "config.yaml")
    check_same_config(grid.config("moons", 2, "mixmatch", 0), run)  # same config: reused

    cfg.data.mu = 7  # e.g. a cell run before MixMatch's default ratio changed
    cfg.to_yaml(run / "config.yaml")
    with pytest.raises(StaleCellError, match=r"data.mu: ran 7, grid asks 1"):
        check_same_config(grid.config("moons", 2, "mixmatch", 0), run)
