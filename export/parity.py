# SPDX-License-Identifier: GPL-3.0-or-later
"""Parity: the exported model, fed by photolm, must embed real photos as torch did in training.

Two comparisons on the same photos, both as cosine similarity of the two embeddings:

* **pipeline** (the one that decides): the trainer's evaluation transform + the torch model
  versus photolm's own decoder (:func:`photolm.images.load_for_model`) + onnxruntime
  (:class:`photolm.runtime.OnnxEmbedder`). This catches every way the two sides can drift:
  a preprocessing difference (resize rounding, EXIF orientation, the reduced JPEG decode
  asked for), an export bug, a wrong opset, padding frozen for the wrong size.
  A JPEG at least twice the model's resize is decoded by libjpeg at a reduced scale on
  both sides (``draft``: photolm's scan does so, and so does the trainer's training
  loader), because a full decode resized by Pillow differs from it by a few grey levels
  that move a trained network's embedding by more than the limit: every phone photo in a
  set ``photolm export-dataset`` wrote would fail the check, though the network is the
  one trained on exactly such decodes.
* **graph**: the very same input array through torch and through onnxruntime. Reported so a
  failure can be attributed: if the graph agrees and the pipeline does not, the difference is
  in preprocessing.

The export fails (:class:`ExportError`) when the worst pipeline cosine is below the limit
(0.999 by default) and reports the worst photo.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from export.errors import ExportError
from photolm.bundle import Preprocess
from photolm.errors import ImageError
from photolm.images import load_for_model
from photolm.runtime import Embedder

MIN_COSINE = 0.999


@dataclass(frozen=True)
class ParityReport:
    images: int
    skipped: int  # photos one of the two decoders refused
    min_cosine: float  # the limit
    worst_cosine: float  # pipeline: trainer + torch vs photolm + onnxruntime
    worst_path: str
    mean_cosine: float
    worst_graph_cosine: float  # identical input through torch and onnxruntime

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _torch_input(path: str, pre: Any) -> np.ndarray | None:
    """The trainer's side: its decoder at the reduced scale its loaders ask for
    (:attr:`~trainer.transforms.EvalPreprocess.decode_target`), then its evaluation
    transform."""
    from trainer.transforms import UnreadableImage, eval_array, open_image

    try:
        return eval_array(open_image(path, draft=pre.decode_target), pre)
    except UnreadableImage:
        return None


def check_parity(
    model: nn.Module,
    embedder: Embedder,
    paths: Sequence[str | Path],
    torch_pre: Any,
    bundle_pre: Preprocess,
    *,
    min_cosine: float = MIN_COSINE,
    batch_size: int = 16,
) -> ParityReport:
    """Compare ``model`` (torch, eval transform ``torch_pre``) with ``embedder`` (ONNX fed by
    photolm with ``bundle_pre``) on ``paths``; raise :class:`ExportError` below the limit."""
    model = model.eval()
    cos_pipeline: list[float] = []
    cos_graph: list[float] = []
    used: list[str] = []
    skipped = 0
    names = [str(p) for p in paths]
    for start in range(0, len(names), batch_size):
        torch_in, onnx_in, kept = [], [], []
        for path in names[start:start + batch_size]:
            t_arr = _torch_input(path, torch_pre)
            try:
                o_arr = load_for_model(path, bundle_pre)
            except ImageError:
                o_arr = None
            if t_arr is None or o_arr is None:
                skipped += 1
                continue
            torch_in.append(t_arr)
            onnx_in.append(o_arr)
            kept.append(path)
        if not kept:
            continue
        t_batch = np.stack(torch_in)
        with torch.inference_mode():
            reference = model(torch.from_numpy(t_batch)).float().numpy()
        reference = reference / np.maximum(np.linalg.norm(reference, axis=1, keepdims=True),
                                           1e-12)
        pipeline = embedder.embed(np.stack(onnx_in))
        graph = embedder.embed(t_batch)
        cos_pipeline.extend(np.sum(reference * pipeline, axis=1).tolist())
        cos_graph.extend(np.sum(reference * graph, axis=1).tolist())
        used.extend(kept)
    if not used:
        raise ExportError("No photo for the parity check could be decoded; check the dataset.")
    worst = int(np.argmin(cos_pipeline))
    report = ParityReport(
        images=len(used),
        skipped=skipped,
        min_cosine=float(min_cosine),
        worst_cosine=float(cos_pipeline[worst]),
        worst_path=used[worst],
        mean_cosine=float(np.mean(cos_pipeline)),
        worst_graph_cosine=float(np.min(cos_graph)),
    )
    if report.worst_cosine < min_cosine:
        where = ("the ONNX graph itself" if report.worst_graph_cosine < min_cosine
                 else "preprocessing (the graph alone agrees: "
                 f"worst {report.worst_graph_cosine:.6f})")
        raise ExportError(
            f"Parity check failed: cosine {report.worst_cosine:.6f} < {min_cosine} between "
            f"torch and onnxruntime for {report.worst_path}; the difference comes from "
            f"{where}. The bundle would not behave like the trained model; fix the export "
            "or the preprocessing before shipping it."
        )
    return report


def parity_sample(paths_by_class: Sequence[Sequence[str]], count: int) -> list[str]:
    """Up to ``count`` photos taken round-robin over classes, so parity sees every kind of
    photo rather than the first class's."""
    picked: list[str] = []
    depth = 0
    while len(picked) < count:
        added = False
        for paths in paths_by_class:
            if depth < len(paths):
                picked.append(paths[depth])
                added = True
                if len(picked) == count:
                    break
        if not added:
            break
        depth += 1
    return picked
