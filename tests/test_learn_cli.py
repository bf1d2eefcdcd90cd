# SPDX-License-Identifier: GPL-3.0-or-later
"""learn / unlearn / places / export-dataset through the CLI, on the tiny bundle.

Solid colours stand in for places: the tiny model maps each colour to its own direction, so
"cyan" is a place the bundle has never seen and photos of it are alike.
"""

from __future__ import annotations

import csv
import inspect
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PIL import ExifTags, Image

from tests.clirun import cli
from tests.imagefactory import not_utf8_name
from tests.scriptload import load_script
from tests.tinybundle import COLOURS, make_tiny_bundle, write_photo

if TYPE_CHECKING:
    from photolm.bundle import Bundle

CYAN = (20, 200, 210)  # far from every shipped colour in the tiny model
PINK = (250, 150, 200)


@pytest.fixture
def library(env: Path, tmp_path: Path) -> Path:
    return colour_library(tmp_path)


def colour_library(tmp_path: Path) -> Path:
    """A scanned folder: 3 cyan photos, 2 Eiffel Tower (red) photos, 4 pink ones."""
    lib = tmp_path / "lib"
    for i in range(3):
        write_photo(lib / f"cyan{i}.jpg", (CYAN[0] + i, CYAN[1], CYAN[2]))
    for i in range(2):
        write_photo(lib / f"eiffel{i}.jpg", COLOURS["eiffel-tower"])
    for i in range(4):
        write_photo(lib / "trip" / f"pink{i}.jpg", (PINK[0], PINK[1] + i, PINK[2]))
    code, _, err = cli("scan", lib, "--quiet")
    assert code == 0, err
    return lib


def _listing() -> dict[str, str | None]:
    code, out, err = cli("list", "--json")
    assert code == 0, err
    return {Path(r["path"]).name: r["landmark"] for r in json.loads(out)}


def test_learn_names_every_alike_photo_and_search_finds_it(library: Path) -> None:
    code, out, err = cli("learn", "Old Bridge", library / "cyan0.jpg", "--alias",
                         "Alte Brücke", "--city", "Heidelberg", "--country", "Germany",
                         "--lat", "49.4136", "--lon", "8.7101", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["new"] is True and result["examples"] == 1 and result["added"] == 1
    assert result["landmark"]["name"] == "Old Bridge"
    assert result["landmark"]["aliases"] == ["Alte Brücke"]
    assert result["landmark"]["city"] == "Heidelberg"
    assert result["photos"] == 3 and result["rematched"] == 9
    shown = _listing()
    assert {shown[f"cyan{i}.jpg"] for i in range(3)} == {"Old Bridge"}
    assert shown["eiffel0.jpg"] == "Eiffel Tower"
    assert shown["pink0.jpg"] is None
    for query in ("old bridge", "alte brucke", "old brige", "Heidelberg"):
        code, out, err = cli("search", query, "--json")
        assert code == 0, (query, err)
        assert sorted(Path(r["path"]).name for r in json.loads(out)) == \
            [f"cyan{i}.jpg" for i in range(3)], query


def test_learned_landmarks_are_tagged_with_their_place(library: Path) -> None:
    assert cli("learn", "Old Bridge", library / "cyan0.jpg", "--city", "Heidelberg",
               "--country", "Germany")[0] == 0
    code, out, err = cli("tag", "--dry-run", "--json", library)
    assert code == 0, err
    (row,) = [r for r in json.loads(out)["photos"] if Path(r["path"]).name == "cyan1.jpg"]
    assert row["landmark"] == "Old Bridge"
    assert any("Places|Germany|Heidelberg|Old Bridge" in line for line in row["plan"])


def test_gps_far_from_a_learned_landmark_rejects_it(library: Path) -> None:
    from tests.test_geo_scan import gps_exif

    write_photo(library / "gps" / "near.jpg", CYAN, exif=gps_exif(49.4140, 8.7110))
    write_photo(library / "gps" / "far.jpg", CYAN, exif=gps_exif(-33.8568, 151.2153))
    assert cli("scan", library, "--quiet")[0] == 0
    assert cli("learn", "Old Bridge", library / "cyan0.jpg", "--lat", "49.4136",
               "--lon", "8.7101")[0] == 0
    shown = _listing()
    assert shown["near.jpg"] == "Old Bridge" and shown["far.jpg"] is None


def test_learn_again_adds_examples_and_a_shipped_name_adds_to_it(library: Path) -> None:
    assert cli("learn", "Old Bridge", library / "cyan0.jpg")[0] == 0
    code, out, _ = cli("learn", "old bridge", library / "cyan1.jpg", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["new"] is False and result["examples"] == 2 and result["added"] == 1
    code, out, err = cli("learn", "Tour Eiffel", library / "eiffel1.jpg", "--json")
    assert code == 0 and err == ""
    result = json.loads(out)
    assert result["shipped"] is True and result["landmark"]["id"] == "eiffel-tower"
    # its details are the model's: options that would change them are said to be unused
    code, out, err = cli("learn", "Eiffel Tower", library / "eiffel0.jpg", "--city", "Lyon",
                         "--alias", "Iron Lady", "--json")
    assert code == 0 and json.loads(out)["landmark"]["city"] == "Paris"
    assert err.splitlines() == ["warning: Eiffel Tower: one of the model's landmarks: its "
                                "names, place and position stay the model's (--alias, "
                                "--city not used)"]
    # the landmark described with the keys `landmarks --json` gives it, and the same values
    (listed,) = [r for r in json.loads(cli("landmarks", "--json")[1])
                 if r["id"] == "eiffel-tower"]
    assert result["landmark"] == {k: listed[k] for k in result["landmark"]}
    assert set(listed) - set(result["landmark"]) == {"photos", "learned", "examples",
                                                     "recognisable", "merged_learned"}
    assert _listing()["eiffel0.jpg"] == "Eiffel Tower"


def test_landmarks_and_info_count_learned_landmarks(library: Path) -> None:
    def rows() -> dict[str, dict]:
        code, out, err = cli("landmarks", "--json")
        assert code == 0, err
        return {r["name"]: r for r in json.loads(out)}

    before = rows()
    assert not any(r["learned"] for r in before.values())
    assert cli("learn", "Old Bridge", library / "cyan0.jpg", library / "cyan1.jpg",
               "--city", "Heidelberg")[0] == 0
    assert cli("learn", "Eiffel Tower", library / "eiffel1.jpg")[0] == 0  # a shipped one
    after = rows()
    assert set(after) == set(before) | {"Old Bridge"}
    bridge = after["Old Bridge"]
    assert bridge["learned"] is True and bridge["examples"] == 2 and bridge["photos"] == 3
    assert bridge["city"] == "Heidelberg" and bridge["id"].startswith("learned:")
    eiffel = after["Eiffel Tower"]
    assert eiffel["learned"] is False and eiffel["examples"] == 1 and eiffel["photos"] == 2
    assert set(eiffel) == set(bridge)
    code, out, err = cli("landmarks")  # not a terminal: one tab-separated line each
    assert code == 0, err
    assert f"{len(after)} landmarks (1 learned)" in err  # the title is talk
    assert not any(c in out for c in "┃│┏━")
    lines = [line.split("\t") for line in out.splitlines()]
    assert len(lines) == len(after) and all(len(fields) == 4 for fields in lines)
    assert ["Old Bridge", "Heidelberg", "3", "learned"] in lines
    assert any(f[0] == "Eiffel Tower" and f[3] == "+1 example" for f in lines)
    code, out, err = cli("info", "--json")
    assert code == 0, err
    catalog = json.loads(out)["catalog"]
    assert catalog["learned_landmarks"] == 1 and catalog["learned_examples"] == 3
    code, out, err = cli("info")
    assert code == 0 and "learned landmarks" in out and "learned_landmarks" not in out
    assert cli("unlearn", "Old Bridge")[0] == 0
    assert "Old Bridge" not in rows()
    assert json.loads(cli("info", "--json")[1])["catalog"]["learned_landmarks"] == 0


def test_learn_from_a_photo_outside_the_catalogue_decodes_it(library: Path,
                                                             tmp_path: Path) -> None:
    outside = write_photo(tmp_path / "elsewhere" / "bridge.png", CYAN, fmt="PNG")
    code, out, err = cli("learn", "Old Bridge", outside, "--json")
    assert code == 0, err
    assert json.loads(out)["photos"] == 3  # the catalogued cyan photos, found without it
    assert "bridge.png" not in _listing()  # learning does not catalogue its examples


def test_learn_and_unlearn_count_only_the_photos_they_changed(library: Path) -> None:
    """``changed`` (and unlearn's "N photos changed") counted every photo re-decided, so
    learning the same example again "changed" all the photos it already named."""
    code, out, err = cli("learn", "Old Bridge", library / "cyan0.jpg", "--json")
    assert code == 0, err
    assert json.loads(out)["changed"] == 3  # the three cyan photos: no landmark before
    code, out, err = cli("learn", "Old Bridge", library / "cyan0.jpg", "--json")
    assert code == 0, err
    again = json.loads(out)
    assert (again["added"], again["photos"], again["changed"]) == (0, 3, 0)
    code, _, err = cli("unlearn", "Old Bridge")
    assert code == 0 and "forgot Old Bridge: 3 photos showed it, 0 now" in err, err


def test_confirm_accepts_a_learned_name(library: Path) -> None:
    assert cli("learn", "Old Bridge", library / "cyan0.jpg")[0] == 0
    code, out, err = cli("confirm", library / "trip" / "pink0.jpg", "--landmark",
                         "old brige", "--json")
    assert code == 0, err
    assert json.loads(out)[0]["landmark"] == "Old Bridge"


def test_unlearn_rematches_and_keeps_a_persons_answers(library: Path) -> None:
    assert cli("learn", "Old Bridge", library / "cyan0.jpg")[0] == 0
    assert cli("confirm", library / "cyan1.jpg")[0] == 0  # confirms "Old Bridge"
    code, out, err = cli("unlearn", "Alte Bruecke")
    assert code == 1 and "Error:" in err and "Old Bridge" in err and not out
    code, out, err = cli("unlearn", "Old Bridge", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["kept_answers"] == 1 and result["changed"] >= 2
    shown = _listing()
    assert shown["cyan0.jpg"] is None and shown["cyan2.jpg"] is None
    assert shown["cyan1.jpg"] == "Old Bridge"  # your confirmation outlives the landmark
    assert shown["eiffel0.jpg"] == "Eiffel Tower"


def test_unlearn_of_a_shipped_landmark_says_there_is_nothing_of_yours(library: Path) -> None:
    assert cli("learn", "Old Bridge", library / "cyan0.jpg")[0] == 0
    code, out, err = cli("unlearn", "Tour", "Eiffel")
    assert code == 1 and not out and len(err.strip().splitlines()) == 1, err
    assert err.startswith("Error: Eiffel Tower is one of the model's landmarks and you added "
                          "no example photos to it") and "(learned: Old Bridge)" in err
    assert cli("learn", "Eiffel Tower", library / "eiffel0.jpg")[0] == 0
    code, _, err = cli("unlearn", "Eiffel Tower")
    assert code == 0 and "forgot the examples added to Eiffel Tower" in err, err


def test_unlearn_leaves_no_photos_candidate_list_naming_it(library: Path,
                                                           tmp_path: Path) -> None:
    """Only photos showing the landmark, or scoring near the threshold for it, were
    re-decided, so a photo that merely had it among its candidates kept it: `list
    --uncertain` and the desktop offered a landmark that no longer existed."""
    def candidates() -> dict[str, list[str]]:
        code, out, err = cli("list", "--json")
        assert code == 0, err
        return {Path(r["path"]).name: [c["name"] for c in r["candidates"]]
                for r in json.loads(out)}

    dusk = write_photo(tmp_path / "elsewhere" / "dusk.jpg", (140, 120, 100))  # reddish
    assert cli("learn", "Dusk", dusk)[0] == 0
    # the Eiffel Tower photos, re-decided for it, get every landmark's score in their list
    assert cli("learn", "Eiffel Tower", library / "eiffel1.jpg")[0] == 0
    assert candidates()["eiffel0.jpg"][:2] == ["Eiffel Tower", "Dusk"]
    assert cli("unlearn", "Dusk")[0] == 0
    assert [name for name, listed in candidates().items() if "Dusk" in listed] == []


def test_unlearn_takes_an_unquoted_name_of_several_words(library: Path) -> None:
    assert cli("learn", "Old Bridge", library / "cyan0.jpg")[0] == 0
    code, out, err = cli("unlearn", "old", "bridge", "--json")
    assert code == 0, err
    assert json.loads(out)["landmark"]["name"] == "Old Bridge"
    assert _listing()["cyan0.jpg"] is None


def test_learned_landmarks_survive_a_rescan_and_match_new_photos(library: Path) -> None:
    assert cli("learn", "Old Bridge", library / "cyan0.jpg")[0] == 0
    write_photo(library / "later" / "cyan9.jpg", (CYAN[0], CYAN[1] + 3, CYAN[2]))
    assert cli("scan", library, "--quiet")[0] == 0
    assert cli("scan", library, "--force", "--quiet")[0] == 0
    shown = _listing()
    assert shown["cyan9.jpg"] == "Old Bridge" and shown["cyan2.jpg"] == "Old Bridge"


def test_new_bundle_same_network_keeps_prototypes_new_network_remakes_them(
    library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("learn", "Old Bridge", library / "cyan0.jpg")[0] == 0
    same = make_tiny_bundle(tmp_path / "same-net", threshold=0.91, name="same network")
    monkeypatch.setenv("PHOTOLM_MODEL", str(same.path))
    assert cli("scan", library, "--quiet")[0] == 0
    assert _listing()["cyan2.jpg"] == "Old Bridge"
    other = make_tiny_bundle(tmp_path / "other-net", seed=5, name="another network")
    monkeypatch.setenv("PHOTOLM_MODEL", str(other.path))
    os.remove(library / "cyan2.jpg")  # examples need not all still be in the library
    assert cli("scan", library, "--quiet")[0] == 0
    assert _listing()["cyan1.jpg"] == "Old Bridge"


def test_learn_errors_are_one_line(library: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, err = cli("learn", "Nowhere", empty)
    assert not out
    assert code == 1 and err.startswith("Error:") and len(err.strip().splitlines()) == 1
    code, _, err = cli("learn", "Half", library / "cyan0.jpg", "--lat", "3")
    assert code == 2 and "--lon" in err
    (tmp_path / "bad.jpg").write_bytes(b"not a photo")
    code, _, err = cli("learn", "Broken", tmp_path / "bad.jpg")
    assert code == 1 and "Error:" in err and "Traceback" not in err
    # a bad example beside good ones: one warning line each, and the rest are learned
    code, _, err = cli("learn", "Cyan Place", library / "cyan0.jpg", tmp_path / "nope.jpg",
                       "--quiet")
    assert code == 0
    assert err.splitlines() == [f"warning: {tmp_path / 'nope.jpg'}: not found: no such file "
                                "or folder (not used as an example)"]


def _names() -> list[str]:
    code, out, err = cli("landmarks", "--json")
    assert code == 0, err
    return sorted(r["name"] for r in json.loads(out))


def test_a_name_spelt_almost_like_a_known_one_is_refused_as_a_typo(library: Path) -> None:
    """"Old Brige" for "Old Bridge" made a second landmark that took the first one's photos;
    it is refused in one line (learn and places name), unless --new says it is meant."""
    assert cli("learn", "Old Bridge", library / "cyan0.jpg")[0] == 0
    before = _names()
    for args in (("learn", "Old Brige", library / "cyan1.jpg"),
                 ("learn", "Eifel Tower", library / "eiffel0.jpg", "--json"),
                 ("places", "name", "pl-0000000000", "old bridges")):
        code, out, err = cli(*args)  # a data error (names nothing yet), not a usage error
        assert code == 1 and not out and len(err.strip().splitlines()) == 1, (args, err)
        assert err.startswith("Error:") and "--new" in err and "almost '" in err, err
    assert "almost 'Old Bridge'" in cli("learn", "Old Brige", library / "cyan1.jpg")[2]
    assert _names() == before and _listing()["cyan1.jpg"] == "Old Bridge"
    code, out, err = cli("learn", "Old Brige", library / "cyan1.jpg", "--new", "--json")
    assert code == 0 and json.loads(out)["new"] is True, err
    assert _names() == sorted([*before, "Old Brige"])
    code, _, err = cli("learn", "Stone Bridge", library / "trip" / "pink0.jpg")
    assert code == 0, err  # a different name that shares a word is not a typo


def test_places_groups_unclaimed_photos_stably_and_names_them(library: Path) -> None:
    code, out, err = cli("places", "--json")
    assert code == 0, err
    groups = json.loads(out)
    assert [g["size"] for g in groups] == [4, 3]
    pink = groups[0]
    assert set(pink) == {"id", "size", "photos", "examples", "latitude", "longitude",
                         "looks_like_a_place",
                         "companions"}
    assert pink["companions"] == {}  # no camera RAWs here (tests/test_raw_pairs.py)
    assert pink["looks_like_a_place"] is None  # the tiny bundle has no descriptor to tell
    assert sorted(Path(p).name for p in pink["photos"]) == [f"pink{i}.jpg"
                                                              for i in range(4)]
    assert pink["examples"] and set(pink["examples"]) <= set(pink["photos"])
    assert json.loads(cli("places", "--json")[1]) == groups  # stable between runs
    assert json.loads(cli("places", "--min-photos", "4", "--json")[1]) == groups[:1]
    code, out, err = cli("places", "name", pink["id"], "Pink Market", "--json")
    assert code == 0, err
    assert json.loads(out)["photos"] == 4
    remaining = json.loads(cli("places", "--json")[1])
    assert [g["id"] for g in remaining] == [groups[1]["id"]]
    code, _, err = cli("places", "name", "pl-nothere", "X")
    assert (code, err) == (1, "Error: No place 'pl-nothere' now; `photolm places` lists the "
                           "current groups' ids.\n")


def test_places_on_a_narrow_terminal_is_a_block_a_group(
        library: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Paths too long for an 80-column table drew it wider than the terminal, which wrapped
    every line of it into a jumble (list and search already turned into blocks): a group
    is now its id and size on a line, its example photos whole under it."""
    from tests.test_raw_pairs import on_a_terminal

    deep = library / ("a folder with a rather long name, " * 2).strip()
    for i in range(3):
        write_photo(deep / f"pink-again-{i}.jpg", (PINK[0], PINK[1] + 8 + i, PINK[2]))
    assert cli("scan", library, "--quiet")[0] == 0
    groups = json.loads(cli("places", "--json")[1])
    shown = on_a_terminal(monkeypatch, "places")
    assert not any("┃" in line or "│" in line for line in shown), "\n".join(shown)
    for group in groups:
        at = shown.index(f"id {group['id']}   photos {group['size']}")
        listed = [line.strip() for line in shown[at + 1:at + 4]]
        assert listed == group["examples"][:3], "\n".join(shown)
    assert all(len(line) <= 80 or line.strip() in {str(p) for g in groups
                                                    for p in g["photos"]} for line in shown)


def test_export_dataset_writes_what_trainer_reads(library: Path, tmp_path: Path) -> None:
    assert cli("learn", "Old Bridge", library / "cyan0.jpg", library / "cyan1.jpg",
               "--alias", "Alte Brücke", "--city", "Heidelberg", "--lat", "49.4136",
               "--lon", "8.7101")[0] == 0
    assert cli("confirm", library / "cyan2.jpg")[0] == 0
    assert cli("confirm", library / "eiffel0.jpg")[0] == 0
    out_dir = tmp_path / "dataset"
    code, out, err = cli("export-dataset", out_dir, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert [(c["name"], c["photos"]) for c in result["landmarks"]] == [("Old Bridge", 3)]
    linked = sorted((out_dir / "old-bridge").iterdir())
    assert [p.name for p in linked] == ["cyan0.jpg", "cyan1.jpg", "cyan2.jpg"]
    assert all(p.is_symlink() for p in linked)
    with open(out_dir / "classes.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["name"] == "Old Bridge" and rows[0]["aliases"] == "Alte Brücke"
    assert float(rows[0]["latitude"]) == pytest.approx(49.4136)
    from trainer.data import discover

    dataset = discover([out_dir])
    assert [c.name for c in dataset.classes] == ["Old Bridge"]
    assert dataset.classes[0].aliases == ("Alte Brücke",)
    assert len(dataset.samples) == 3

    code, out, err = cli("export-dataset", out_dir)
    assert code == 1 and "not an empty folder" in err
    both = tmp_path / "both"
    code, out, err = cli("export-dataset", both, "--include-shipped", "--copy", "--json")
    assert code == 0, err
    names = {c["name"]: c["photos"] for c in json.loads(out)["landmarks"]}
    assert names == {"Old Bridge": 3, "Eiffel Tower": 1}
    assert not (both / "eiffel-tower" / "eiffel0.jpg").is_symlink()


def test_export_dataset_leaves_out_a_landmark_whose_photos_are_all_gone(
        library: Path, tmp_path: Path) -> None:
    """An empty class folder (and its classes.csv row) is nothing to train on: the
    landmark is left out, with one warning line, and the counts say what was written."""
    assert cli("learn", "Old Bridge", library / "cyan0.jpg")[0] == 0
    gone = write_photo(tmp_path / "elsewhere" / "pink.jpg", PINK)
    assert cli("learn", "Pink Market", gone)[0] == 0
    gone.unlink()
    out_dir = tmp_path / "dataset"
    code, out, err = cli("export-dataset", out_dir, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert [(c["name"], c["photos"]) for c in result["landmarks"]] == [("Old Bridge", 1)]
    assert (result["photos"], result["skipped"]) == (1, 1)
    assert sorted(p.name for p in out_dir.iterdir()) == ["classes.csv", "old-bridge"]
    with open(out_dir / "classes.csv", newline="", encoding="utf-8") as handle:
        assert [r["name"] for r in csv.DictReader(handle)] == ["Old Bridge"]
    assert f"warning: {gone}: missing: left out of the training set" in err
    assert "warning: Pink Market: none of its photos is left: not in the training set" in err
    code, _, err = cli("export-dataset", tmp_path / "again")
    assert code == 0 and "wrote 1 photo of 1 landmark" in err, err


def test_commands_have_help() -> None:
    for command in (["learn"], ["unlearn"], ["places"], ["places", "name"],
                    ["export-dataset"]):
        code, out, _ = cli(*command, "--help")
        assert code == 0 and "Usage" in out


@pytest.mark.skipif("descriptor_threshold" not in inspect.signature(make_tiny_bundle).parameters,
                    reason="bundles with a generic descriptor (issue 13) not merged yet")
def test_with_a_descriptor_bundle_learning_uses_the_stored_descriptors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = make_tiny_bundle(tmp_path / "with-descriptor", descriptor_threshold=0.9)
    monkeypatch.setenv("PHOTOLM_MODEL", str(bundle.path))
    monkeypatch.setenv("PHOTOLM_CATALOG", str(tmp_path / "catalog.sqlite"))
    lib = tmp_path / "lib"
    for i in range(3):
        write_photo(lib / f"cyan{i}.jpg", (CYAN[0] + i, CYAN[1], CYAN[2]))
        write_photo(lib / f"pink{i}.jpg", (PINK[0], PINK[1] + i, PINK[2]))
    write_photo(lib / "eiffel.jpg", COLOURS["eiffel-tower"])
    assert cli("scan", lib, "--quiet")[0] == 0
    from photolm import images

    def no_decoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("a catalogued photo was decoded")

    monkeypatch.setattr(images, "load_for_model", no_decoding)
    code, out, err = cli("learn", "Old Bridge", lib / "cyan0.jpg", "--json")
    assert code == 0, err
    assert json.loads(out)["photos"] == 3
    groups = json.loads(cli("places", "--json")[1])
    assert [sorted(Path(p).name for p in g["photos"]) for g in groups] == \
        [[f"pink{i}.jpg" for i in range(3)]]


def test_a_learned_landmark_a_new_network_cannot_remake_is_reported(
    library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Prototypes are per network; with every example photo gone, a new network cannot
    re-make them and the landmark stops matching: scan, landmarks, places and info say so
    (same network: nothing to say)."""
    examples = tmp_path / "examples"
    for i in range(2):
        write_photo(examples / f"cyan-example{i}.jpg", (CYAN[0], CYAN[1] - i, CYAN[2]))
    assert cli("learn", "Old Bridge", examples)[0] == 0
    for i in range(2):
        os.remove(examples / f"cyan-example{i}.jpg")
    code, _, err = cli("scan", library, "--force", "--quiet")  # same network: still matches
    assert code == 0 and "cannot be recognised" not in err
    assert _listing()["cyan1.jpg"] == "Old Bridge"

    other = make_tiny_bundle(tmp_path / "other-net", seed=5, name="another network")
    monkeypatch.setenv("PHOTOLM_MODEL", str(other.path))
    code, out, err = cli("scan", library, "--json")
    assert code == 0, err
    assert json.loads(out)["unrecognisable_learned"] == ["Old Bridge"]
    line = "learned landmark Old Bridge cannot be recognised with this model"
    assert err.count(line) == 1 and "photolm learn" in err
    assert _listing()["cyan1.jpg"] is None
    code, out, err = cli("landmarks", "--json")
    assert code == 0 and line in err
    (row,) = [r for r in json.loads(out) if r["name"] == "Old Bridge"]
    assert row["recognisable"] is False
    assert all(r["recognisable"] for r in json.loads(out) if r["name"] != "Old Bridge")
    code, out, err = cli("landmarks")
    assert code == 0 and "examples gone" in out
    code, _, err = cli("places")
    assert code == 0 and line in err
    code, out, _ = cli("info", "--json")
    assert code == 0 and json.loads(out)["catalog"]["learned_unrecognisable"] == ["Old Bridge"]
    code, out, _ = cli("info")
    assert "Old Bridge (example photos gone: learn again)" in out


def _taken_at(clock: str) -> Image.Exif:
    exif = Image.Exif()
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = clock
    return exif


@pytest.mark.parametrize(("second_visit", "groups"), [
    (None, [2, 2]),  # no time taken: the look alone keeps them apart
    ("2024:05:01 10:05:00", [4]),  # five minutes later: one visit, one place
    ("2024:05:01 12:00:00", [2, 2]),  # two hours later: two visits
])
def test_places_joins_photos_taken_on_one_visit(env: Path, tmp_path: Path,
                                                 second_visit: str | None,
                                                 groups: list[int]) -> None:
    # Two looks of one place (the tiny model puts them 0.66 apart, beyond the cut for the
    # look alone) taken with no GPS, as a camera does.
    lib = tmp_path / "trip"
    first = None if second_visit is None else _taken_at("2024:05:01 10:00:00")
    second = None if second_visit is None else _taken_at(second_visit)
    for i in range(2):
        write_photo(lib / f"gate{i}.jpg", (20 + i, 200, 210),
                    **({} if first is None else {"exif": first}))
        write_photo(lib / f"hall{i}.jpg", (90 + i, 200, 120),
                    **({} if second is None else {"exif": second}))
    assert cli("scan", lib, "--quiet")[0] == 0
    code, out, err = cli("places", "--min-photos", "2", "--json")
    assert code == 0, err
    assert sorted(g["size"] for g in json.loads(out)) == groups


def own_bundle_and_photos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                          photos: dict[str, tuple[int, int, int]], **options: object) -> Bundle:
    """A tiny bundle of this test's own (``options``: make_tiny_bundle's) and a catalogue of
    ``photos`` (name under ``tmp_path / "lib"`` -> colour), scanned with it."""
    bundle = make_tiny_bundle(tmp_path / "bundle", **options)  # type: ignore[arg-type]
    monkeypatch.setenv("PHOTOLM_MODEL", str(bundle.path))
    monkeypatch.setenv("PHOTOLM_CATALOG", str(tmp_path / "catalog.sqlite"))
    for name, colour in photos.items():
        write_photo(tmp_path / "lib" / name, colour)
    assert cli("scan", tmp_path / "lib", "--quiet")[0] == 0
    return bundle


def two_looks_of_one_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Bundle:
    """A tiny bundle without a descriptor (the embedding space) and two looks of one place,
    0.66 apart: beyond the shipped cut (0.56)."""
    return own_bundle_and_photos(tmp_path, monkeypatch, {
        **{f"gate{i}.jpg": (20 + i, 200, 210) for i in range(2)},
        **{f"hall{i}.jpg": (90 + i, 200, 120) for i in range(2)}})


def test_places_uses_the_cuts_measured_for_the_bundle(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Cuts measured for a bundle's network (written by scripts/eval_enrolment.py) replace
    the shipped network's; other spaces keep theirs."""
    from photolm import places
    from photolm.bundle import read_bundle

    bundle = two_looks_of_one_place(tmp_path, monkeypatch)

    def sizes() -> list[int]:
        code, out, err = cli("places", "--min-photos", "2", "--json")
        assert code == 0, err
        return sorted(g["size"] for g in json.loads(out))

    assert sizes() == [2, 2]
    measured = places.Cuts(alike=0.7, nearby=0.8, same_spot=0.9, join=0.3, same_visit=1.0)
    load_script("eval_enrolment").write_places(bundle, "embedding", measured, None)
    again = read_bundle(bundle.path)
    assert again.places is not None and again.places.likeness is None
    assert places.cuts_for(again, "embedding") == measured
    assert places.cuts_for(again, "fused") == places.CUTS["fused"]
    assert again.model_id == bundle.model_id  # the scanned vectors stay valid
    assert sizes() == [4]
    # measured again in another space: the embedding cuts stay
    load_script("eval_enrolment").write_places(again, "fused", places.CUTS["fused"], 0.3)
    assert places.cuts_for(read_bundle(bundle.path), "embedding") == measured
    assert sizes() == [4]


@pytest.fixture
def portraits_and_a_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A bundle with a generic descriptor, and a scanned folder of two unclaimed groups: one
    whose descriptors come close to a shipped landmark's (a place), one far from every
    landmark (as portraits are: the tiny model's descriptor puts that colour 0.18 from the
    nearest landmark, the other 0.58)."""
    own_bundle_and_photos(tmp_path, monkeypatch, {
        **{f"faces/face{i}.jpg": (148 + i, 130, 172) for i in range(3)},
        **{f"square/square{i}.jpg": (164 + i, 197, 218) for i in range(3)}},
        descriptor_threshold=0.5)
    return tmp_path / "lib"


def test_places_leaves_out_groups_that_look_like_no_place(portraits_and_a_place: Path) -> None:
    code, out, err = cli("places", "--json")
    assert code == 0, err
    groups = json.loads(out)
    assert [sorted(Path(p).parent.name for p in g["photos"]) for g in groups] == \
        [["square"] * 3]
    assert groups[0]["looks_like_a_place"] is True
    assert "1 group not listed, looking like no place" in err and "--all" in err
    code, out, err = cli("places", "--all", "--json")
    assert code == 0 and "looking like no place" not in err
    every = {Path(g["photos"][0]).parent.name: g for g in json.loads(out)}
    assert set(every) == {"faces", "square"}
    assert every["faces"]["looks_like_a_place"] is False
    code, out, err = cli("places")  # the text output says so too, and lists the place
    assert code == 0 and "looking like no place" in err and "square0.jpg" in out
    # after the title of the table it is about, not before it
    assert err.index("1 candidate place") < err.index("looking like no place"), err
    assert "face0.jpg" not in out
    # --all in text: those groups come under a title of their own, the lines' fields kept
    code, out, err = cli("places", "--all")
    assert code == 0, err
    assert "1 candidate place\n" in err
    assert "1 group looking like no place (portraits, pets, food)" in err
    lines = [line.split("\t") for line in out.splitlines()]
    assert [Path(f[3]).parent.name for f in lines] == ["square"] * 3 + ["faces"] * 3
    assert {f[0] for f in lines[3:]} == {every["faces"]["id"]}
    # a group left out can still be named, by the id --all shows
    code, out, err = cli("places", "name", every["faces"]["id"], "Studio", "--json")
    assert code == 0, err
    assert json.loads(out)["examples"] == 3


def test_places_with_nothing_to_group_says_so_on_stderr(library: Path) -> None:
    code, out, err = cli("places", "--min-photos", "50")
    assert code == 0 and out == "" and "No candidate places" in err


@pytest.mark.parametrize(("bar", "listed", "hidden"), [
    (0.1, {"faces", "square"}, 0),  # both groups come within 0.1 of a landmark
    (0.9, set(), 2),  # neither comes within 0.9
])
def test_places_uses_the_likeness_bar_measured_for_the_bundle(
        portraits_and_a_place: Path, bar: float, listed: set[str], hidden: int) -> None:
    from photolm import places
    from photolm.bundle import read_bundle

    bundle = read_bundle(os.environ["PHOTOLM_MODEL"])
    load_script("eval_enrolment").write_places(bundle, "descriptor", places.CUTS["descriptor"], bar)
    assert places.likeness_for(read_bundle(bundle.path)) == bar
    code, out, err = cli("places", "--json")
    assert code == 0, err
    assert {Path(g["photos"][0]).parent.name for g in json.loads(out)} == listed
    assert (f"{hidden} groups not listed, looking like no place" in err) == bool(hidden)


def test_places_refuses_a_bundle_with_a_bad_places_value(portraits_and_a_place: Path) -> None:
    manifest_path = Path(os.environ["PHOTOLM_MODEL"]) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["metrics"]["places"] = {"likeness": "high"}
    manifest_path.write_text(json.dumps(manifest))
    code, out, err = cli("places", "--json")
    assert code != 0 and out == ""
    (line,) = err.strip().splitlines()
    assert line.startswith("Error:") and "metrics.places likeness 'high' is not" in line


@pytest.mark.parametrize("stem", [b"new\nline", b"caf\xe9 \xff"],
                         ids=["control-character", "not-utf-8"])
def test_places_json_paths_are_printable_as_list_json_paths(env: Path, tmp_path: Path,
                                                            stem: bytes) -> None:
    """A file name may hold a newline or bytes that are not UTF-8: ``places --json`` shows
    its photos, examples and their RAWs the way ``list --json`` shows the same files (one
    printable line each, ``\\n`` and ``\\xNN`` escapes), and never fails on them."""
    lib = tmp_path / "lib"
    odd = Path(os.fsdecode(os.fsencode(lib) + b"/" + stem + b".jpg"))
    photos = [odd, *(lib / f"cyan{i}.jpg" for i in range(1, 3))]
    lib.mkdir()
    try:
        odd.touch()
    except (OSError, UnicodeError):
        pytest.skip("this file system refuses such a name")
    for i, photo in enumerate(photos):
        write_photo(photo, (CYAN[0] + i, CYAN[1], CYAN[2]))
    odd.with_suffix(".CR2").write_bytes(b"a RAW: paired by its name, never read")
    code, _, err = cli("scan", lib, "--quiet")
    assert code == 0, err
    code, out, err = cli("list", "--json")
    assert code == 0, err
    listed = {r["path"]: r["companions"] for r in json.loads(out)}
    code, out, err = cli("places", "--json")
    assert code == 0 and "Traceback" not in err, err
    (group,) = json.loads(out)
    assert sorted(group["photos"]) == sorted(listed)  # the same strings as list --json
    assert set(group["examples"]) <= set(listed)
    shown = next(p for p in listed if listed[p])  # the odd photo, the one with a RAW
    assert group["companions"] == {shown: listed[shown]}
    assert all(p.isprintable() for p in [*listed, *listed[shown]])


def test_learn_from_a_photo_whose_name_is_not_utf8(env: Path, tmp_path: Path) -> None:
    """The catalogue keeps such a name as its bytes; learning from it once failed with a
    traceback (UnicodeEncodeError) while storing the example's display path."""
    lib = tmp_path / "lib"
    odd = not_utf8_name(lib)
    write_photo(odd, CYAN)
    write_photo(lib / "cyan1.jpg", (CYAN[0] + 1, CYAN[1], CYAN[2]))
    assert cli("scan", lib, "--quiet")[0] == 0
    code, out, err = cli("learn", "Old Bridge", odd, "--json")
    assert code == 0 and "Traceback" not in err, err
    assert json.loads(out)["examples"] == 1
    assert _listing()["cyan1.jpg"] == "Old Bridge"
    assert cli("unlearn", "Old Bridge")[0] == 0


def test_learn_takes_the_examples_gps_position_when_they_agree(library: Path) -> None:
    """Examples taken at one place give a learned landmark their position, and with it GPS
    evidence: a look-alike photo taken on another continent is not given the name."""
    from tests.test_geo_scan import gps_exif

    write_photo(library / "gps" / "a.jpg", CYAN, exif=gps_exif(49.41360, 8.71010))
    write_photo(library / "gps" / "b.jpg", CYAN, exif=gps_exif(49.41420, 8.71090))
    write_photo(library / "gps" / "far.jpg", CYAN, exif=gps_exif(-33.8568, 151.2153))
    assert cli("scan", library, "--quiet")[0] == 0
    code, out, err = cli("learn", "Old Bridge", library / "gps" / "a.jpg",
                         library / "gps" / "b.jpg", library / "cyan0.jpg", "--json")
    assert code == 0, err
    result = json.loads(out)
    where = result["position_from_examples"]
    assert where["used"] is True and where["photos"] == 2 and where["spread_km"] < 0.1
    assert result["landmark"]["latitude"] == pytest.approx(49.4139, abs=1e-4)
    assert result["landmark"]["longitude"] == pytest.approx(8.7105, abs=1e-4)
    shown = _listing()
    assert shown["cyan1.jpg"] == "Old Bridge" and shown["far.jpg"] is None
    code, out, err = cli("learn", "Old Bridge", library / "cyan1.jpg")
    assert code == 0 and "position from" not in err  # it has one now: examples add to it


def test_learn_sets_no_position_from_examples_taken_far_apart(library: Path) -> None:
    from tests.test_geo_scan import gps_exif

    write_photo(library / "gps" / "here.jpg", CYAN, exif=gps_exif(49.4136, 8.7101))
    write_photo(library / "gps" / "there.jpg", CYAN, exif=gps_exif(48.8584, 2.2945))
    assert cli("scan", library, "--quiet")[0] == 0
    code, out, err = cli("learn", "Old Bridge", library / "gps", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["position_from_examples"]["used"] is False
    assert result["position_from_examples"]["spread_km"] > 100
    assert result["landmark"]["latitude"] is None
    code, _, err = cli("learn", "Stone Bridge", library / "gps")
    assert code == 0
    assert "more than one place: no position set" in " ".join(err.split())
    # given coordinates win, and the examples' GPS is then not consulted
    code, out, _ = cli("learn", "Third Bridge", library / "gps" / "here.jpg", "--lat", "1",
                       "--lon", "2", "--json")
    result = json.loads(out)
    assert code == 0 and result["position_from_examples"] is None
    assert (result["landmark"]["latitude"], result["landmark"]["longitude"]) == (1, 2)


def test_an_unknown_name_says_photolm_not_the_model_once_landmarks_are_taught(
        library: Path) -> None:
    """"The model does not know ..." was said of names looked up among the model's
    landmarks and the learned ones alike; with learned ones it says photolm, and counts
    both kinds (search and confirm --landmark share the sentence)."""
    import re

    code, _, err = cli("search", "Edinburgh Castle")
    assert code == 1 and err.startswith("The model does not know 'Edinburgh Castle': "), err
    (model,) = map(int, re.findall(r"among the (\d+) landmarks it recognises \(", err))
    assert cli("learn", "Old Bridge", library / "cyan0.jpg")[0] == 0
    said = ("photolm does not know 'Edinburgh Castle': no landmark, city or country of that "
            f"name among the {model + 1} landmarks it recognises, {model} from the model and "
            "1 you taught it (photolm landmarks lists them).")
    code, _, err = cli("search", "Edinburgh Castle")
    assert code == 1 and err.strip() == said, err
    code, _, err = cli("confirm", library / "cyan1.jpg", "--landmark", "Edinburgh Castle")
    assert code == 1 and err.strip() == f"Error: {said}", err
    code, _, err = cli("search", "Colosiumx Arena")
    assert code == 1 and err.strip() == ("photolm does not know 'Colosiumx Arena'. "
                                         "Did you mean Colosseum?"), err


def test_unlearn_says_how_many_photos_showed_it_and_show_it_now(library: Path) -> None:
    """unlearn said "forgot Old Bridge: N photos changed", N counting every photo whose
    list of candidates lost it (38 in a library where it named 6), which read as 38
    photos losing a landmark. It says how many showed it, and how many still do (your
    answers), as learn says how many show it."""
    assert cli("learn", "Old Bridge", library / "cyan0.jpg")[0] == 0
    assert cli("confirm", library / "cyan1.jpg")[0] == 0  # confirms "Old Bridge"
    code, out, err = cli("unlearn", "Old Bridge", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert (result["photos_before"], result["photos"]) == (3, 1)
    assert cli("learn", "Old Bridge", library / "cyan0.jpg")[0] == 0
    code, _, err = cli("unlearn", "Old Bridge")
    assert code == 0
    assert err.strip() == ("forgot Old Bridge: 3 photos showed it, 1 now; 1 photo keeps "
                           "your answer"), err
    # the Eiffel Tower photos and the cyan ones but cyan1, which keeps your answer
    assert cli("learn", "Eiffel Tower", library / "cyan0.jpg")[0] == 0
    code, _, err = cli("unlearn", "Eiffel Tower")
    assert code == 0
    assert err.strip() == ("forgot the examples added to Eiffel Tower: 4 photos showed it, "
                           "2 now"), err


def test_a_name_with_a_line_break_or_tab_is_learned_on_one_line(library: Path) -> None:
    """A name pasted with a line break ("Old\\nBridge") was stored as it was: `learn` then
    printed it on two lines and `landmarks | ...` gave it two lines, one without its
    tab-separated fields. Runs of spaces, tabs and line breaks in a name, alias, city or
    country are one space; another control character (an escape sequence that would drive
    the terminal) is refused in one line."""
    code, out, err = cli("learn", "Old\nBridge", library / "cyan0.jpg", "--alias",
                         "Alte\tBrücke ", "--city", " Heidel\r\nberg", "--json")
    assert code == 0, err
    landmark = json.loads(out)["landmark"]
    assert (landmark["name"], landmark["aliases"], landmark["city"]) == (
        "Old Bridge", ["Alte Brücke"], "Heidel berg")
    code, out, _ = cli("landmarks")
    assert code == 0 and "Old Bridge\tHeidel berg\t3\tlearned\n" in out
    code, out, err = cli("learn", "Old \x1b[2J Bridge", library / "cyan0.jpg")
    assert code == 2 and not out and err.count("\n") == 1
    assert err.startswith("Error: ") and "control character" in err, err
