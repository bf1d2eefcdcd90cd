# SPDX-License-Identifier: GPL-3.0-or-later
"""The catalogue's record of the files photolm wrote tags into (``tag_files``) outlives the
runs that write nothing.

``untag`` finds a sidecar a photo left behind when it was moved (and ``prune`` lists the
ones it leaves on disk) through that record. A second ``photolm tag`` ("already tagged"), a
failed one, or ``tag --embed`` after sidecars stored only what that run wrote, so the moved
photo's old sidecar kept photolm's tags after an untag that said the photo had none.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.clirun import cli as run
from tests.tags.photos import as_list, exiftool_json
from tests.tinybundle import COLOURS, write_photo


def _tag(*options: str) -> None:
    code, _, err = run("tag", *options)
    assert code == 0, err


def _tag_read_only(photo: Path) -> None:
    """A ``tag --embed`` run that fails: the photo is read-only."""
    photo.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    try:
        code, _, err = run("tag", "--embed")
    finally:
        photo.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert code == 1 and "read-only" in err, err


@pytest.mark.parametrize("second_run", ["again", "failed", "embed"])
def test_untag_cleans_a_moved_photos_old_sidecar_after_any_later_tag_run(
        env: Path, tmp_path: Path, second_run: str, exiftool: str) -> None:
    old, new = tmp_path / "Pictures" / "2024", tmp_path / "Pictures" / "Paris"
    photo = write_photo(old / "eiffel.jpg", COLOURS["eiffel-tower"])
    new.mkdir()
    assert run("scan", tmp_path / "Pictures", "--quiet")[0] == 0
    _tag()
    if second_run == "again":
        _tag()  # "1 already tagged"
    elif second_run == "failed":
        _tag_read_only(photo)
    else:
        _tag("--embed")  # the sidecar keeps its tags: it is still photolm's
    code, out, _ = run("list", "--json")
    assert str(old / "eiffel.jpg.xmp") in json.loads(out)[0]["tag_files"]

    photo.rename(new / "eiffel.jpg")  # a file manager moves the photo, not its sidecar
    assert run("scan", tmp_path / "Pictures", "--quiet")[0] == 0
    code, out, err = run("untag", "--json")
    assert code == 0, err
    assert json.loads(out)["counts"] == {"removed": 1}
    assert not (old / "eiffel.jpg.xmp").exists()  # photolm created it: it goes with its tags
    assert as_list(exiftool_json(new / "eiffel.jpg").get("XMP-dc:Subject")) == []
