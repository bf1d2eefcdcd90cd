# SPDX-License-Identifier: GPL-3.0-or-later
"""The Lightroom-style sidecar of a RAW deleted since tagging is cleaned by the next untag.

``photolm tag --embed --sidecar-style lightroom`` tags a RAW + JPEG pair in the JPEG and in
the RAW's sidecar ``IMG_0001.xmp``, a name the JPEG's stem gives too. Once the RAW was
deleted, untag passed that sidecar by (its marker names the RAW, not the JPEG; and being
at the JPEG's own sidecar name, it was not counted as left behind): it kept photolm's
tags while untag said everything was removed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.clirun import cli as run
from tests.test_formats import needs_exiftool, needs_samples
from tests.test_raw_pairs import dngs, shots  # noqa: F401 (fixtures)

pytestmark = [needs_exiftool, needs_samples]


@pytest.mark.parametrize("rescan", [False, True], ids=["untag at once", "after a scan"])
def test_a_deleted_raws_lightroom_sidecar_is_cleaned_by_the_next_untag(
        shots: Path, env: Path, rescan: bool) -> None:  # noqa: F811
    jpeg = shots / "IMG_0001.JPG"
    original = hashlib.sha256(jpeg.read_bytes()).hexdigest()
    assert run("scan", shots, "--quiet")[0] == 0
    code, _, err = run("tag", "--embed", "--sidecar-style", "lightroom")
    assert code == 0, err
    assert (shots / "IMG_0001.xmp").exists()  # the RAW's sidecar
    (shots / "IMG_0001.dng").unlink()  # the photographer keeps only the JPEG
    if rescan:
        assert run("scan", shots, "--quiet")[0] == 0

    code, out, err = run("untag", "--json")
    assert code == 0, err
    cleaned = {Path(f).name for p in json.loads(out)["photos"] for f in p["files"]}
    assert "IMG_0001.xmp" in cleaned
    assert not (shots / "IMG_0001.xmp").exists()  # photolm created it: gone with its tags
    assert hashlib.sha256(jpeg.read_bytes()).hexdigest() == original
