# SPDX-License-Identifier: GPL-3.0-or-later
"""Which thresholds a learned landmark is judged by: only tables measured so that places
nobody taught stay unnamed (photolm.learned.OTHER_PLACES_RATE); without one, the fine-tuned
embedding at the bundle's own threshold, never the descriptor's threshold set on
non-landmark photos alone (it named half the photos of places nobody taught)."""

from __future__ import annotations

from pathlib import Path

import pytest

from photolm import learned
from photolm.bundle import load_bundle, read_bundle, rewrite_bundle
from tests.tinybundle import make_tiny_bundle


def _with_enrolment(bundle, enrolment):
    metrics = {**bundle.metrics, "enrolment": enrolment}
    return rewrite_bundle(bundle, bundle.path, metrics=metrics)


def test_a_descriptor_bundle_without_a_measured_table_learns_in_the_embedding(
        tmp_path: Path) -> None:
    bundle = make_tiny_bundle(tmp_path / "b", threshold=0.8, descriptor_threshold=0.3,
                              measured_for_learning=False)
    assert learned.space_of(bundle) == learned.EMBEDDING
    assert learned.thresholds(bundle, learned.EMBEDDING) == {1: pytest.approx(0.8)}
    # grouping names nothing: places still use the descriptor
    assert learned.grouping_space(bundle) == learned.DESCRIPTOR


@pytest.mark.parametrize(("rate", "used"), [(None, False), (0.01, True), (0.02, True),
                                             (0.5, False), ("0.01", False), (True, False)])
def test_a_table_counts_only_if_it_kept_other_places_unnamed(tmp_path: Path, rate: object,
                                                            used: bool) -> None:
    bundle = make_tiny_bundle(tmp_path / "b", threshold=0.8, descriptor_threshold=0.3,
                              measured_for_learning=False)
    enrolment: dict[str, object] = {"thresholds": {"fused": {"1": 0.7, "5": 0.75}}}
    if rate is not None:
        enrolment["other_places_rate"] = rate
    bundle = read_bundle(_with_enrolment(bundle, enrolment).path)
    assert learned.space_of(bundle) == (learned.FUSED if used else learned.EMBEDDING)
    expected = {1: 0.7, 5: 0.75} if used else {1: pytest.approx(0.8)}
    assert learned.thresholds(bundle, learned.FUSED) == expected


def test_a_measured_descriptor_table_is_used_when_no_fused_one_is(tmp_path: Path) -> None:
    bundle = make_tiny_bundle(tmp_path / "b", descriptor_threshold=0.3)
    assert learned.space_of(bundle) == learned.DESCRIPTOR
    assert learned.thresholds(bundle, learned.DESCRIPTOR) == {1: pytest.approx(0.3)}


def test_the_shipped_bundle_learns_in_the_fused_space_with_its_measured_table() -> None:
    bundle = load_bundle()
    table = bundle.metrics["enrolment"]
    assert table["other_places_rate"] <= learned.MAX_OTHER_PLACES_RATE
    assert learned.space_of(bundle) == learned.FUSED
    assert learned.thresholds(bundle, learned.FUSED) == {
        int(k): v for k, v in table["thresholds"]["fused"].items()}


CYAN = (20, 200, 210)
SKY = (80, 180, 255)  # close to cyan in the tiny descriptor (0.73), not in its embedding


@pytest.mark.parametrize("measured", [False, True])
def test_learn_names_another_place_only_where_a_measured_table_lets_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, measured: bool) -> None:
    """Through the CLI: a descriptor whose only threshold was set on non-landmark photos (0.5
    here) would call the sky-blue photo the learned place; without a measured table the
    learned place is judged in the embedding at the bundle's threshold and leaves it alone.
    With a table (the control) the same 0.5 names it, so the photos do tell the two apart."""
    import json

    from tests.clirun import cli
    from tests.tinybundle import write_photo

    bundle = make_tiny_bundle(tmp_path / "b", threshold=0.95, descriptor_threshold=0.5,
                              measured_for_learning=measured)
    monkeypatch.setenv("PHOTOLM_MODEL", str(bundle.path))
    monkeypatch.setenv("PHOTOLM_CATALOG", str(tmp_path / "catalog.sqlite"))
    lib = tmp_path / "lib"
    write_photo(lib / "cyan0.jpg", CYAN)
    write_photo(lib / "cyan1.jpg", (CYAN[0] + 1, CYAN[1], CYAN[2]))
    write_photo(lib / "sky.jpg", SKY)
    assert cli("scan", lib, "--quiet")[0] == 0
    code, _, err = cli("learn", "Old Bridge", lib / "cyan0.jpg")
    assert code == 0, err
    code, out, err = cli("list", "--json")
    assert code == 0, err
    named = {Path(r["path"]).name: r["landmark"] for r in json.loads(out)}
    assert named["cyan1.jpg"] == "Old Bridge"
    assert (named["sky.jpg"] == "Old Bridge") is measured
