# SPDX-License-Identifier: GPL-3.0-or-later
"""``trainer evaluate``: score a checkpoint the way photolm will use it.

Photos are embedded with the evaluation transform and classified by nearest prototype
(cosine), prototypes being the normalised mean embedding of each class's training photos
(rebuilt from the checkpoint's config) or, with ``prototypes="head"``, the loss head's class
centres. Reported: top-1/top-5 accuracy, GAP, macro precision/recall/F1, a per-class CSV, a
confusion-matrix PNG, and with distractor photos the false-positive rate at the threshold.

Photos from classes the checkpoint does not know count as non-landmark photos: any
prediction on them is wrong (as in Kaggle's GAP).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from photolm.wording import counted
from trainer.atomic import output_folder, write_report, writing
from trainer.data import (
    ClassInfo,
    DatasetSplit,
    class_ids,
    discover,
    list_images,
    normalise_name,
    split_from_config,
)
from trainer.errors import DataError, TrainerError
from trainer.metrics import (
    confusion_matrix,
    false_positive_rate,
    global_average_precision,
    macro_precision_recall_f1,
    per_class_report,
    topk_accuracy,
)
from trainer.prototypes import (
    Progress,
    class_prototypes,
    classify,
    embed_paths,
    head_prototypes,
)


@dataclass
class EvaluationResult:
    metrics: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def map_classes(found: Sequence[ClassInfo], known: Sequence[ClassInfo]) -> list[int]:
    """Index into ``known`` for each class in ``found`` (by id, under the current rule or an
    earlier one a checkpoint's table may hold, then by alias); -1 if none."""
    lookup: dict[str, int] = {}
    for index, info in enumerate(known):
        lookup[info.id] = index
    for index, info in enumerate(known):
        for alias in info.aliases:
            lookup.setdefault(normalise_name(alias), index)
    result = []
    for info in found:
        match = next((lookup[i] for i in (info.id, *class_ids(info.name)) if i in lookup), -1)
        if match < 0:
            for alias in info.aliases:
                match = lookup.get(normalise_name(alias), -1)
                if match >= 0:
                    break
        result.append(match)
    return result


def evaluate(
    checkpoint: Path | str,
    data: Sequence[Path | str] | None = None,
    *,
    split: str = "val",
    distractors: Sequence[Path | str] = (),
    threshold: float = 0.5,
    prototypes: str = "train",
    out_dir: Path | str | None = None,
    batch_size: int = 64,
    workers: int = 0,
    device: str = "auto",
    on_bad: Callable[[str, str], None] | None = None,
    progress: Progress | None = None,
) -> EvaluationResult:
    """Evaluate ``checkpoint`` on ``data`` (or on its own ``split`` when no data is given)."""
    from trainer.checkpoint import load_checkpoint
    from trainer.fit import select_device

    progress = progress or Progress()
    if out_dir is not None:
        output_folder(out_dir, create=False)  # before the work, not after it
    ckpt = load_checkpoint(checkpoint)
    known = ckpt.class_infos
    num_classes = len(known)
    pre = ckpt.preprocess
    dev = select_device(device)
    notes: list[str] = []

    def embed(label: str, paths: list[str]) -> tuple[np.ndarray, np.ndarray]:
        progress.stage(label, len(paths))
        return embed_paths(ckpt.model, paths, pre, device=dev, batch_size=batch_size,
                           workers=workers, on_bad=on_bad, on_batch=progress.advance)

    if prototypes not in ("train", "head"):
        raise TrainerError(f"Unknown prototype source {prototypes!r}; use train or head.")
    train_paths: set[str] = set()
    own_split = None
    try:
        own_split = split_from_config(ckpt.config, expected_classes=known,
                                      expected_photos=ckpt.photos_sha256)
        train_paths = {s.path for s in own_split.train}
    except DataError as exc:
        # Only needed for train prototypes or the checkpoint's own split; otherwise it just
        # means the overlap check below cannot be done.
        if prototypes == "train" or not data:
            raise TrainerError(
                f"{exc} Evaluating needs the checkpoint's training photos; pass DATA and "
                "--prototypes head to score with the loss head's class centres instead."
            ) from None
        notes.append("The checkpoint's training photos are not available; cannot tell "
                     "whether evaluated photos were used for training.")

    # --- what to evaluate
    if data:
        index = discover(list(data))
        notes.extend(index.notes)
        mapping = map_classes(index.classes, known)
        paths = [s.path for s in index.samples]
        true = np.array([mapping[s.label] for s in index.samples], dtype=np.int64)
        unknown = sorted({index.classes[s.label].name for s in index.samples
                          if mapping[s.label] < 0})
        if unknown:
            notes.append(f"{counted(int((true < 0).sum()), 'photo')} of "
                         f"{counted(len(unknown), 'class')} unknown to the checkpoint count as "
                         f"non-landmark: {', '.join(unknown[:8])}"
                         + ("…" if len(unknown) > 8 else ""))
        source = [str(Path(p)) for p in data]
    else:
        samples = _required(own_split).part(split)
        if not samples:
            raise TrainerError(f"The checkpoint's {split} split is empty; pass DATA folders.")
        paths = [s.path for s in samples]
        true = np.array([s.label for s in samples], dtype=np.int64)
        source = [f"{split} split"]
    overlap = sum(1 for p in paths if p in train_paths)
    if overlap and (data or split != "train"):
        notes.append(f"{counted(overlap, 'evaluated photo', 'was')} used for training; scores "
                     "are inflated.")

    # --- prototypes
    if prototypes == "head":
        head = ckpt.build_head()
        protos, owners = head_prototypes(head.centres(), num_classes)
    else:  # "train": the way export builds the bundle's prototypes
        train = _required(own_split).train
        emb, ok = embed("prototypes", [s.path for s in train])
        labels = np.array([s.label for s in train], dtype=np.int64)
        protos, counts = class_prototypes(emb[ok], labels[ok], num_classes)
        owners = np.arange(num_classes)
        if (counts == 0).any():
            notes.append(f"{counted(int((counts == 0).sum()), 'class', 'has')} no training "
                         "photo and can never be predicted.")

    emb, ok = embed("evaluate", paths)
    emb, true, kept_paths = emb[ok], true[ok], [p for p, k in zip(paths, ok, strict=True) if k]
    distractor_paths: list[str] = []
    for folder in distractors:
        distractor_paths.extend(str(p) for p in list_images(folder))
    if distractors and not distractor_paths:
        raise DataError("The --distractors folders hold no photos.")
    if distractor_paths:
        d_emb, d_ok = embed("distractors", distractor_paths)
        d_emb = d_emb[d_ok]
    else:
        d_emb = np.zeros((0, emb.shape[1]), dtype=np.float32)

    top, scores = classify(emb, protos, owners, num_classes=num_classes, k=5)
    metrics = _metrics(top, scores, true, num_classes, threshold, d_emb, protos, owners)
    metrics.update({
        "checkpoint": str(ckpt.path), "epoch": ckpt.epoch, "data": source,
        "prototypes": prototypes, "classes": num_classes, "threshold": threshold,
        "trained_photos_evaluated": overlap,
    })

    files: dict[str, str] = {}
    if out_dir is not None:
        out = output_folder(out_dir)
        files["per_class"] = str(_write_per_class(out / "per_class.csv", top[:, 0], true, known))
        files["predictions"] = str(_write_predictions(out / "predictions.csv", kept_paths, true,
                                                      top[:, 0], scores[:, 0], known))
        files["confusion"] = str(write_confusion_png(out / "confusion.png", top[:, 0], true,
                                                     [c.name for c in known]))
        write_report(out / "metrics.json", json.dumps(_jsonable(metrics), indent=2) + "\n")
        files["metrics"] = str(out / "metrics.json")
    return EvaluationResult(metrics=_jsonable(metrics), files=files, notes=notes)


def _required(split: DatasetSplit | None) -> DatasetSplit:
    if split is None:  # evaluate() loads the split whenever a branch needs it
        raise TrainerError("Internal error: the checkpoint's split was not loaded.")
    return split


def _metrics(top: np.ndarray, scores: np.ndarray, true: np.ndarray, num_classes: int,
             threshold: float, d_emb: np.ndarray, protos: np.ndarray,
             owners: np.ndarray) -> dict[str, Any]:
    pred, conf = top[:, 0], scores[:, 0]
    acc = topk_accuracy(top, true, (1, 5))
    precision, recall, f1 = macro_precision_recall_f1(pred, true, num_classes)
    landmark = true >= 0
    result: dict[str, Any] = {
        "images": len(true),
        "landmark_images": int(landmark.sum()),
        "nonlandmark_images": int((~landmark).sum()),
        "top1": acc[1], "top5": acc[5],
        "gap": global_average_precision(pred, conf, true),
        "macro_precision": precision, "macro_recall": recall, "macro_f1": f1,
        "accuracy_at_threshold": float(((pred == true) & (conf >= threshold))[landmark].mean())
        if landmark.any() else float("nan"),
    }
    if len(d_emb):
        d_top, d_scores = classify(d_emb, protos, owners, num_classes=num_classes, k=1)
        all_pred = np.concatenate([pred, d_top[:, 0]])
        all_conf = np.concatenate([conf, d_scores[:, 0]])
        all_true = np.concatenate([true, np.full(len(d_emb), -1)])
        withheld = np.where(all_conf >= threshold, all_pred, -1)
        result.update({
            "distractor_images": len(d_emb),
            "fpr": false_positive_rate(d_scores[:, 0], threshold),
            "gap_with_distractors": global_average_precision(all_pred, all_conf, all_true),
            "gap_at_threshold": global_average_precision(withheld, all_conf, all_true),
        })
    return result


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _write_per_class(path: Path, pred: np.ndarray, true: np.ndarray,
                     classes: Sequence[ClassInfo]) -> Path:
    report = per_class_report(pred, true, len(classes))
    confusion = confusion_matrix(pred, true, len(classes))
    np.fill_diagonal(confusion, 0)
    with writing(path), open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name", "images", "correct", "accuracy", "precision", "recall",
                         "f1", "most_confused_with"])
        for index, info in enumerate(classes):
            support = int(report.support[index])
            worst = int(confusion[index].argmax()) if confusion[index].any() else -1
            writer.writerow([
                info.id, info.name, support, int(report.correct[index]),
                f"{report.recall[index]:.4f}" if support else "",
                f"{report.precision[index]:.4f}", f"{report.recall[index]:.4f}",
                f"{report.f1[index]:.4f}", classes[worst].name if worst >= 0 else "",
            ])
    return path


def _write_predictions(path: Path, paths: Sequence[str], true: np.ndarray, pred: np.ndarray,
                       conf: np.ndarray, classes: Sequence[ClassInfo]) -> Path:
    with writing(path), open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "true", "predicted", "score", "correct"])
        for p, t, q, s in zip(paths, true, pred, conf, strict=True):
            writer.writerow([p, classes[t].id if t >= 0 else "", classes[q].id,
                             f"{s:.4f}", int(t == q)])
    return path


def write_confusion_png(path: Path, pred: np.ndarray, true: np.ndarray,
                        names: Sequence[str]) -> Path:
    """Row-normalised confusion matrix; class names on the axes up to 60 classes."""
    from matplotlib.figure import Figure

    matrix = confusion_matrix(pred, true, len(names)).astype(np.float64)
    rows = matrix.sum(axis=1, keepdims=True)
    normalised = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
    side = min(24.0, max(5.0, 0.28 * len(names) + 2.5))
    fig = Figure(figsize=(side, side), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Confusion matrix (nearest prototype)")
    if len(names) <= 60:
        ticks = np.arange(len(names))
        ax.set_xticks(ticks, labels=list(names), rotation=90, fontsize=7)
        ax.set_yticks(ticks, labels=list(names), fontsize=7)
    fig.tight_layout()
    with writing(path):
        fig.savefig(path)
    return path
