# SPDX-License-Identifier: GPL-3.0-or-later
"""Latin letters that accents cannot explain ("Ø", "ß", "Ł", "æ", "đ", "ı") are spelled in
ASCII wherever photolm folds or slugs a name: "Oresund" finds "Øresund Bridge", whose
learned id and training folder are "oresund-bridge", not "resund-bridge"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from photolm.textfold import ascii_slug, latin_ascii, normalise
from tests.clirun import cli
from tests.test_learn_cli import colour_library


@pytest.mark.parametrize(("name", "spelled"), [
    ("Øresund Bridge", "Oresund Bridge"), ("Straße", "Strasse"), ("Łódź", "Lódź"),
    ("Æbeltoft", "Aebeltoft"), ("Đà Nẵng", "Dà Nẵng"), ("Kadıköy", "Kadiköy"),
    ("Þingvellir", "Thingvellir"), ("Œuvre", "Oeuvre"),
    # accents, other scripts and ASCII are left to the folding that always did them
    ("Chichén Itzá", "Chichén Itzá"), ("老桥 Кремль", "老桥 Кремль"), ("plain", "plain")])
def test_only_the_letters_decomposing_cannot_bring_to_ascii_are_spelled(
        name: str, spelled: str) -> None:
    assert latin_ascii(name) == spelled


@pytest.mark.parametrize(("typed", "stored"), [
    ("Oresund Bridge", "Øresund Bridge"), ("Lodz", "Łódź"), ("strasse", "Straße"),
    ("kadikoy", "Kadıköy"), ("Aeroskobing", "Ærøskøbing"), ("Thingvellir", "Þingvellir")])
def test_a_name_typed_in_ascii_folds_as_the_name_with_its_letters(typed: str,
                                                                  stored: str) -> None:
    assert normalise(typed) == normalise(stored)


def test_slugs_spell_the_letters() -> None:
    assert ascii_slug("Øresund Bridge", "x") == "oresund-bridge"
    assert ascii_slug("Cầu Rồng", "x") == "cau-rong"
    assert ascii_slug("老桥", "place") == "place"


def test_oresund_finds_the_learned_øresund_bridge(env: Path, tmp_path: Path) -> None:
    library = colour_library(tmp_path)
    code, out, err = cli("learn", "Øresund Bridge", library / "cyan0.jpg",
                         library / "cyan1.jpg", "--json")
    assert code == 0, err
    assert json.loads(out)["landmark"]["id"] == "learned:oresund-bridge"
    for query in ("Oresund", "oresund bridge", "Øresund Bridge"):
        code, out, err = cli("search", query, "--json")
        assert code == 0, (query, err)
        found = sorted(Path(r["path"]).name for r in json.loads(out))
        assert found == [f"cyan{i}.jpg" for i in range(3)], query
    code, _, err = cli("export-dataset", tmp_path / "dataset")
    assert code == 0, err
    assert (tmp_path / "dataset" / "oresund-bridge").is_dir()
