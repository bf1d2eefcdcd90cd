# SPDX-License-Identifier: GPL-3.0-or-later
"""A scan after the model changed under a learned landmark (a raised threshold, another
network) says which of its photos lost its name, and where to find them (README's scan
``--json`` table, ``learned_lost_photos``); the prototypes of the network it replaced go.

Tiny bundles: a learned landmark taught from one cyan photo, photos that score less and
less like it (cyan blended towards pink or white), and a model update that raises the
learned landmark's threshold from 0.8 to 0.99 (and lowers the bundle's from 0.9 to 0.84).
Its scores, computed with the tiny model: ``near`` 0.977 (below 0.99 by 0.013: uncertain),
``far`` 0.857 (by 0.133: further than ``list --uncertain``'s 0.1), ``bluish`` 0.951 as
Old Bridge and 0.852 as the Taj Mahal, which passes the new bundle threshold.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from photolm.bundle import load_bundle, rewrite_bundle
from tests.clirun import cli
from tests.test_learn_cli import CYAN, PINK
from tests.tinybundle import COLOURS, build_onnx, write_photo

WHITE = (255, 255, 255)


def _blend(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, ...]:
    return tuple(round(x * (1 - t) + y * t) for x, y in zip(a, b, strict=True))


def _table(threshold: float) -> dict[str, object]:
    """A manifest's learned-landmark thresholds, measured under the other-places rule."""
    return {"enrolment": {"thresholds": {"embedding": {"1": threshold}},
                          "other_places_rate": 0.01}}


@pytest.fixture
def taught(tiny_bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return taught_library(tiny_bundle_dir, tmp_path, monkeypatch)


def taught_library(tiny_bundle_dir: Path, tmp_path: Path,
                   monkeypatch: pytest.MonkeyPatch) -> Path:
    """The library scanned with the model before the update (catalogue
    ``tmp_path/catalog.sqlite``), Old Bridge learned from ``ex.png`` and ``answered.png``
    confirmed as it; returns the library."""
    before = rewrite_bundle(load_bundle(tiny_bundle_dir), tmp_path / "before",
                            metrics=_table(0.8))
    monkeypatch.setenv("PHOTOLM_MODEL", str(before.path))
    monkeypatch.setenv("PHOTOLM_CATALOG", str(tmp_path / "catalog.sqlite"))
    lib = tmp_path / "lib"
    write_photo(lib / "ex.png", CYAN)
    write_photo(lib / "near.png", _blend(CYAN, PINK, 0.2))
    write_photo(lib / "far.png", _blend(CYAN, WHITE, 0.3))
    write_photo(lib / "bluish.png", _blend(CYAN, COLOURS["taj-mahal"], 0.3))
    write_photo(lib / "answered.png", _blend(CYAN, PINK, 0.21))
    write_photo(lib / "changed.png", _blend(CYAN, PINK, 0.19))
    assert cli("scan", lib, "--quiet")[0] == 0
    assert cli("learn", "Old Bridge", lib / "ex.png")[0] == 0
    assert cli("confirm", lib / "answered.png")[0] == 0
    assert {r["landmark"] for r in _rows().values()} == {"Old Bridge"}
    return lib


def _rows() -> dict[str, dict]:
    code, out, err = cli("list", "--json")
    assert code == 0, err
    return {Path(r["path"]).name: r for r in json.loads(out)}


def updated_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, network: bool) -> Path:
    """The model after the update: the learned threshold raised; ``network``: another
    network too (the same function in other bytes: another model id)."""
    before = load_bundle(tmp_path / "before")
    changes: dict[str, object] = {"metrics": _table(0.99), "threshold": 0.84}
    if network:
        changes["model_file"] = build_onnx(tmp_path / "other.onnx", opset=16)
    after = rewrite_bundle(before, tmp_path / "after", **changes)
    assert (after.model_id != before.model_id) is network
    monkeypatch.setenv("PHOTOLM_MODEL", str(after.path))
    return after.path


# what the scan says of Old Bridge, after its name (the desktop's Scan page says the same)
SENTENCE = ("3 photos named it before are not any more, as the model changed (a new "
            "threshold or network): 2 are below its threshold (`photolm list --uncertain` "
            "shows 1 of them, the one closest to it), 1 is named another landmark")


@pytest.mark.parametrize("network", [False, True], ids=["threshold", "network"])
def test_a_scan_says_which_photos_a_changed_model_took_a_learned_name_from(
        taught: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, network: bool) -> None:
    updated_model(tmp_path, monkeypatch, network=network)
    write_photo(taught / "changed.png", PINK)  # a new photo there: not the model's doing
    code, out, err = cli("scan", taught, "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["reread_other_model"] == (5 if network else 0)
    assert summary["learned_lost_photos"] == [{
        "id": "learned:old-bridge", "name": "Old Bridge", "photos": 3, "no_landmark": 2,
        "uncertain": 1, "paths": sorted(str(taught / n) for n in
                                        ("bluish.png", "far.png", "near.png"))}]
    assert err.count("note: ") == 1, err
    assert f"note: Old Bridge: {SENTENCE}" in " ".join(err.split()), err
    rows = _rows()
    assert rows["near.png"]["landmark"] is None and rows["far.png"]["landmark"] is None
    assert rows["bluish.png"]["landmark"] == "Taj Mahal"
    assert rows["answered.png"]["review"] == "confirmed"  # the person's answer stands
    assert rows["ex.png"]["landmark"] == "Old Bridge"
    # `photolm list --uncertain` shows the one the line says it shows, not the other
    code, out, err = cli("list", "--uncertain", "--json")
    assert code == 0, err
    shown = {Path(r["path"]).name for r in json.loads(out)}
    assert "near.png" in shown and "far.png" not in shown
    # said once: the next scan has nothing to re-decide
    code, out, err = cli("scan", taught, "--json")
    assert code == 0 and json.loads(out)["learned_lost_photos"] == [] and "note:" not in err


def test_nothing_is_said_of_changes_the_person_made(taught: Path) -> None:
    """Unlearning re-matches and counts its own changes; the scan after it, with the same
    model, has nothing to tell (and `learned_lost_photos` is [])."""
    code, out, err = cli("unlearn", "Old Bridge", "--json")
    assert code == 0 and json.loads(out)["changed"] == 6, err
    code, out, err = cli("scan", taught, "--json")
    assert code == 0 and json.loads(out)["learned_lost_photos"] == [] and "note:" not in err


@pytest.mark.parametrize("by", ["scan", "prune"])
def test_the_replaced_networks_learned_prototypes_go(
        taught: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, by: str) -> None:
    """Prototypes are kept per network: those of a network no catalogued photo holds
    vectors of any more are never read again, and go once the last of those photos is
    scanned with the new network (or forgotten by ``prune``)."""
    def networks() -> set[str]:
        with sqlite3.connect(tmp_path / "catalog.sqlite") as db:
            return {k.split(":")[0] for (k,) in
                    db.execute("SELECT DISTINCT model_key FROM learned_prototypes")}

    before = load_bundle(tmp_path / "before").model_id
    assert networks() == {before}
    after = load_bundle(updated_model(tmp_path, monkeypatch, network=True)).model_id
    code, _, err = cli("scan", taught / "ex.png", "--quiet")  # one photo: the rest are old
    assert code == 0, err
    assert networks() == {before, after}  # still what the other photos are matched with
    if by == "prune":
        for photo in taught.iterdir():
            if photo.name != "ex.png":
                photo.unlink()
    assert cli("scan", taught, "--quiet")[0] == 0
    if by == "prune":  # missing, not forgotten: their vectors are still the old network's
        assert networks() == {before, after}
        code, _, err = cli("prune")
        assert code == 0, err
    assert networks() == {after}
    rows = _rows()
    assert rows["ex.png"]["landmark"] == "Old Bridge"
    # the network that comes back re-makes them from the example photo (README)
    monkeypatch.setenv("PHOTOLM_MODEL", str(tmp_path / "before"))
    code, out, err = cli("scan", taught, "--json")
    assert code == 0 and json.loads(out)["unrecognisable_learned"] == [], err
    assert networks() == {before}
    assert _rows()["ex.png"]["landmark"] == "Old Bridge"


@pytest.mark.parametrize(("below", "uncertain", "renamed", "said"), [
    (3, 3, 0, "3 photos named it before are now below its threshold (`photolm list "
              "--uncertain` shows them), as the model changed (a new threshold or network)"),
    (1, 0, 0, "1 photo named it before is now below its threshold (too far below it for "
              "`photolm list --uncertain` to show it), as the model changed (a new "
              "threshold or network)"),
    (3, 2, 0, "3 photos named it before are now below its threshold (`photolm list "
              "--uncertain` shows 2 of them, those closest to it), as the model changed (a "
              "new threshold or network)"),
    (0, 0, 2, "2 photos named it before are now named another landmark, as the model "
              "changed (a new threshold or network)"),
])
def test_the_note_says_what_became_of_the_photos(below: int, uncertain: int, renamed: int,
                                                 said: str) -> None:
    """The wordings of the note line README quotes ("3 photos named it before are now below
    its threshold ..."), for the counts the scan test above does not meet."""
    from photolm.model_changes import LostLearned

    lost = LostLearned("learned:old-bridge", "Old Bridge",
                       [f"/p/{i}.jpg" for i in range(below + renamed)], below, uncertain)
    assert lost.sentence() == said


def test_a_learned_landmark_the_new_network_cannot_recognise_is_said_once(
        taught: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its example photo gone, Old Bridge cannot be re-made for the new network: the scan
    names it in `unrecognisable_learned` and its warning line, and does not count its
    photos again in `learned_lost_photos`."""
    (taught / "ex.png").unlink()
    updated_model(tmp_path, monkeypatch, network=True)
    code, out, err = cli("scan", taught, "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["unrecognisable_learned"] == ["Old Bridge"]
    assert summary["learned_lost_photos"] == [] and "note:" not in err
    assert "Old Bridge cannot be recognised with this model" in " ".join(err.split())
    assert _rows()["near.png"]["landmark"] is None
