# SPDX-License-Identifier: GPL-3.0-or-later
"""A bundle or checkpoint made when "Øresund Bridge" got the id "resund-bridge" (before
Latin letters were spelled in ASCII) still finds its landmark's photos in the data folders,
which now give the class "oresund-bridge": the descriptor graft and gate, evaluation, and
the unseen-landmark floor match it by the earlier id."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np

from tests.trainer.conftest import make_dataset
from trainer.data import ClassInfo, discover

OLD = ClassInfo("resund-bridge", "Oresund Bridge (as it was named then)")
FOUND = [ClassInfo("oresund-bridge", "Øresund Bridge"), ClassInfo("pont-neuf", "Pont Neuf"),
         ClassInfo("zoo", "Zoo")]


def test_a_bundle_with_the_earlier_id_finds_the_class() -> None:
    """By the id alone: the name in the bundle differs, as a renamed row's would."""
    from export.descriptor import bundle_positions

    bundle = SimpleNamespace(landmarks=(ClassInfo("pont-neuf", "Pont Neuf"), OLD))
    assert bundle_positions(bundle, FOUND) == [1, 0, None]


def test_evaluation_maps_the_class_to_the_checkpoints_earlier_id() -> None:
    from trainer.evaluate import map_classes

    assert map_classes(FOUND, [ClassInfo("pont-neuf", "Pont Neuf"), OLD]) == [1, 0, -1]


def test_a_held_out_list_with_the_earlier_id_still_leaves_the_photos_out(
        tmp_path: Path) -> None:
    from export.unseen import left_out_photos

    root = make_dataset(tmp_path / "data", per_class=3,
                        classes={"Øresund Bridge": ("ellipse", (200, 20, 20)),
                                 "Pont Neuf": ("rectangle", (20, 200, 20))})
    assert [c.id for c in discover([root]).classes] == ["oresund-bridge", "pont-neuf"]

    paths, chosen, _ = left_out_photos([root], [ClassInfo("pont-neuf", "Pont Neuf")],
                                       ["resund-bridge"])

    assert chosen == {"oresund-bridge"}
    assert sorted(Path(p).parent.name for p in paths) == ["Øresund Bridge"] * 3


def test_prototype_photos_of_a_bundle_with_the_earlier_id(tmp_path: Path) -> None:
    import dataclasses

    from export.descriptor import prototype_photos
    from tests.tinybundle import LANDMARKS, make_tiny_bundle

    made = make_tiny_bundle(tmp_path / "old", landmarks=LANDMARKS[:2])
    bundle = dataclasses.replace(made, landmarks=(LANDMARKS[0], OLD))
    root = make_dataset(tmp_path / "mine", per_class=3,
                        classes={LANDMARKS[0].name: ("ellipse", (200, 20, 20)),
                                 "Øresund Bridge": ("rectangle", (20, 200, 20))})

    chosen, owners = prototype_photos(bundle, [root], 5, np.random.default_rng(0))

    assert sorted(owners) == [0, 0, 0, 1, 1, 1]
    assert {Path(p).parent.name for p, o in zip(chosen, owners, strict=True) if o == 1} == \
        {"Øresund Bridge"}
