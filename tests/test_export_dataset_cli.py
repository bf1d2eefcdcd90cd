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


@pytest.mark.parametrize("name", ["tab\there", "it's\nnew", "back\\slash"])
def test_the_fit_command_names_an_awkward_folder_as_a_shell_reads_it(
        env: Path, tmp_path: Path, name: str) -> None:
    """The folder is printed as every path is (a tab as \\t), so shlex.quote of that text
    ('.../tab\\there') named another folder to bash; the command is copied into a shell,
    so a name with an escape in its printed form is given as $'...', which bash reads back
    to the name."""
    import re
    import subprocess

    library = colour_library(tmp_path)
    assert cli("learn", "Old Bridge", library / "cyan0.jpg")[0] == 0
    out_dir = tmp_path / name
    code, _out, err = cli("export-dataset", out_dir)
    assert code == 0, err
    word = re.search(r"trainer fit DATA\.\.\. (.*) --out RUN", err)
    assert word is not None, err
    shell = subprocess.run(["bash", "-c", f"printf %s {word.group(1)}"], capture_output=True,
                           check=True)
    assert shell.stdout == os.fsencode(out_dir)


def test_photos_the_trainer_cannot_read_are_left_out_with_a_line_each(
        env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """trainer fit reads JPEG, PNG, WebP, BMP and TIFF by their extension and passes over
    anything else without a word (its note even says the folder has no photos): a HEIC or
    RAW photo is said to be left out here, and a JPEG named without an extension is linked
    under one."""
    from photolm import dataset_export
    from photolm.bundle import Landmark
    from trainer.data import discover

    library = colour_library(tmp_path)
    bare = library / "IMG_0001"
    bare.write_bytes((library / "cyan2.jpg").read_bytes())  # a JPEG without an extension
    heic = library / "IMG_0002.HEIC"
    heic.write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(64))  # an iPhone photo's header
    raw = library / "IMG_0003.CR2"
    raw.write_bytes(b"II*\x00" + bytes(64))  # a Canon RAW starts as a TIFF does
    bridge = Landmark("learned:old-bridge", "Old Bridge")
    photos = [library / "cyan0.jpg", bare, heic, raw]
    monkeypatch.setattr(dataset_export, "dataset_items",
                        lambda cat, include_shipped=False, unknown=None:
                        [(bridge, str(p)) for p in photos])
    out_dir = tmp_path / "dataset"

    code, _out, err = cli("export-dataset", out_dir)

    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    reads = "(it reads JPEG, PNG, WebP, BMP and TIFF): left out of the training set"
    assert warnings == [f"warning: {heic}: trainer fit cannot read HEIC files {reads}",
                        f"warning: {raw}: trainer fit cannot read CR2 files {reads}"]
    assert sorted(p.name for p in (out_dir / "old-bridge").iterdir()) == [
        "IMG_0001.jpg", "cyan0.jpg"]
    assert len(discover([out_dir]).samples) == 2  # the trainer reads both


def test_the_formats_left_out_are_the_ones_the_trainer_skips() -> None:
    """photolm never imports the trainer, so the list is written twice; kept equal here."""
    from photolm.dataset_export import TRAINER_SUFFIXES
    from trainer.data import IMAGE_SUFFIXES

    assert TRAINER_SUFFIXES == IMAGE_SUFFIXES


def test_answers_naming_a_landmark_photolm_no_longer_knows_are_said_to_be_left_out(
        env: Path, tmp_path: Path) -> None:
    """unlearn keeps the answers given as the landmark it forgets (and a newer model may
    drop a landmark someone corrected photos to): no class can be written for them, but a
    person's answer is never left out of the set without a word."""
    library = colour_library(tmp_path)
    assert cli("learn", "Old Bridge", library / "cyan0.jpg")[0] == 0
    assert cli("learn", "New Bridge", library / "cyan2.jpg")[0] == 0
    assert cli("confirm", library / "cyan1.jpg", "-l", "Old Bridge")[0] == 0
    assert cli("unlearn", "Old Bridge")[0] == 0
    code, _out, err = cli("export-dataset", tmp_path / "dataset")
    assert code == 0, err
    assert (f"warning: {library / 'cyan1.jpg'}: you answered it with a landmark photolm no "
            "longer knows") in err
    assert "learn that landmark again to export it" in err
