# SPDX-License-Identifier: GPL-3.0-or-later
"""``scripts/eval_levers.py`` sets each variant's threshold by the build's rule.

The networks are replaced by planted vectors whose best scores are chosen outright (the
script's own measuring runs on the real photos, docs/performance.md); what is checked is the
rule: the higher of the distractor threshold (``photolm-export``'s, on the calibration half
of the distractors) and the floor from the twin's left-out landmarks.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest

from export.calibrate import allowed_false_positives
from export.pipeline import ExportOptions, split_distractors
from export.unseen import floor_from_scores
from tests.scriptload import load_script

DIM = 6


@pytest.fixture(scope="module")
def levers() -> ModuleType:
    return load_script("eval_levers")


def _rows(scores: np.ndarray, axis: int) -> np.ndarray:
    """Unit rows scoring ``scores`` against the basis vector ``axis`` (and 0 against the
    other landmark's)."""
    rows = np.zeros((len(scores), DIM), dtype=np.float32)
    rows[:, axis] = scores
    rows[:, 5] = np.sqrt(1.0 - np.asarray(scores) ** 2)
    return rows


def _networks(levers: ModuleType, dis: np.ndarray, left: np.ndarray
              ) -> tuple[object, object, list[str]]:
    """(known, twin) plain networks of two landmarks (basis vectors 0 and 1); distractors
    scoring ``dis``, the twin's left-out photos ``left``."""
    train = np.repeat(np.eye(DIM, dtype=np.float32)[:2], 5, axis=0)
    train_y = np.repeat([0, 1], 5)
    hold = _rows(np.linspace(0.7, 0.95, 10), 0)
    hold[5:] = _rows(np.linspace(0.7, 0.95, 5), 1)
    dis_paths = [str(levers.FOLDERS["dis"] / f"photo{i:03d}.jpg") for i in range(len(dis))]

    def embedded(**sets: tuple[np.ndarray, np.ndarray]) -> object:
        return levers.Embedded({
            name: (vec, np.ones(len(vec), dtype=bool), labels,
                   dis_paths if name == "dis" else [f"/{name}/{i}.jpg" for i in range(len(vec))])
            for name, (vec, labels) in sets.items()})

    none = np.full(3, -1)
    known = embedded(train=(train, train_y), hold=(hold, np.repeat([0, 1], 5)),
                     dis=(_rows(dis, 0), np.full(len(dis), -1)),
                     unseen=(_rows(np.array([0.2, 0.7, 0.8]), 1), none),
                     people=(_rows(np.array([0.1, 0.2, 0.3]), 0), none))
    twin = embedded(train=(train, train_y), left=(_rows(left, 1), np.full(len(left), -1)))
    return levers.plain(known), levers.plain(twin), dis_paths


def _calibration(levers: ModuleType, paths: list[str], dis: np.ndarray) -> np.ndarray:
    build = ExportOptions(out=levers.REPO, distractors=[levers.FOLDERS["dis"]])
    calibration, _ = split_distractors(paths, build.distractors, build.distractor_holdout)
    scores = dis[np.isin(paths, calibration)]
    # few calibration photos: at 2 % with 95 % confidence not one may be named
    assert allowed_false_positives(len(scores), build.target_fpr, build.fpr_confidence) == 0
    return scores


def test_distractors_set_the_threshold_when_the_floor_is_lower(levers: ModuleType) -> None:
    dis = np.linspace(0.05, 0.6, 40)
    left = np.linspace(0.0, 0.3, 30)
    known, twin, paths = _networks(levers, dis, left)
    measured = levers.measure(known, twin)
    highest = _calibration(levers, paths, dis).max()
    assert measured["floor"] < highest
    assert measured["threshold"] == np.nextafter(np.float32(highest), np.float32(np.inf))
    assert measured["unseen named"] == pytest.approx(2 / 3)  # 0.7 and 0.8 of 0.2, 0.7, 0.8


def test_the_floor_sets_the_threshold_when_it_is_higher(levers: ModuleType) -> None:
    dis = np.linspace(0.05, 0.6, 40)
    left = np.linspace(0.0, 0.9, 30)
    known, twin, paths = _networks(levers, dis, left)
    measured = levers.measure(known, twin)
    assert measured["floor"] > _calibration(levers, paths, dis).max()
    assert measured["threshold"] == measured["floor"] == floor_from_scores(
        _rows(left, 1)[:, 1])
    assert measured["unseen named"] == 0.0
