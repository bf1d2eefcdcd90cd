# SPDX-License-Identifier: GPL-3.0-or-later
"""Evaluation and fit's validation feed the model the very pixels photolm feeds it.

photolm decodes a large JPEG at a reduced scale (libjpeg's DCT scaling) and so does the
trainer's training loader; a full decode resized by Pillow differs by a few grey levels,
which moves a trained network's embedding, so scores measured on full decodes drift from
what the shipped model does. Photos here are camera-sized, so the reduced decode applies.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from photolm.bundle import Preprocess
from photolm.images import load_for_model
from tests.trainer.conftest import SHAPES, TINY, draw_photo


@pytest.fixture(scope="module")
def large_photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 classes x 4 JPEGs of 1200 x 900 px (at 64 px input, decoded at 1/8 scale)."""
    root = tmp_path_factory.mktemp("large") / "shapes"
    for index, (folder, (shape, colour)) in enumerate(SHAPES.items()):
        for number in range(4):
            draw_photo(root / folder / f"{number}.jpg", shape, colour, seed=index * 10 + number,
                       size=(1200, 900))
    return root


def _as_photolm(path: str, pre: object) -> np.ndarray:
    fields = pre.to_dict()  # type: ignore[attr-defined]
    return load_for_model(path, Preprocess(**{**fields, "mean": tuple(fields["mean"]),
                                              "std": tuple(fields["std"])}))


class _Recorder(torch.nn.Module):
    """Stands in for the model: keeps each batch it is fed."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[np.ndarray] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.batches.append(x.numpy().copy())
        return torch.ones(len(x), 4)


def test_evaluation_embeds_what_photolm_feeds_the_model(large_photos: Path) -> None:
    """``embed_paths``: trainer evaluate, trainer clean and evaluate's prototypes."""
    from trainer.prototypes import embed_paths
    from trainer.transforms import EvalPreprocess

    paths = sorted(str(p) for p in large_photos.glob("*/*.jpg"))
    pre = EvalPreprocess(size=64, resize=73)
    model = _Recorder()
    embed_paths(model, paths, pre, batch_size=len(paths))

    (fed,) = model.batches
    expected = np.stack([_as_photolm(p, pre) for p in paths])
    np.testing.assert_array_equal(fed, expected)


def test_fit_validates_on_what_photolm_feeds_the_model(large_photos: Path,
                                                       tmp_path: Path) -> None:
    from trainer.config import TrainConfig, resolve_config
    from trainer.data import split_from_config
    from trainer.fit import DistInfo, FitCallbacks, _Trainer
    from trainer.transforms import EvalPreprocess

    config = resolve_config(TrainConfig(data=[str(large_photos)], out=str(tmp_path / "run"),
                                        val_ratio=0.5, **TINY))
    split = split_from_config(config)
    _train, val, _sampler = _Trainer(config, FitCallbacks(), DistInfo()).make_loaders(split)

    pre = EvalPreprocess.from_config(config)
    assert val is not None and split.val
    for index, sample in enumerate(split.val):
        image, *_ = val.dataset[index]
        np.testing.assert_array_equal(image, _as_photolm(sample.path, pre))
