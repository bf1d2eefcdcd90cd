# SPDX-License-Identifier: GPL-3.0-or-later
"""scripts/build_default_model.sh end to end with a tiny budget: fit, export, timings, table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from photolm.bundle import read_bundle

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "build_default_model.sh"


@pytest.mark.slow
def test_build_script_reproduces_a_bundle_and_records_timings(
    landmark_data: Path, distractor_dir: Path, tmp_path: Path
) -> None:
    env = os.environ | {
        "PYTHON": sys.executable,
        "DATA": str(landmark_data),
        "DISTRACTORS": str(distractor_dir),
        "RUN": str(tmp_path / "run"),
        "BUNDLE": str(tmp_path / "bundle"),
        "BACKBONE": "test_efficientnet",
        "IMAGE_SIZE": "64",
        "EPOCHS": "1",
        "BATCH_SIZE": "8",
        "FREEZE_STAGES": "0",
        "SPLIT": "70/30",
        "QUANTIZE": "none",
        "FIT_EXTRA": "--no-pretrained --max-steps-per-epoch 2 --workers 0 --embedding-dim 32",
        "EXPORT_EXTRA": "--parity-images 6 --threads 1",
        "DESCRIPTOR": "0",  # the graft is tested in test_export_descriptor.py
        "LEAVE_OUT": "1",  # of the 3 made-up landmarks: the unseen floor's own model
    }
    done = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True,
                          timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    bundle = read_bundle(tmp_path / "bundle")
    assert bundle.provenance["config"]["backbone"] == "test_efficientnet"
    assert bundle.calibration is not None and bundle.calibration.target_fpr == 0.02
    timings = (tmp_path / "run" / "TIMINGS.txt").read_text(encoding="utf-8")
    stages = [line.split()[0] for line in timings.splitlines() if not line.startswith("#")]
    assert stages == ["leaveout", "fit-lco", "exp-lco", "floor", "fit", "export", "total"]
    floor = json.loads((tmp_path / "run" / "unseen" / "floor.json").read_text(encoding="utf-8"))
    (left_out,) = floor["held_out"]
    lco = read_bundle(tmp_path / "run" / "unseen" / "bundle")
    assert left_out not in {lm.id for lm in lco.landmarks}
    assert left_out in {lm.id for lm in bundle.landmarks}
    assert bundle.metrics["unseen_floor"]["floor"] == floor["floor"]
    assert bundle.threshold >= floor["floor"]
    assert bundle.metrics["calibration"]["threshold_floor"] == floor["floor"]
    results = (tmp_path / "run" / "RESULTS.md").read_text(encoding="utf-8")
    assert "| top-1 accuracy |" in results and "| GAP |" in results
    assert "false-positive rate on non-landmark photos" in results
    assert (tmp_path / "run" / "export.json").is_file()

    again = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True,
                           timeout=60, check=False)
    assert again.returncode == 1 and "already holds a run; set FORCE=1" in again.stderr
