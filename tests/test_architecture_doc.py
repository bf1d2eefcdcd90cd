# SPDX-License-Identifier: GPL-3.0-or-later
"""docs/architecture.md is where a contributor looks for the module that does a job, so a
module of the runtime without its row there is a module nobody finds. The runtime's own
folders are held to one row per module; ``cli/`` and ``desktop/`` are described as folders
(one module per command or page), and trainer/export by their entry points."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOC = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
ROWS = {cell for line in DOC.splitlines() if line.startswith("| ")
        for cell in re.findall(r"`([^`]+)`", line.split("|")[1])}
NAMED = {name.strip() for cell in ROWS for name in cell.split(",")}

FOLDERS = ("photolm", "photolm/catalog", "photolm/metadata")


def _modules() -> list[str]:
    found = []
    for folder in FOLDERS:
        for path in sorted((REPO / folder).glob("*.py")):
            if not path.name.startswith("__"):
                found.append(f"{folder}/{path.name}")
    return found


@pytest.mark.parametrize("module", _modules())
def test_every_runtime_module_has_its_row(module: str) -> None:
    name = Path(module).name
    folder = Path(module).parent.name
    assert name in NAMED or f"{folder}/{name}" in NAMED, (
        f"{module} has no row in docs/architecture.md: add one saying its one job")
