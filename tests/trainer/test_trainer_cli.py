# SPDX-License-Identifier: GPL-3.0-or-later
"""`trainer fit` / `trainer tune` options come from TrainConfig: defaults, types, config files."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from trainer import cli as trainer_cli
from trainer.config import TrainConfig

_runner = CliRunner()


def _invoke(*args: str) -> tuple[int, str, str]:
    res = _runner.invoke(trainer_cli.app, list(args), env={"COLUMNS": "200"})
    if res.exception and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res.exit_code, res.stdout, res.stderr


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[TrainConfig]:
    """Replace training by recording the config the command built."""
    seen: list[TrainConfig] = []

    class Result:
        run_dir, best, last, best_gap, epochs_done, stopped_early = (
            Path("r"), None, Path("r/last.pt"), 0.5, 1, False)

    def fake_run(config: TrainConfig, resume: bool) -> Any:
        seen.append(config)
        return Result()

    monkeypatch.setattr(trainer_cli, "_run_fit", fake_run)
    return seen


def _help_default(text: str, flag: str) -> str:
    flat = " ".join(text.split())
    match = re.search(re.escape(flag) + r" <\w+> .*?\[default: ([^\]]+)\]", flat)
    assert match, f"{flag} has no [default: ...] in --help"
    return match.group(1)


def test_fit_help_shows_the_dataclass_defaults() -> None:
    code, out, _ = _invoke("fit", "--help")
    assert code == 0
    defaults = TrainConfig()
    for name in ("image_size", "lr", "margin", "epochs", "freeze_stages", "color_jitter"):
        assert _help_default(out, "--" + name.replace("_", "-")) == str(getattr(defaults, name))
    assert _help_default(out, "--split") == "80/20"
    assert "--dynamic-margins" in out and "--no-hflip" in out


def test_every_fit_option_is_a_config_field() -> None:
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    assert set(trainer_cli.FIT_OPTIONS) <= fields
    assert set(trainer_cli.TUNE_OPTIONS) <= fields


def test_config_file_values_are_typed_and_flags_win(tmp_path: Path,
                                                    captured: list[TrainConfig]) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("image-size: '160'\nlr: 0.01\nhflip: 'no'\nsplit: 70/20/10\n"
                      "mean: [0.4, 0.4, 0.4]\nepochs: 3\n")
    code, _, err = _invoke("fit", str(tmp_path), "--out", str(tmp_path / "run"), "--config",
                           str(config), "--epochs", "5", "--amp")
    assert code == 0, err
    (built,) = captured
    assert built.image_size == 160 and isinstance(built.image_size, int)
    assert built.lr == 0.01 and built.hflip is False and built.amp is True
    assert built.epochs == 5  # the flag overrides the file
    assert built.mean == [0.4, 0.4, 0.4]
    assert (built.val_ratio, built.holdout_ratio) == pytest.approx((0.2, 0.1))
    assert built.data == [str(tmp_path)] and built.out == str(tmp_path / "run")
    assert built.margin == TrainConfig().margin  # untouched fields keep the dataclass default


@pytest.mark.parametrize(("text", "message"), [
    ("image_sise: 160\n", "unknown option(s) 'image_sise' (did you mean 'image_size'?)"),
    ("epochs: many\n", "epochs='many' is invalid"),
])
def test_bad_config_file_is_one_error_line(tmp_path: Path, captured: list[TrainConfig],
                                           text: str, message: str) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(text)
    code, _, err = _invoke("fit", str(tmp_path), "--out", str(tmp_path / "run"), "--config",
                           str(config))
    assert code == 1 and not captured
    assert err.startswith("Error: ") and message in err and len(err.strip().splitlines()) == 1


def test_tune_builds_its_base_config_from_the_same_fields(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake_tune(base: TrainConfig, out_dir: Path, **kwargs: Any) -> Any:
        seen["base"] = base
        raise KeyboardInterrupt  # stop here: the base config is what this test checks

    monkeypatch.setattr("trainer.tune.tune", fake_tune)
    code, out, _ = _invoke("tune", "--help")
    assert code == 0 and "Used unless searched" in out
    code, _, err = _invoke("tune", str(tmp_path), "--out", str(tmp_path / "t"), "--lr", "0.02",
                           "--epochs", "2", "--no-pretrained")
    assert code == 130 and "interrupted" in err.lower()
    base = seen["base"]
    assert base.lr == 0.02 and base.epochs == 2 and base.pretrained is False
    assert base.patience == 0 and base.out is None


def test_the_epoch_and_stage_bars_are_photolms_shared_progress_bar(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """fit's epoch bar (steps, loss, img/s, ETA, then "validating") and evaluate's stage bars
    are drawn by photolm's one progress helper, on the console the trainer prints to, and
    only on a terminal."""
    import io

    from rich.console import Console

    from photolm.cli import output

    made: list[str] = []
    shared = output.progress_bar

    def spy(verb: str, **kwargs: Any):
        made.append(verb)
        return shared(verb, **kwargs)

    monkeypatch.setattr(output, "progress_bar", spy)
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    reporter = trainer_cli.RichFitReporter(console, label="[trial 1] ")
    reporter.on_epoch_start(0, 3, steps=10, frozen=True)
    reporter.on_step(4, 10, loss=0.5, images_per_s=12.34)
    reporter.progress._progress.refresh()  # type: ignore[union-attr]
    drawn = screen.getvalue()
    assert "[trial 1] epoch 1/3 (head only)" in drawn and "4/10" in drawn
    assert "loss 0.5000" in drawn and "12.3 img/s" in drawn and "ETA" in drawn
    reporter.on_validation(2)
    reporter.progress._progress.refresh()  # type: ignore[union-attr]
    assert "[trial 1] validating" in screen.getvalue()
    reporter.close()
    with trainer_cli._RichStages(console) as stages:
        stages.stage("embedding holdout photos", 5)
        stages.advance(2)
    assert made == ["[trial 1] epoch 1/3 (head only)", "embedding"]
    assert "embedding holdout photos" in screen.getvalue()

    quiet = Console(file=io.StringIO(), force_terminal=False)
    piped = trainer_cli.RichFitReporter(quiet)
    piped.on_epoch_start(0, 3, steps=10, frozen=False)
    piped.on_step(1, 10, loss=0.5, images_per_s=1.0)
    assert piped.progress is None and quiet.file.getvalue() == ""  # type: ignore[attr-defined]


@pytest.mark.parametrize(("count", "says"), [
    (1, ["1 thread)", "1 loader worker,", "1 class: ", "1 step per epoch",
         "warning: 1 class too small to split"]),
    (2, ["2 threads)", "2 loader workers,", "2 classes: ", "2 steps per epoch",
         "warning: 2 classes too small to split"]),
])
def test_fit_start_lines_count_in_words_that_agree(count: int, says: list[str]) -> None:
    """"1 classes too small" read as a program that did not look (one count, one word)."""
    import io

    from rich.console import Console

    screen = io.StringIO()
    reporter = trainer_cli.RichFitReporter(Console(file=screen, width=300))
    reporter.on_start({
        "device": "cpu", "threads": count, "workers": count, "world_size": 1,
        "classes": count, "steps_per_epoch": count, "run_dir": "runs/x",
        "split": {"train": 5, "val": 1, "holdout": 0,
                  "too_small": [f"class {i}" for i in range(count)]}})
    text = screen.getvalue()
    for phrase in says:
        assert phrase in text, (phrase, text)


def test_help_reads_whole_at_80_columns_and_answers_to_h() -> None:
    """Every command's summary whole (not cut with '...'), and -h as photolm takes it."""
    res = _runner.invoke(trainer_cli.app, ["-h"], env={"COLUMNS": "80"}, terminal_width=80)
    assert res.exit_code == 0
    commands = res.stdout.split("Commands:")[1].strip().splitlines()
    assert [line.split()[0] for line in commands] == ["fit", "evaluate", "clean", "eda",
                                                       "tune", "explain"]
    assert not [line for line in commands if line.endswith("...") or len(line) > 80]
    for command in ("fit", "evaluate", "clean", "eda", "tune", "explain"):
        res = _runner.invoke(trainer_cli.app, [command, "-h"], env={"COLUMNS": "80"},
                             terminal_width=80)
        assert res.exit_code == 0 and res.stdout.startswith("Usage:"), command
        assert max(len(line) for line in res.stdout.splitlines()) <= 80, command


def test_ctrl_c_while_a_native_module_loads_is_an_interruption(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while trainer fit imports scipy's HiGHS (pybind11) came back as a traceback
    ending in ``ImportError: initialization failed``; it is Ctrl-C: one line, status 130.
    An ImportError of its own stays what it is."""
    def interrupted_import(*_args: Any) -> None:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise ImportError("initialization failed") from exc

    monkeypatch.setattr(trainer_cli, "_run_fit", interrupted_import)
    res = _runner.invoke(trainer_cli.app, ["fit", "somewhere", "--out", "run"])
    assert res.exit_code == 130 and res.stderr == "Error: interrupted.\n"

    def missing(*_args: Any) -> None:
        raise ImportError("No module named 'timm'")

    monkeypatch.setattr(trainer_cli, "_run_fit", missing)
    res = _runner.invoke(trainer_cli.app, ["fit", "somewhere", "--out", "run"])
    assert isinstance(res.exception, ImportError)
