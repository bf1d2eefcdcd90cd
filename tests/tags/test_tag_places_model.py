# SPDX-License-Identifier: GPL-3.0-or-later
"""``photolm tag`` writes a landmark's region and ISO country code (which the catalogue does
not keep) from the model that recognised it: it took them from the shipped model (or
``$PHOTOLM_MODEL``'s) instead, so after ``photolm scan --model OTHER`` the tags said what
another model knows about a landmark of the same id and name."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.clirun import cli
from tests.tags.photos import exiftool_json
from tests.tinybundle import COLOURS, LANDMARKS, make_tiny_bundle, write_photo


def bundle_with_places(folder: Path, places: dict[str, tuple[str, str]]) -> Path:
    """The tiny bundle, its landmarks given these (region, country code)."""
    make_tiny_bundle(folder, landmarks=[
        replace(lm, region=places[lm.id][0], country_code=places[lm.id][1])
        if lm.id in places else lm for lm in LANDMARKS], name=folder.name)
    return folder


def test_tag_takes_a_landmarks_place_from_the_model_that_recognised_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exiftool: str) -> None:
    other = bundle_with_places(tmp_path / "other", {"eiffel-tower": ("Test Province", "ZZ")})
    # the model photolm would use otherwise knows the same landmark elsewhere
    env = bundle_with_places(tmp_path / "env", {"eiffel-tower": ("Île-de-France", "FR")})
    monkeypatch.setenv("PHOTOLM_CATALOG", str(tmp_path / "catalog.sqlite"))
    photo = write_photo(tmp_path / "lib" / "eiffel.jpg", COLOURS["eiffel-tower"])
    assert cli("scan", photo.parent, "--model", other, "--quiet")[0] == 0
    for given in (None, env):  # the shipped model, $PHOTOLM_MODEL
        if given is not None:
            monkeypatch.setenv("PHOTOLM_MODEL", str(given))
        code, _, err = cli("tag")
        assert code == 0, err
        tags = exiftool_json(Path(f"{photo}.xmp"))
        assert tags.get("XMP-photoshop:City") == "Paris"
        assert tags.get("XMP-photoshop:State") == "Test Province"
        assert tags.get("XMP-iptcCore:CountryCode") == "ZZ"


def test_once_that_model_is_gone_the_place_comes_from_the_one_photolm_would_use(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exiftool: str) -> None:
    import shutil

    other = bundle_with_places(tmp_path / "other", {"eiffel-tower": ("Test Province", "ZZ")})
    env = bundle_with_places(tmp_path / "env", {"eiffel-tower": ("Île-de-France", "FR")})
    monkeypatch.setenv("PHOTOLM_CATALOG", str(tmp_path / "catalog.sqlite"))
    photo = write_photo(tmp_path / "lib" / "eiffel.jpg", COLOURS["eiffel-tower"])
    assert cli("scan", photo.parent, "--model", other, "--quiet")[0] == 0
    shutil.rmtree(other)
    monkeypatch.setenv("PHOTOLM_MODEL", str(env))
    code, _, err = cli("tag")
    assert code == 0, err
    tags = exiftool_json(Path(f"{photo}.xmp"))
    assert (tags.get("XMP-photoshop:State"), tags.get("XMP-iptcCore:CountryCode")) == (
        "Île-de-France", "FR")
