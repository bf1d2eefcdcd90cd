# SPDX-License-Identifier: GPL-3.0-or-later
"""Run ``photolm`` commands in-process, the way every CLI test does."""

from __future__ import annotations

import os
import re
from pathlib import Path

from typer.testing import CliRunner

_runner = CliRunner()


def cli(*args: str | bytes | Path, input: str | None = None) -> tuple[int, str, str]:
    """Run ``photolm ARGS`` in-process; returns (exit code, stdout, stderr).

    An exception other than ``SystemExit`` is re-raised: a traceback is always a failure.
    """
    from photolm.cli.app import app

    res = _runner.invoke(app, [os.fsdecode(a) if isinstance(a, bytes) else str(a)
                               for a in args], input=input)
    if res.exception and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res.exit_code, res.stdout, res.stderr


INFO_FIELD = re.compile(r"^( {0,2})(\S(?:.*?\S)?) {2,}(\S.*)$")


def info_fields(text: str) -> dict[str, str]:
    """``info``'s ``label  value`` lines, a wrapped value's lines joined."""
    fields: dict[str, str] = {}
    label = ""
    for line in text.splitlines():
        match = INFO_FIELD.match(line)
        if match:
            label = match[2]
            fields[label] = match[3]
        elif line.startswith("    ") and label:  # a value's next line, under the value
            fields[label] += " " + line.strip()
    return fields
