# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``trainer`` command: fit, evaluate, clean, eda, tune, explain.

Each command parses its options, calls one library function and renders the result: talk
(progress, warnings) on stderr, data on stdout (``--json`` switches to machine-readable
output). Expected failures print one ``Error: ...`` line and exit 1; set PHOTOLM_DEBUG=1 for
the traceback. Heavy imports (torch, timm) happen inside the commands, so ``--help`` is quick.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from photolm.cli.usage import tool_app
from photolm.wording import counted
from trainer.config import DATA_PANEL, PACKAGE_BACKBONE, TrainConfig
from trainer.options import config_options

if TYPE_CHECKING:
    from photolm.cli.output import Bar

app = tool_app(  # -h, plain help, usage errors as one Error: line: as every photolm tool
    name="trainer",
    help="Train, evaluate and inspect photolm's landmark-recognition model (needs the "
    "[train] extra: torch, timm, ...).",
)
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)
CommandT = TypeVar("CommandT", bound=Callable[..., Any])


def _set_threads(threads: int | None) -> None:
    """``--threads`` of the commands that run a model outside ``fit``, with fit's default
    (:func:`trainer.fit.cpu_threads`: all usable cores, as ``--help`` says)."""
    import torch

    from trainer.fit import cpu_threads

    torch.set_num_threads(cpu_threads(threads))


def _errors(func: CommandT) -> CommandT:
    """Expected failures become one stderr line and the error's exit status, as in photolm
    (its :func:`photolm.cli.output.reporting`); a Ctrl-C that saved a resumable checkpoint
    says "Interrupted:", not "Error:". A report, plot or list the disk refuses to take is one
    line too, naming the file (:func:`trainer.atomic.writing`, which also knows a permission
    or I/O error for a refused write), or the command's ``--out`` when a full or read-only
    disk fails a write elsewhere."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from photolm.cli.output import DEBUG_ENV, reporting
        from photolm.ctrl_c import interrupted
        from photolm.storage import write_refused
        from trainer.atomic import storage_error
        from trainer.errors import StorageError, TrainingInterrupted

        with reporting():
            try:
                return func(*args, **kwargs)
            except TrainingInterrupted as exc:
                if os.environ.get(DEBUG_ENV):
                    raise
                typer.echo(f"{interrupted(exc.signum, capital=True)}: {exc}", err=True)
                raise typer.Exit(exc.exit_code) from None
            except OSError as exc:
                # write() names no file: then the folder the command was told to write to
                target = (exc.filename2 or exc.filename or kwargs.get("out_dir")
                          or kwargs.get("out_png"))
                if not write_refused(exc):
                    raise
                if target is None:
                    raise StorageError(f"Cannot write the output ({exc.strerror or exc}): "
                                       "free some space or choose another --out, then run "
                                       "again.") from None
                raise storage_error(target, exc, folder=exc.filename is None) from None

    return wrapper  # type: ignore[return-value]


def _emit_json(data: Any) -> None:
    """Data to stdout; NaN (undefined metrics) becomes null so the output is strict JSON."""
    typer.echo(json.dumps(_clean(data), indent=2, ensure_ascii=False))


def _clean(data: Any) -> Any:
    if isinstance(data, dict):
        return {str(k): _clean(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_clean(v) for v in data]
    if isinstance(data, float) and not math.isfinite(data):
        return None
    if isinstance(data, Path):
        return str(data)
    return data


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


# --------------------------------------------------------------------------- fit


class RichFitReporter:
    """Renders :class:`trainer.fit.FitCallbacks` events with a rich progress bar per epoch."""

    def __init__(self, console: Console, label: str = "", *, summary: bool = True) -> None:
        self.console = console
        self.label = label
        self.summary = summary  # False: skip the device/split lines (later tune trials)
        self.progress: Bar | None = None  # the epoch's bar (photolm's shared progress_bar)
        self._bar = contextlib.ExitStack()

    def on_start(self, info: dict[str, Any]) -> None:
        if not self.summary:
            return
        split = info["split"]
        extras = []
        if info.get("amp"):
            extras.append(f"amp {info['amp_dtype']}")
        if info.get("channels_last"):
            extras.append("channels-last")
        if info.get("threads"):
            extras.append(counted(info["threads"], "thread"))
        self.console.print(
            f"{self.label}device {info['device']} ({', '.join(extras) or 'fp32'}), "
            f"{counted(info['workers'], 'loader worker')}, world size {info['world_size']}",
            markup=False,
        )
        self.console.print(
            f"{counted(info['classes'], 'class')}: {split['train']} train / {split['val']} val "
            f"/ {split['holdout']} holdout photos; {counted(info['steps_per_epoch'], 'step')} "
            f"per epoch; run folder {info['run_dir']}", markup=False,
        )
        if split["too_small"]:
            self.console.print(
                f"warning: {counted(len(split['too_small']), 'class')} too small to split (kept in "
                f"train only): {', '.join(split['too_small'])}", markup=False)
        for note in info.get("notes", []):
            self.console.print(f"note: {note}", markup=False)
        if info.get("start_epoch"):
            self.console.print(f"resuming after epoch {info['start_epoch']}", markup=False)

    def on_epoch_start(self, epoch: int, epochs: int, steps: int, frozen: bool) -> None:
        if not self.console.is_terminal:  # logs and CI: the per-epoch line is enough
            return
        from photolm.cli.output import progress_bar

        tag = " (head only)" if frozen else ""
        self._bar = contextlib.ExitStack()
        self.progress = self._bar.enter_context(progress_bar(
            f"{self.label}epoch {epoch + 1}/{epochs}{tag}", show=True,
            fields=("loss {loss}", "{speed} img/s"), eta=True, console=self.console))
        self.progress.start(steps)

    def on_step(self, step: int, steps: int, loss: float, images_per_s: float) -> None:
        if self.progress is not None:
            self.progress.update(step, loss=f"{loss:.4f}", speed=f"{images_per_s:.1f}")

    def on_validation(self, batches: int) -> None:
        if self.progress is not None:
            self.progress.update(verb=f"{self.label}validating")

    def on_epoch_end(self, record: dict[str, Any], improved: bool) -> None:
        self._stop()
        self.console.print(
            f"{self.label}epoch {record['epoch']}: loss {_fmt(record['train_loss'])}  "
            f"val top-1 {_fmt(record['val_top1'])}  top-5 {_fmt(record['val_top5'])}  "
            f"GAP {_fmt(record['val_gap'])}  {record['images_per_s']:.1f} img/s  "
            f"{record['train_seconds']:.0f} s"
            + ("  (head only)" if record.get("frozen_backbone") else "")
            + ("  * best" if improved else ""),
            markup=False,
        )

    def on_bad_image(self, path: str, reason: str) -> None:
        self.console.print(f"warning: skipped undecodable photo {path} ({reason})",
                           markup=False)

    def on_message(self, text: str) -> None:
        self.console.print(text, markup=False)

    def _stop(self) -> None:
        if self.progress is not None:
            self._bar.close()
            self.progress = None

    def close(self) -> None:
        self._stop()


FIT_OPTIONS = (
    "seed", "file_list", "exclude_list",
    "backbone", "pretrained", "pretrained_file", "image_size", "resize", "crop_pct",
    "interpolation", "embedding_dim", "gem_p", "freeze_stages", "drop_rate", "drop_path_rate",
    "loss", "margin", "scale", "subcenters", "dynamic_margins", "margin_min", "margin_max",
    "ldam_max_margin", "label_smoothing",
    "epochs", "batch_size", "optimizer", "lr", "backbone_lr_scale", "weight_decay", "momentum",
    "warmup_epochs", "min_lr_ratio", "frozen_epochs", "grad_clip", "patience",
    "crop_scale_min", "hflip", "vflip", "rot90", "color_jitter",
    "device", "amp", "channels_last", "workers", "threads", "eval_batch_size",
    "max_steps_per_epoch",
)
_DEFAULTS = TrainConfig()
DEFAULT_SPLIT = (f"{round(100 * (1 - _DEFAULTS.val_ratio - _DEFAULTS.holdout_ratio))}/"
                 f"{round(100 * _DEFAULTS.val_ratio)}"
                 + (f"/{round(100 * _DEFAULTS.holdout_ratio)}" if _DEFAULTS.holdout_ratio
                    else ""))


def layered_values(cli: dict[str, Any], config_file: Path | None) -> dict[str, Any]:
    """TrainConfig values: the config file's (typed by the command's own options), then the
    command line's on top. ``split`` and ``out`` are turned into their config fields."""
    from trainer.config import load_config_file, parse_split
    from trainer.options import typed_file_values

    values: dict[str, Any] = {}
    if config_file is not None:
        # Typed by `fit`'s options whichever command reads it: one file serves fit and tune.
        fit_command = typer.main.get_command(app).commands["fit"]  # type: ignore[attr-defined]
        values.update(typed_file_values(
            load_config_file(config_file), {p.name: p for p in fit_command.params if p.name},
            typer.Context(fit_command), source=f"config file {config_file}"))
    values.update({k: v for k, v in cli.items() if v is not None})
    if "split" in values:
        values["val_ratio"], values["holdout_ratio"] = parse_split(str(values.pop("split")))
    if "out_dir" in values:
        values["out"] = str(values.pop("out_dir"))
    if values.get("data"):
        values["data"] = [str(p) for p in values["data"]]
    else:
        values.pop("data", None)
    return values


@app.command(no_args_is_help=True)
@_errors
@config_options(FIT_OPTIONS)
def fit(
    data: list[Path] = typer.Argument(
        None, metavar="DATA", help="Dataset folders: root/<landmark>/*.jpg, "
        "root/<source>/<landmark>/*.jpg "
        "or a GLDv2 folder with train.csv. Optional with --resume.", show_default=False),
    out_dir: Path = typer.Option(None, "--out", "-o", help="Run folder for config.json, "
                                 "log.jsonl, last.pt and best.pt.", show_default=False),
    config_file: Path = typer.Option(None, "--config", "-c", help="YAML or JSON file of "
                                     "options (same names as below); flags override it.",
                                     show_default=False),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its "
                                "last.pt (only runtime options such as --epochs may change)."),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    split: str = typer.Option(None, help="train/val[/holdout] ratios, e.g. 80/20 or 72/18/10 "
                              f"[default: {DEFAULT_SPLIT}]", show_default=False,
                              rich_help_panel=DATA_PANEL),
    options: dict[str, Any] | None = None,
) -> None:
    """Train a landmark-embedding model on labelled photo folders.

    Example: trainer fit ../shared/data/wonders ../shared/data/landmarks-extra --out runs/v1
    --image-size 160 --freeze-stages 3 --epochs 15
    """
    from trainer.config import build_config, config_for_resume
    from trainer.errors import ConfigError

    given = layered_values({**(options or {}), "data": data, "out_dir": out_dir,
                            "split": split}, config_file)
    if resume:
        from trainer.checkpoint import read_checkpoint
        from trainer.fit import resume_checkpoint

        if out_dir is None:
            raise ConfigError("--resume needs --out RUN_DIR (the run to continue).")
        saved = read_checkpoint(resume_checkpoint(out_dir))["config"]
        config = config_for_resume(saved, given)
    else:
        if out_dir is None:
            raise ConfigError("Pass --out RUN_DIR: where the run's checkpoints go.")
        config = build_config(given)
    result = _run_fit(config, resume)
    summary = {"run_dir": str(result.run_dir), "best": str(result.best) if result.best else None,
               "last": str(result.last), "best_val_gap": result.best_gap,
               "epochs": result.epochs_done, "stopped_early": result.stopped_early}
    if int(os.environ.get("RANK", "0")) != 0:
        return  # torchrun: only the main process reports
    if json_output:
        _emit_json(summary)
    else:
        err.print(f"best: {summary['best']} (val GAP {_fmt(result.best_gap)})"
                  + (f"; export it with: photolm-export {shlex.quote(str(result.best))} --out "
                     "BUNDLE --distractors NON_LANDMARK_PHOTOS" if result.best else ""),
                  markup=False)


def _run_fit(config: TrainConfig, resume: bool) -> Any:
    from trainer.fit import fit as run

    rank = int(os.environ.get("RANK", "0"))
    reporter = RichFitReporter(err)
    try:
        return run(config, resume=resume, callbacks=reporter if rank == 0 else None)
    finally:
        reporter.close()


# --------------------------------------------------------------------------- evaluate


class _RichStages:
    """Progress for evaluate/clean: one bar per stage of photos embedded."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._bar = contextlib.ExitStack()
        self.bar: Bar | None = None

    def __enter__(self) -> _RichStages:
        from photolm.cli.output import progress_bar

        self.bar = self._bar.enter_context(progress_bar(
            "embedding", show=self.console.is_terminal, eta=True, console=self.console))
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.close()

    def stage(self, label: str, total: int) -> None:
        if self.bar is not None:
            self.bar.start(total, verb=label)

    def advance(self, count: int) -> None:
        if self.bar is not None:
            self.bar.advance(count)


def _warn_bad(path: str, reason: str) -> None:
    err.print(f"warning: skipped undecodable photo {path} ({reason})", markup=False)


@app.command(no_args_is_help=True,
             short_help="Top-1/top-5, GAP, macro P/R/F1 and confusion, as photolm ranks.")
@_errors
def evaluate(
    checkpoint: Path = typer.Argument(..., metavar="CHECKPOINT",
                                      help="A checkpoint (.pt) or a run folder (uses "
                                      "best.pt).", show_default=False),
    data: list[Path] = typer.Argument(None, metavar="DATA", help="Labelled folders to "
                                      "evaluate on [default: "
                                      "the checkpoint's own --split].", show_default=False),
    split: str = typer.Option("val", help="Without DATA: val, holdout or train."),
    distractors: list[Path] = typer.Option(None, "--distractors", help="Folder of "
                                           "non-landmark photos (repeatable): adds the "
                                           "false-positive rate.", show_default=False),
    threshold: float = typer.Option(0.5, min=-1.0, max=1.0, help="Cosine similarity below "
                                    "which photolm says 'no landmark'."),
    prototypes: str = typer.Option("train", help="train: mean embedding of each class's "
                                   "training photos (as export does); head: the loss head's "
                                   "class centres (no training photos needed)."),
    out_dir: Path = typer.Option(None, "--out", "-o", help="Folder for per_class.csv, "
                                 "predictions.csv, confusion.png, metrics.json [default: "
                                 "RUN/evaluation-<split or data>]", show_default=False),
    batch_size: int = typer.Option(64, min=1, help="Photos per forward pass."),
    workers: int = typer.Option(0, min=0, help="Data-loading processes."),
    device: str = typer.Option("auto", help="auto | cpu | cuda | mps"),
    threads: int = typer.Option(None, min=1, help="torch CPU threads [default: all usable "
                                "cores]", show_default=False),
    json_output: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
) -> None:
    """Top-1/top-5, GAP, macro P/R/F1, per-class CSV and confusion matrix, classifying by
    nearest prototype exactly as photolm does."""
    from trainer.evaluate import evaluate as run

    _set_threads(threads)
    run_dir = checkpoint if checkpoint.is_dir() else checkpoint.parent
    target = out_dir or run_dir / ("evaluation-data" if data else f"evaluation-{split}")
    with _RichStages(err) as stages:
        result = run(checkpoint, data or None, split=split, distractors=distractors or (),
                     threshold=threshold, prototypes=prototypes, out_dir=target,
                     batch_size=batch_size, workers=workers, device=device, on_bad=_warn_bad,
                     progress=stages)
    for note in result.notes:
        err.print(f"note: {note}", markup=False)
    if json_output:
        _emit_json({"metrics": result.metrics, "files": result.files, "notes": result.notes})
        return
    m = result.metrics
    table = Table(title=f"{m['checkpoint']} on {', '.join(m['data'])}", show_header=False)
    rows = [("photos", m["images"]), ("non-landmark photos", m["nonlandmark_images"]),
            ("top-1", m["top1"]), ("top-5", m["top5"]), ("GAP", m["gap"]),
            ("macro precision", m["macro_precision"]), ("macro recall", m["macro_recall"]),
            ("macro F1", m["macro_f1"]),
            (f"accuracy at threshold {threshold}", m["accuracy_at_threshold"])]
    if "fpr" in m:
        rows += [("distractor photos", m["distractor_images"]),
                 (f"false-positive rate at {threshold}", m["fpr"]),
                 ("GAP with distractors", m["gap_with_distractors"]),
                 ("GAP at threshold", m["gap_at_threshold"])]
    for name, value in rows:
        table.add_row(name, _fmt(value))
    out.print(table)
    err.print(f"wrote {', '.join(result.files.values())}", markup=False)


# --------------------------------------------------------------------------- clean


@app.command(no_args_is_help=True,
             short_help="Flag noisy photos per class (DBSCAN); a file list for fit.")
@_errors
def clean(
    data: list[Path] = typer.Argument(..., metavar="DATA", help="Dataset folders to clean.",
                                      show_default=False),
    out_dir: Path = typer.Option(..., "--out", "-o", help="Folder for outliers.csv/.txt/.png, "
                                 "kept.txt and summary.json.", show_default=False),
    checkpoint: Path = typer.Option(None, help="Embed with a trained checkpoint [default: the "
                                    "ImageNet backbone].", show_default=False),
    backbone: str = typer.Option(PACKAGE_BACKBONE, help="Backbone when no checkpoint is given."),
    pretrained_file: Path = typer.Option(None, help="Local weights for --backbone.",
                                         show_default=False),
    image_size: int = typer.Option(224, help="Input size when no checkpoint is given."),
    eps: float = typer.Option(0.33, help="DBSCAN radius (cosine distance)."),
    min_samples: int = typer.Option(2, help="DBSCAN core-point neighbourhood size."),
    batch_size: int = typer.Option(64, min=1, help="Photos per forward pass."),
    workers: int = typer.Option(0, min=0, help="Data-loading processes."),
    device: str = typer.Option("auto", help="auto | cpu | cuda | mps"),
    threads: int = typer.Option(None, min=1, help="torch CPU threads [default: all usable "
                                "cores]", show_default=False),
    json_output: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Flag noisy photos per class with DBSCAN on embeddings; write a file list for fit.

    Then: trainer fit DATA --file-list OUT/kept.txt ... (or --exclude-list OUT/outliers.txt).
    """
    from trainer.clean import clean as run

    _set_threads(threads)
    with _RichStages(err) as stages:
        result = run(data, out_dir, checkpoint=checkpoint, backbone=backbone,
                     pretrained_file=str(pretrained_file) if pretrained_file else None,
                     image_size=image_size, eps=eps, min_samples=min_samples,
                     batch_size=batch_size, workers=workers, device=device, on_bad=_warn_bad,
                     progress=stages)
    for note in result.notes:
        err.print(f"note: {note}", markup=False)
    summary = {"photos": result.photos, "outliers": len(result.outliers),
               "kept": result.kept, "classes_without_cluster": result.no_cluster,
               "files": result.files}
    if json_output:
        _emit_json(summary)
        return
    out.print(f"{len(result.outliers)} of {result.photos} photos flagged; {result.kept} kept.",
              markup=False)
    if result.no_cluster:
        out.print("no dense group found (nothing flagged) in: " + ", ".join(result.no_cluster),
                  markup=False)
    out.print(f"wrote {', '.join(result.files.values())}", markup=False)


# --------------------------------------------------------------------------- eda


@app.command(no_args_is_help=True)
@_errors
def eda(
    data: list[Path] = typer.Argument(..., metavar="DATA", help="Dataset folders.",
                                      show_default=False),
    out_dir: Path = typer.Option(Path("eda"), "--out", "-o", help="Folder for "
                                 "class_sizes.png, image_sizes.png, summary.txt/json."),
    json_output: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Class-size histogram and image-size statistics of a dataset."""
    from trainer.eda import run_eda

    report = run_eda(data, out_dir)
    if json_output:
        _emit_json({**report.summary, "files": report.files})
        return
    out.print(report.text.rstrip(), markup=False)
    out.print(f"wrote {', '.join(report.files.values())}", markup=False)


# --------------------------------------------------------------------------- tune


TUNE_OPTIONS = ("backbone", "pretrained", "pretrained_file", "loss", "image_size",
                "batch_size", "lr", "freeze_stages", "seed", "workers", "threads", "device")


@app.command(no_args_is_help=True,
             short_help="Hyper-parameter search: lr, batch size, optimizer, margin, size.")
@_errors
@config_options(TUNE_OPTIONS, help_texts={
    name: "Used unless searched" for name in ("image_size", "batch_size", "lr")})
def tune(
    data: list[Path] = typer.Argument(..., metavar="DATA", help="Dataset folders.",
                                      show_default=False),
    out_dir: Path = typer.Option(..., "--out", "-o", help="Folder for one run per trial, "
                                 "trials.csv and best.json.", show_default=False),
    trials: int = typer.Option(20, help="Trial budget (a grid is cut to its size)."),
    sampler: str = typer.Option("tpe", help="tpe (seeded Bayesian search) or grid."),
    params: str = typer.Option("lr,batch_size,optimizer,margin,image_size",
                               help="Comma-separated options to search."),
    prune: bool = typer.Option(True, "--prune/--no-prune", help="Stop weak TPE trials early."),
    config_file: Path = typer.Option(None, "--config", "-c", help="Base options for every "
                                     "trial (YAML/JSON).", show_default=False),
    epochs: int = typer.Option(3, help="Epochs per trial."),
    max_steps_per_epoch: int = typer.Option(None, help="Cap on steps per epoch per trial.",
                                            show_default=False),
    split: str = typer.Option(None, help="train/val[/holdout], e.g. 80/20 [default: "
                              f"{DEFAULT_SPLIT}]", show_default=False),
    json_output: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    options: dict[str, Any] | None = None,
) -> None:
    """Hyper-parameter search (learning rate, batch size, optimizer, margin, image size)."""
    from trainer.config import build_config
    from trainer.tune import tune as run

    given = layered_values({**(options or {}), "data": data, "split": split,
                            "epochs": epochs, "max_steps_per_epoch": max_steps_per_epoch},
                           config_file)
    given.pop("out", None)  # the trials' folders live under --out, not the base config
    given["patience"] = 0
    base = build_config(given)
    names = [p.strip().replace("-", "_") for p in params.split(",") if p.strip()]

    def on_trial(row: dict[str, Any]) -> None:
        err.print(f"trial {row['trial']}: {row['state']}, val GAP {_fmt(row['val_gap'])}",
                  markup=False)

    result = run(base, out_dir, trials=trials, sampler=sampler, params=names, prune=prune,
                 callbacks=lambda n: RichFitReporter(err, label=f"[trial {n}] ",
                                                     summary=n == 0),
                 on_trial=on_trial)
    if json_output:
        _emit_json({"trials": result.rows, "best": result.best, "files": result.files})
        return
    table = Table(title="trials (best first)")
    for column in ("trial", "state", "val_gap", "seconds", *names):
        table.add_column(column)
    ranked = sorted(result.rows, key=lambda r: -(r["val_gap"] if r["val_gap"] is not None
                                                  else -1.0))
    for row in ranked:
        table.add_row(*[f"{v:.4g}" if isinstance(v := row.get(c), float) else _fmt(v)
                        for c in ("trial", "state", "val_gap", "seconds", *names)])
    out.print(table)
    if result.best:
        out.print(f"best: trial {result.best['trial']} {result.best['params']}", markup=False)


# --------------------------------------------------------------------------- explain


@app.command(no_args_is_help=True)
@_errors
def explain(
    checkpoint: Path = typer.Argument(..., metavar="CHECKPOINT",
                                      help="Checkpoint (.pt) or run folder.",
                                      show_default=False),
    image: Path = typer.Argument(..., metavar="IMAGE", help="The photo to explain.",
                                 show_default=False),
    out_png: Path = typer.Option(None, "--out", "-o", help="Output PNG [default: "
                                 "<photo>-gradcam.png in the current folder]",
                                 show_default=False),
    target: str = typer.Option(None, help="Explain this class (name, id or alias) [default: "
                               "the top prediction]", show_default=False),
    method: str = typer.Option("gradcam", help="gradcam | saliency"),
    threads: int = typer.Option(None, min=1, help="torch CPU threads [default: all usable "
                                "cores]", show_default=False),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Grad-CAM / saliency overlay of what the model looked at."""
    from trainer.explain import explain as run

    _set_threads(threads)
    result = run(checkpoint, image, out=out_png, target=target, method=method)
    data = {"out": str(result.out), "target": result.target, "score": result.score,
            "method": result.method, "top": [{"name": n, "score": s} for n, s in result.top]}
    if json_output:
        _emit_json(data)
        return
    out.print(f"{result.target} (cosine {result.score:.3f}); wrote {result.out}", markup=False)


def main() -> None:
    """Console-script entry point. SIGTERM and SIGHUP (a job scheduler's stop, a closed
    terminal) stop a run as Ctrl-C does: ``last.pt`` saved, the resume command said."""
    from photolm.ctrl_c import stop_on_signals

    stop_on_signals()
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
