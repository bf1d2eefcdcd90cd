# SPDX-License-Identifier: GPL-3.0-or-later
"""`photolm scan` exits 1 when its walk met a problem it names (README): a broken symbolic
link among the photos is one, with its own line and its `walk_problems` entry."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.clirun import cli
from tests.tinybundle import COLOURS, write_photo


def test_a_broken_symbolic_link_is_a_walk_problem_and_exit_1(env: Path, tmp_path: Path
                                                              ) -> None:
    lib = tmp_path / "lib"
    write_photo(lib / "eiffel.jpg", COLOURS["eiffel-tower"])
    os.symlink(tmp_path / "gone.jpg", lib / "broken.jpg")
    code, out, err = cli("scan", lib, "--json")
    assert code == 1
    problems = json.loads(out)["walk_problems"]
    assert problems == [{"path": str(lib / "broken.jpg"), "error": "broken symbolic link"}]
    assert str(lib / "broken.jpg") in err
    assert json.loads(out)["processed"] == 1  # the rest of the library is scanned
