# SPDX-License-Identifier: GPL-3.0-or-later
"""Tags an older photolm embedded, then tagged again after an upgrade, come off in one untag.

photolm before schema v5 kept no undo record of its embedded writes. Today's ``tag --embed``
over such a photo (new values: a changed landmark, a region or country code the old one did
not write) keeps, as "the original", the bytes it replaced: the old version's tagged file.
One ``untag`` must still leave no photolm value in the photo, not give back the old
version's tags while saying they were removed. The older state is built in SQL (the undo
records dropped), never by checking out old code.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

from tests.clirun import cli
from tests.test_formats import needs_exiftool
from tests.tinybundle import COLOURS, write_photo


def _photolm_values(photo: Path) -> dict:
    out = subprocess.run(["exiftool", "-j", "-XMP-photolm:all", "-XMP-dc:Subject",
                          "-IPTC:Keywords", str(photo)], capture_output=True, text=True,
                         check=True).stdout
    return {k: v for k, v in json.loads(out)[0].items() if k != "SourceFile"}


@needs_exiftool
def test_one_untag_removes_an_older_photolms_tags_tagged_again_since(
        env: Path, tmp_path: Path) -> None:
    photo = write_photo(tmp_path / "lib" / "eiffel.jpg", COLOURS["eiffel-tower"])
    original = photo.read_bytes()
    assert cli("scan", tmp_path / "lib", "--quiet")[0] == 0
    assert cli("tag", "--embed")[0] == 0
    assert _photolm_values(photo)  # tagged
    with sqlite3.connect(env) as db:  # as a photolm before schema v5 left it: no undo record
        db.execute("DELETE FROM tag_undo")
    # after the upgrade the photo's landmark changes, so tag rewrites its values
    assert cli("confirm", photo, "-l", "Colosseum")[0] == 0
    code, _, err = cli("tag", "--embed")
    assert code == 0, err
    assert _photolm_values(photo)["Subject"] == "Colosseum"
    code, out, err = cli("untag", "--json")
    assert code == 0, err
    assert _photolm_values(photo) == {}  # nothing of photolm's left, in one untag
    assert json.loads(out)["counts"] == {"removed": 1}
    # its values are removed field by field (no record of the bytes before the old write)
    code, out, err = cli("untag", "--json")
    assert code == 0 and json.loads(out)["counts"] == {"nothing-to-remove": 1}, err
    assert len(photo.read_bytes()) < len(original) + 200  # no photolm block left behind
