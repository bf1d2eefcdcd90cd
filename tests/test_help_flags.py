# SPDX-License-Identifier: GPL-3.0-or-later
"""``--help`` names no type beside a flag: ``--json`` takes no value, so ``--json <bool>``
(typer 0.29's rich help) tells a person to type one. Options that take a value keep theirs."""

from __future__ import annotations

import os
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
