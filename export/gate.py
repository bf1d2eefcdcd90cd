# SPDX-License-Identifier: GPL-3.0-or-later
"""Calibrate the descriptor gate: the least cosine between a photo's generic descriptor and
the named landmark's descriptor prototype for a fine-tuned match to stand.

The rule, fixed before anything was measured on the report half:

* negatives (non-landmark folders) are divided by :func:`export.pipeline.split_distractors`
  (a hash of each photo's path inside its folder), the same division the exporter's
  threshold uses: only the *calibration* half is read here;
* positives are the bundle's *validation* photos (never its holdout) less the photos its
  descriptor prototypes were made of;
* the gate is the smallest value on a 0.01 grid that brings the calibration half of every
  negative folder to at most ``TARGET_FPR`` named-as-a-known-landmark, unless that costs
  more than ``MAX_RECALL_COST`` of the validation photos' recall at the threshold; then it
  is the largest gate that costs no more than that.

    python -m export.gate BUNDLE --known DIR... --negatives DIR... [--out OUT]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

TARGET_FPR = 0.005
MAX_RECALL_COST = 0.01
GRID = np.round(np.arange(0.0, 0.5001, 0.01), 2)
RULE = (f"smallest gate (0.01 grid, 0..0.5) with <= {TARGET_FPR:.1%} of each negative "
        f"folder's calibration half named as a known landmark, at most {MAX_RECALL_COST:.0%} "
        "recall cost on validation photos (not descriptor-prototype photos); else the largest "
        "gate within that cost")


@dataclass(frozen=True)
class Named:
    """What the fine-tuned match names for each photo (-1: nothing above the threshold) and
    the cosine of the photo's descriptor with that landmark's descriptor prototype."""

    landmark: np.ndarray  # (N,) int
    descriptor_cos: np.ndarray  # (N,) float


def named(bundle: Any, embeddings: np.ndarray, descriptors: np.ndarray) -> Named:
    from photolm.matching import Matcher

    scores = Matcher.from_bundle(bundle).landmark_scores(embeddings)
    best = scores.argmax(1)
    landmark = np.where(scores.max(1) >= bundle.threshold, best, -1)
    dcos = np.full(len(best), -np.inf, dtype=np.float32)
    owner = np.asarray(bundle.descriptor_prototype_landmark)
    sims = np.asarray(descriptors, dtype=np.float32) @ bundle.descriptor_prototypes.T
    for i, lm in enumerate(best):
        rows = owner == lm
        if rows.any():
            dcos[i] = sims[i, rows].max()
    return Named(landmark, dcos)


def passes(n: Named, gate: float | None) -> np.ndarray:
    """Photos the match names (above the threshold) and the gate lets through."""
    ok = n.landmark >= 0
    return ok if gate is None else ok & (n.descriptor_cos >= gate)


def choose_gate(positives: Named, labels: np.ndarray, negatives: Mapping[str, Named]
                ) -> tuple[float, dict[str, Any]]:
    """The gate by the module's rule, and what it measured on the calibration data."""
    def recall(gate: float | None) -> float:
        return float((passes(positives, gate) & (positives.landmark == labels)).mean())

    def fpr(n: Named, gate: float | None) -> float:
        return float(passes(n, gate).mean())

    base = recall(None)
    affordable = [float(g) for g in GRID if base - recall(float(g)) <= MAX_RECALL_COST + 1e-9]
    good = [g for g in affordable if all(fpr(n, g) <= TARGET_FPR for n in negatives.values())]
    gate = good[0] if good else affordable[-1]
    return gate, {
        "rule": RULE, "gate": gate, "validation_photos": len(labels),
        "validation_recall": {"without": base, "with": recall(gate)},
        "calibration_fpr": {name: {"photos": len(n.landmark), "without": fpr(n, None),
                                   "with": fpr(n, gate)} for name, n in negatives.items()},
    }


def embed(embedder: Any, paths: Sequence[str], pre: Any, cache: dict[str, Any] | None = None
          ) -> tuple[np.ndarray, np.ndarray]:
    """(embeddings, descriptors) of photos that must all decode; ``cache`` (path -> pair)
    lets one evaluation reuse vectors across its sets."""
    from export.embedding import decoded_batches
    from photolm.runtime import embed_all

    cache = {} if cache is None else cache
    todo = [p for p in dict.fromkeys(paths) if p not in cache]
    for start, items in decoded_batches(todo, pre, batch_size=32):
        bad = [todo[start + i] for i, (a, _) in enumerate(items) if a is None]
        if bad:
            from export.errors import ExportError

            raise ExportError(f"{bad[0]} did not decode; clean the folder.")
        out = embed_all(embedder, np.stack([a for a, _ in items]))
        for i in range(len(items)):
            cache[todo[start + i]] = (out.embedding[i], out.descriptor[i])  # type: ignore[index]
    if not paths:
        return np.zeros((0, 1), np.float32), np.zeros((0, 1), np.float32)
    return (np.stack([cache[p][0] for p in paths]), np.stack([cache[p][1] for p in paths]))


@dataclass(frozen=True)
class GateData:
    """Paths the rule reads, and the ones it must never read (for the report)."""

    validation: list[str]
    validation_labels: np.ndarray
    holdout: list[str]
    holdout_labels: np.ndarray
    calibration: dict[str, list[str]]  # negative folder name -> calibration-half paths
    report: dict[str, list[str]]  # negative folder name -> report-half paths


def gate_data(bundle: Any, known: Sequence[Path], negatives: Sequence[Path],
              seed: int = 0, per_landmark: int = 25) -> GateData:
    from export.descriptor import _photos, bundle_positions, prototype_photos
    from export.pipeline import split_distractors
    from trainer.data import discover, split_dataset

    config = bundle.provenance.get("config") or {}
    index = discover(list(known))
    split = split_dataset(index, val_ratio=config["val_ratio"],
                          holdout_ratio=config["holdout_ratio"], seed=config["seed"])
    chosen, _ = prototype_photos(bundle, known, per_landmark, np.random.default_rng(seed))
    used = set(chosen)
    cls = [-1 if i is None else i for i in bundle_positions(bundle, index.classes)]

    def rows(samples: Sequence[Any]) -> tuple[list[str], np.ndarray]:
        keep = [s for s in samples if s.path not in used and cls[s.label] >= 0]
        return [s.path for s in keep], np.asarray([cls[s.label] for s in keep])

    val, val_labels = rows(split.val)
    hold, hold_labels = rows(split.holdout)
    cal: dict[str, list[str]] = {}
    rep: dict[str, list[str]] = {}
    for root in negatives:
        paths = _photos(Path(root))
        cal[Path(root).name], rep[Path(root).name] = split_distractors(paths, [root], 0.5)
    return GateData(val, val_labels, hold, hold_labels, cal, rep)


def calibrate_gate(bundle_dir: Path, out_dir: Path, *, known: Sequence[Path],
                   negatives: Sequence[Path], cache: dict[str, Any] | None = None) -> Any:
    """Choose the gate by the rule and write it into the bundle's manifest."""
    from export.bundle_arg import read_given_bundle
    from export.errors import ExportError
    from photolm.bundle import rewrite_bundle
    from photolm.runtime import OnnxEmbedder

    bundle = read_given_bundle(bundle_dir)
    if bundle.descriptor is None or bundle.descriptor_prototypes is None:
        raise ExportError(f"{bundle_dir} has no descriptor; run export.descriptor first.")
    data = gate_data(bundle, known, negatives)
    embedder = OnnxEmbedder.for_bundle(bundle, device="cpu")
    pos = named(bundle, *embed(embedder, data.validation, bundle.preprocess, cache))
    negs = {name: named(bundle, *embed(embedder, paths, bundle.preprocess, cache))
            for name, paths in data.calibration.items()}
    gate, measured = choose_gate(pos, data.validation_labels, negs)
    return rewrite_bundle(
        bundle, Path(out_dir), descriptor=replace(bundle.descriptor, gate=gate),
        metrics={**bundle.metrics, "descriptor_gate": measured})


def main(argv: list[str] | None = None) -> None:
    """``python -m export.gate BUNDLE --known DIR... --negatives DIR... [--out OUT]``."""
    import typer

    from photolm.cli.output import print_json, reporting
    from photolm.cli.usage import tool_app, tool_command

    app = tool_app()

    @tool_command(app)
    def calibrate(
        bundle: Path = typer.Argument(..., metavar="BUNDLE", show_default=False,
                                      help="Bundle folder with a descriptor output."),
        out: Path | None = typer.Option(None, "--out", "-o", help="Bundle folder to write "
                                        "(default: BUNDLE itself)."),
        known: list[Path] = typer.Option(..., "--known", help="Labelled folders of the "
                                         "bundle's landmarks (repeatable)."),
        negatives: list[Path] = typer.Option(..., "--negatives", help="Folders of "
                                             "non-landmark photos (repeatable)."),
    ) -> None:
        """Set the descriptor gate on the calibration half of the negatives."""
        with reporting():
            result = calibrate_gate(bundle, out or bundle, known=known, negatives=negatives)
        print_json({"bundle": str(result.path), "gate": result.metrics["descriptor_gate"]})

    app(args=argv, prog_name="python -m export.gate")


if __name__ == "__main__":
    main()
