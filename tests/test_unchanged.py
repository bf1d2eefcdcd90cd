# SPDX-License-Identifier: GPL-3.0-or-later
"""content_unchanged: the check the tag writer makes before writing into a photo."""

from __future__ import annotations

import os
from pathlib import Path

from photolm.catalog import Catalog
from photolm.unchanged import changed_since_scan, content_unchanged
from tests.clirun import cli as run
from tests.tinybundle import COLOURS, write_photo


def test_a_replaced_photo_is_not_the_catalogued_one(tmp_path: Path, env: Path) -> None:
    photo = write_photo(tmp_path / "lib" / "IMG_1.bmp", COLOURS["eiffel-tower"], fmt="BMP")
    run("scan", tmp_path / "lib")
    with Catalog.open(env, write=False) as cat:
        row = cat.get_photo(photo)
    assert row is not None and content_unchanged(row)
    os.utime(photo, ns=(1, 1))  # touched: same photo
    assert content_unchanged(row)
    before = photo.stat()
    write_photo(photo, COLOURS["colosseum"], fmt="BMP")  # same size, other photo
    os.utime(photo, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert not content_unchanged(row)
    assert "another photo" in (changed_since_scan(row) or "")
    photo.unlink()
    assert "gone" in (changed_since_scan(row) or "")
