# SPDX-License-Identifier: GPL-3.0-or-later
"""``photolm search`` by name, through the CLI: other scripts, unknown names, places (issue 10.14).

The catalogue is scanned with a tiny bundle whose landmark records are the shipped model's
own (multilingual aliases, real place fields), so what is searched is what users get.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from photolm.bundle import default_bundle_path, read_bundle
from tests.clirun import cli as run
from tests.tinybundle import COLOURS, make_tiny_bundle, write_photo

# Extra solid colours for landmarks the tiny bundle does not have (far from its four).
EXTRA_COLOURS = {
    "big-ben": (240, 140, 20),
    "qutub-minar": (20, 20, 20),
    "india-gate": (245, 245, 245),
    "gateway-of-india": (200, 40, 200),
    "charminar": (40, 210, 210),
    "hawa-mahal": (120, 60, 20),
}


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Scanned once: photos of the Eiffel Tower (2) and the Taj Mahal (1)."""
    root = tmp_path_factory.mktemp("names-cli")
    with pytest.MonkeyPatch.context() as mp:
        for landmark_id, colour in EXTRA_COLOURS.items():
            mp.setitem(COLOURS, landmark_id, colour)
        shipped = {lm.id: lm for lm in read_bundle(default_bundle_path()).landmarks}
        wanted = ["eiffel-tower", "colosseum", "taj-mahal", "cologne-cathedral",
                  *EXTRA_COLOURS]
        make_tiny_bundle(root / "bundle", landmarks=[shipped[i] for i in wanted])
    photos = root / "Pictures"
    write_photo(photos / "paris" / "eiffel1.jpg", COLOURS["eiffel-tower"])
    write_photo(photos / "paris" / "eiffel2.jpg", COLOURS["eiffel-tower"])
    write_photo(photos / "agra" / "taj.jpg", COLOURS["taj-mahal"])
    catalog = root / "catalog.sqlite"
    code, _, err = run("scan", photos, "--model", root / "bundle", "--catalog", catalog)
    assert code == 0, err
    return catalog


def search(catalog: Path, *args: str) -> tuple[int, list[dict] | None, str, str]:
    code, out, json_err = run("search", *args, "--catalog", catalog, "--json")
    code_text, text_out, text_err = run("search", *args, "--catalog", catalog)
    assert code_text == code
    if code:  # a failure is explained on stderr with --json too
        assert json_err == text_err
    data = json.loads(out) if out.strip() else None
    return code, data, " ".join(text_out.split()), " ".join(text_err.split())


@pytest.mark.parametrize("query", [
    "埃菲尔铁塔", "艾菲爾鐵塔", "エッフェル塔", "에펠탑", "에펠 탑", "برج إيفل", "برج ايفل",
    "एफ़िल टॉवर", "एफिल टावर", "Эйфелева башня", "Torre Eiffel", "Eiffelturm",
    "埃菲尔塔",  # one character left out: still a close spelling
])
def test_names_in_the_visitors_languages_find_the_landmark(catalogue: Path, query: str) -> None:
    code, hits, _, _ = search(catalogue, query)
    assert code == 0
    assert hits and {h["landmark"] for h in hits} == {"Eiffel Tower"} and len(hits) == 2


@pytest.mark.parametrize("query", ["大钟", "大本", "铁塔", "塔", "天坛", "대"])
def test_short_chinese_japanese_korean_queries_do_not_match_by_accident(
    catalogue: Path, query: str
) -> None:
    """"大钟" (a big clock) is 80 % similar to "大本钟" (Big Ben) by character count."""
    code, hits, _, err = search(catalogue, query)
    assert (code, hits) == (1, [])
    assert f"The model does not know {query!r}:" in err and "Did you mean" not in err


def test_indic_vowel_signs_are_part_of_the_word(catalogue: Path) -> None:
    """"तीज" (Teej) and "ताज" (Taj) differ only in a vowel sign, which must not be dropped."""
    code, hits, _, _ = search(catalogue, "ताज")
    assert code == 0 and {h["landmark"] for h in hits} == {"Taj Mahal"}
    code, hits, _, _ = search(catalogue, "तीज")
    assert (code, hits) == (1, [])


def test_unknown_landmark_is_said_plainly_without_irrelevant_suggestions(
    catalogue: Path,
) -> None:
    code, hits, out, err = search(catalogue, "Edinburgh Castle")
    assert (code, hits, out) == (1, [], "")
    assert err == ("The model does not know 'Edinburgh Castle': no landmark, city or country "
                   "of that name among the 10 landmarks it recognises (photolm landmarks "
                   "lists them).")


def test_near_miss_suggests_only_what_is_close(catalogue: Path) -> None:
    code, hits, _, err = search(catalogue, "Colosiumx Arena")
    assert (code, hits) == (1, [])
    assert err == "The model does not know 'Colosiumx Arena'. Did you mean Colosseum?"


@pytest.mark.parametrize("query", ["", "   ", "...", "'"])
def test_empty_query_is_a_usage_error(catalogue: Path, query: str) -> None:
    code, out, err = run("search", query, "--catalog", catalogue)
    assert code == 2 and out == ""
    assert "Give a landmark, alias, city or country to search for" in err


def test_empty_query_is_a_usage_error_before_any_scan(tmp_path: Path) -> None:
    code, _, err = run("search", " ", "--catalog", tmp_path / "none.sqlite")
    assert code == 2 and "Give a landmark" in err and not (tmp_path / "none.sqlite").exists()


def test_a_country_with_many_landmarks_reads_well(catalogue: Path) -> None:
    code, hits, out, err = search(catalogue, "India")
    assert code == 0 and [h["landmark"] for h in hits] == ["Taj Mahal"]
    # the landmark with photos first, then a count instead of six names (the title is on
    # stderr when stdout is not a terminal)
    assert ("1 photo of landmarks in India (Taj Mahal, Charminar, Gateway of India and "
            "3 others)") in f"{err} {out}"


def test_a_place_with_no_photos_yet(catalogue: Path) -> None:
    code, hits, _, err = search(catalogue, "Germany")
    assert (code, hits) == (0, [])
    assert err == "No photos of Cologne Cathedral (in Germany) in the catalogue yet."


@pytest.mark.parametrize(("query", "landmark", "photos"), [
    ("big ben london", "Big Ben", 0), ("colosseo rome", "Colosseum", 0),
    ("taj agra", "Taj Mahal", 1), ("eiffel paris france", "Eiffel Tower", 2),
])
def test_a_name_with_its_city_or_country_finds_the_landmark(
    catalogue: Path, query: str, landmark: str, photos: int
) -> None:
    code, hits, _, err = search(catalogue, query)
    assert code == 0 and [h["landmark"] for h in hits] == [landmark] * photos
    if not photos:
        assert err == f"No photos of {landmark} in the catalogue yet."


@pytest.mark.parametrize(("query", "landmark"), [
    ("巴黎", "Eiffel Tower"), ("パリ", "Eiffel Tower"), ("Parigi", "Eiffel Tower"),
    ("Frankreich", "Eiffel Tower"), ("印度", "Taj Mahal"), ("भारत", "Taj Mahal"),
    ("Inde", "Taj Mahal"), ("الهند", "Taj Mahal"), ("आगरा", "Taj Mahal"),
])
def test_places_in_the_visitors_languages(catalogue: Path, query: str, landmark: str) -> None:
    code, hits, _, _ = search(catalogue, query)
    assert code == 0 and hits and {h["landmark"] for h in hits} == {landmark}
