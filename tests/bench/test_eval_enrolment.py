# SPDX-License-Identifier: GPL-3.0-or-later
"""``scripts/eval_enrolment.py --places-only --write-places`` stores what it chose.

The shared photos and the network are replaced by a few dozen planted vectors (the script's
own measuring is run on the real photos, README "How well it works"); what is checked is
that the cuts and the bar the run reports are the ones the bundle then carries.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from photolm.bundle import read_bundle
from tests.scriptload import load_script
from tests.tinybundle import DESCRIPTOR_DIM, DIM, make_tiny_bundle

SIZES = {"unseen": 24, "distractors": 12, "people-negatives": 8, "known": 24}


def _planted(tag: str, output: str) -> np.ndarray:
    """Unit rows: photos of one landmark (4 each) close together, the others anywhere."""
    rng = np.random.default_rng(len(tag) * 7 + len(output))
    dim = DIM if output == "embeddings" else DESCRIPTOR_DIM
    n = SIZES[tag]
    rows = rng.standard_normal((n, dim))
    if tag in ("unseen", "known"):
        rows = np.repeat(rng.standard_normal((n // 4, dim)), 4, axis=0) + 0.1 * rows
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def plant(module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """The photo sets of eval_enrolment ``module`` replaced by :func:`_planted` vectors."""

    def photo_set(tag: str, labelled: bool) -> Any:
        n = SIZES[tag]
        labels = np.arange(n) // 4 if labelled else np.full(n, -1)
        names = [f"{tag}{i}" for i in range(n // 4)] if labelled else []
        return module.PhotoSet([f"/{tag}/{i}.jpg" for i in range(n)], labels, names)

    monkeypatch.setattr(module, "load_sets", lambda: {
        "unseen": photo_set("unseen", True), "distractors": photo_set("distractors", False),
        "people-negatives": photo_set("people-negatives", False)})
    monkeypatch.setattr(module, "load_known", lambda: photo_set("known", True))
    monkeypatch.setattr(module, "embed_paths",
                        lambda paths, onnx, output, pre, tag: _planted(tag, output))


@pytest.fixture
def script(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    module = load_script("eval_enrolment")
    plant(module, monkeypatch)
    # the search over cuts (a thousand groupings) is the script's own business; a fixed
    # choice, unlike the shipped cuts, shows that what is chosen is what is stored
    from photolm.places import Cuts

    monkeypatch.setattr(module, "tune_cuts", lambda lib: (Cuts(0.5, 0.6, 0.7, 0.2, 0.9), []))
    where = {i: (48.0 + i * 0.1, 11.0) for i in range(6)}
    monkeypatch.setattr(module, "known_coordinates", lambda known: where)
    monkeypatch.setattr(module, "unseen_coordinates", lambda unseen: where)
    return module


def test_write_places_stores_the_cuts_and_bar_the_run_chose(script: ModuleType,
                                                             tmp_path: Path) -> None:
    bundle = make_tiny_bundle(tmp_path / "bundle", descriptor_threshold=0.5)
    assert bundle.places is None
    assert script.main(["--model", str(bundle.path), "--places-only", "--write-places",
                        "--json", str(tmp_path / "results.json")]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    stored = read_bundle(bundle.path)
    assert stored.places is not None
    assert stored.places.cuts == {"fused": results["places"]["cuts"]} == \
        {"fused": {"alike": 0.5, "nearby": 0.6, "same_spot": 0.7, "join": 0.2,
                   "same_visit": 0.9}}
    assert stored.places.likeness == results["place likeness"]["chosen"]
    assert stored.model_id == bundle.model_id
    # without --write-places the bundle is left as it is
    before = (bundle.path / "manifest.json").read_bytes()
    assert script.main(["--model", str(bundle.path), "--places-only"]) == 0
    assert (bundle.path / "manifest.json").read_bytes() == before


def test_writing_thresholds_and_places_in_one_run_keeps_both(script: ModuleType,
                                                            tmp_path: Path) -> None:
    """The build script passes both flags at once: the places write must start from the
    bundle the thresholds were written into, not the one read before (it undid them)."""
    bundle = make_tiny_bundle(tmp_path / "bundle", descriptor_threshold=0.5,
                              measured_for_learning=False)
    assert "enrolment" not in bundle.metrics
    assert script.main(["--model", str(bundle.path), "--draws", "1", "--write-thresholds",
                        "--write-places"]) == 0
    stored = read_bundle(bundle.path)
    assert set(stored.metrics["enrolment"]["thresholds"]) == {"fused"}
    assert stored.metrics["enrolment"]["thresholds"]["fused"]
    # written with the rule photolm asks of a table before it uses one
    assert stored.metrics["enrolment"]["other_places_rate"] == 0.01
    from photolm.learned import FUSED, space_of

    assert space_of(stored) == FUSED
    assert stored.places is not None and "fused" in stored.places.cuts


def test_gps_measure_uses_the_shipped_rule_and_separates_look_alikes(script: ModuleType
                                                                    ) -> None:
    """Two learned landmarks that look the same, 11 km apart: without GPS argmax guesses
    between them; with each photo beside its own landmark, ``photolm.geo.gps_evidence`` (the
    near one outranks the far one within the margin) names every photo right."""
    sets = script.load_sets()
    rng = np.random.default_rng(3)
    centre = rng.standard_normal((1, DIM))
    twins = centre + 0.02 * rng.standard_normal((8, DIM))  # landmarks 0 and 1, 4 photos each
    unseen = _planted("unseen", "embeddings").astype(np.float64)
    unseen[:8] = twins / np.linalg.norm(twins, axis=1, keepdims=True)
    vec = {"unseen": unseen.astype(np.float32),
           "distractors": _planted("distractors", "embeddings"),
           "people-negatives": _planted("people-negatives", "embeddings")}
    out = script.run_gps(sets, vec, 3, {1: 0.5, 5: 0.5}, 0.5)
    k1 = out["qe k=1"]
    assert k1["argmax"] < 0.9  # the twins are confused without GPS
    assert k1["argmax_gps"] == 1.0 and k1["above_gps"] == 1.0


def test_at_place_measure_uses_the_shipped_rule_and_names_more_with_lower_bars(
        script: ModuleType) -> None:
    """``--at-place``: its "now" row is run_gps's figure (the same draws, the rule
    photolm uses for learned landmarks: no GPS margin, as without GPS); a wider radius or a
    lower bar only ever names more photos, of places not taught and of non-landmark photos
    taken at the place."""
    sets = script.load_sets()
    vec = {name: _planted(name, "embeddings")
           for name in ("unseen", "distractors", "people-negatives")}
    thresholds, plain = {1: 0.995, 5: 0.995}, {1: 0.3, 5: 0.3}
    out = script.run_at_place(sets, vec, 2, thresholds, plain, 0.5)
    gps = script.run_gps(sets, vec, 2, thresholds, 0.5)
    for k in (1, 5):
        rows = {name.removeprefix(f"qe k={k} "): row for name, row in out.items()
                if name.startswith(f"qe k={k} ")}
        assert rows["now: no margin"]["above"] == gps[f"qe k={k}"]["above_gps"]
        assert rows["now: no margin"] == rows["no GPS"]
        assert rows["before"]["above"] >= rows["now: no margin"]["above"]
        for nearby in ("0.05", "0.00"):
            for key in ("untaught", "distractors", "people"):
                for km in ("150", "300", "500"):
                    named = [rows[f"{km} m {m}, else -{nearby}"][key]
                             for m in ("-0.10", "-0.15", "-0.20", "dis")]
                    assert named == sorted(named)
                wider = [rows[f"{km} m dis, else -{nearby}"][key] for km in ("150", "300", "500")]
                assert wider == sorted(wider)
        assert rows["500 m dis, else -0.00"]["above"] > rows["no GPS"]["above"]


def test_thresholds_also_keep_other_places_unnamed(script: ModuleType) -> None:
    """Other places that look like the learned ones (the known landmarks' photos, planted as
    near copies of three learned landmarks): with the other-places rule each threshold sits
    above every one of them, which the distractors alone never asked for."""
    from photolm import enrol

    sets = script.load_sets()
    rng = np.random.default_rng(5)
    unseen = _planted("unseen", "embeddings")
    near = unseen[:12] + 0.05 * rng.standard_normal((12, DIM))
    vec = {"unseen": unseen, "distractors": _planted("distractors", "embeddings"),
           "people-negatives": _planted("people-negatives", "embeddings"),
           "known": (near / np.linalg.norm(near, axis=1, keepdims=True)).astype(np.float32)}
    before = script.run_all(sets, vec, 2, ["qe"], 0.5)
    now = script.run_all(sets, vec, 2, ["qe"], 0.5, other_places=0.01)
    library = np.concatenate([vec["unseen"], vec["distractors"], vec["people-negatives"]])
    for k in (1, 5):
        old, new = before[f"qe k={k}"]["threshold"], now[f"qe k={k}"]["threshold"]
        assert new > old
        for draw in range(2):  # the calibration draws: no other place reaches it
            protos, owner, _, _ = script.enrol_draw(vec["unseen"], sets["unseen"].labels, k,
                                                    np.random.default_rng(draw), "qe", library)
            best = enrol.landmark_scores(vec["known"], protos, owner, 6).max(axis=1)
            assert float(best.max()) < new and (best.astype(float) >= old).any()
        assert 0.0 <= now[f"qe k={k}"]["untaught"] <= before[f"qe k={k}"]["untaught"]


def test_bundle_thresholds_measures_the_table_photolm_reads(script: ModuleType,
                                                            tmp_path: Path) -> None:
    """``--bundle-thresholds`` (how a table export.descriptor measured on the training
    landmarks is checked on landmarks-unseen-dev): each k is measured at the bundle's own
    threshold for it, as photolm interpolates the table, and nothing is written."""
    from photolm import learned
    from photolm.bundle import rewrite_bundle

    bundle = make_tiny_bundle(tmp_path / "bundle", descriptor_threshold=0.5,
                              measured_for_learning=False)
    table = {1: 0.61, 3: 0.67, 8: 0.72}
    rewrite_bundle(bundle, bundle.path, metrics={**bundle.metrics, "enrolment":
                   learned.enrolment_record({"fused": table}, 0.005, "planted")})
    before = (bundle.path / "manifest.json").read_bytes()
    assert script.main(["--model", str(bundle.path), "--method", "qe", "--draws", "1",
                        "--no-places", "--bundle-thresholds",
                        "--json", str(tmp_path / "results.json")]) == 0
    measured = json.loads((tmp_path / "results.json").read_text())["enrolment"]
    for k in script.KS:
        assert measured[f"qe k={k}"]["threshold"] == pytest.approx(
            learned.threshold_for(table, k))
    assert measured["qe k=2"]["threshold"] == pytest.approx(0.64)  # between 1 and 3
    assert (bundle.path / "manifest.json").read_bytes() == before
    # a bundle without a table photolm would use is refused, not measured at made-up values
    plain = make_tiny_bundle(tmp_path / "plain", descriptor_threshold=0.5,
                             measured_for_learning=False)
    with pytest.raises(SystemExit):
        script.main(["--model", str(plain.path), "--method", "qe", "--no-places",
                     "--bundle-thresholds"])
