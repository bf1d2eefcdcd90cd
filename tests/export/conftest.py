# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for the exporter: generated landmark and non-landmark photos, a tiny trained run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.export.exportdata import TINY_FIT, make_distractors, make_landmarks

pytest.importorskip("torch")
pytest.importorskip("timm")
pytest.importorskip("onnx")


@pytest.fixture(scope="session")
def landmark_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_landmarks(tmp_path_factory.mktemp("export-data") / "colours")


@pytest.fixture(scope="session")
def distractor_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_distractors(tmp_path_factory.mktemp("export-distractors") / "distractors")


@pytest.fixture(scope="session")
def tiny_run(landmark_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real (tiny) trainer run: the checkpoint format is the trainer's own."""
    from trainer.config import TrainConfig
    from trainer.fit import fit

    out = tmp_path_factory.mktemp("export-runs") / "tiny"
    fit(TrainConfig(data=[str(landmark_data)], out=str(out), **TINY_FIT))
    return out
