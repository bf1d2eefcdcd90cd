# SPDX-License-Identifier: GPL-3.0-or-later
"""The README's Quick start is what CI runs: exactly two commands, the second in .ci/run."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _quick_start_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", section, flags=re.S)]


def test_quick_start_has_exactly_two_commands() -> None:
    commands = _quick_start_commands()
    assert len(commands) == 2
    assert all("\n" not in c for c in commands)
    assert "photolm scan" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert _quick_start_commands()[1] in ci.splitlines()


def test_the_bundle_size_readme_quotes_is_its_files_summed() -> None:
    """README's "22.2 MB" for the shipped bundle: its files' sizes summed, in MB (10^6)."""
    import re

    folder = REPO / "photolm" / "models" / "default"
    total = sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
    text = (REPO / "README.md").read_text()
    quoted = re.search(r"`photolm/models/default`, (\d+\.\d) MB\)", text)
    assert quoted is not None
    assert float(quoted.group(1)) == round(total / 1e6, 1)
    assert f"| bundle size (its files' sizes summed) | 22.2 MB | {quoted.group(1)} MB |" in text
