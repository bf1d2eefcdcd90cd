# SPDX-License-Identifier: GPL-3.0-or-later
"""A reader that stops early (``photolm list | head``) ends photolm quietly with 141.

Through a real pipe: the reader takes one line and closes its end while photolm still has
more to write (paths of ~3 KB make the output far larger than a pipe's 64 KiB buffer, so
the write after the close always fails). With PYTHONUNBUFFERED=1 (as on CI machines and
these sessions') and without: unbuffered, CPython's stdout dropped the rest of a write the
closed pipe cut short without raising, and a command whose last write was cut (``search
--json`` writes its list at once) exited 0 with half its JSON read.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.clirun import cli
from tests.tinybundle import COLOURS, write_photo


@pytest.fixture
def long_paths(env: Path, tmp_path: Path) -> Path:
    deep = tmp_path / "lib"
    for i in range(12):
        deep = deep / (f"d{i:02d}" + "x" * 240)
    for i in range(30):
        write_photo(deep / (f"p{i:03d}" + "y" * 200 + ".jpg"), COLOURS["eiffel-tower"])
    code, _out, err = cli("scan", tmp_path / "lib", "--quiet")
    assert code == 0, err
    return tmp_path / "lib"


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "PYTHONUNBUFFERED"])
@pytest.mark.parametrize("args", [["list"], ["list", "--json"], ["search", "Eiffel Tower"],
                                  ["search", "Eiffel Tower", "--json"], ["tag", "--dry-run"]])
def test_a_reader_that_stops_early_ends_photolm_quietly(long_paths: Path, args: list[str],
                                                        unbuffered: bool) -> None:
    child_env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        child_env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen([sys.executable, "-m", "photolm", *args], env=child_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert first.strip()
    assert proc.returncode == 141, err
    assert "Error" not in err and "Traceback" not in err and "Exception" not in err


@pytest.mark.parametrize("args", [["info"], ["tag", "--dry-run"]])
def test_a_reader_gone_before_photolm_writes_ends_it_quietly(long_paths: Path,
                                                           args: list[str]) -> None:
    """Output that rich's console writes (``info``'s sections, ``tag --dry-run``'s plan)
    meeting a closed pipe: rich's own handling exited 1 with nothing said."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader left before the first line, as `| head -0` does
    proc = subprocess.run([sys.executable, "-m", "photolm", *args], stdout=write_end,
                          stderr=subprocess.PIPE, timeout=60, check=False)
    os.close(write_end)
    err = proc.stderr.decode()
    assert proc.returncode == 141, err
    assert "Error" not in err and "Traceback" not in err and "Exception" not in err
