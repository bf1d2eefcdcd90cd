# SPDX-License-Identifier: GPL-3.0-or-later
"""Paths the catalogue keeps only as text (a scan's roots, the files a tag wrote) read back
as the names they are: kept as ``backslashreplace`` text, a folder named ``a\\xffb`` (a
backslash, ``x``, ``f``, ``f``) and one named ``a``, the byte 0xff, ``b`` were one text, so
``info`` showed one folder twice and a re-scan knew only one of them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from photolm.catalog import Catalog
from photolm.printed_paths import printed
from tests.clirun import cli
from tests.test_formats import dng_with_preview, needs_exiftool, needs_samples
from tests.tinybundle import COLOURS, write_photo


def twin_folders(base: Path) -> tuple[Path, Path]:
    """``a\\xffb`` spelled with a backslash, and ``a<0xff>b``: two folders, one photo each."""
    spelled = base / "a\\xffb"
    byte = Path(os.fsdecode(os.fsencode(base) + b"/a\xffb"))
    try:
        byte.mkdir()
        spelled.mkdir()
    except (OSError, UnicodeError):
        pytest.skip("this file system refuses such names")
    write_photo(spelled / "tower.jpg", COLOURS["eiffel-tower"])
    write_photo(byte / "arena.jpg", COLOURS["colosseum"])
    return spelled, byte


def test_info_names_two_scanned_folders_that_differ_only_in_an_escape_apart(
        tmp_path: Path, tiny_bundle_dir: Path) -> None:
    spelled, byte = twin_folders(tmp_path)
    catalog = tmp_path / "catalog.sqlite"
    # given as printed: typed as it is, the backslash folder's name is the byte's printed form
    code, _, err = cli("scan", printed(spelled), printed(byte), "--catalog", catalog,
                       "--model", tiny_bundle_dir, "--quiet")
    assert code == 0, err
    code, out, err = cli("info", "--json", "--catalog", catalog, "--model", tiny_bundle_dir)
    assert code == 0, err
    roots = json.loads(out)["catalog"]["last_scan"]["roots"]
    assert roots == [printed(spelled), printed(byte)]
    assert printed(spelled) != printed(byte)
    with Catalog.open(catalog, write=False) as cat:
        assert cat.scan_roots() == [str(spelled), str(byte)]
        assert all(os.path.isdir(root) for root in cat.scan_roots())


@pytest.mark.parametrize("then", ["untag", "tag"])
def test_a_moved_photo_named_in_bytes_that_are_not_utf8_leaves_no_sidecar_behind(
        env: Path, tmp_path: Path, then: str) -> None:
    """The catalogue keeps the files a tag wrote, for cleaning the sidecar a moved photo left
    behind: kept as ``backslashreplace`` text, a name that is not UTF-8 named nothing on disk
    and its sidecar stayed, photolm's tags in it, beside no photo."""
    root = tmp_path / "lib"
    photo = Path(os.fsdecode(os.fsencode(root) + b"/caf\xe9.jpg"))
    try:
        write_photo(photo, COLOURS["eiffel-tower"])
    except (OSError, UnicodeError):
        pytest.skip("this file system refuses such names")
    assert cli("scan", root, "--quiet")[0] == 0
    assert cli("tag")[0] == 0
    old_sidecar = Path(f"{photo}.xmp")
    assert old_sidecar.exists()
    code, out, err = cli("list", "--json")
    assert code == 0, err
    assert json.loads(out)[0]["tag_files"] == [printed(old_sidecar)]
    moved = root / "2023" / "paris.jpg"
    moved.parent.mkdir()
    photo.rename(moved)  # the sidecar stays behind
    assert cli("scan", root, "--quiet")[0] == 0
    code, _, err = cli(then)
    assert code == 0, err
    assert not old_sidecar.exists()
    assert Path(f"{moved}.xmp").exists() == (then == "tag")


@needs_exiftool
@needs_samples
def test_the_raw_a_verdict_came_from_is_named_as_it_is_after_it_is_gone(
        env: Path, tmp_path: Path) -> None:
    """The catalogue keeps the name of the RAW whose preview a pair was recognised from
    (its JPEG could not be read). Kept as ``backslashreplace`` text, a RAW named with a
    backslash, ``x`` and two hex digits was named after deletion as the byte they spell."""
    shots = tmp_path / "shots"
    jpeg = write_photo(shots / "a\\xe9b.JPG", COLOURS["eiffel-tower"])
    raw = dng_with_preview(shots / "a\\xe9b.dng", write_photo(
        tmp_path / "preview.jpg", COLOURS["colosseum"], size=(120, 80)))
    jpeg.write_bytes(jpeg.read_bytes()[:200])  # truncated: the header sniffs as a JPEG
    assert cli("scan", printed(shots), "--quiet")[0] == 0
    raw.unlink()
    assert cli("scan", printed(shots), "--quiet")[0] == 0  # the JPEG unchanged: kept as it was
    code, out, err = cli("list", "--json")
    assert code == 0, err
    (row,) = json.loads(out)
    assert (row["path"], row["landmark"]) == (printed(jpeg), "Colosseum")
    assert row["recognised_from"] == printed(raw)
