# SPDX-License-Identifier: GPL-3.0-or-later
"""A folder scanned again under another letter case, on a disk that ignores case (macOS,
Windows, SMB/NAS shares), keeps its catalogue rows instead of gaining a second set, and the
commands that act on catalogued photos find them under either spelling; on a case-sensitive
disk, two names that differ in case stay two photos.

No case-insensitive file system can be mounted here, so :func:`case_insensitive` makes the
test's folder behave as one towards the lookups photolm makes of a path it did not list
itself: ``os.stat``, ``os.lstat``, ``os.listdir`` and ``os.access`` of a path that does not
exist as spelled find the entry whose name matches it ignoring case, as APFS or NTFS would.
Renaming the folder (``pictures`` -> ``Pictures``) is how the second spelling appears on
disk without a symlink: afterwards the walk lists the new spelling (as a case-insensitive
disk lists the name it stores), and the old spelling the catalogue holds still opens the
same file, which is exactly the state ``scan ~/Pictures`` after ``scan ~/pictures`` meets on
a Mac.
"""

from __future__ import annotations

import builtins
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from photolm.catalog import Catalog
from tests.clirun import cli as run
from tests.tags.photos import as_list, exiftool_json
from tests.tinybundle import COLOURS, write_photo

EIFFEL, COLOSSEUM = COLOURS["eiffel-tower"], COLOURS["colosseum"]


@pytest.fixture
def case_insensitive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Paths under ``tmp_path`` are looked up ignoring letter case (see the module
    docstring); everything else, and every path that exists as spelled, as before."""
    real_listdir = os.listdir
    top = str(tmp_path)

    def resolve(path: object) -> str | None:
        if not isinstance(path, (str, bytes, os.PathLike)):
            return None  # a file descriptor
        text = os.path.abspath(os.fsdecode(path))  # type: ignore[arg-type]
        if not text.startswith(top + os.sep):
            return None
        current = top
        for part in text[len(top) + 1:].split(os.sep):
            try:
                names = real_listdir(current)
            except OSError:
                return None
            match = next((n for n in names if n.casefold() == part.casefold()), None)
            if match is None:
                return None
            current = os.path.join(current, match)
        return current

    def folding(real: Callable[..., Any]) -> Callable[..., Any]:
        def lookup(path: object = ".", *args: object, **kwargs: object) -> Any:
            try:
                return real(path, *args, **kwargs)
            except FileNotFoundError:
                other = resolve(path)
                if other is None:
                    raise
                return real(other, *args, **kwargs)
        return lookup

    for name in ("stat", "lstat", "listdir"):
        monkeypatch.setattr(os, name, folding(getattr(os, name)))
    real_access = os.access

    def access(path: object, mode: int, *args: object, **kwargs: object) -> bool:
        # what click's path check asks of an argument: False, not an error, when not there
        if real_access(path, mode, *args, **kwargs):  # type: ignore[arg-type]
            return True
        other = resolve(path)
        return other is not None and real_access(other, mode, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "access", access)
    real_open = builtins.open

    def opening(file: object, *args: object, **kwargs: object) -> Any:
        # a photo the scan decodes under the catalogue's spelling of its folder
        try:
            return real_open(file, *args, **kwargs)  # type: ignore[call-overload]
        except FileNotFoundError:
            other = resolve(file)
            if other is None:
                raise
            return real_open(other, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(builtins, "open", opening)


def _listed() -> dict[str, dict[str, Any]]:
    code, out, err = run("list", "--json")
    assert code == 0, err
    return {r["path"]: r for r in json.loads(out)}


def test_a_folder_scanned_again_in_another_case_keeps_its_rows(
        tmp_path: Path, env: Path, case_insensitive: None) -> None:
    lib = tmp_path / "lib"
    write_photo(lib / "pictures" / "eiffel.jpg", EIFFEL)
    write_photo(lib / "pictures" / "trip" / "IMG_0001.JPG", COLOSSEUM)
    code, _out, err = run("scan", lib / "pictures", "--json")
    assert code == 0, err
    code, _out, err = run("confirm", lib / "pictures" / "eiffel.jpg")
    assert code == 0, err
    before = _listed()
    # the folder, and a file in it, renamed by case alone
    (lib / "pictures").rename(lib / "Pictures")
    (lib / "Pictures" / "trip" / "IMG_0001.JPG").rename(lib / "Pictures" / "trip" / "img_0001.jpg")

    code, out, err = run("scan", lib / "Pictures", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["found"] == 2 and summary["skipped_unchanged"] == 2, summary
    assert summary["processed"] == 0 and summary["missing"] == 0, summary
    assert summary["in_these_folders"]["photos"] == 2, summary
    after = _listed()
    assert after.keys() == before.keys()  # the same rows, none added
    assert after[str(lib / "pictures" / "eiffel.jpg")]["review"] == "confirmed"
    assert not any(r["missing"] for r in after.values())
    # the scan's record names the folder as catalogued: the desktop's Scan page lists (and
    # re-scans) it once, not once per spelling
    with Catalog.open(env, write=False) as cat:
        assert cat.scan_roots() == [str(lib / "pictures")]
        assert cat.last_scan()["roots"] == [str(lib / "pictures")]


def test_a_new_photo_joins_its_folder_as_catalogued_in_another_case(
        tmp_path: Path, env: Path, case_insensitive: None) -> None:
    """``pictures/trips`` scanned, then ``Pictures`` (the disk now names them ``Pictures/
    Trips``): a photo new in the folder is catalogued beside the old ones, in the folder's
    catalogued spelling, so the folder given in either case covers all of it."""
    lib = tmp_path / "lib"
    write_photo(lib / "pictures" / "trips" / "eiffel.jpg", EIFFEL)
    code, _out, err = run("scan", lib / "pictures" / "trips", "--json")
    assert code == 0, err
    (lib / "pictures").rename(lib / "Pictures")
    (lib / "Pictures" / "trips").rename(lib / "Pictures" / "Trips")
    write_photo(lib / "Pictures" / "Trips" / "new.jpg", COLOSSEUM)
    write_photo(lib / "Pictures" / "Trips" / "day 2" / "later.jpg", COLOSSEUM)

    code, out, err = run("scan", lib / "Pictures", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert (summary["found"], summary["processed"], summary["errors"]) == (3, 2, []), summary
    trips = lib / "pictures" / "trips"
    assert sorted(_listed()) == sorted(map(str, (
        trips / "day 2" / "later.jpg", trips / "eiffel.jpg", trips / "new.jpg")))
    code, out, err = run("tag", lib / "Pictures" / "Trips", "--dry-run", "--json")
    assert code == 0, err
    assert json.loads(out)["counts"] == {"would-write": 3}


def test_hard_links_named_in_two_cases_stay_two_photos(tmp_path: Path, env: Path) -> None:
    """On a case-sensitive disk ``a.jpg`` and its hard link ``A.jpg`` are both listed in
    their folder: two names, not one spelled twice (the case rule leaves them alone)."""
    lib = tmp_path / "lib"
    photo = write_photo(lib / "a.jpg", EIFFEL)
    code, _out, err = run("scan", photo, "--json")
    assert code == 0, err
    os.link(photo, lib / "A.jpg")
    code, _out, err = run("scan", lib, "--json")
    assert code == 0, err
    assert sorted(Path(p).name for p in _listed()) == ["A.jpg", "a.jpg"]


def test_a_symlink_spelling_a_folder_in_another_case_is_its_own_path(
        tmp_path: Path, env: Path) -> None:
    """``Pictures -> pictures`` on a case-sensitive disk: the catalogue records the path
    scanned (symlinks are not resolved), as it did before the case rule."""
    lib = tmp_path / "lib"
    write_photo(lib / "pictures" / "eiffel.jpg", EIFFEL)
    (lib / "Pictures").symlink_to("pictures")
    assert run("scan", lib / "pictures", "--json")[0] == 0
    assert run("scan", lib / "Pictures", "--json")[0] == 0
    assert sorted(_listed()) == [str(lib / "Pictures" / "eiffel.jpg"),
                                 str(lib / "pictures" / "eiffel.jpg")]


# The commands that act on catalogued photos take a path in another letter case, too: one
# step (photolm.case_paths.given_catalogued) for tag, untag, confirm, prune and learn.


@pytest.fixture
def scanned(tmp_path: Path, env: Path) -> Path:
    """``lib/Pictures`` scanned (two photos, one in a sub-folder): the catalogue spells its
    photos so."""
    pictures = tmp_path / "lib" / "Pictures"
    write_photo(pictures / "eiffel.jpg", EIFFEL)
    write_photo(pictures / "trip" / "colosseum.jpg", COLOSSEUM)
    code, _out, err = run("scan", pictures, "--json")
    assert code == 0, err
    return pictures


def _subjects(path: Path) -> list[object]:
    return as_list(exiftool_json(path).get("XMP-dc:Subject"))


def test_tag_and_untag_take_a_folder_in_another_case(
        scanned: Path, case_insensitive: None) -> None:
    given = scanned.with_name("pictures")
    code, out, err = run("tag", given, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["unmatched_paths"] == [] and result["counts"] == {"written": 2}, result
    assert "Eiffel Tower" in _subjects(scanned / "eiffel.jpg.xmp")  # beside the photo
    code, out, err = run("untag", given, "--json")
    assert code == 0, err
    assert json.loads(out)["counts"] == {"removed": 2}
    assert not (scanned / "eiffel.jpg.xmp").exists()
    assert len(_listed()) == 2  # the same rows, none added


def test_confirm_takes_a_photo_in_another_case(scanned: Path, case_insensitive: None) -> None:
    photo = scanned / "eiffel.jpg"
    code, out, err = run("confirm", scanned.with_name("pictures") / "EIFFEL.JPG",
                         "--landmark", "Colosseum", "--json")
    assert code == 0, err
    assert [(r["path"], r["review"]) for r in json.loads(out)] == [(str(photo), "corrected")]
    rows = _listed()
    assert len(rows) == 2 and rows[str(photo)]["landmark"] == "Colosseum"


def test_prune_takes_a_gone_photo_and_a_folder_in_another_case(
        scanned: Path, case_insensitive: None) -> None:
    for photo in scanned.rglob("*.jpg"):
        photo.unlink()
    code, out, err = run("scan", scanned, "--json")
    assert code == 0 and json.loads(out)["missing"] == 2, err
    # the photo's file is gone: its folder, which is there, tells its spelling
    code, out, err = run("prune", scanned.with_name("pictures") / "eiffel.jpg", "--json")
    assert code == 0, err
    assert [p["path"] for p in json.loads(out)["photos"]] == [str(scanned / "eiffel.jpg")]
    code, out, err = run("prune", scanned.with_name("PICTURES"), "--json")
    assert code == 0, err
    assert [p["path"] for p in json.loads(out)["photos"]] == [
        str(scanned / "trip" / "colosseum.jpg")]
    assert _listed() == {}


def test_learn_takes_a_catalogued_photo_in_another_case(
        scanned: Path, case_insensitive: None) -> None:
    """The example is the catalogued photo: given again in another case, it is no second
    example."""
    photo = scanned / "eiffel.jpg"
    code, out, err = run("learn", "Old Town Bridge", photo, "--json")
    assert code == 0, err
    assert json.loads(out)["added"] == 1
    code, out, err = run("learn", "Old Town Bridge", scanned.with_name("pictures") / "eiffel.jpg",
                         "--json")
    assert code == 0, err
    result = json.loads(out)
    assert (result["added"], result["examples"]) == (0, 1), result


def test_on_a_case_sensitive_disk_another_case_names_nothing(scanned: Path) -> None:
    given = scanned.with_name("pictures")
    code, out, _err = run("tag", given, "--json")
    assert code == 1 and json.loads(out)["unmatched_paths"] == [str(given)]


def test_a_hard_link_named_in_another_case_is_not_the_catalogued_photo(
        tmp_path: Path, env: Path) -> None:
    """``a.jpg`` catalogued, its hard link ``A.jpg`` beside it (both listed: a case-sensitive
    disk): ``A.jpg`` is another, uncatalogued photo, not ``a.jpg`` spelled otherwise."""
    photo = write_photo(tmp_path / "lib" / "a.jpg", EIFFEL)
    assert run("scan", photo, "--json")[0] == 0
    os.link(photo, photo.with_name("A.jpg"))
    code, _out, err = run("confirm", photo.with_name("A.jpg"))
    assert code == 1 and "run `photolm scan` on it first" in err, err
    assert _listed()[str(photo)]["review"] is None
