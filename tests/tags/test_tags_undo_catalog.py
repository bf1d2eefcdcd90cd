# SPDX-License-Identifier: GPL-3.0-or-later
"""The undo records of embedded tag writes live in the catalogue (table ``tag_undo``, v5).

Through the CLI with the tiny bundle: no second file beside the catalogue, records gone
when the photo is untagged or forgotten by ``prune``, a read-only catalogue refused in one
line, and a schema-4 catalogue upgraded in place.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from photolm.catalog import SCHEMA_VERSION, Catalog
from photolm.catalog import schema as schema_module
from tests.clirun import cli as run
from tests.imagefactory import not_utf8_name
from tests.tags.photos import as_list, camera_exif, exiftool_json, plant_keywords
from tests.test_catalog_access import _in_read_only_mount, _read_only_mount_works
from tests.tinybundle import COLOURS, write_photo

EIFFEL = COLOURS["eiffel-tower"]


def ok(*args: str | Path) -> str:
    code, out, err = run(*args)
    assert code == 0, (args, err)
    return out


def undo_records(catalog: Path) -> list[tuple[str, str]]:
    """(path, fingerprint) of every undo record, read through the catalogue."""
    with Catalog.open(catalog, write=False) as cat:
        return [(r[0], r[1]) for r in cat.conn.execute(
            "SELECT path, fingerprint FROM tag_undo ORDER BY path")]


def tagged_library(folder: Path, *names: str) -> dict[Path, bytes]:
    """Photos (each its own content) scanned and tagged with ``--embed``; their bytes
    before tagging."""
    originals = {}
    for i, name in enumerate(names):
        photo = write_photo(folder / name, EIFFEL, (64 + 8 * i, 48), exif=camera_exif())
        originals[photo] = photo.read_bytes()
    ok("scan", folder)
    ok("tag", "--embed")
    assert all(p.read_bytes() != b for p, b in originals.items())
    return originals


def test_embed_keeps_its_undo_record_in_the_catalogue_not_in_a_second_file(
        env: Path, tmp_path: Path) -> None:
    originals = tagged_library(tmp_path / "lib", "a.jpg", "b.jpg")
    beside = sorted(p.name for p in env.parent.iterdir() if p.name.startswith(env.name))
    assert not [n for n in beside if "undo" in n], beside
    assert [path for path, _ in undo_records(env)] == sorted(str(p) for p in originals)
    ok("untag")
    assert all(p.read_bytes() == b for p, b in originals.items())
    assert undo_records(env) == []
    assert not list(env.parent.glob("*.undo.sqlite"))


def test_untag_of_a_photo_changed_since_drops_its_record(env: Path, tmp_path: Path,
                                                         exiftool: str) -> None:
    (photo,) = tagged_library(tmp_path / "lib", "a.jpg")
    plant_keywords(photo, ["Added later"])  # another program writes into the tagged photo
    ok("untag")
    assert as_list(exiftool_json(photo).get("XMP-dc:Subject")) == ["Added later"]
    assert undo_records(env) == []  # it could never match the photo again


def test_prune_drops_the_undo_records_of_forgotten_photos_only(env: Path,
                                                               tmp_path: Path) -> None:
    library = tmp_path / "lib"
    originals = tagged_library(library, "gone.jpg", "kept.jpg", "moved.jpg")
    copy = tmp_path / "elsewhere" / "moved.jpg"  # same content, still catalogued
    copy.parent.mkdir()
    shutil.copy2(library / "moved.jpg", copy)
    ok("scan", copy.parent)
    (library / "gone.jpg").unlink()
    (library / "moved.jpg").unlink()
    ok("scan", library)
    assert len(undo_records(env)) == 3
    ok("prune")
    assert [path for path, _ in undo_records(env)] == [str(library / n)
                                                       for n in ("kept.jpg", "moved.jpg")]
    ok("untag")  # the copy of the forgotten photo still comes back byte for byte
    assert copy.read_bytes() == originals[library / "moved.jpg"]
    assert (library / "kept.jpg").read_bytes() == originals[library / "kept.jpg"]
    assert undo_records(env) == []


def test_untag_on_a_read_only_catalogue_says_so_in_one_line(
        env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = tmp_path / "read-only" / "catalog.sqlite"  # the photos stay writable
    catalog.parent.mkdir()
    monkeypatch.setenv("PHOTOLM_CATALOG", str(catalog))
    if not _read_only_mount_works(catalog.parent):
        pytest.skip("needs root and unshare to mount a folder read-only")
    originals = tagged_library(tmp_path / "lib", "a.jpg")
    tagged = {p: p.read_bytes() for p in originals}
    done = _in_read_only_mount(catalog.parent, "untag")
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert lines[0].startswith("Error: ") and "is read-only" in lines[0]
    assert all(p.read_bytes() == b for p, b in tagged.items())  # nothing was untagged
    assert len(undo_records(catalog)) == 1


def test_schema_4_catalogue_upgrades_to_5_with_an_empty_undo_table(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "v4.sqlite"
    with monkeypatch.context() as m:
        m.setattr(schema_module, "MIGRATIONS", schema_module.MIGRATIONS[:4])
        m.setattr(schema_module, "SCHEMA_VERSION", 4)
        with Catalog.open(path, write=True) as old:
            old.conn.execute(
                "INSERT INTO photos (path_key, path, folder, size, mtime_ns, content_hash, "
                "landmark_id, landmark_name, score, tag_action, tag_status, scanned_at) VALUES "
                "(?, ?, ?, 1, 2, 'fp1:abc', 'eiffel', 'Eiffel', 0.9, 'tag', 'written', 'then')",
                (b"/p/a.jpg", "/p/a.jpg", "/p"))
            old.conn.execute("INSERT INTO learned_landmarks (landmark_id, name, created) "
                             "VALUES ('home', 'Home', 'then')")
            old.conn.commit()
    with Catalog.open(path, write=False) as read:  # a reader upgrades it first
        assert read.schema_version == SCHEMA_VERSION
    with Catalog.open(path, write=True) as cat:
        assert cat.schema_version == SCHEMA_VERSION
        row = cat.get_photo("/p/a.jpg")
        assert row is not None and (row.landmark_id, row.tag_status) == ("eiffel", "written")
        assert cat.conn.execute("SELECT name FROM learned_landmarks").fetchall() == [("Home",)]
        assert cat.conn.execute("SELECT count(*) FROM tag_undo").fetchone() == (0,)
        cat.keep_undo("fp1:abc", "sha", path="/p/a.jpg", original_sha256="orig", patch=b"S")
        assert cat.find_undo("fp1:abc", "sha") == ("/p/a.jpg", "orig", b"S")
        assert cat.find_undo("fp1:abc", "other") is None
        cat.drop_undo("fp1:abc", "sha")
        assert cat.find_undo("fp1:abc", "sha") is None


def test_retagging_a_photo_others_edit_keeps_one_undo_record(env: Path, tmp_path: Path,
                                                             exiftool: str) -> None:
    """A photo another program edits between photolm's tag writes gets a new record each
    time (the edited file is the new "original"); the record of the earlier tagged state
    can never match again and goes when the scan sees the edit (tag refuses a photo changed
    since its scan), so the table does not grow with every re-tag."""
    (photo,) = tagged_library(tmp_path / "lib", "a.jpg")
    for i, landmark in enumerate(["Colosseum", "Taj Mahal", "Eiffel Tower", "Colosseum"]):
        plant_keywords(photo, [f"Added {i}"])  # another program writes into the photo
        ok("scan", photo.parent)
        ok("confirm", photo, "--landmark", landmark)
        ok("tag", "--embed")
        assert [path for path, _ in undo_records(env)] == [str(photo)], i
    ok("untag")  # the one record left still gives back the photo as last edited
    assert as_list(exiftool_json(photo).get("XMP-dc:Subject")) == ["Added 3"]
    assert undo_records(env) == []


def test_a_name_that_is_not_utf8_is_tagged_and_given_back_byte_for_byte(
        env: Path, tmp_path: Path) -> None:
    """The undo record's path once failed to store (UnicodeEncodeError, a traceback) after
    the photo was already rewritten, so untag could not give its bytes back."""
    folder = tmp_path / "lib"
    odd = not_utf8_name(folder)
    original = write_photo(odd, EIFFEL, exif=camera_exif()).read_bytes()
    ok("scan", folder)
    code, _, err = run("tag", "--embed")
    assert code == 0 and "Traceback" not in err, err
    assert odd.read_bytes() != original
    assert [path for path, _ in undo_records(env)] == [f"{folder}/caf\\xe9 \\xff.jpg"]
    ok("untag")
    assert odd.read_bytes() == original
