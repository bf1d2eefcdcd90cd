# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared fixtures: a tiny real bundle, isolated catalogue and data folders."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from hypothesis import settings

import photolm  # noqa: F401  (first: onnxruntime's telemetry off for every test; photolm/__init__)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

# Hypothesis tests try the same examples on every run ("ci", the default): a CI run fails
# for a change, never for a draw. Nor does a failure saved in .hypothesis/ on one machine
# change what another tries. HYPOTHESIS_PROFILE=explore draws new examples each run and
# keeps failures to replay, for looking for bugs by hand. A test's own @settings (its
# number of examples) still applies on top. deadline=None: a per-example time limit fails
# on a busy 2-core machine's timing, not on a change (every @given test set it already).
settings.register_profile("ci", derandomize=True, database=None, deadline=None,
                          print_blob=True)
settings.register_profile("explore", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session", autouse=True)
def _cli_modules_imported() -> None:
    """Every CLI module imported once, before any test swaps ``photolm.cli.output.err`` or
    ``out`` for a fake terminal: a module first imported while one is swapped in would
    keep that fake (``from photolm.cli.output import err``) for the rest of the run, and
    later tests would see nothing on stderr."""
    import importlib
    import pkgutil

    import photolm.cli

    for module in pkgutil.iter_modules(photolm.cli.__path__):
        importlib.import_module(f"photolm.cli.{module.name}")


@pytest.fixture(scope="session")
def tiny_bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.tinybundle import make_tiny_bundle

    path = tmp_path_factory.mktemp("bundles") / "tiny"
    make_tiny_bundle(path)
    return path


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Never let a test touch the developer's real catalogue or pick up their model."""
    monkeypatch.setenv("PHOTOLM_CATALOG", str(tmp_path / "default-catalog.sqlite"))
    monkeypatch.delenv("PHOTOLM_MODEL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))  # places' cache


@pytest.fixture
def env(tiny_bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Commands use the tiny bundle and a fresh catalogue; returns the catalogue's path."""
    catalog = tmp_path / "catalog.sqlite"
    monkeypatch.setenv("PHOTOLM_MODEL", str(tiny_bundle_dir))
    monkeypatch.setenv("PHOTOLM_CATALOG", str(catalog))
    return catalog


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """stderr as a person's 80-column terminal."""
    from rich.console import Console

    from photolm.cli import output

    screen = io.StringIO()
    monkeypatch.setattr(output, "err", Console(file=screen, force_terminal=True, width=80,
                                               soft_wrap=True, highlight=False))
    return screen
