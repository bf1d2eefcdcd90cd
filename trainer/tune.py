# SPDX-License-Identifier: GPL-3.0-or-later
"""``trainer tune``: hyper-parameter search with optuna over short training runs.

Each trial is a normal :func:`trainer.fit.fit` run into ``OUT/trial-NNN`` with some options
replaced by the sampler's choice; the objective is the best validation GAP. TPE (seeded, so
a search is repeatable) or an exhaustive grid; a fixed trial budget; with TPE, trials that
fall below the median of earlier trials after an epoch are pruned. Results: ``trials.csv``
and ``best.json`` (the best options, ready to paste into a config file).
"""

from __future__ import annotations

import csv
import itertools
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainer.atomic import output_folder, write_report, writing
from trainer.config import TrainConfig
from trainer.errors import ConfigError, TrainerError
from trainer.fit import FitCallbacks, fit

#: name -> (kind, arguments) for TPE; grid values below.
SEARCH_SPACE: dict[str, tuple[str, tuple[Any, ...]]] = {
    "lr": ("log", (1e-4, 1e-2)),
    "batch_size": ("choice", (16, 32, 64)),
    "optimizer": ("choice", ("adamw", "sgd")),
    "margin": ("float", (0.1, 0.6)),
    "image_size": ("choice", (128, 160, 224)),
}
GRID: dict[str, tuple[Any, ...]] = {
    "lr": (3e-4, 1e-3, 3e-3),
    "batch_size": (16, 32, 64),
    "optimizer": ("adamw", "sgd"),
    "margin": (0.2, 0.35, 0.5),
    "image_size": (128, 160, 224),
}


@dataclass
class TuneResult:
    rows: list[dict[str, Any]]
    best: dict[str, Any] | None
    files: dict[str, str] = field(default_factory=dict)


class _TrialCallbacks(FitCallbacks):
    """Reports each epoch's validation GAP to optuna and prunes weak trials."""

    def __init__(self, trial: Any, inner: FitCallbacks | None, prune: bool) -> None:
        self.trial = trial
        self.inner = inner or FitCallbacks()
        self.prune = prune

    def on_start(self, info: dict[str, Any]) -> None:
        self.inner.on_start(info)

    def on_epoch_start(self, epoch: int, epochs: int, steps: int, frozen: bool) -> None:
        self.inner.on_epoch_start(epoch, epochs, steps, frozen)

    def on_step(self, step: int, steps: int, loss: float, images_per_s: float) -> None:
        self.inner.on_step(step, steps, loss, images_per_s)

    def on_validation(self, batches: int) -> None:
        self.inner.on_validation(batches)

    def on_bad_image(self, path: str, reason: str) -> None:
        self.inner.on_bad_image(path, reason)

    def on_message(self, text: str) -> None:
        self.inner.on_message(text)

    def on_epoch_end(self, record: dict[str, Any], improved: bool) -> None:
        import optuna

        self.inner.on_epoch_end(record, improved)
        gap = record.get("val_gap")
        if gap is None or math.isnan(gap):
            return
        self.trial.report(gap, step=record["epoch"])
        if self.prune and self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned after epoch {record['epoch']} (GAP {gap:.4f})")


def tune(
    base: TrainConfig,
    out_dir: Path | str,
    *,
    trials: int = 20,
    sampler: str = "tpe",
    params: Sequence[str] = tuple(SEARCH_SPACE),
    prune: bool = True,
    callbacks: Callable[[int], FitCallbacks | None] | None = None,
    on_trial: Callable[[dict[str, Any]], None] | None = None,
) -> TuneResult:
    """Run ``trials`` short trainings; ``callbacks(n)`` gives each trial's fit callbacks."""
    import optuna

    unknown = [p for p in params if p not in SEARCH_SPACE]
    if unknown or not params:
        raise ConfigError(f"Cannot tune {', '.join(unknown) or 'nothing'}; choose from "
                          f"{', '.join(SEARCH_SPACE)}.")
    if base.val_ratio <= 0:
        raise ConfigError("Tuning compares validation GAP; use a split with validation photos.")
    if trials < 1:
        raise ConfigError("--trials must be at least 1.")
    out = Path(out_dir)
    if (out / "trials.csv").exists():
        raise ConfigError(f"{out} already holds a search; choose another --out.")
    output_folder(out)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if sampler == "grid":
        grid = {p: list(GRID[p]) for p in params}
        size = math.prod(len(v) for v in grid.values())
        trials = min(trials, size)
        chosen = optuna.samplers.GridSampler(grid, seed=base.seed)
        pruner: Any = optuna.pruners.NopPruner()
    elif sampler == "tpe":
        chosen = optuna.samplers.TPESampler(seed=base.seed)
        pruner = (optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)
                  if prune else optuna.pruners.NopPruner())
    else:
        raise ConfigError(f"Unknown sampler {sampler!r}; choose tpe or grid.")
    study = optuna.create_study(direction="maximize", sampler=chosen, pruner=pruner)
    counter = itertools.count()

    def objective(trial: Any) -> float:
        number = next(counter)
        values = {p: _suggest(trial, p, sampler) for p in params}
        config = base.replace(out=str(out / f"trial-{number:03d}"), **values)
        inner = callbacks(number) if callbacks is not None else None
        result = fit(config, callbacks=_TrialCallbacks(trial, inner, prune))
        if result.best_gap is None:
            raise TrainerError("The trial produced no validation GAP.")
        return float(result.best_gap)

    def report(study: Any, trial: Any) -> None:
        if on_trial is not None:
            on_trial(_row(trial))

    study.optimize(objective, n_trials=trials, catch=(TrainerError,), callbacks=[report])
    rows = [_row(t) for t in study.trials]
    best = None
    completed = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if completed:
        top = max(completed, key=lambda t: t.value)
        best = {"trial": top.number, "val_gap": top.value, "params": dict(top.params),
                "run_dir": str(out / f"trial-{top.number:03d}")}
    files = {"trials": str(_write_rows(out / "trials.csv", rows, params))}
    write_report(out / "best.json", json.dumps(best, indent=1) + "\n")
    files["best"] = str(out / "best.json")
    return TuneResult(rows=rows, best=best, files=files)


def _suggest(trial: Any, name: str, sampler: str) -> Any:
    if sampler == "grid":
        return trial.suggest_categorical(name, list(GRID[name]))
    kind, args = SEARCH_SPACE[name]
    if kind == "log":
        return trial.suggest_float(name, args[0], args[1], log=True)
    if kind == "float":
        return trial.suggest_float(name, args[0], args[1])
    return trial.suggest_categorical(name, list(args))


def _row(trial: Any) -> dict[str, Any]:
    duration = trial.duration.total_seconds() if trial.duration is not None else None
    return {"trial": trial.number, "state": trial.state.name.lower(),
            "val_gap": trial.value, "seconds": round(duration, 1) if duration else None,
            **trial.params}


def _write_rows(path: Path, rows: Sequence[dict[str, Any]], params: Sequence[str]) -> Path:
    with writing(path), open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["trial", "state", "val_gap", "seconds",
                                                    *params], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path

