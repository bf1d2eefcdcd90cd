# SPDX-License-Identifier: GPL-3.0-or-later
"""``--help`` names no type beside a flag: ``--json`` takes no value, so ``--json <bool>``
(typer 0.29's rich help) tells a person to type one. Options that take a value keep theirs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

COMMANDS = [["scan"], ["search"], ["list"], ["landmarks"], ["info"], ["confirm"], ["tag"],
            ["untag"], ["prune"], ["learn"], ["unlearn"], ["places"], ["places", "name"],
            ["export-dataset"], ["serve"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_shows_no_type_beside_a_flag(command: list[str]) -> None:
    from tests.clirun import cli

    code, out, err = cli(*command, "--help")
    assert code == 0, err
    assert "--help" in out and "<bool>" not in out


def test_an_option_that_takes_a_value_still_shows_its_type_at_80_columns() -> None:
    """Through a real terminal width, as a person reads it."""
    out = subprocess.run([sys.executable, "-m", "photolm", "list", "--help"],
                         capture_output=True, text=True, check=True,
                         env={**os.environ, "COLUMNS": "80",
                              "PYTHONPATH": str(Path(__file__).resolve().parents[1])}).stdout
    assert "<bool>" not in out
    assert "--margin" in out and "<float range>" in out and "<file>" in out
    assert max(len(line) for line in out.splitlines()) <= 80


SCANNED_WITH = [["learn"], ["unlearn"], ["places"], ["places", "name"], ["landmarks"],
                ["serve"], ["info"]]


@pytest.mark.parametrize("command", [*SCANNED_WITH, ["scan"]], ids=" ".join)
def test_model_help_names_the_default_the_command_really_uses(command: list[str]) -> None:
    """Given no --model, learn, unlearn, places, landmarks, serve and info use the model the
    catalogue's photos were last scanned with (README, "Closing the loop"); scan uses the
    shipped one. --help said "the model shipped with photolm" for all of them."""
    from tests.clirun import cli

    code, out, _ = cli(*command, "--help")
    text = " ".join(line.strip("│ ") for line in out.splitlines())
    said = " ".join(text.split())
    assert code == 0
    if command in SCANNED_WITH:
        assert "last scanned with" in said and "else the model shipped with photolm." not in said
    else:
        assert "else the model shipped with photolm." in said and "scanned with" not in said


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_names_no_python_list_type(command: list[str]) -> None:
    """typer prints a list's Python annotation as its type: "PATHS <list[Path]>", "--alias
    <list[str]>". An argument that takes several says so with "...", an option that may be
    repeated names the one value it takes each time."""
    from tests.clirun import cli

    code, out, err = cli(*command, "--help")
    assert code == 0, err
    assert "list[" not in out
    if command in (["scan"], ["tag"], ["confirm"]):
        assert "<path>..." in out
    if command == ["learn"]:
        assert re.search(r"--alias\s+-a\s+<str>\s", out)


TRAINING_TOOLS = [["trainer", "fit"], ["export"], ["export.descriptor"]]


@pytest.mark.parametrize("tool", TRAINING_TOOLS, ids=" ".join)
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_training_tools_help_reads_as_photolms_at_80_columns(tool: list[str], flag: str) -> None:
    """The README's own-model steps (trainer fit, photolm-export, python -m export.descriptor):
    plain help as photolm's, answering to -h, no Python list type ("DATA <list[Path]>",
    "--distractors <list[Path]>") and no type beside a flag, whole lines at 80 columns."""
    out = subprocess.run([sys.executable, "-m", *tool, flag], capture_output=True, text=True,
                         check=True, env={**os.environ, "COLUMNS": "80", "PYTHONPATH": str(
                             Path(__file__).resolve().parents[1])}).stdout
    assert out.startswith("Usage:") and "╭" not in out
    assert "list[" not in out and "<bool>" not in out
    assert max(len(line) for line in out.splitlines()) <= 80
    if tool == ["export.descriptor"]:  # says what it is for, not where its code is
        assert "export/descriptor.py" not in out and "before photolm scan" in " ".join(
            out.split())


@pytest.mark.parametrize(("argv", "said"), [
    (["trainer", "fit", "--epochs", "x"],
     "Error: Invalid value for '--epochs': 'x' (input should be a valid integer, unable to "
     "parse string as an integer). See `python -m trainer fit --help`."),
    (["trainer", "fitt"], "Error: No such command 'fitt'. Did you mean 'fit'? See "
     "`python -m trainer --help`."),
    (["export", "run", "--out", "b", "--target-fpr", "abc"],
     "Error: Invalid value for '--target-fpr': 'abc' (input should be a valid number, "
     "unable to parse string as a number). See `python -m export --help`."),
    (["export.descriptor", "b", "--known", "k", "--negatives", "n"],
     "Error: Missing option '--out' / '-o'. See `python -m export.descriptor --help`."),
], ids=["trainer value", "trainer command", "export", "descriptor"])
def test_training_tools_usage_errors_are_one_line(argv: list[str], said: str) -> None:
    """A mistyped option of trainer, photolm-export or export.descriptor: one Error: line
    pointing at --help, as photolm says it (it was click's usage line, a hint and the error)."""
    res = subprocess.run([sys.executable, "-m", *argv], capture_output=True, text=True,
                         env={**os.environ, "COLUMNS": "80", "PYTHONPATH": str(
                             Path(__file__).resolve().parents[1])})
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr == said + "\n"


def test_prune_dry_run_help_says_what_prune_would_do() -> None:
    """prune shares its option names with tag and untag, not their "field by field"."""
    out = subprocess.run([sys.executable, "-m", "photolm", "prune", "--help"],
                         capture_output=True, text=True, check=True,
                         env={**os.environ, "COLUMNS": "200",
                              "PYTHONPATH": str(Path(__file__).resolve().parents[1])}).stdout
    line = next(line for line in out.splitlines() if "--dry-run" in line)
    assert "List the photos that would be forgotten" in line and "field" not in line, line
