# SPDX-License-Identifier: GPL-3.0-or-later
"""``photolm info`` tells what decides how well ``learn`` works with the model: whether it
carries the generic place descriptor, and where learned landmarks' thresholds come from (the
manifest's measured table, photolm's built-in row for a known network, or neither: the
model's own threshold in its fine-tuned embedding), as photolm.learned decides it."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from rich.console import Console

from photolm import learned
from photolm.bundle import read_bundle, rewrite_bundle
from photolm.cli import output
from tests.clirun import cli, info_fields
from tests.tinybundle import DESCRIPTOR_DIM, make_tiny_bundle

FUSED_TABLE = {"1": 0.7, "5": 0.72, "8": 0.75}
BUILT_IN_TABLE = {1: 0.85, 8: 0.95}
NO_DESCRIPTOR = "none: learn and places use the fine-tuned embedding"
WITH_DESCRIPTOR = f"yes ({DESCRIPTOR_DIM}-d, for learning and places)"


def _manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bundle = make_tiny_bundle(tmp_path / "b", threshold=0.8, descriptor_threshold=0.3,
                              measured_for_learning=False)
    enrolment = learned.enrolment_record({learned.FUSED: FUSED_TABLE}, 0.01, "tests")
    return rewrite_bundle(bundle, bundle.path,
                          metrics={**bundle.metrics, "enrolment": enrolment}).path


def _built_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bundle = make_tiny_bundle(tmp_path / "b", threshold=0.8)
    monkeypatch.setitem(learned.MEASURED_THRESHOLDS, bundle.model_id,
                        {learned.EMBEDDING: BUILT_IN_TABLE})
    return bundle.path


def _fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bundle = make_tiny_bundle(tmp_path / "b", threshold=0.8, descriptor_threshold=0.3,
                              measured_for_learning=False)
    return bundle.path


CASES = {
    "manifest": (_manifest, WITH_DESCRIPTOR,
                 "thresholds measured for this model (k=1 0.7 to k=8 0.75), in the fused "
                 "space (place descriptor and embedding)",
                 {"space": "fused", "thresholds_from": "manifest", "thresholds": FUSED_TABLE}),
    "built-in": (_built_in, NO_DESCRIPTOR,
                 "thresholds photolm measured for this network (k=1 0.85 to k=8 0.95), in "
                 "the fine-tuned embedding",
                 {"space": "embedding", "thresholds_from": "built-in",
                  "thresholds": {"1": 0.85, "8": 0.95}}),
    "fallback": (_fallback, WITH_DESCRIPTOR,
                 "no measured thresholds: learning uses the model threshold 0.8 in its "
                 "embedding (finds fewer photos; python -m export.descriptor measures them)",
                 {"space": "embedding", "thresholds_from": "model threshold",
                  "thresholds": {"1": 0.8}}),
}


@pytest.mark.parametrize("case", CASES)
def test_info_says_whether_the_model_has_a_descriptor_and_where_learning_thresholds_come_from(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    make, descriptor, learning, as_json = CASES[case]
    model = make(tmp_path, monkeypatch)
    monkeypatch.setenv("PHOTOLM_CATALOG", str(tmp_path / "catalog.sqlite"))
    assert learned.learning_thresholds(read_bundle(model)).source == as_json["thresholds_from"]

    code, out, err = cli("info", "--model", model, "--json")
    assert code == 0, err
    data = json.loads(out)["model"]
    assert data["learning"] == as_json
    assert data["descriptor"] == (None if descriptor == NO_DESCRIPTOR
                                  else {"dim": DESCRIPTOR_DIM})

    screen = io.StringIO()  # a person's 80-column terminal
    monkeypatch.setattr(output, "out", Console(file=screen, force_terminal=True, width=80,
                                               soft_wrap=True, highlight=False))
    code, _, err = cli("info", "--model", model)
    assert code == 0, err
    shown = re.sub(r"\x1b\[[0-9;]*m", "", screen.getvalue())
    fields = info_fields(shown)
    assert fields["place descriptor"] == descriptor
    assert fields["learning"] == learning
    at = shown.index("  learning ")
    assert all(len(line) <= 80 for line in shown[at:].splitlines()[:3])
