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


@pytest.fixture
def scanned_with_other(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                       ) -> tuple[Path, Path, Path]:
    """A photo scanned with model OTHER (the Eiffel Tower in "Test Province", ZZ) and ENV, a
    model that knows the same landmark elsewhere; returns (photo, other, env)."""
    other = bundle_with_places(tmp_path / "other", {"eiffel-tower": ("Test Province", "ZZ")})
    env = bundle_with_places(tmp_path / "env", {"eiffel-tower": ("Île-de-France", "FR")})
    monkeypatch.setenv("PHOTOLM_CATALOG", str(tmp_path / "catalog.sqlite"))
    photo = write_photo(tmp_path / "lib" / "eiffel.jpg", COLOURS["eiffel-tower"])
    assert cli("scan", photo.parent, "--model", other, "--quiet")[0] == 0
    return photo, other, env


def test_tag_takes_a_landmarks_place_from_the_model_that_recognised_it(
        scanned_with_other: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch,
        exiftool: str) -> None:
    photo, _other, env = scanned_with_other
    # the model photolm would use otherwise (shipped, or env) knows the landmark elsewhere
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
        scanned_with_other: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch,
        exiftool: str) -> None:
    import shutil

    photo, other, env = scanned_with_other
    shutil.rmtree(other)
    monkeypatch.setenv("PHOTOLM_MODEL", str(env))
    code, _, err = cli("tag")
    assert code == 0, err
    tags = exiftool_json(Path(f"{photo}.xmp"))
    assert (tags.get("XMP-photoshop:State"), tags.get("XMP-iptcCore:CountryCode")) == (
        "Île-de-France", "FR")
