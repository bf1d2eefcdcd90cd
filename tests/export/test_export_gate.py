# SPDX-License-Identifier: GPL-3.0-or-later
"""export/gate.py's rule on made-up scores: the smallest gate that clears the calibration
negatives, unless that costs more validation recall than allowed."""

from __future__ import annotations

import numpy as np
import pytest

from export.gate import MAX_RECALL_COST, Named, choose_gate


def _named(landmark: list[int], dcos: list[float]) -> Named:
    return Named(np.asarray(landmark), np.asarray(dcos, dtype=np.float32))


def test_smallest_gate_that_clears_every_negative_folder() -> None:
    pos = _named([0] * 200, [0.6] * 200)  # landmark photos look like their landmark
    people = _named([1] * 10 + [-1] * 190, [0.05] * 5 + [0.12] * 5 + [0.0] * 190)
    trees = _named([2] * 4 + [-1] * 396, [0.03] * 4 + [0.0] * 396)
    gate, measured = choose_gate(pos, np.zeros(200, int), {"people": people, "trees": trees})
    assert gate == pytest.approx(0.13)  # 0.12 still lets 5/200 = 2.5 % of people through
    assert measured["calibration_fpr"]["people"]["with"] == 0.0
    assert measured["validation_recall"]["with"] == measured["validation_recall"]["without"]


def test_recall_cost_caps_the_gate() -> None:
    # 5 % of landmark photos have a low descriptor score; negatives need a high gate
    pos = _named([0] * 100, [0.1] * 5 + [0.6] * 95)
    negs = _named([1] * 100, [0.3] * 100)
    gate, measured = choose_gate(pos, np.zeros(100, int), {"people": negs})
    assert gate == pytest.approx(0.10)  # any gate above 0.10 costs 5 points of recall
    cost = measured["validation_recall"]["without"] - measured["validation_recall"]["with"]
    assert cost <= MAX_RECALL_COST
