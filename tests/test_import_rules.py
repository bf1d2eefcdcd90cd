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


def test_every_core_module_is_held_to_the_no_desktop_contract() -> None:
    """import-linter checks only the modules a contract names, so a new core module left
    out of the list could import the desktop (an optional extra) unnoticed."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: import-linter brings tomli there
        import tomli as tomllib  # type: ignore[no-redef]

    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    contract = next(c for c in config["tool"]["importlinter"]["contracts"]
                    if "photolm.desktop" in c.get("forbidden_modules", ()))
    listed = set(contract["source_modules"])
    core = {f"photolm.{p.stem}" for p in (REPO / "photolm").iterdir()
            if (p.suffix == ".py" and not p.stem.startswith("__"))
            or (p.is_dir() and (p / "__init__.py").exists() and p.name != "desktop")}
    assert sorted(core - listed) == [], "add them to the contract's source_modules"
