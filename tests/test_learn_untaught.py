# SPDX-License-Identifier: GPL-3.0-or-later
"""A place taught to photolm must not claim the places nobody taught it.

Most landmark photos in a library show places nobody taught photolm. With the shipped
bundle, a landmark learned from five photos of Berlin Cathedral once named 27 of the 123
photos of four other places Berliner Dom (Charlottenburg Palace and the Gendarmenmarkt, a
few hundred metres to a few kilometres away, and Hoi An): its threshold was set on
non-landmark photos only, and a building is not like a selfie. The thresholds are now also
set so that at most 1 % of the photos of the 46 landmarks the model knows would be named as
a learned landmark (scripts/eval_enrolment.py, ``metrics.enrolment`` in the manifest).
Photos from ../shared/data/landmarks-unseen-dev, which the model never saw.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.clirun import cli as run
from tests.conftest import SHARED

UNSEEN = SHARED / "data" / "landmarks-unseen-dev"
TAUGHT = "berlin_cathedral"
UNTAUGHT = ("berlin_charlottenburg_palace", "berlin_gendarmenmarkt", "vietnam_hoi_an",
            "vietnam_ha_long_bay")

pytestmark = pytest.mark.skipif(not (UNSEEN / TAUGHT).is_dir(),
                                reason="needs ../shared/data/landmarks-unseen-dev")


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("untaught") / "photos"
    for folder in (TAUGHT, *UNTAUGHT):
        shutil.copytree(UNSEEN / folder, root / folder,
                        ignore=lambda _, names: [n for n in names if not n.endswith(".jpg")])
    return root


def test_a_learned_landmark_leaves_the_places_nobody_taught_alone(
        library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHOTOLM_CATALOG", str(tmp_path / "catalog.sqlite"))  # shipped model
    code, _, err = run("scan", library, "--quiet")
    assert code == 0, err
    examples = sorted((library / TAUGHT).glob("*.jpg"))[:5]
    code, out, err = run("learn", "Berliner Dom", *examples, "--json")
    assert code == 0, err
    code, out, _ = run("search", "Berliner Dom", "--json")
    named = [Path(hit["path"]).parent.name for hit in json.loads(out)]
    untaught = sum(len(list((library / f).glob("*.jpg"))) for f in UNTAUGHT)
    assert untaught == 123
    assert [f for f in named if f in UNTAUGHT] == []
    # and the place taught is found: its 6 other photos, beside its 5 examples
    assert named.count(TAUGHT) == 11
    # the look-alikes just below the bar wait for a person's answer
    code, out, _ = run("list", "--uncertain", "--json")
    offered = sorted(Path(row["path"]).parent.name for row in json.loads(out)
                     if row["candidates"] and row["candidates"][0]["name"] == "Berliner Dom")
    assert offered == ["berlin_charlottenburg_palace"] * 2 + ["berlin_gendarmenmarkt"] * 5
