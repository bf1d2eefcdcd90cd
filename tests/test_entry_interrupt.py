# SPDX-License-Identifier: GPL-3.0-or-later
"""A Ctrl-C while the ``photolm`` command is still loading (its first ~0.4 s) ends as any
interrupted command does: one ``Error: interrupted.`` line, exit status 130, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Ctrl-C arrives while the CLI module is imported (a finder that raises it then).
INTERRUPTED_IMPORT = """
import sys
class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == "photolm.cli.app":
            raise KeyboardInterrupt
        return None
sys.meta_path.insert(0, CtrlC())
from photolm.__main__ import main
sys.argv = ["photolm", "--help"]
main()
"""


def test_ctrl_c_while_loading_is_one_line_and_130() -> None:
    done = subprocess.run([sys.executable, "-c", INTERRUPTED_IMPORT], capture_output=True,
                          text=True, cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": ""},
                          timeout=120)
    assert done.returncode == 130
    assert done.stderr == "Error: interrupted.\n"
    assert done.stdout == ""


def test_the_console_script_is_that_entry_point() -> None:
    text = (REPO / "pyproject.toml").read_text()
    assert 'photolm = "photolm.__main__:main"' in text
