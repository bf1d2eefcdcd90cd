# SPDX-License-Identifier: GPL-3.0-or-later
"""``photolm info``'s "last scan" line says what a re-scan did in the scan summary's words.

After a re-scan that found every photo unchanged it read "2 photos found, 0 recognised",
as if none had a landmark; it now says how many were recognised now and how many were
skipped as unchanged, as the scan's own summary does.
"""

from __future__ import annotations

from pathlib import Path

from tests.clirun import cli as run
from tests.clirun import info_fields
from tests.tinybundle import COLOURS, write_photo


def test_info_says_a_rescan_skipped_the_unchanged_photos(env: Path, tmp_path: Path) -> None:
    root = tmp_path / "Pictures"
    write_photo(root / "eiffel.jpg", COLOURS["eiffel-tower"])
    write_photo(root / "colosseo.jpg", COLOURS["colosseum"])
    assert run("scan", root, "--quiet")[0] == 0
    code, out, err = run("info")
    assert code == 0, err
    assert info_fields(out)["last scan"].endswith(": 2 photos found, 2 recognised now")

    assert run("scan", root, "--quiet")[0] == 0
    code, out, err = run("info")
    assert code == 0, err
    assert info_fields(out)["last scan"].endswith(
        ": 2 photos found, 0 recognised now, 2 skipped as unchanged")
