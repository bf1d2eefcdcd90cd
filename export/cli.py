# SPDX-License-Identifier: GPL-3.0-or-later
"""``photolm-export`` (and ``python -m export``): checkpoint in, bundle out.

Parse, call :func:`export.pipeline.export_bundle`, render. Progress goes to stderr, the
result (a summary table, or ``--json``) to stdout. Expected failures print one
``Error: ...`` line and exit 1 (``PHOTOLM_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import shlex
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from photolm.cli.output import print_json, reporting
from photolm.cli.usage import tool_app, tool_command
from photolm.wording import counted

app = tool_app(name="photolm-export")
_err = Console(stderr=True)


class Quantize(str, Enum):
    none = "none"
    int8 = "int8"
    fp16 = "fp16"


class PrototypeMethod(str, Enum):
    mean = "mean"
    kmeans = "kmeans"
    head = "head"


class _Progress:
    """Renders pipeline steps on stderr; a progress bar while photos are embedded."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self._bar: Any = None
        self._task: Any = None

    def step(self, text: str) -> None:
        self._close()
        if not self.quiet:
            _err.print(f"[bold]•[/] {text}")

    def stage(self, label: str, total: int) -> None:
        if self.quiet or not _err.is_terminal:  # a log gets the step lines, not a bar's
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        self._bar = Progress("  " + label, BarColumn(), MofNCompleteColumn(),
                             TimeRemainingColumn(), console=_err, transient=True)
        self._bar.start()
        self._task = self._bar.add_task(label, total=total)

    def advance(self, count: int) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, count)

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self._close()


def _pct(value: Any) -> str:
    return "-" if value is None else f"{value:.2%}"


def _render(report: dict[str, Any]) -> None:
    out = Console(soft_wrap=True)  # the lines whole (a path must stay one piece to copy)
    m = report["metrics"]
    out.print(f"Bundle written to [bold]{report['bundle']}[/] ({report['precision']}, "
              f"{report['size_bytes'] / 1e6:.1f} MB, id {report['bundle_id'][:12]})")
    table = Table(title=f"Measured on the {m['evaluated_on']} "
                        f"({counted(m['images'], 'landmark photo')}, "
                        f"{counted(m.get('distractor_images', 0), 'held-out non-landmark photo')})")
    for column in ("model", "size MB", "images/s", "top-1", "top-5", "GAP"):
        table.add_column(column, justify="right")
    for name, v in m["variants"].items():
        table.add_row(name, f"{v['size_bytes'] / 1e6:.1f}", f"{v['images_per_s']:.0f}",
                      _pct(v["top1"]), _pct(v["top5"]), f"{v['gap']:.4f}")
    out.print(table)
    cal = m["calibration"]
    out.print(
        f"Threshold {report['threshold']:.4f} for a target false-positive rate of "
        f"{cal['target_fpr']:.1%}: on held-out non-landmark photos FPR {_pct(m.get('fpr'))}, "
        f"precision {_pct(m.get('precision_at_threshold'))}, recall "
        f"{_pct(m.get('recall_at_threshold'))}."
    )
    if cal.get("threshold_floor") is not None:
        raised = cal["threshold_floor"] > cal["distractor_threshold"]
        out.print(f"Unseen-landmark floor {cal['threshold_floor']:.4f} "
                  + (f"raised it from {cal['distractor_threshold']:.4f}." if raised else
                     "is below the distractors' threshold: no change."))
    parity = m["parity"]
    out.print(f"Parity: worst cosine {parity['worst_cosine']:.6f} over "
              f"{counted(parity['images'], 'photo')} (limit {parity['min_cosine']}).")
    for note in report.get("notes", []):
        _err.print(f"[yellow]note:[/] {note}")


@tool_command(app)
def export(
    checkpoint: Annotated[Path, typer.Argument(
        metavar="CHECKPOINT", show_default=False,
        help="Trainer checkpoint (.pt), or a run folder holding best.pt / last.pt.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Bundle folder to write.")],
    distractors: Annotated[list[Path], typer.Option(
        "--distractors", help="Folder of photos without landmarks, for the 'no landmark' "
        "threshold (repeatable).")] = [],  # noqa: B006 - typer reads the default, never mutates
    data: Annotated[list[Path], typer.Option(
        "--data", help="Where the run's dataset folders are now, if they moved since trainer "
        "fit (or it ran on another machine); once per folder. The photos must be the same.")
    ] = [],  # noqa: B006 - typer reads the default, never mutates
    target_fpr: Annotated[float, typer.Option(
        "--target-fpr", help="False-positive rate on non-landmark photos to calibrate for.")]
    = 0.02,
    fpr_confidence: Annotated[float, typer.Option(
        "--fpr-confidence", min=0.0, max=0.999,
        help="Confidence that the rate holds for new photos like the distractors (a "
        "Clopper-Pearson bound; costs some recall). 0: meet it on the calibration photos "
        "only.")] = 0.95,
    quantize: Annotated[Quantize, typer.Option(
        "--quantize", help="Ship an int8 or fp16 model if it keeps top-1 within "
        "--max-top1-drop of fp32.")] = Quantize.none,
    prototypes: Annotated[PrototypeMethod, typer.Option(
        "--prototypes", help="mean: one per landmark; kmeans: up to --subcenters where its "
        "photos form separate groups; head: the loss head's dominant sub-centres.")]
    = PrototypeMethod.mean,
    subcenters: Annotated[int, typer.Option(
        "--subcenters", min=1, help="Most prototypes per landmark with --prototypes kmeans.")]
    = 3,
    min_silhouette: Annotated[float, typer.Option(
        "--min-silhouette", help="--prototypes kmeans: split a landmark only when its groups "
        "are at least this separate (mean cosine silhouette).")] = 0.2,
    parity_images: Annotated[int, typer.Option(
        "--parity-images", min=1, help="Real photos compared between torch and ONNX.")] = 64,
    min_parity: Annotated[float, typer.Option(
        "--min-parity", help="Smallest acceptable cosine between torch and ONNX.")] = 0.999,
    max_top1_drop: Annotated[float, typer.Option(
        "--max-top1-drop", help="Largest top-1 loss (percentage points) a quantised model may "
        "have against fp32.")] = 1.0,
    distractor_holdout: Annotated[float, typer.Option(
        "--distractor-holdout", help="Share of distractors kept out of calibration to measure "
        "the false-positive rate honestly (0: use all for both).")] = 0.5,
    threshold_floor: Annotated[Path | None, typer.Option(
        "--threshold-floor", help="Never set the threshold below this floor record (`python -m "
        "export.unseen floor`: landmarks left out of training kept as 'no landmark').")]
    = None,
    name: Annotated[str | None, typer.Option("--name", help="Bundle name shown by photolm.")]
    = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 32,
    workers: Annotated[int | None, typer.Option(
        "--workers", min=1, help="Decoding threads. Default: up to 4.")] = None,
    threads: Annotated[int | None, typer.Option(
        "--threads", min=1, help="onnxruntime threads. Default: all usable cores.")] = None,
    static_padding: Annotated[bool, typer.Option(
        "--static-padding/--dynamic-padding", help="Freeze TF-'same' padding for the input "
        "size (verified by the parity check).")] = True,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace --out.")] = False,
    report_file: Annotated[Path | None, typer.Option(
        "--report", help="Also write the export report (JSON) to this file.")] = None,
    json_out: Annotated[bool, typer.Option(
        "--json", help="Print the export report as JSON on stdout.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")] = False,
) -> None:
    """Export a trainer checkpoint as a photolm model bundle: ONNX with parity checked on real
    photos, prototypes and a calibrated 'no landmark' threshold computed through the exported
    model, metrics and provenance in the manifest."""
    from export.pipeline import ExportOptions, export_bundle
    from export.report_files import check_writable, write_json
    from export.unseen import read_floor

    with reporting():
        floor = read_floor(threshold_floor) if threshold_floor is not None else None
        if report_file is not None:
            check_writable(report_file, "--report")
    options = ExportOptions(
        out=out, distractors=list(distractors), data=list(data), target_fpr=target_fpr,
        fpr_confidence=fpr_confidence or None,
        quantize=quantize.value, prototypes=prototypes.value, subcenters=subcenters,
        min_silhouette=min_silhouette,
        parity_images=parity_images, min_parity=min_parity, max_top1_drop=max_top1_drop,
        distractor_holdout=distractor_holdout, name=name, batch_size=batch_size,
        workers=workers, threads=threads, static_padding=static_padding, overwrite=overwrite,
        threshold_floor=floor,
    )
    with reporting(), _Progress(quiet or json_out) as progress:
        result = export_bundle(checkpoint, options, progress)
    for warning in result.warnings:  # talk: on stderr whatever the output, even with -q
        _err.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
    if report_file is not None:
        with reporting():
            write_json(report_file, result.report, "--report", kept="the bundle was written")
    if json_out:
        print_json(result.report)
    else:
        _render(result.report)
        if not quiet:
            bundle, anywhere = shlex.quote(str(out)), shlex.quote(str(out.resolve()))
            roots = (result.bundle.provenance.get("data") or {}).get("roots") or []
            folders = " ".join([*(f"--known {shlex.quote(str(r))}" for r in roots),
                                *(f"--negatives {shlex.quote(str(d))}" for d in distractors)])
            _err.print(f"Add the place descriptor photolm learn judges your own places by: "
                       f"python -m export.descriptor {bundle} --out {bundle} {folders}",
                       markup=False, highlight=False, soft_wrap=True)
            _err.print(f"Scan with it: photolm scan PHOTOS --model {bundle} (or set "
                       f"PHOTOLM_MODEL={anywhere} so every photolm command uses it)",
                       markup=False, highlight=False, soft_wrap=True)


def main() -> None:
    """Console-script entry point (``photolm-export``)."""
    app()
