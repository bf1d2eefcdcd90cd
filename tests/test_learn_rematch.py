# SPDX-License-Identifier: GPL-3.0-or-later
"""Re-matching a whole catalogue from stored vectors after learn / unlearn (no decoding).

Uses the benchmark's synthetic catalogue (scripts/bench_learn.py) at a few thousand photos;
the 100,000-photo timing is measured by running the script (docs/performance.md).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_learn",
                                                  REPO / "scripts" / "bench_learn.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_learn"] = module
    spec.loader.exec_module(module)
    return module


def test_learn_and_unlearn_rematch_every_stored_photo_without_decoding(
    bench, tiny_bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from photolm import images
    from photolm.bundle import read_bundle
    from photolm.catalog import Catalog
    from photolm.learning import learn, unlearn
    from photolm.prototypes import build_matcher
    from photolm.rematch import rematch

    bundle = read_bundle(tiny_bundle_dir)
    cat_path = tmp_path / "catalog.sqlite"
    place = bench.build(cat_path, bundle, 3000, place_every=100)

    def no_decoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("a catalogued photo was decoded")

    monkeypatch.setattr(images, "load_for_model", no_decoding)
    with Catalog.open(cat_path, write=True) as cat:
        rematch(cat, bundle, build_matcher(cat, bundle))
        before = cat.landmark_counts()
        result = learn(cat, bundle, "Bench Place", [Path(p) for p in place[:3]])
        assert result.rematch.photos == 3000
        counts = cat.landmark_counts()
        assert counts[result.landmark.id] == len(place) == result.photos
        assert {k: v for k, v in counts.items() if k != result.landmark.id} == \
            {k: v for k, v in before.items()}
        assert result.rematch.changed == len(place)
        _, summary, kept = unlearn(cat, bundle, "Bench Place")
        assert summary.changed == len(place) and kept == 0
        assert cat.landmark_counts() == before
