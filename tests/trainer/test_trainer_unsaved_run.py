# SPDX-License-Identifier: GPL-3.0-or-later
"""`trainer fit` that fails before its first checkpoint removes what it wrote, and says so.

A folder with config.json but no last.pt looks like a run, holds nothing to resume or
export, and sits in the way of the next attempt; one with a checkpoint is never touched.
Bad photos found after the first epoch keep their list (test_trainer_cli_user.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.trainer.test_trainer_cli import _invoke


def _epoch_fails(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    from trainer import fit as fit_module

    def train_epoch(*_args: object, **_kwargs: object) -> None:
        raise error

    monkeypatch.setattr(fit_module._Trainer, "train_epoch", train_epoch)


def _config(tmp_path: Path, tiny: dict, **values: object) -> str:
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({**tiny, **values}))
    return str(config)


def test_a_run_that_fails_in_its_first_epoch_removes_its_folder_and_says_so(
        tiny_data: Path, tiny: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from trainer.errors import TrainerError

    run = tmp_path / "run"
    _epoch_fails(monkeypatch, TrainerError("The data disk went away."))
    code, _out, err = _invoke("fit", str(tiny_data), "--out", str(run), "--config",
                              _config(tmp_path, tiny))
    assert code == 1 and "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        f"Error: The data disk went away. Removed the run folder {run}: it held no checkpoint.")
    assert not run.exists()

    monkeypatch.undo()  # the next attempt starts in the same folder, as if it were the first
    code, _out, err = _invoke("fit", str(tiny_data), "--out", str(run), "--config",
                              _config(tmp_path, tiny))
    assert code == 0, err
    assert (run / "last.pt").is_file()


def test_a_folder_that_was_there_keeps_what_the_run_did_not_write(
        tiny_data: Path, tiny: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The person's own files, and a config.json given as --config from that folder, stay."""
    from trainer.errors import TrainerError

    run = tmp_path / "run"
    run.mkdir()
    (run / "notes.txt").write_text("lr sweep, attempt 3\n")
    config = run / "config.json"
    config.write_text(json.dumps({**tiny, "data": [str(tiny_data)]}))
    _epoch_fails(monkeypatch, TrainerError("The data disk went away."))
    code, _out, err = _invoke("fit", "--config", str(config), "--out", str(run))
    assert code == 1
    assert err.strip().splitlines()[-1] == (
        f"Error: The data disk went away. Removed the files this run wrote in {run}: it held "
        "no checkpoint.")
    assert sorted(p.name for p in run.iterdir()) == ["config.json", "notes.txt"]


def test_ctrl_c_before_training_removes_the_folder_it_wrote(
        tiny_data: Path, tiny: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C after the run wrote its config but before an epoch began: nothing to resume."""
    from trainer import cli as trainer_cli

    def on_start(self: object, info: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer_cli.RichFitReporter, "on_start", on_start)
    run = tmp_path / "run"
    code, _out, err = _invoke("fit", str(tiny_data), "--out", str(run), "--config",
                              _config(tmp_path, tiny))
    assert code == 130
    assert err.strip().splitlines()[-1] == (
        f"Interrupted: stopped before the first epoch ended. Removed the run folder {run}: it "
        "held no checkpoint.")
    assert not run.exists()


def test_a_run_with_a_checkpoint_is_never_removed(
        tiny_data: Path, tiny: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C in the first epoch saves last.pt: that folder is a run to resume, kept whole."""
    run = tmp_path / "run"
    _epoch_fails(monkeypatch, KeyboardInterrupt())
    code, _out, err = _invoke("fit", str(tiny_data), "--out", str(run), "--config",
                              _config(tmp_path, tiny))
    assert code == 130, err
    assert {"config.json", "classes.json", "split.json", "last.pt"} <= {
        p.name for p in run.iterdir()}
    assert "Removed" not in err


def test_a_run_refused_before_it_wrote_anything_leaves_no_empty_folder(
        tmp_path: Path, dataset_factory) -> None:
    """A data error found before anything was written: no folder, and nothing to say."""
    data = dataset_factory(tmp_path / "shapes", per_class=2,
                           classes={"only": ("ellipse", (200, 30, 30))})
    run = tmp_path / "run"
    code, _out, err = _invoke("fit", str(data), "--out", str(run))
    assert code == 1 and "Removed" not in err
    assert not run.exists()


def test_a_folder_that_cannot_be_listed_keeps_the_files_it_held(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder one may write and enter but not list (a drop box on a share): the files it
    held before the run are the person's, and a failed run's tidying never takes them for
    its own. (As root a mode cannot refuse the listing, so the refusal is made.)"""
    import errno
    import os

    from trainer import unsaved_run

    run = tmp_path / "dropbox"
    run.mkdir()
    (run / "config.json").write_text("{\"mine\": true}")
    (run / "log.jsonl").write_text("my notes\n")

    def refused(_path: object) -> list[str]:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "listdir", refused)
    before = unsaved_run.RunFolderBefore.look(run)
    (run / "split.json").write_text("{}")  # what the run wrote before failing
    said = before.tidy()
    assert (run / "config.json").read_text() == "{\"mine\": true}"
    assert (run / "log.jsonl").read_text() == "my notes\n"
    assert not (run / "split.json").exists()
    assert "Removed the files this run wrote" in said
