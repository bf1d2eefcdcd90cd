# SPDX-License-Identifier: GPL-3.0-or-later
"""The notes a tag write leaves reach the person: ``tag``, ``untag`` and ``scan
--write-tags`` print each once as a ``note:`` line on stderr, ``--json`` lists them per
photo, and the closing line counts the photos that have some.

The notes come from real photos: one that names its own city (photolm keeps it and writes
no place fields, and says so) and one whose sidecar photolm cannot parse (untag cannot
check it, and says so); ExifTool confirms the person's city was kept.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.clirun import cli as run
from tests.tags.photos import exiftool_json, plant_keywords
from tests.tinybundle import COLOURS, write_photo

EIFFEL = COLOURS["eiffel-tower"]
KEPT_CITY = ("kept XMP-photoshop:City 'Lyon'"
             " (the photo names its own place: no city, state or country written)")


@pytest.fixture
def own_city(tmp_path: Path, env: Path, exiftool: str) -> Path:
    """A recognisable photo whose XMP already names a city (another tool's), scanned."""
    photo = write_photo(tmp_path / "lib" / "eiffel.jpg", EIFFEL)
    plant_keywords(photo, ["Holiday"], city="Lyon")
    code, _out, err = run("scan", photo.parent, "--json")
    assert code == 0, err
    return photo


def note_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("note:")]


def test_tag_prints_each_note_once_and_counts_the_photo(own_city: Path) -> None:
    code, _out, err = run("tag", "--embed")
    assert code == 0, err
    assert note_lines(err) == [f"note: {own_city}: {KEPT_CITY}"]
    assert err.strip().splitlines()[-1] == "tag: 1 written; 1 photo with notes"
    assert exiftool_json(own_city).get("XMP-photoshop:City") == "Lyon"


def test_tag_json_lists_the_notes_per_photo(own_city: Path) -> None:
    code, out, err = run("tag", "--embed", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert [(p["path"], p["notes"]) for p in data["photos"]] == [(str(own_city), [KEPT_CITY])]
    assert data["with_notes"] == 1
    assert note_lines(err) == [f"note: {own_city}: {KEPT_CITY}"]  # talk stays on stderr


def test_dry_run_shows_the_note_in_the_plan_only(own_city: Path) -> None:
    code, out, err = run("tag", "--embed", "--dry-run")
    assert code == 0, err
    assert f"  note: {KEPT_CITY}" in out.splitlines()
    assert note_lines(err) == []  # not a second time


def test_scan_write_tags_prints_the_notes(tmp_path: Path, env: Path, exiftool: str) -> None:
    photo = write_photo(tmp_path / "lib" / "eiffel.jpg", EIFFEL)
    plant_keywords(photo, ["Holiday"], city="Lyon")
    code, out, err = run("scan", photo.parent, "--write-tags", "--embed")
    assert code == 0, err
    assert note_lines(err) == [f"note: {photo}: {KEPT_CITY}"]
    code, out, err = run("scan", tmp_path / "lib", "--force", "--write-tags", "--embed",
                         "--json")
    assert code == 0, err
    assert json.loads(out)["tags"]["photos"][0]["notes"] == [KEPT_CITY]


def test_untag_notes_a_sidecar_it_cannot_read(tmp_path: Path, env: Path) -> None:
    photo = write_photo(tmp_path / "lib" / "eiffel.jpg", EIFFEL)
    code, _out, err = run("scan", photo.parent, "--json")
    assert code == 0, err
    sidecar = photo.with_name("eiffel.jpg.xmp")
    sidecar.write_text("<x:xmpmeta>not closed")  # another tool's half-written sidecar
    code, out, err = run("untag", "--json")
    assert code == 0, err
    [line] = note_lines(err)
    assert line.startswith(f"note: {photo}: could not read {sidecar}: ")
    assert json.loads(out)["photos"][0]["notes"] == [line.split(": ", 2)[2]]
    assert sidecar.read_text() == "<x:xmpmeta>not closed"
