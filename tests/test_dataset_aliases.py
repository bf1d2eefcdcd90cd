# SPDX-License-Identifier: GPL-3.0-or-later
"""Aliases survive ``photolm learn --alias`` -> ``photolm export-dataset`` -> the trainer's
classes.csv reader exactly: an alias holding the separator (``;`` or ``|``), a comma, a
quote or a backslash stays one alias, and the shared data sets' tables read as before."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from photolm.alias_list import join_aliases, split_aliases
from tests.clirun import cli
from tests.test_learn_cli import colour_library

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
AWKWARD = ["Ponte; Vecchio", "Alte Brücke, Heidelberg", 'the "old" one', "pipe|bridge",
           "back\\slash", "ends with \\", "\\;already escaped", "Stari Most"]


def test_learned_aliases_reach_the_trainer_exactly(env: Path, tmp_path: Path) -> None:
    from trainer.data import discover, read_classes_csv

    library = colour_library(tmp_path)
    alias_args = [arg for alias in [*AWKWARD, "two\nlines"] for arg in ("--alias", alias)]
    code, _, err = cli("learn", "Old Bridge", library / "cyan0.jpg", *alias_args)
    assert code == 0, err
    out_dir = tmp_path / "dataset"
    code, _, err = cli("export-dataset", out_dir)
    assert code == 0, err
    # a line break is folded into a space when the alias is stored (learning.one_line)
    expected = (*AWKWARD, "two lines")
    [row] = read_classes_csv(out_dir / "classes.csv")
    assert row.name == "Old Bridge" and row.aliases == expected
    [cls] = discover([out_dir]).classes
    assert cls.aliases == expected


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="needs the shared data sets")
def test_the_shared_tables_read_as_they_always_did() -> None:
    """No escapes in them: every cell splits at each ; and | as before the escapes."""
    from trainer.data import read_classes_csv

    tables = sorted(SHARED_DATA.glob("*/classes.csv"))
    assert tables
    for table in tables:
        text = table.read_text(encoding="utf-8")
        assert "\\" not in text, table
        for row in read_classes_csv(table):
            joined = ";".join(row.aliases)
            assert list(row.aliases) == [a.strip() for a in re.split(r"[;|]", joined)
                                         if a.strip()], (table, row.folder)
        separators = sum(len(row.aliases) for row in read_classes_csv(table))
        assert separators > 0, table


_alias = st.text(st.sampled_from("ab ;|\\,\"'é\t"), min_size=1, max_size=12).map(str.strip) \
    .filter(bool)


@given(st.lists(_alias, max_size=5))
def test_a_cell_splits_into_the_aliases_it_was_joined_from(aliases: list[str]) -> None:
    assert split_aliases(join_aliases(aliases)) == aliases


@pytest.mark.parametrize(("cell", "aliases"), [
    ("Alhambra Palace;La Alhambra", ["Alhambra Palace", "La Alhambra"]),
    ("a | b;; c ", ["a", "b", "c"]),
    ("C:\\path;x", ["C:\\path", "x"]),  # a backslash before another character stays
    ("a\\;b|c\\|d\\\\", ["a;b", "c|d\\"]),
])
def test_a_hand_written_cell(cell: str, aliases: list[str]) -> None:
    assert split_aliases(cell) == aliases
