# SPDX-License-Identifier: GPL-3.0-or-later
"""``trainer eda``: what is in a dataset before training on it.

Class sizes (a bar chart, or a histogram when there are many classes), photos per source,
image dimensions (from file headers only: no pixel decoding, so it is quick on large sets)
and unreadable files, as PNGs plus a text summary.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from photolm.wording import counted
from trainer.atomic import output_folder, write_report, writing
from trainer.data import discover

_ORIENTATION = 0x0112


@dataclass
class EdaReport:
    summary: dict[str, Any]
    text: str
    files: dict[str, str] = field(default_factory=dict)


def image_header(path: str) -> tuple[int, int, str] | None:
    """(width, height, format) as displayed (EXIF rotation applied), or None if unreadable."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            orientation = image.getexif().get(_ORIENTATION, 1)
            if orientation in (5, 6, 7, 8):
                width, height = height, width
            return width, height, str(image.format or "?")
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError):
        return None


def _percentiles(values: np.ndarray) -> dict[str, float]:
    if values.size == 0:
        return {}
    points = np.percentile(values, [0, 5, 25, 50, 75, 95, 100])
    keys = ("min", "p5", "p25", "median", "p75", "p95", "max")
    return {k: round(float(v), 3) for k, v in zip(keys, points, strict=True)}


def run_eda(roots: Sequence[Path | str], out_dir: Path | str, *,
            on_photo: Callable[[int], None] | None = None) -> EdaReport:
    """Analyse the photos under ``roots``; write PNGs and summary.txt/json to ``out_dir``."""
    index = discover(list(roots))
    out = output_folder(out_dir)
    counts = np.array(index.class_counts())
    names = [c.name for c in index.classes]
    sources: Counter[str] = Counter()
    formats: Counter[str] = Counter()
    sizes = []
    unreadable = []
    for sample in index.samples:
        parts = sample.key.split("/")
        sources["/".join(parts[:2]) if len(parts) > 3 else parts[0]] += 1
        header = image_header(sample.path)
        if header is None:
            unreadable.append(sample.path)
        else:
            sizes.append(header[:2])
            formats[header[2]] += 1
        if on_photo is not None:
            on_photo(1)
    dims = np.array(sizes, dtype=np.float64).reshape(-1, 2)
    shorter = dims.min(axis=1) if len(dims) else np.zeros(0)
    megapixels = dims.prod(axis=1) / 1e6 if len(dims) else np.zeros(0)
    aspect = dims.max(axis=1) / np.maximum(dims.min(axis=1), 1) if len(dims) else np.zeros(0)
    order = np.argsort(-counts, kind="stable")
    summary = {
        "roots": index.roots,
        "photos": int(counts.sum()),
        "classes": len(names),
        "class_size": _percentiles(counts.astype(np.float64)),
        "smallest_classes": {names[i]: int(counts[i]) for i in order[::-1][:10]},
        "largest_classes": {names[i]: int(counts[i]) for i in order[:10]},
        "imbalance_ratio": round(float(counts.max() / max(1, counts.min())), 2),
        "sources": dict(sources.most_common()),
        "formats": dict(formats.most_common()),
        "shorter_side_px": _percentiles(shorter),
        "megapixels": _percentiles(megapixels),
        "aspect_ratio": _percentiles(aspect),
        "unreadable": unreadable,
        "notes": index.notes,
    }
    files = {
        "class_sizes": str(_plot_class_sizes(out / "class_sizes.png", counts, names)),
        "image_sizes": str(_plot_image_sizes(out / "image_sizes.png", dims)),
    }
    text = _summary_text(summary)
    write_report(out / "summary.txt", text)
    write_report(out / "summary.json", json.dumps(summary, indent=1, ensure_ascii=False) + "\n")
    files["summary"] = str(out / "summary.txt")
    return EdaReport(summary=summary, text=text, files=files)


def _summary_text(summary: dict[str, Any]) -> str:
    lines = [
        f"{counted(summary['photos'], 'photo')} in {counted(summary['classes'], 'class')} "
        f"(largest/smallest class: {summary['imbalance_ratio']}x)",
        f"class size: {_fmt(summary['class_size'])}",
        f"shorter side (px): {_fmt(summary['shorter_side_px'])}",
        f"megapixels: {_fmt(summary['megapixels'])}",
        f"aspect ratio: {_fmt(summary['aspect_ratio'])}",
        "formats: " + ", ".join(f"{k} {v}" for k, v in summary["formats"].items()),
        "sources: " + ", ".join(f"{k} {v}" for k, v in summary["sources"].items()),
        "smallest classes: " + ", ".join(f"{k} ({v})"
                                         for k, v in summary["smallest_classes"].items()),
        "largest classes: " + ", ".join(f"{k} ({v})"
                                        for k, v in summary["largest_classes"].items()),
        f"unreadable files: {len(summary['unreadable'])}",
    ]
    lines += [f"  {path}" for path in summary["unreadable"][:50]]
    lines += [f"note: {note}" for note in summary["notes"]]
    return "\n".join(lines) + "\n"


def _fmt(stats: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:g}" for k, v in stats.items()) if stats else "-"


def _plot_class_sizes(path: Path, counts: np.ndarray, names: Sequence[str]) -> Path:
    from matplotlib.figure import Figure

    order = np.argsort(-counts, kind="stable")
    if len(counts) <= 80:
        fig = Figure(figsize=(8, max(3.0, 0.22 * len(counts) + 1.2)), dpi=100)
        ax = fig.add_subplot(1, 1, 1)
        ax.barh(np.arange(len(counts)), counts[order], color="tab:blue")
        ax.set_yticks(np.arange(len(counts)), labels=[names[i] for i in order], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel("photos")
        ax.set_title(f"Photos per class ({counted(len(counts), 'class')})")
    else:
        fig = Figure(figsize=(8, 4.5), dpi=100)
        ax = fig.add_subplot(1, 1, 1)
        ax.hist(counts, bins=min(60, max(10, len(counts) // 20)), color="tab:blue")
        ax.set_xlabel("photos per class")
        ax.set_ylabel("classes")
        ax.set_yscale("log")
        ax.set_title(f"Class-size histogram ({counted(len(counts), 'class')})")
    fig.tight_layout()
    with writing(path):
        fig.savefig(path)
    return path


def _plot_image_sizes(path: Path, dims: np.ndarray) -> Path:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4.2), dpi=100)
    left = fig.add_subplot(1, 2, 1)
    right = fig.add_subplot(1, 2, 2)
    if len(dims):
        left.scatter(dims[:, 0], dims[:, 1], s=4, alpha=0.4)
        right.hist(dims.min(axis=1), bins=40, color="tab:orange")
    left.set_xlabel("width (px)")
    left.set_ylabel("height (px)")
    left.set_title("Image dimensions")
    right.set_xlabel("shorter side (px)")
    right.set_ylabel("photos")
    right.set_title("Shorter side")
    fig.tight_layout()
    with writing(path):
        fig.savefig(path)
    return path
