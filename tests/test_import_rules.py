# SPDX-License-Identifier: GPL-3.0-or-later
"""Architecture contracts: photolm never imports torch & co; code stays ruff clean."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FORBIDDEN = ("torch", "timm", "torchvision", "onnx", "trainer", "export")


def test_photolm_cli_and_pipeline_never_import_torch() -> None:
    code = (
        "import sys, photolm.cli.app, photolm.scan, photolm.catalog, photolm.names, "
        "photolm.images, photolm.bundle, photolm.runtime\n"
        f"bad = [m for m in {FORBIDDEN!r} if m in sys.modules]\n"
        "print(','.join(bad))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, check=True)
    assert res.stdout.strip() == "", f"photolm imported {res.stdout.strip()}"


def test_import_linter_contracts_hold() -> None:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.fail("import-linter is not installed: pip install -e '.[test]'")
    res = subprocess.run([exe, "--no-cache"], capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 0, res.stdout + res.stderr


def test_ruff_clean() -> None:
    exe = shutil.which("ruff", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.fail("ruff is not installed: pip install -e '.[test]'")
    res = subprocess.run([exe, "check", "photolm", "trainer", "export", "tests", "scripts"],
                         capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 0, res.stdout + res.stderr
