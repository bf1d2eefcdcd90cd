# SPDX-License-Identifier: GPL-3.0-or-later
"""``trainer clean``: find mislabelled or junk photos with DBSCAN on embeddings, per class.

Within one landmark class, real photos of the landmark form dense groups in embedding space;
drawings, maps, collages and wrong landmarks sit apart. DBSCAN (cosine metric, eps 0.33,
min_samples 2, the seed paper's settings) labels such isolated photos as noise, and those
are the outliers. A class in which DBSCAN finds no dense group at all is left alone and
reported: flagging all of it would say more about eps than about the photos.

Embeddings come from a trained checkpoint when one is given, otherwise from the ImageNet
backbone alone (GeM-pooled, no neck), which is what one has before the first training run.

Written: ``outliers.csv`` (path, class, reason, cosine to the class's dense centre),
``outliers.txt`` (for ``trainer fit --exclude-list``), ``kept.txt`` (for ``--file-list``),
``outliers.png`` (a contact sheet) and ``summary.json``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from photolm.wording import counted
from trainer.atomic import output_folder, write_report, writing
from trainer.data import discover
from trainer.errors import ConfigError
from trainer.prototypes import Progress

DEFAULT_EPS = 0.33
DEFAULT_MIN_SAMPLES = 2


@dataclass
class OutlierSearch:
    """Per-photo result of :func:`find_outliers`."""

    is_outlier: np.ndarray  # bool (N,)
    similarity: np.ndarray  # cosine to the centre of the class's clustered photos (N,)
    no_cluster: list[int]  # classes where DBSCAN found no dense group (nothing flagged)
    too_small: list[int] = field(default_factory=list)  # classes of <= min_samples photos


def find_outliers(
    embeddings: np.ndarray,
    labels: Sequence[int] | np.ndarray,
    *,
    eps: float = DEFAULT_EPS,
    min_samples: int = DEFAULT_MIN_SAMPLES,
    metric: str = "cosine",
) -> OutlierSearch:
    """DBSCAN per class; photos labelled noise in a class that has a cluster are outliers."""
    from sklearn.cluster import DBSCAN

    if eps <= 0 or min_samples < 1:
        raise ConfigError("DBSCAN needs --eps > 0 and --min-samples >= 1.")
    embeddings = np.asarray(embeddings, dtype=np.float64)
    labels = np.asarray(labels)
    is_outlier = np.zeros(len(labels), dtype=bool)
    similarity = np.ones(len(labels), dtype=np.float64)
    no_cluster: list[int] = []
    too_small: list[int] = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if len(members) <= min_samples:
            too_small.append(int(label))  # cannot tell an outlier from a small class
            continue
        vectors = embeddings[members]
        assignment = DBSCAN(eps=eps, min_samples=min_samples, metric=metric).fit(vectors).labels_
        clustered = assignment >= 0
        if not clustered.any():
            no_cluster.append(int(label))
            continue
        centre = vectors[clustered].mean(axis=0)
        centre /= max(np.linalg.norm(centre), 1e-12)
        norms = np.maximum(np.linalg.norm(vectors, axis=1), 1e-12)
        similarity[members] = (vectors @ centre) / norms
        is_outlier[members[~clustered]] = True
    return OutlierSearch(is_outlier=is_outlier, similarity=similarity, no_cluster=no_cluster,
                         too_small=too_small)


@dataclass
class CleanResult:
    photos: int
    outliers: list[dict[str, Any]]
    kept: int
    no_cluster: list[str]
    files: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def clean(
    roots: Sequence[Path | str],
    out_dir: Path | str,
    *,
    checkpoint: Path | str | None = None,
    backbone: str = "tf_efficientnet_lite0",
    pretrained_file: str | None = None,
    image_size: int = 224,
    eps: float = DEFAULT_EPS,
    min_samples: int = DEFAULT_MIN_SAMPLES,
    batch_size: int = 64,
    workers: int = 0,
    device: str = "auto",
    sheet_max: int = 200,
    on_bad: Callable[[str, str], None] | None = None,
    progress: Progress | None = None,
) -> CleanResult:
    """Embed every photo under ``roots``, flag outliers per class, write the reports."""
    from trainer.fit import select_device
    from trainer.prototypes import embed_paths
    from trainer.transforms import EvalPreprocess

    index = discover(list(roots))
    out = output_folder(out_dir)
    model, pre, source = _embedding_model(checkpoint, backbone, pretrained_file, image_size,
                                          roots)
    bad: dict[str, str] = {}

    def remember(path: str, reason: str) -> None:
        bad[path] = reason
        if on_bad is not None:
            on_bad(path, reason)

    paths = [s.path for s in index.samples]
    labels = np.array([s.label for s in index.samples], dtype=np.int64)
    progress = progress or Progress()
    progress.stage("embedding", len(paths))
    embeddings, ok = embed_paths(model, paths, EvalPreprocess(**pre), device=select_device(device),
                                 batch_size=batch_size, workers=workers, on_bad=remember,
                                 on_batch=progress.advance)
    search = find_outliers(embeddings[ok], labels[ok], eps=eps, min_samples=min_samples)
    ok_index = np.flatnonzero(ok)
    outliers: list[dict[str, Any]] = []
    for position in np.flatnonzero(search.is_outlier):
        sample = index.samples[ok_index[position]]
        outliers.append({"path": sample.path, "class": index.classes[sample.label].name,
                         "reason": "dbscan-noise",
                         "similarity": round(float(search.similarity[position]), 4)})
    outliers.sort(key=lambda row: (row["class"], row["similarity"]))
    for path, reason in bad.items():
        label = index.samples[paths.index(path)].label
        outliers.append({"path": path, "class": index.classes[label].name,
                         "reason": f"undecodable: {reason}", "similarity": None})
    flagged = {row["path"] for row in outliers}
    kept = [p for p in paths if p not in flagged]

    files = {
        "outliers_csv": str(_write_outliers_csv(out / "outliers.csv", outliers)),
        "outliers_txt": str(_write_lines(out / "outliers.txt", [r["path"] for r in outliers])),
        "kept": str(_write_lines(out / "kept.txt", kept)),
    }
    sheet_rows = [r for r in outliers if r["reason"] == "dbscan-noise"]
    if sheet_rows:
        title = (f"{counted(len(sheet_rows), 'outlier')} (DBSCAN eps={eps}, "
                 f"min_samples={min_samples}, {source})")
        files["sheet"] = str(contact_sheet(out / "outliers.png", sheet_rows[:sheet_max],
                                           title=title))
    no_cluster = [index.classes[c].name for c in search.no_cluster]
    small = [index.classes[c].name for c in search.too_small]
    summary = {"photos": len(paths), "outliers": len(outliers), "kept": len(kept),
               "eps": eps, "min_samples": min_samples, "embedding": source,
               "classes_without_cluster": no_cluster,
               "classes_too_small": small,
               "per_class": _per_class_counts(outliers)}
    write_report(out / "summary.json", json.dumps(summary, indent=1, ensure_ascii=False) + "\n")
    files["summary"] = str(out / "summary.json")
    notes = list(index.notes)
    if small:
        notes.append(f"{counted(len(small), 'class', 'has')} {counted(min_samples, 'photo')} "
                     "or fewer, too few to tell "
                     "an outlier; all kept: " + ", ".join(small[:10])
                     + ("…" if len(small) > 10 else ""))
    if len(sheet_rows) > sheet_max:
        notes.append(f"The contact sheet shows the first {sheet_max} of {len(sheet_rows)} "
                     "outliers; see outliers.csv for all.")
    return CleanResult(photos=len(paths), outliers=outliers, kept=len(kept),
                       no_cluster=no_cluster, files=files, notes=notes)


def _embedding_model(checkpoint: Path | str | None, backbone: str,
                     pretrained_file: str | None, image_size: int,
                     roots: Sequence[Path | str]) -> tuple[Any, dict[str, Any], str]:
    """(model, preprocessing fields, description) for the embeddings used to cluster."""
    if checkpoint is not None:
        from trainer.checkpoint import load_checkpoint

        ckpt = load_checkpoint(checkpoint)
        return ckpt.model, ckpt.preprocess.to_dict(), f"checkpoint {Path(checkpoint).name}"
    from trainer.config import TrainConfig, resolve_config
    from trainer.model import build_pooled_backbone
    from trainer.transforms import EvalPreprocess

    config = resolve_config(TrainConfig(data=[str(r) for r in roots], backbone=backbone,
                                        pretrained=True, pretrained_file=pretrained_file,
                                        image_size=image_size))
    model = build_pooled_backbone(config)
    return model, EvalPreprocess.from_config(config).to_dict(), f"ImageNet {config.backbone}"


def _per_class_counts(outliers: Sequence[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in outliers:
        counts[row["class"]] = counts.get(row["class"], 0) + 1
    return dict(sorted(counts.items(), key=lambda item: -item[1]))


def _write_outliers_csv(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    with writing(path), open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["path", "class", "reason", "similarity"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def _write_lines(path: Path, lines: Sequence[str]) -> Path:
    return write_report(path, "".join(f"{line}\n" for line in lines))


def contact_sheet(path: Path, rows: Sequence[dict[str, Any]], *, title: str = "",
                  thumb: int = 128, columns: int = 8) -> Path:
    """A grid of thumbnails captioned with class and file name, drawn with Pillow."""
    from PIL import Image, ImageDraw, ImageFont

    from trainer.transforms import UnreadableImage, open_image

    font = ImageFont.load_default(size=11)
    caption = 30
    header = 28 if title else 0
    count = max(1, len(rows))
    grid_cols = min(columns, count)
    grid_rows = (count + grid_cols - 1) // grid_cols
    sheet = Image.new("RGB", (grid_cols * (thumb + 8) + 8,
                              header + grid_rows * (thumb + caption + 8) + 8), "white")
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((8, 8), title, fill="black", font=ImageFont.load_default(size=14))
    for number, row in enumerate(rows):
        x = 8 + (number % grid_cols) * (thumb + 8)
        y = header + 8 + (number // grid_cols) * (thumb + caption + 8)
        try:
            image = open_image(row["path"], draft=thumb)
            image.thumbnail((thumb, thumb))
            sheet.paste(image, (x + (thumb - image.width) // 2, y + (thumb - image.height) // 2))
        except UnreadableImage:
            draw.rectangle((x, y, x + thumb, y + thumb), outline="red")
        name = Path(row["path"]).name
        draw.text((x, y + thumb + 2), str(row["class"])[:22], fill="black", font=font)
        draw.text((x, y + thumb + 15), name[:22], fill="dimgray", font=font)
    with writing(path):
        sheet.save(path)
    return path
