# SPDX-License-Identifier: GPL-3.0-or-later
"""A value typed well that names nothing photolm knows (a landmark, a learned landmark, a
place id) is a data error: exit 1 with one ``Error:`` line, the closest names offered where
photolm has some; only a malformed value (an empty name) is a usage error, exit 2.

``confirm --landmark`` used to exit 2 for an unknown name while ``places name`` exited 1 for
an unknown id: a script could not tell "I called photolm wrongly" from "that is not there".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.clirun import cli
from tests.test_learn_cli import colour_library


@pytest.fixture
def library(env: Path, tmp_path: Path) -> Path:
    """The colour library, with one learned landmark (Old Bridge: the cyan photos)."""
    lib = colour_library(tmp_path)
    code, _, err = cli("learn", "Old Bridge", lib / "cyan0.jpg", "--quiet")
    assert code == 0, err
    return lib


# (what is typed, the one line it must get); the photo is added by the test
NAMES_NOTHING = [
    (("confirm", "--landmark", "Colosiumx Arena"),
     "Error: photolm does not know 'Colosiumx Arena'. Did you mean Colosseum?"),
    (("confirm", "--landmark", "xyzzy"),
     "Error: photolm does not know 'xyzzy': no landmark, city or country of that name among "
     "the 5 landmarks it recognises, 4 from the model and 1 you taught it (photolm landmarks "
     "lists them)."),
    (("confirm", "--landmark", "Paris"),
     "Error: 'Paris' is a place, not a landmark; landmarks there: Eiffel Tower. Give the "
     "landmark's name."),
    (("unlearn", "Old Brige"),
     "Error: No learned landmark is called 'Old Brige' (learned: Old Bridge). Did you mean "
     "Old Bridge?"),
    (("unlearn", "xyzzy"), "Error: No learned landmark is called 'xyzzy' (learned: Old Bridge)."),
    (("unlearn", "Eiffel Tower"),
     "Error: Eiffel Tower is one of the model's landmarks and you added no example photos to "
     "it: unlearn forgets only what you taught (learned: Old Bridge)."),
    (("learn", "Old Brige"),
     "Error: 'Old Brige' is not a landmark photolm knows, but almost 'Old Bridge': give that "
     "name to add these photos to it, or --new to learn a new landmark by this name."),
    (("places", "name", "pl-nothere", "Market"),
     "Error: No place 'pl-nothere' now; `photolm places` lists the current groups' ids."),
    (("places", "name", "pl-nothere", "Old Brige"),
     "Error: 'Old Brige' is not a landmark photolm knows, but almost 'Old Bridge': give that "
     "name to add these photos to it, or --new to learn a new landmark by this name."),
]


@pytest.mark.parametrize("typed,said", NAMES_NOTHING, ids=[" ".join(t) for t, _ in NAMES_NOTHING])
def test_a_name_or_id_that_names_nothing_exits_1_in_one_line(
        library: Path, typed: tuple[str, ...], said: str) -> None:
    photo = library / "cyan1.jpg"
    args = (*typed, photo) if typed[0] in ("confirm", "learn") else typed
    code, out, err = cli(*args)
    assert (code, out, err) == (1, "", said + "\n")


def test_search_for_a_name_that_names_nothing_exits_1_too(library: Path) -> None:
    """search answers as grep: found nothing, exit 1 (its line is an answer, not an Error:)."""
    code, out, err = cli("search", "Colosiumx Arena")
    assert (code, out, err) == (1, "", "photolm does not know 'Colosiumx Arena'. Did you mean "
                                "Colosseum?\n")


def test_a_name_with_nothing_in_it_stays_a_usage_error(library: Path) -> None:
    """The contrast: an empty name is the command line's fault, exit 2."""
    code, _, err = cli("confirm", library / "cyan1.jpg", "--landmark", " ")
    assert (code, err) == (2, "Error: Give the landmark's name, e.g. --landmark \"Eiffel "
                              "Tower\".\n")
    code, _, err = cli("learn", " ", library / "cyan1.jpg")
    assert (code, err) == (2, "Error: The landmark needs a name.\n")


def test_export_dataset_with_nothing_to_export_is_a_data_error(env: Path, tmp_path: Path) -> None:
    """A catalogue with no answer and no learned landmark has nothing to export: the command
    line was right, so exit 1 (it exited 2, a usage error's status), and nothing is made."""
    colour_library(tmp_path)
    code, out, err = cli("export-dataset", tmp_path / "dataset")
    assert (code, out) == (1, "") and len(err.splitlines()) == 1, err
    assert err.startswith("Error: Nothing to export yet: teach photolm a place"), err
    assert not (tmp_path / "dataset").exists()


def test_the_desktop_refuses_a_near_miss_name_in_the_clis_sentence(
        library: Path, tiny_bundle_dir: Path) -> None:
    """``learn`` and the desktop's "name this place" say one sentence
    (:func:`photolm.learning.refuse_near_miss`), each naming its own way past it: the
    command line's ``--new``, the page's tick box."""
    pytest.importorskip("starlette", reason="the desktop extra is not installed")
    from photolm.bundle import read_bundle
    from photolm.catalog import Catalog, resolve_catalog_path
    from photolm.desktop.places import plan_naming
    from photolm.errors import NotKnownError

    code, _, err = cli("learn", "Old Brige", library / "cyan1.jpg")
    assert code == 1
    with Catalog.open(resolve_catalog_path(None), write=False) as cat, \
            pytest.raises(NotKnownError) as refused:
        plan_naming(cat, read_bundle(tiny_bundle_dir), "pl-nothere", "Old Brige")
    page = str(refused.value)
    assert page == ("'Old Brige' is not a landmark photolm knows, but almost 'Old Bridge': "
                    "type that name to add these photos to it, or tick “a new landmark” to "
                    "learn a new one by this name.")
    line = err.removeprefix("Error: ").rstrip("\n")
    assert line.replace("give", "type").replace(
        "--new to learn a new landmark", "tick “a new landmark” to learn a new one") == page
