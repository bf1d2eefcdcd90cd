# SPDX-License-Identifier: GPL-3.0-or-later
"""Learned landmarks meeting a new model (README "Closing the loop"), through the CLI on
tiny bundles: a retrained model that ships a learned name, and commands run without
--model after ``photolm scan --model NEW``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from photolm.bundle import Landmark
from tests.clirun import cli
from tests.test_learn_cli import CYAN, colour_library
from tests.tinybundle import COLOURS, LANDMARKS, make_tiny_bundle, write_photo


@pytest.fixture
def library(env: Path, tmp_path: Path) -> Path:
    return colour_library(tmp_path)


def retrained_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A model retrained with what was taught: it ships "old bridge" (another letter case)
    and recognises the cyan photos itself."""
    monkeypatch.setitem(COLOURS, "old-bridge", CYAN)
    bundle = make_tiny_bundle(tmp_path / "retrained", name="retrained",
                              landmarks=(*LANDMARKS, Landmark("old-bridge", "old bridge")))
    return bundle.path


def _rows() -> list[dict]:
    code, out, err = cli("list", "--json")
    assert code == 0, err
    return json.loads(out)


def _old_bridges() -> list[dict]:
    code, out, err = cli("landmarks", "--json")
    assert code == 0, err
    return [r for r in json.loads(out) if r["name"].casefold() == "old bridge"]


NOTE = "note: Old Bridge: the model now has this landmark itself"


@pytest.mark.parametrize("first", ["scan", "landmarks"])
def test_a_new_model_shipping_a_learned_name_makes_it_one_landmark(
    library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first: str
) -> None:
    assert cli("learn", "Old Bridge", library / "cyan0.jpg")[0] == 0
    assert cli("confirm", library / "cyan1.jpg")[0] == 0  # a person's answer: Old Bridge
    monkeypatch.setenv("PHOTOLM_MODEL", str(retrained_bundle(tmp_path, monkeypatch)))
    code, _, err = cli(*(["scan", library] if first == "scan" else ["landmarks"]))
    assert code == 0, err
    assert err.count(NOTE) == 1 and "1 example photo added to the model's old bridge" in err
    assert "1 answer of yours names it now" in err
    (row,) = _old_bridges()  # one landmark of that name: the model's, with your example
    assert row["id"] == "old-bridge" and row["learned"] is False and row["examples"] == 1
    code, _, err = cli("landmarks")
    assert code == 0 and NOTE not in err  # said once
    if first == "landmarks":
        assert cli("scan", library, "--quiet")[0] == 0
    rows = {Path(r["path"]).name: r for r in _rows()}
    assert rows["cyan1.jpg"]["review"] == "confirmed"  # the answer is kept, on the model's
    assert {rows[f"cyan{i}.jpg"]["landmark"] for i in range(3)} == {"old bridge"}
    assert row["photos"] == 3 or first == "landmarks"
    # the examples are yours: unlearn takes them back and keeps the answer
    code, out, err = cli("unlearn", "Old Bridge", "--json")
    assert code == 0, err
    assert json.loads(out)["shipped"] is True and json.loads(out)["kept_answers"] == 1


def test_commands_without_model_use_the_model_the_catalogue_was_scanned_with(
    tiny_bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After `photolm scan --model NEW` (no $PHOTOLM_MODEL), learn, places, landmarks and
    unlearn match with NEW, and say so; with NEW's folder gone, one Error line."""
    monkeypatch.setenv("PHOTOLM_CATALOG", str(tmp_path / "catalog.sqlite"))
    new = tmp_path / "new-model"
    import shutil

    shutil.copytree(tiny_bundle_dir, new)
    lib = tmp_path / "lib"
    for i in range(3):
        write_photo(lib / f"cyan{i}.jpg", (CYAN[0] + i, CYAN[1], CYAN[2]))
    assert cli("scan", lib, "--model", new, "--quiet")[0] == 0
    said = f"using tiny-test-bundle ({new}), the model this catalogue's photos were scanned with"
    said += " (--model picks another)"  # README quotes the whole line
    code, out, err = cli("learn", "Old Bridge", lib / "cyan0.jpg", "--json")
    assert code == 0, err
    assert json.loads(out)["rematched"] == 3 and json.loads(out)["photos"] == 3
    assert err.count(said) == 1
    for command in (["places"], ["landmarks", "--json"]):
        code, _, err = cli(*command)
        assert code == 0 and err.count(said) == 1, err
    code, out, err = cli("unlearn", "Old Bridge", "--json")
    assert code == 0 and json.loads(out)["changed"] == 3 and said in err
    served: list = []  # serve up to where it would block in uvicorn
    monkeypatch.setattr("photolm.desktop.server.serve",
                        lambda prepared, on_ready=None: served.append(prepared))
    code, _, err = cli("serve", "--no-browser", "--port", "0")
    assert code == 0 and said in err, err
    assert served[0].settings.model == new and served[0].settings.bundle_id is not None
    served[0].sock.close()
    shutil.rmtree(new)
    for command in (["learn", "Old Bridge", lib / "cyan0.jpg"], ["landmarks"], ["places"],
                    ["unlearn", "Old Bridge"], ["serve", "--no-browser", "--port", "0"]):
        code, out, err = cli(*command)
        (line,) = err.splitlines()
        assert code == 1 and not out and line.startswith("Error: ") and "--model" in line
        assert f"tiny-test-bundle from {new}, which no longer holds it" in line
    assert cli("learn", "Old Bridge", lib / "cyan0.jpg", "--model", tiny_bundle_dir)[0] == 0


def test_info_shows_the_model_the_catalogue_was_scanned_with(
    tiny_bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    monkeypatch.setenv("PHOTOLM_CATALOG", str(tmp_path / "catalog.sqlite"))
    new = tmp_path / "new-model"
    shutil.copytree(tiny_bundle_dir, new)
    write_photo(tmp_path / "lib" / "cyan.jpg", CYAN)
    assert cli("scan", tmp_path / "lib", "--model", new, "--quiet")[0] == 0
    code, out, err = cli("info", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["model"]["path"] == str(new) and data["model"]["scanned_with"] is True
    assert data["catalog"]["scanned_with"] == {"name": "tiny-test-bundle",
                                               "id": data["model"]["id"], "path": str(new)}
    code, out, _ = cli("info")
    assert code == 0 and f"scanned with tiny-test-bundle ({new})" in " ".join(out.split())
    # --model names another: shown, and said not to be the catalogue's
    other = make_tiny_bundle(tmp_path / "other", seed=5, name="another network")
    code, out, _ = cli("info", "--json", "--model", other.path)
    data = json.loads(out)
    assert data["model"]["name"] == "another network" and data["model"]["scanned_with"] is False
    assert data["catalog"]["scanned_with"]["path"] == str(new)
    code, out, _ = cli("info", "--model", other.path)
    assert "no: the catalogue's photos were scanned with" in " ".join(out.split())
    shutil.rmtree(new)  # its folder gone: info says so, and still shows the rest
    code, out, err = cli("info", "--json")
    data = json.loads(out)
    assert code == 0 and "no longer holds it" in data["model"]["error"]
    assert data["catalog"]["photos"] == 1


MERGED = {"id": "learned:old-bridge", "name": "Old Bridge", "examples": 1, "answers": 1}


def _merge_command(command: str, library: Path) -> list[object]:
    if command == "places name":  # the pink photos: the one group no landmark claims
        code, out, err = cli("places", "--json")
        assert code == 0, err
        (group,) = json.loads(out)
        return ["places", "name", group["id"], "Old Bridge"]
    return {"scan": ["scan", library], "learn": ["learn", "Old Bridge", library / "cyan2.jpg"],
            "unlearn": ["unlearn", "Old Bridge"], "landmarks": ["landmarks"]}[command]


@pytest.mark.parametrize("command", ["scan", "learn", "places name", "unlearn", "landmarks"])
def test_json_says_which_learned_landmarks_became_the_models(
    library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """Each command that can fold a learned landmark into the new model's says so in its
    ``--json`` as well as in its ``note:`` line (README "Closing the loop"): a script could
    not tell that ``learned:old-bridge`` was gone and where its examples and answers went."""
    assert cli("learn", "Old Bridge", library / "cyan0.jpg")[0] == 0
    assert cli("confirm", library / "cyan1.jpg")[0] == 0
    monkeypatch.setenv("PHOTOLM_MODEL", str(retrained_bundle(tmp_path, monkeypatch)))
    args = _merge_command(command, library)
    code, out, err = cli(*args, "--json")
    assert code == 0, err
    data = json.loads(out)
    if command == "landmarks":  # a list of landmarks: said on the one it became
        rows = {r["id"]: r for r in data}
        assert rows["old-bridge"]["merged_learned"] == [MERGED]
        assert all(r["merged_learned"] == [] for lid, r in rows.items() if lid != "old-bridge")
    else:
        (merged,) = data["merged_learned"]
        into = merged.pop("into")
        assert merged == MERGED
        # the model's landmark, with the keys of learn's "landmark" (landmarks --json's)
        assert (into["id"], into["name"]) == ("old-bridge", "old bridge")
        assert set(into) == {"id", "name", "aliases", "city", "region", "country",
                             "country_code", "latitude", "longitude"}
    assert NOTE in err
    # said once: nothing is left to fold (the group is named, the examples forgotten)
    again = ["landmarks"] if command in ("places name", "unlearn") else args
    code, out, err = cli(*again, "--json")
    assert code == 0 and NOTE not in err, err
    data = json.loads(out)
    assert (all(r["merged_learned"] == [] for r in data) if again == ["landmarks"]
            else data["merged_learned"] == [])


def test_each_command_says_an_empty_merged_learned_when_it_merged_nothing(
        library: Path) -> None:
    """README: ``merged_learned`` is ``[]`` when that run made none, for every command that
    prints it: scan, learn, unlearn and places name (the same network: nothing to fold)."""
    code, out, err = cli("learn", "Old Bridge", library / "cyan0.jpg", "--json")
    assert code == 0, err
    assert json.loads(out)["merged_learned"] == []
    code, out, err = cli("scan", library, "--json")
    assert code == 0, err
    assert json.loads(out)["merged_learned"] == []
    code, out, err = cli("unlearn", "Old Bridge", "--json")
    assert code == 0, err
    assert json.loads(out)["merged_learned"] == []
    groups = json.loads(cli("places", "--json")[1])
    assert groups, "the colour library has a group of alike photos to name"
    code, out, err = cli("places", "name", groups[0]["id"], "Pink Place", "--json")
    assert code == 0, err
    assert json.loads(out)["merged_learned"] == []
