# SPDX-License-Identifier: GPL-3.0-or-later
"""classes.csv rows for folders whose names differ only in letter case (``Eiffel/`` and
``eiffel/``, two folders on Linux) each describe their own folder; two rows for the very
same folder name are still refused (docs/training.md: one row per folder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.trainer.conftest import make_dataset
from trainer.data import discover
from trainer.errors import DataError

HEADER = "folder,name,city,country\n"
TWO_CASES = {"Eiffel": ("ellipse", (200, 40, 40)), "eiffel": ("rectangle", (40, 200, 40)),
             "colosseum": ("polygon", (40, 40, 200))}


@pytest.fixture
def two_cases(tmp_path: Path) -> Path:
    root = make_dataset(tmp_path / "photos", per_class=2, classes=TWO_CASES)
    if len({p.name for p in root.iterdir()}) < len(TWO_CASES):
        pytest.skip("this file system folds letter case: Eiffel/ and eiffel/ are one folder")
    return root


@pytest.mark.parametrize("rows", [
    ["eiffel,Eiffel Tower by night,Paris,France", "Eiffel,Tour Eiffel,Paris,France"],
    ["Eiffel,Tour Eiffel,Paris,France", "eiffel,Eiffel Tower by night,Paris,France"],
], ids=["lower case first", "upper case first"])
def test_rows_for_folders_differing_in_case_each_name_their_own_folder(
        two_cases: Path, rows: list[str]) -> None:
    (two_cases / "classes.csv").write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")

    index = discover([two_cases])

    folder_of = {Path(s.path).parent.name: index.classes[s.label].name for s in index.samples}
    assert folder_of == {"Eiffel": "Tour Eiffel", "eiffel": "Eiffel Tower by night",
                         "colosseum": "Colosseum"}


def test_two_rows_for_the_same_folder_are_still_refused(two_cases: Path) -> None:
    csv_file = two_cases / "classes.csv"
    csv_file.write_text(HEADER + "Eiffel,Tour Eiffel,,\neiffel,Eiffel Tower by night,,\n"
                        "Eiffel,Eiffel Tower,,\n", encoding="utf-8")

    with pytest.raises(DataError) as caught:
        discover([two_cases])

    assert str(caught.value) == (f"{csv_file}, line 4: folder 'Eiffel' is already described "
                                 "on line 2; keep one row per folder.")


def test_a_row_in_another_case_still_describes_its_only_folder(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "photos", per_class=2,
                        classes={k: v for k, v in TWO_CASES.items() if k != "eiffel"})
    (root / "classes.csv").write_text(HEADER + "EIFFEL,Tour Eiffel,Paris,France\n",
                                      encoding="utf-8")

    index = discover([root])

    assert sorted(c.name for c in index.classes) == ["Colosseum", "Tour Eiffel"]
