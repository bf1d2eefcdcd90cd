# SPDX-License-Identifier: GPL-3.0-or-later
"""``scripts/eval_places_variants.py`` chooses each variant's setting by the places cuts'
rule on the known-landmark mix, and reports every variant.

Planted vectors replace the shared photos and the network (the script's own figures are
measured on the real photos: README "How well it works").
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest

from tests.bench.test_eval_enrolment import plant
from tests.scriptload import load_script


@pytest.fixture
def script(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    module = load_script("eval_places_variants")
    plant(module.ee, monkeypatch)
    where = {i: (48.0 + i * 0.1, 11.0) for i in range(6)}
    monkeypatch.setattr(module.ee, "known_coordinates", lambda known: where)
    monkeypatch.setattr(module.ee, "unseen_coordinates", lambda unseen: where)
    return module


def _library(module: ModuleType, strangers: int = 0) -> Any:
    """Three landmarks of 4 photos, each photo within cosine distance ~0.1 of its own, and
    ``strangers`` people photos (the last rows) a hair from the first landmark's."""
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((3, 32))
    vec = np.repeat(centres, 4, axis=0) + 0.08 * rng.standard_normal((12, 32))
    if strangers:
        vec = np.concatenate([vec, centres[:1] + 0.08 * rng.standard_normal((strangers, 32))])
    vec = (vec / np.linalg.norm(vec, axis=1, keepdims=True)).astype(np.float32)
    labels = np.concatenate([np.arange(12) // 4, -1 - np.arange(strangers)])
    return module.ee.Library(vec, labels, np.full(labels.size, -1), {}, strangers)


def test_the_loosest_cut_within_the_rule_is_chosen(script: ModuleType) -> None:
    lib = _library(script)
    variant = script.Variant("shipped", script.shipped, [()], (0.05, 0.2, 0.6, 1.5))
    params, cut, (precision, recall, joined) = script.choose(variant, lib)
    # 1.5 joins the three landmarks (precision 0.27); 0.6 keeps them apart, whole
    assert (params, cut) == ((), 0.6)
    assert (precision, recall, joined) == (1.0, 1.0, 0)


def test_a_setting_letting_strangers_in_is_refused(script: ModuleType) -> None:
    lib = _library(script, strangers=3)  # 1 % of 3 strangers: none may join
    variant = script.Variant("shipped", script.shipped, [()], (0.6,))
    assert script.choose(variant, lib) is None


def test_every_variant_is_reported(script: ModuleType, capsys: pytest.CaptureFixture[str]
                                   ) -> None:
    assert script.main(["--vectors", "/nonexistent"]) == 0
    out = capsys.readouterr().out
    for variant in script.variants():
        assert f"| {variant.name} |" in out
