# SPDX-License-Identifier: GPL-3.0-or-later
"""Which model a command uses on a catalogue: the network its photos were scanned with.

Stored vectors depend on the network (model.onnx) alone, so a bundle whose manifest was
rewritten in place (new metrics, landmark records; a photolm upgrade rewriting the shipped
one) is still the catalogue's model: learn, places, landmarks and serve must not refuse it
and ask for a rescan. A different network in that folder is still refused."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from photolm.bundle import load_bundle, rewrite_bundle
from tests.clirun import cli
from tests.tinybundle import COLOURS, make_tiny_bundle, write_photo


@pytest.fixture
def catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("PHOTOLM_MODEL", raising=False)
    monkeypatch.setenv("PHOTOLM_CATALOG", str(tmp_path / "catalog.sqlite"))
    write_photo(tmp_path / "lib" / "eiffel.jpg", COLOURS["eiffel-tower"])
    return tmp_path / "catalog.sqlite"


def test_a_bundle_rewritten_in_place_is_still_the_catalogues_model(
        tmp_path: Path, catalogue: Path) -> None:
    bundle = make_tiny_bundle(tmp_path / "mine")
    assert cli("scan", tmp_path / "lib", "--model", bundle.path, "--quiet")[0] == 0
    rewrite_bundle(bundle, bundle.path, metrics={**bundle.metrics, "measured": "again"})
    code, out, err = cli("landmarks")
    assert code == 0, err
    assert f"using tiny-test-bundle ({bundle.path}), the model this catalogue's photos" in err
    assert "Error" not in err and "Eiffel Tower\tParis, France\t1" in out


@pytest.mark.parametrize("command", [["landmarks"], ["learn", "Old Bridge", "PHOTO"],
                                     ["unlearn", "Old Bridge"], ["places"]],
                         ids=lambda c: c[0])
def test_another_network_in_that_folder_is_still_refused(tmp_path: Path, catalogue: Path,
                                                        command: list[str]) -> None:
    bundle = make_tiny_bundle(tmp_path / "mine")
    assert cli("scan", tmp_path / "lib", "--model", bundle.path, "--quiet")[0] == 0
    make_tiny_bundle(tmp_path / "mine", seed=5)  # retrained: another network, same folder
    photo = str(tmp_path / "lib" / "eiffel.jpg")
    code, out, err = cli(*[photo if a == "PHOTO" else a for a in command])
    (line,) = err.splitlines()  # one line
    assert code == 1 and out == "" and line.startswith("Error: ")
    assert "which no longer holds it" in line and "--model" in line


def test_an_upgraded_shipped_manifest_keeps_the_catalogue_working(tmp_path: Path,
                                                                  catalogue: Path) -> None:
    """A catalogue scanned with the shipped bundle of an older photolm (same network, another
    manifest): commands use the shipped model, say nothing about it and never refuse."""
    assert cli("scan", tmp_path / "lib", "--quiet")[0] == 0
    old_id = "0" * 64  # the id the older manifest had
    with sqlite3.connect(catalogue) as db:
        (new_id,) = db.execute("SELECT bundle_id FROM scans ORDER BY id DESC").fetchone()
        # as an older photolm left it: its scans did not record the network (model_id)
        db.execute("UPDATE scans SET bundle_id = ?, model_id = NULL", (old_id,))
        db.execute("UPDATE photos SET bundle_id = ?", (old_id,))
        db.execute("UPDATE meta SET key = ? WHERE key = ?", (f"bundle:{old_id}",
                                                             f"bundle:{new_id}"))
    code, out, err = cli("landmarks", "--json")
    assert code == 0, err
    assert "Error" not in err and "using" not in err
    assert len(json.loads(out)) == len(load_bundle().landmarks)  # the shipped model's


def test_a_scan_records_whether_its_model_is_the_shipped_one(tmp_path: Path,
                                                            catalogue: Path) -> None:
    """So that after a reinstall elsewhere (the shipped folder's path gone) the catalogue
    still knows a scan, not --model, is the way on."""
    from photolm.catalog import Catalog

    assert cli("scan", tmp_path / "lib", "--quiet")[0] == 0
    with Catalog.open(catalogue, write=False) as cat:
        assert cat.scanned_with().shipped is True
    bundle = make_tiny_bundle(tmp_path / "mine")
    assert cli("scan", tmp_path / "lib", "--model", bundle.path, "--quiet")[0] == 0
    with Catalog.open(catalogue, write=False) as cat:
        assert cat.scanned_with().shipped is False
