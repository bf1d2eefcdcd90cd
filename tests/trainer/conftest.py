# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared fixtures: generated photo folders and a tiny trained run (CPU, seconds)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

pytest.importorskip("torch")
pytest.importorskip("timm")

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"

SHAPES = {
    "red_circle": ("ellipse", (220, 30, 30)),
    "green_square": ("rectangle", (30, 200, 40)),
    "blue_triangle": ("polygon", (30, 60, 220)),
}


def draw_photo(path: Path, shape: str, colour: tuple[int, int, int], seed: int,
               size: tuple[int, int] = (84, 72)) -> None:
    """A random background with one coloured shape: distinct per class, varied per photo."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, tuple(rng.randint(0, 255) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    x, y = rng.randint(2, size[0] - 42), rng.randint(2, size[1] - 42)
    if shape == "ellipse":
        draw.ellipse((x, y, x + 38, y + 38), fill=colour)
    elif shape == "rectangle":
        draw.rectangle((x, y, x + 38, y + 38), fill=colour)
    else:
        draw.polygon([(x, y + 38), (x + 19, y), (x + 38, y + 38)], fill=colour)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, quality=90)


def make_dataset(root: Path, per_class: int = 8, classes: dict | None = None) -> Path:
    for index, (folder, (shape, colour)) in enumerate((classes or SHAPES).items()):
        for number in range(per_class):
            draw_photo(root / folder / f"{number:02d}.jpg", shape, colour,
                       seed=index * 100 + number)
    return root


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 classes x 8 photos, a classes.csv for one of them, and one undecodable file."""
    root = make_dataset(tmp_path_factory.mktemp("data") / "shapes")
    (root / "classes.csv").write_text(
        "folder,name,aliases,city,country,latitude,longitude\n"
        "red_circle,Red Circle,Rouge;Rot,Paris,France,48.85,2.35\n",
        encoding="utf-8",
    )
    (root / "green_square" / "broken.jpg").write_bytes(b"this is not a JPEG")
    return root


TINY = {
    "backbone": "test_efficientnet", "pretrained": False, "image_size": 64,
    "embedding_dim": 32, "batch_size": 8, "epochs": 1, "max_steps_per_epoch": 2,
    "workers": 0, "eval_batch_size": 16, "seed": 0,
}


@pytest.fixture(scope="session")
def tiny() -> dict:
    """Config values for a fast CPU run: random-init test backbone, 64 px, 2 steps."""
    return dict(TINY)


@pytest.fixture(scope="session")
def dataset_factory():
    """make(root, per_class=8, classes=None) -> root with generated class folders."""
    return make_dataset


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "wonders").is_dir():
        pytest.skip("the shared photo sets (../shared/data) are not available")
    return SHARED_DATA


@pytest.fixture(scope="session")
def trained_run(tiny_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished one-epoch run (library call), shared by checkpoint and cleaning tests."""
    from trainer.config import TrainConfig
    from trainer.fit import fit

    out = tmp_path_factory.mktemp("runs") / "run"
    fit(TrainConfig(data=[str(tiny_data)], out=str(out), **TINY))
    return out
