# SPDX-License-Identifier: GPL-3.0-or-later
"""Fit for a couple of steps, resume, interrupt; the checkpoint carries the class table."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from trainer.checkpoint import FORMAT, load_checkpoint
from trainer.cli import app
from trainer.config import TrainConfig
from trainer.data import discover, split_from_config
from trainer.errors import TrainingInterrupted
from trainer.fit import FitCallbacks, fit, read_log
from trainer.transforms import eval_array, open_image

runner = CliRunner()


def cli_args(tiny: dict) -> list[str]:
    args = []
    for key, value in tiny.items():
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            args.append(flag if value else flag.replace("--", "--no-", 1))
        else:
            args += [flag, str(value)]
    return args


def test_fit_two_steps_then_resume_through_the_cli(tiny_data, tmp_path, tiny):
    run = tmp_path / "run"
    first = runner.invoke(app, ["fit", str(tiny_data), "--out", str(run), "--loss",
                                "subcenter-arcface", "--json", *cli_args(tiny)])
    assert first.exit_code == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["epochs"] == 1 and summary["best"] == str(run / "best.pt")
    for name in ("config.json", "classes.json", "split.json", "log.jsonl", "last.pt"):
        assert (run / name).is_file(), name
    # The undecodable photo is reported once and skipped, not fatal.
    assert first.stderr.count("broken.jpg") == 1
    assert "broken.jpg" in (run / "bad_images.txt").read_text()

    record = read_log(run)[0]
    assert {"train_loss", "val_top1", "val_top5", "val_gap", "images_per_s"} <= set(record)
    assert np.isfinite(record["train_loss"]) and 0 <= record["val_gap"] <= 1

    second = runner.invoke(app, ["fit", "--out", str(run), "--resume", "--epochs", "2",
                                 "--json"])
    assert second.exit_code == 0, second.stderr
    assert [r["epoch"] for r in read_log(run)] == [1, 2]
    raw = torch.load(run / "last.pt", weights_only=True)
    assert raw["epoch"] == 2
    assert raw["scheduler"]["step_count"] == 4  # 2 steps per epoch, continued not restarted
    assert raw["config"]["loss"] == "subcenter-arcface"

    changed = runner.invoke(app, ["fit", "--out", str(run), "--resume", "--lr", "0.5"])
    assert changed.exit_code == 1
    assert changed.stderr.startswith("Error: Cannot change --lr when resuming")
    again = runner.invoke(app, ["fit", str(tiny_data), "--out", str(run)])
    assert again.exit_code == 1 and "already holds a run" in again.stderr


def test_checkpoint_carries_classes_and_config(trained_run, tiny_data):
    raw = torch.load(trained_run / "best.pt", weights_only=True)  # plain data only
    assert raw["format"] == FORMAT and raw["version"] == 1
    assert {"config", "classes", "model", "head", "epoch", "metrics", "optimizer",
            "scheduler"} <= set(raw)

    ckpt = load_checkpoint(trained_run)  # a run folder resolves to best.pt
    expected = [c.to_dict() for c in discover([tiny_data]).classes]
    assert ckpt.classes == expected
    red = next(c for c in ckpt.classes if c["id"] == "red-circle")
    assert red == {"id": "red-circle", "name": "Red Circle", "aliases": ["Rouge", "Rot"],
                   "city": "Paris", "country": "France", "latitude": 48.85,
                   "longitude": 2.35, "region": None, "country_code": None}
    assert ckpt.config.data == [str(tiny_data.resolve())]
    pre = ckpt.preprocess
    assert (pre.size, pre.resize) == (64, 73)
    assert ckpt.head_state["loss.W"].shape == (32, len(expected))

    # Export's view: the same split, and a working embedding model.
    split = split_from_config(ckpt.config, expected_classes=ckpt.classes)
    saved = json.loads((trained_run / "split.json").read_text())
    assert (len(split.train), len(split.val)) == (saved["train"], saved["val"])
    photo = open_image(split.val[0].path)
    with torch.inference_mode():
        embedding = ckpt.model(torch.from_numpy(eval_array(photo, pre))[None])
    assert embedding.shape == (1, 32)
    assert float(embedding.norm()) == pytest.approx(1.0, abs=1e-5)


class _StopAtSecondStep(FitCallbacks):
    def on_step(self, step: int, steps: int, loss: float, images_per_s: float) -> None:
        if step == 2:
            raise KeyboardInterrupt


def test_ctrl_c_leaves_a_resumable_checkpoint(tiny_data, tmp_path, tiny):
    config = TrainConfig(data=[str(tiny_data)], out=str(tmp_path / "run"),
                         **{**tiny, "epochs": 2, "max_steps_per_epoch": 3})
    with pytest.raises(TrainingInterrupted) as caught:
        fit(config, callbacks=_StopAtSecondStep())
    assert caught.value.exit_code == 130 and "--resume" in str(caught.value)
    raw = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert raw["epoch"] == 0 and raw["metrics"]["interrupted"] is True
    assert raw["scheduler"]["step_count"] == 2
    result = fit(config, resume=True)
    assert result.epochs_done == 2 and result.best is not None


def test_run_files_get_ordinary_permissions(tmp_path):
    """mkstemp's 0600 would hide config.json and the checkpoints from colleagues."""
    import os

    from trainer.atomic import atomic_write_text

    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "config.json", "{}")
    finally:
        os.umask(old)
    assert (tmp_path / "config.json").stat().st_mode & 0o777 == 0o644
