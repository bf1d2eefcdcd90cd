# SPDX-License-Identifier: GPL-3.0-or-later
"""Generated photos for the exporter tests, and the tiny training budget that separates them.

Each "landmark" is a dominant colour with noise and a darker band at a random height, so a
few training steps of timm's ``test_efficientnet`` at 64 px separate the classes cleanly
(top-1 100 % on validation), which the quantisation tests need: a degraded model must have
something to lose.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

COLOURS = {
    "red_fort": (200, 40, 40),
    "green_gate": (40, 180, 60),
    "blue_mosque": (40, 70, 200),
}
NON_LANDMARK = [(128, 128, 128), (220, 200, 60), (30, 30, 30), (240, 240, 240)]

TINY_FIT = {
    "backbone": "test_efficientnet", "pretrained": False, "image_size": 64,
    "embedding_dim": 32, "batch_size": 8, "epochs": 3, "max_steps_per_epoch": 4,
    "workers": 0, "eval_batch_size": 16, "seed": 0, "val_ratio": 0.3, "lr": 0.01,
    "backbone_lr_scale": 1.0, "warmup_epochs": 0.0,
}


def photo(path: Path, colour: tuple[int, int, int], seed: int,
          size: tuple[int, int] = (80, 64)) -> Path:
    rng = np.random.default_rng(seed)
    pixels = np.asarray(colour, dtype=np.float32)[None, None, :] + rng.normal(
        0, 25, size=(size[1], size[0], 3))
    band = int(rng.integers(0, size[1] - 16))
    pixels[band:band + 16] *= 0.6
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, quality=90)
    return path


def make_landmarks(root: Path, per_class: int = 10) -> Path:
    for c, (folder, colour) in enumerate(COLOURS.items()):
        for i in range(per_class):
            photo(root / folder / f"{i:02d}.jpg", colour, seed=100 * c + i)
    return root


def make_distractors(root: Path, count: int = 20) -> Path:
    for i in range(count):
        photo(root / f"{i:02d}.jpg", NON_LANDMARK[i % len(NON_LANDMARK)], seed=5000 + i)
    return root
