# SPDX-License-Identifier: GPL-3.0-or-later
"""``LandmarkIndex.resolve``: a person's correction names exactly one landmark, or is refused
with one line saying what could have been meant."""

from __future__ import annotations

import pytest

from photolm.bundle import Landmark
from photolm.errors import NotKnownError, UsageError
from photolm.names import LandmarkIndex

INDEX = LandmarkIndex([
    Landmark("eiffel", "Eiffel Tower", ("Tour Eiffel",), "Paris", "France"),
    Landmark("tokyo", "Tokyo Tower", (), "Tokyo", "Japan"),
    Landmark("colosseum", "Colosseum", ("Colosseo",), "Rome", "Italy"),
    Landmark("louvre", "Louvre", (), "Paris", "France"),
])


@pytest.mark.parametrize("typed,meant", [
    ("Eiffel Tower", "eiffel"), ("tour eiffel", "eiffel"), ("eifel tower", "eiffel"),
    ("colloseum", "colosseum"), ("COLOSSEO", "colosseum"), ("tokio tower", "tokyo"),
])
def test_names_typos_and_aliases_resolve_to_one_landmark(typed: str, meant: str) -> None:
    assert INDEX.resolve(typed).id == meant


def test_a_word_shared_by_several_names_is_ambiguous() -> None:
    with pytest.raises(NotKnownError) as info:
        INDEX.resolve("tower")
    assert str(info.value) == ("'tower' could be Eiffel Tower, Tokyo Tower; give the full "
                               "name.")
    assert info.value.exit_code == 1  # typed well, names no one landmark: no usage error


def test_a_place_is_not_a_landmark() -> None:
    with pytest.raises(NotKnownError, match=r"'Paris' is a place, not a landmark; landmarks "
                                         r"there: Eiffel Tower, Louvre\."):
        INDEX.resolve("Paris")


def test_an_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(NotKnownError) as info:
        INDEX.resolve("Colosiumx Arena")
    assert str(info.value) == "The model does not know 'Colosiumx Arena'. Did you mean Colosseum?"


def test_an_unknown_name_with_nothing_close_gets_no_suggestion() -> None:
    with pytest.raises(NotKnownError) as info:
        INDEX.resolve("Edinburgh Castle")
    assert str(info.value).startswith("The model does not know 'Edinburgh Castle': no landmark")


@pytest.mark.parametrize("typed", ["", "  ", "?!"])
def test_an_empty_name_is_a_usage_error(typed: str) -> None:
    with pytest.raises(UsageError, match="Give the landmark's name"):
        INDEX.resolve(typed)
