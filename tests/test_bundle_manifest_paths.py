# SPDX-License-Identifier: GPL-3.0-or-later
"""A damaged manifest's ``Error:`` line names the model's path as every other bundle error
does (README: an ``Error:`` line names its path printed), not as Python wrote it: a model
folder named with a backslash, a newline and U+202E reads back to that folder."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from photolm.printed_paths import printed
from tests.clirun import cli as run

ODD_FOLDER = "a\\b\nc\u202ed"


def _not_json(manifest: dict) -> str:
    return "{not json"


def _not_a_manifest(manifest: dict) -> str:
    return json.dumps({"format": "something-else"})


def _malformed(manifest: dict) -> str:
    del manifest["preprocess"]
    return json.dumps(manifest)


def _bad_places(manifest: dict) -> str:
    manifest["metrics"]["places"] = {"likeness": "high"}
    return json.dumps(manifest)


@pytest.mark.parametrize(("damage", "says"), [
    (_not_json, "Bundle manifest {path} is not valid JSON ("),
    (_not_a_manifest, "{path} is not a photolm model bundle manifest."),
    (_malformed, "Bundle manifest {path} is malformed ("),
    (_bad_places, "Bundle manifest {path}: metrics."),
], ids=["not json", "not a manifest", "malformed", "places"])
def test_a_damaged_manifest_in_an_odd_folder_is_one_error_line_naming_it_printed(
        tiny_bundle_dir: Path, tmp_path: Path, env: Path,
        damage: Callable[[dict], str], says: str) -> None:
    model = tmp_path / ODD_FOLDER / "model"
    shutil.copytree(tiny_bundle_dir, model)
    manifest = model / "manifest.json"
    manifest.write_text(damage(json.loads(manifest.read_text())), encoding="utf-8")

    code, _out, err = run("scan", tmp_path, "--model", model)

    assert code == 1
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("Error: " + says.format(path=printed(manifest))), lines[0]


def test_a_manifest_that_cannot_be_read_is_one_error_line(
        tmp_path: Path, tiny_bundle_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Permission denied (or an I/O error on a share) reading manifest.json: one line
    naming it, not a traceback. Injected where the OS answers (these tests may run as root,
    whom a chmod does not stop)."""
    import errno

    model = tmp_path / "model"
    shutil.copytree(tiny_bundle_dir, model)
    real = Path.read_bytes

    def refused(self: Path) -> bytes:
        if self.name == "manifest.json":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", refused)
    code, _, err = run("scan", tmp_path, "--model", model, "--catalog", tmp_path / "c.sqlite")
    lines = err.strip().splitlines()
    assert code != 0 and len(lines) == 1, err
    manifest = printed(model / "manifest.json")
    assert lines[0].startswith(f"Error: Cannot read bundle manifest {manifest}: permission denied")
