# SPDX-License-Identifier: GPL-3.0-or-later
"""A Ctrl-C while the ``photolm`` command is still loading (its first ~0.4 s, and the
model's runtime after it) ends as any interrupted command does: one ``Error: interrupted.``
line, exit status 130, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.tinybundle import COLOURS, write_photo

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


# Ctrl-C arrives while onnxruntime is imported, and its native part turns that into an
# ImportError, as onnxruntime does ("import numpy failed"; seen on a real scan's start).
INTERRUPTED_RUNTIME = """
import os, signal, sys, time
class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == "onnxruntime":
            sys.meta_path.remove(self)
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.5)
            except KeyboardInterrupt:
                raise ImportError("import numpy failed") from None
        return None
sys.meta_path.insert(0, CtrlC())
from photolm.__main__ import main
sys.argv = ["photolm", *sys.argv[1:]]
main()
"""


def test_ctrl_c_while_the_model_runtime_loads_is_an_interruption_not_a_missing_install(
        tmp_path: Path, tiny_bundle_dir: Path) -> None:
    photo = write_photo(tmp_path / "Pictures" / "eiffel.jpg", COLOURS["eiffel-tower"])
    done = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_RUNTIME, "scan", str(photo.parent),
         "--catalog", str(tmp_path / "catalog.sqlite"), "--model", str(tiny_bundle_dir)],
        capture_output=True, text=True, cwd=REPO, timeout=120,
        env={"PYTHONPATH": str(REPO), "PATH": "", "HOME": str(tmp_path)})
    assert done.returncode == 130, done.stderr
    assert "not installed" not in done.stderr and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1] == "Error: interrupted.", done.stderr


def test_the_console_script_is_that_entry_point() -> None:
    text = (REPO / "pyproject.toml").read_text()
    assert 'photolm = "photolm.__main__:main"' in text
