# SPDX-License-Identifier: GPL-3.0-or-later
"""``photolm export-dataset`` stopped half way: the person is told the set is incomplete."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.clirun import cli
from tests.test_learn_cli import colour_library


def test_ctrl_c_while_linking_says_the_set_is_incomplete(
        env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Links are made one photo at a time and classes.csv comes last: a set cut short
    trains without the rest, so 'interrupted.' alone would let it be used."""
    library = colour_library(tmp_path)
    assert cli("learn", "Old Bridge", library / "cyan0.jpg", library / "cyan1.jpg")[0] == 0
    real = os.symlink
    made: list[str] = []

    def symlink(src, dst, *args, **kwargs):  # type: ignore[no-untyped-def]
        if made:
            raise KeyboardInterrupt
        made.append(str(dst))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "symlink", symlink)
    out_dir = tmp_path / "dataset"
    code, _out, err = cli("export-dataset", out_dir)
    assert code == 130
    assert err.strip() == (f"Error: interrupted; the training set in {out_dir} is incomplete: "
                           "delete that folder, then export again")
    assert len(made) == 1 and not (out_dir / "classes.csv").exists()


def test_the_summary_names_the_fit_command_with_the_other_data_sets(
        env: Path, tmp_path: Path) -> None:
    """The set alone would train a model that knows only the learned landmarks; the folder
    is quoted for the shell."""
    library = colour_library(tmp_path)
    assert cli("learn", "Old Bridge", library / "cyan0.jpg", library / "cyan1.jpg")[0] == 0
    out_dir = tmp_path / "my dataset"
    code, _out, err = cli("export-dataset", out_dir)
    assert code == 0, err
    assert err.strip() == (f"wrote 2 photos of 1 landmark to {out_dir}; train with: trainer "
                           f"fit DATA... '{out_dir}' --out RUN, DATA being the photo sets the "
                           "new model should know as well")
