#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""``trainer evaluate`` with a full JPEG decode against the reduced (DCT-scaled) one.

photolm's scan, the trainer's training loader and the export's parity check decode a JPEG at
a reduced scale (``Image.draft``); this measures what the same reduced decode does to
``trainer evaluate`` (and so to fit's validation and ``trainer clean``, which embed the same
way): its time, and whether any score moves. Run from the repository root::

    nice -n 10 .venv/bin/python scripts/bench_evaluate_decode.py \\
        --checkpoint runs/r24/best.pt --n 200 --repeats 3

The photos: ``--n`` photos of ``../shared/data/wonders`` from the checkpoint's holdout, then
validation split (never trained on), in two copies under ``--work`` (default
``.bench/evaluate-decode``, git-ignored): ``as-is`` (links to the originals, at most 320 px,
where a reduced decode changes nothing) and ``camera`` (the same photos upscaled to a
``--camera-side`` px shorter side with a little noise, as a camera's files are large).
Each copy is evaluated ``--repeats`` times per decode, the two decodes interleaved in the
same process (so they share the machine's load), by nearest class centre of the loss head
(``--prototypes head``: no pass over the 3,000 training photos). Printed: median seconds and
photos/s per decode, their ratio, the metrics of each decode, and per photo how many
predictions differ and the largest score difference. The full decode is obtained by
switching :attr:`trainer.transforms.EvalPreprocess.decode_target` off for that run.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
WONDERS = REPO.parent / "shared" / "data" / "wonders"
METRICS = ("top1", "top5", "gap", "macro_f1", "accuracy_at_threshold")


def pick_photos(checkpoint: Path, n: int) -> list[Path]:
    """``n`` wonders photos the checkpoint never trained on: holdout first, then val."""
    from trainer.checkpoint import load_checkpoint
    from trainer.data import split_from_config

    ckpt = load_checkpoint(checkpoint)
    split = split_from_config(ckpt.config)
    root = str(WONDERS.resolve()) + "/"
    chosen = [Path(s.path) for part in ("holdout", "val") for s in split.part(part)
              if s.path.startswith(root)]
    if len(chosen) < n:
        raise SystemExit(f"only {len(chosen)} held-out wonders photos; lower --n")
    return chosen[:n]


def build_copies(photos: list[Path], work: Path, side: int) -> dict[str, Path]:
    """``as-is`` (symlinks) and ``camera`` (upscaled JPEGs), each root/wonders/<class>/."""
    import numpy as np
    from PIL import Image

    copies = {"as-is": work / "as-is" / "wonders", "camera": work / f"camera-{side}" / "wonders"}
    for name, root in copies.items():
        if (root / "done").is_file():
            continue
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        shutil.copy(WONDERS / "classes.csv", root / "classes.csv")
        for number, photo in enumerate(photos):
            target = root / photo.parent.name / photo.name
            target.parent.mkdir(exist_ok=True)
            if name == "as-is":
                target.symlink_to(photo)
                continue
            with Image.open(photo) as source:
                image = source.convert("RGB")
            scale = side / min(image.size)
            image = image.resize((round(image.width * scale), round(image.height * scale)),
                                 Image.Resampling.BICUBIC)
            rng = np.random.default_rng(number)
            pixels = np.asarray(image, dtype=np.int16)
            pixels += rng.integers(-3, 4, size=pixels.shape, dtype=np.int16)
            Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(target, quality=92)
        (root / "done").write_text("")
    return copies


def evaluate_once(checkpoint: Path, data: Path, out: Path, reduced: bool) -> tuple[float, Any]:
    from trainer.evaluate import evaluate
    from trainer.transforms import EvalPreprocess

    saved = EvalPreprocess.decode_target
    if not reduced:
        EvalPreprocess.decode_target = property(lambda self: None)  # type: ignore[assignment]
    try:
        start = time.perf_counter()
        result = evaluate(checkpoint, [data], prototypes="head", out_dir=out, device="cpu",
                          batch_size=32)
        return time.perf_counter() - start, result
    finally:
        EvalPreprocess.decode_target = saved  # type: ignore[method-assign]


def predictions(path: Path) -> dict[str, tuple[str, float]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return {row["path"]: (row["predicted"], float(row["score"]))
                for row in csv.DictReader(handle)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--camera-side", type=int, default=1536)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--work", type=Path, default=REPO / ".bench" / "evaluate-decode")
    parser.add_argument("--json", type=Path, help="also write the results here")
    opts = parser.parse_args()

    import torch

    torch.set_num_threads(opts.threads)
    photos = pick_photos(opts.checkpoint, opts.n)
    copies = build_copies(photos, opts.work, opts.camera_side)
    report: dict[str, Any] = {"checkpoint": str(opts.checkpoint), "photos": len(photos),
                              "threads": opts.threads, "repeats": opts.repeats}
    for name, data in copies.items():
        seconds: dict[str, list[float]] = {"full": [], "reduced": []}
        metrics: dict[str, dict[str, float]] = {}
        for _ in range(opts.repeats):
            for decode in ("full", "reduced"):
                took, result = evaluate_once(opts.checkpoint, data,
                                             opts.work / "out" / name / decode,
                                             decode == "reduced")
                seconds[decode].append(took)
                metrics[decode] = {k: result.metrics[k] for k in METRICS}
        full = predictions(opts.work / "out" / name / "full" / "predictions.csv")
        reduced = predictions(opts.work / "out" / name / "reduced" / "predictions.csv")
        medians = {k: statistics.median(v) for k, v in seconds.items()}
        report[name] = {
            "seconds": seconds, "median_seconds": medians,
            "photos_per_s": {k: round(len(photos) / v, 1) for k, v in medians.items()},
            "speed-up": round(medians["full"] / medians["reduced"], 2),
            "metrics": metrics,
            "predictions_differing": sum(full[p][0] != reduced[p][0] for p in full),
            "largest_score_difference": round(max(abs(full[p][1] - reduced[p][1])
                                                  for p in full), 4),
        }
        print(json.dumps({name: report[name]}, indent=1), flush=True)
    if opts.json:
        opts.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
