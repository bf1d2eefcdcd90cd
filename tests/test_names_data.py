# SPDX-License-Identifier: GPL-3.0-or-later
"""The curated names/places table, and the shipped bundle that carries it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from export.errors import ExportError
from export.landmark_names import (
    DATA_FILE,
    PLACE_FIELDS,
    load_landmark_names,
    main,
    refresh_bundle,
    with_landmark_names,
)
from photolm.bundle import Landmark, default_bundle_path, read_bundle

TABLE = load_landmark_names()
SHIPPED = read_bundle(default_bundle_path())  # also verifies every checksum in the manifest
# Words that name an area, a site or an administrative unit, never a town.
NOT_A_TOWN = ("national park", "district", "complex", "section", "archaeological", "region")


def test_every_shipped_landmark_is_in_the_table() -> None:
    assert {lm.id for lm in SHIPPED.landmarks} == set(TABLE)


def test_shipped_bundle_carries_the_table() -> None:
    """landmarks.json was refreshed from the table (and a re-export keeps it that way)."""
    for lm in SHIPPED.landmarks:
        record = TABLE[lm.id]
        assert {f: getattr(lm, f) for f in PLACE_FIELDS} == {f: record[f] for f in PLACE_FIELDS}
        names = [n for ns in record["names"].values() for n in ns]
        assert set(names) - {lm.name} <= set(lm.aliases), lm.id


@pytest.mark.parametrize("lm", SHIPPED.landmarks, ids=lambda lm: lm.id)
def test_place_fields_are_real_places(lm: Landmark) -> None:
    for value in (lm.city, lm.region, lm.country):
        if value is not None:
            assert not any(c in value for c in "(),;/"), f"{lm.id}: {value!r} is not one place"
            assert not any(w in value.casefold() for w in NOT_A_TOWN), f"{lm.id}: {value!r}"
    if lm.country is not None:
        assert lm.country_code is not None and len(lm.country_code) == 2
        assert lm.country_code.isascii() and lm.country_code.isupper()


def test_one_code_per_country_and_one_country_per_code() -> None:
    pairs = {(lm.country, lm.country_code) for lm in SHIPPED.landmarks if lm.country}
    assert len({c for c, _ in pairs}) == len({k for _, k in pairs}) == len(pairs)


def test_no_city_for_landmarks_outside_towns() -> None:
    outside = {lm.id: lm.city for lm in SHIPPED.landmarks
               if lm.id in ("angel-falls", "mount-fuji", "machu-picchu", "stonehenge")}
    assert outside == dict.fromkeys(outside, None) and len(outside) == 4
    falls = next(lm for lm in SHIPPED.landmarks if lm.id == "angel-falls")
    assert (falls.region, falls.country, falls.country_code) == ("Bolívar", "Venezuela", "VE")


def test_major_languages_are_covered_for_world_landmarks() -> None:
    """Landmarks visited from everywhere have names in the languages their visitors read."""
    major = {"zh-Hans", "ja", "ko", "ru", "ar", "hi"}
    for landmark_id in ("eiffel-tower", "colosseum", "great-wall-of-china", "taj-mahal",
                        "pyramids-of-giza", "statue-of-liberty", "leaning-tower-of-pisa"):
        languages = set(TABLE[landmark_id]["names"])
        assert major <= languages, landmark_id
        if landmark_id != "taj-mahal":  # "Taj Mahal" in every European language
            assert {"es", "fr", "de", "it", "pt"} <= languages, landmark_id


def test_merge_keeps_existing_aliases_first_and_leaves_unknown_ids_alone() -> None:
    eiffel = Landmark("eiffel-tower", "Eiffel Tower", ("Tour Eiffel", "my tower"),
                      city="Paris (7e)", country="France")
    other = Landmark("my-house", "My House", ("home",), city="Springfield")
    merged, untouched = with_landmark_names([eiffel, other])
    assert merged.aliases[:2] == ("Tour Eiffel", "my tower")
    assert "埃菲尔铁塔" in merged.aliases and merged.aliases.count("Tour Eiffel") == 1
    assert (merged.city, merged.region, merged.country_code) == ("Paris", "Île-de-France", "FR")
    assert untouched == other


def test_table_typos_fail_the_export(tmp_path: Path) -> None:
    bad = tmp_path / "names.json"
    record = {**TABLE["eiffel-tower"], "country_code": "FRA"}
    bad.write_text(json.dumps({"eiffel-tower": record}), encoding="utf-8")
    with pytest.raises(ExportError, match="ISO 3166-1"):
        load_landmark_names(bad)
    bad.write_text(json.dumps({"eiffel-tower": {**record, "country_code": "FR",
                                                "contry": "France"}}), encoding="utf-8")
    with pytest.raises(ExportError, match="unknown fields"):
        load_landmark_names(bad)


def test_refresh_rewrites_a_bundle_that_still_verifies(tiny_bundle_dir: Path,
                                                      tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    bundle_dir = tmp_path / "bundle"
    shutil.copytree(tiny_bundle_dir, bundle_dir)
    before = read_bundle(bundle_dir)
    assert main([str(bundle_dir)]) == 0
    after = read_bundle(bundle_dir)
    assert after.model_id == before.model_id  # the network is untouched: no re-embedding
    assert after.threshold == before.threshold
    assert after.provenance["landmark_names"]["file"] == DATA_FILE.name
    eiffel = next(lm for lm in after.landmarks if lm.id == "eiffel-tower")
    assert eiffel.country_code == "FR" and "Эйфелева башня" in eiffel.aliases
    assert "landmarks updated" in capsys.readouterr().err
    assert refresh_bundle(bundle_dir).landmarks == after.landmarks  # idempotent


def test_place_names_are_for_shipped_places_and_never_ambiguous() -> None:
    from photolm.names import _place_names, normalise

    places = {normalise(p) for lm in SHIPPED.landmarks
              for p in (lm.city, lm.region, lm.country) if p}
    table = _place_names()
    assert set(table) <= places  # a typo in a key would silently translate nothing
    owners: dict[str, str] = {}
    for place, names in table.items():
        for name in names:
            assert owners.setdefault(name, place) == place, f"{name!r}: {owners[name]}, {place}"
            assert name not in places or name == place, f"{name!r} is itself a shipped place"


def test_landmarks_command_shows_the_place_hierarchy() -> None:
    from tests.clirun import cli

    code, out, _ = cli("landmarks", "--json")
    rows = {r["id"]: r for r in json.loads(out)}
    assert code == 0 and len(rows) == len(SHIPPED.landmarks)
    falls = rows["angel-falls"]
    assert (falls["city"], falls["region"], falls["country"], falls["country_code"]) == (
        None, "Bolívar", "Venezuela", "VE")
    code, out, _ = cli("landmarks")
    assert "Angel Falls" in out and "Bolívar, Venezuela" in " ".join(out.split())
    burj = rows["burj-khalifa"]  # a city its region is named for: said once for a person
    assert (burj["city"], burj["region"]) == ("Dubai", "Dubai")
    (line,) = [line.split("\t") for line in out.splitlines() if line.startswith("Burj")]
    assert line[1] == "Dubai, United Arab Emirates"


def test_indian_landmarks_have_hindi_names() -> None:
    """README: India's landmarks carry their Hindi names (most visitors read Devanagari)."""
    indian = [i for i, r in TABLE.items() if r["country_code"] == "IN"]
    assert len(indian) == 24
    assert [i for i in indian if "hi" not in TABLE[i]["names"]] == []
