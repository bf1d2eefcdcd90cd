# SPDX-License-Identifier: GPL-3.0-or-later
"""``photolm tag``, ``untag``, ``confirm`` and ``scan --write-tags`` end to end.

A tiny real bundle recognises solid-colour photos (tests/tinybundle.py); the catalogue is a
real one; ExifTool, an independent reader, checks what landed in the files. Covered: sidecars
and untag restoring the keyword set, embedded writes with byte-identical image data, dry runs
that touch nothing, a read-only photo failing alone in one line, the threshold and a
person's confirmation, corrections surviving a re-scan, GPS-rejected look-alikes staying
untagged.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from photolm.catalog import Catalog
from photolm.metadata import read_photolm_marker
from tests.clirun import cli as run
from tests.tags.photos import as_list, camera_exif, exiftool_json, jpeg_scan_data, plant_keywords
from tests.test_geo_scan import LAS_VEGAS, REDDISH, gps_exif
from tests.tinybundle import COLOURS, write_photo

EIFFEL, COLOSSEUM = COLOURS["eiffel-tower"], COLOURS["colosseum"]
GREY = (128, 128, 128)
OTHER_TOOLS_SIDECAR = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="3">'
    "<dc:subject><rdf:Bag><rdf:li>Rome 2019</rdf:li></rdf:Bag></dc:subject>"
    "</rdf:Description></rdf:RDF></x:xmpmeta>\n"
)


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """Two recognisable photos (one with camera EXIF and GPS at the tower) and a grey one."""
    root = tmp_path / "Pictures"
    write_photo(root / "eiffel.jpg", EIFFEL, exif=camera_exif(gps=True), quality=90)
    write_photo(root / "colosseum.png", COLOSSEUM)
    write_photo(root / "grey.jpg", GREY)
    return root


def scan(root: Path, *extra: str) -> dict[str, object]:
    code, out, err = run("scan", root, "--json", *extra)
    assert code == 0, err
    return json.loads(out)


def listed() -> dict[str, dict[str, object]]:
    code, out, err = run("list", "--json")
    assert code == 0, err
    return {Path(r["path"]).name: r for r in json.loads(out)}


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


def subjects(path: Path) -> list[object]:
    return as_list(exiftool_json(path).get("XMP-dc:Subject"))


def problem_lines(err: str, name: str) -> list[str]:
    return [line for line in err.splitlines() if name in line]


# ------------------------------------------------------------------------- sidecars


def test_tag_writes_sidecars_exiftool_reads_and_untag_restores_keywords(
    env: Path, library: Path, exiftool: str
) -> None:
    photo = library / "eiffel.jpg"
    plant_keywords(photo, ["Holiday", "Paris trip"])  # a person's keywords, in the photo
    (library / "colosseum.png.xmp").write_text(OTHER_TOOLS_SIDECAR, encoding="utf-8")
    scan(library)
    before = snapshot(library)

    code, out, err = run("tag", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["counts"] == {"written": 2}
    assert result["skipped"] == {"no landmark recognised": 1}
    sidecar = library / "eiffel.jpg.xmp"
    # The photo's own keywords are copied into the new sidecar: tools that let a sidecar's
    # list replace the photo's would otherwise hide them.
    assert sorted(subjects(sidecar)) == ["Eiffel Tower", "Holiday", "Paris trip"]
    other = library / "colosseum.png.xmp"
    assert sorted(subjects(other)) == ["Colosseum", "Rome 2019"]
    assert exiftool_json(other).get("XMP-xmp:Rating") == 3  # the other tool's field stays
    assert not (library / "grey.jpg.xmp").exists()  # no landmark: nothing written
    for name in ("eiffel.jpg", "colosseum.png", "grey.jpg"):  # originals untouched
        assert (library / name).read_bytes() == before[name][0]
    rows = listed()
    assert rows["eiffel.jpg"]["tag_status"] == "written"
    assert rows["eiffel.jpg"]["tag_action"] == "tag"
    assert rows["eiffel.jpg"]["tag_mode"] == "sidecar"
    assert rows["eiffel.jpg"]["tag_files"] == [str(sidecar)]
    assert rows["grey.jpg"]["tag_status"] is None

    code, _, err = run("tag")  # again: nothing to change, nothing rewritten
    assert code == 0 and "2 already tagged" in err
    assert listed()["eiffel.jpg"]["tag_status"] == "unchanged"

    code, out, err = run("untag", "--json")
    assert code == 0, err
    assert json.loads(out)["counts"] == {"nothing-to-remove": 1, "removed": 2}
    assert not sidecar.exists()  # photolm created it; now empty, it is gone
    assert subjects(photo) == ["Holiday", "Paris trip"]  # the original keyword set
    assert subjects(other) == ["Rome 2019"]
    assert exiftool_json(other).get("XMP-xmp:Rating") == 3
    assert read_photolm_marker(library / "colosseum.png") is None
    assert listed()["eiffel.jpg"]["tag_status"] == "removed"


def test_lightroom_style_and_write_location(env: Path, library: Path, exiftool: str) -> None:
    scan(library)
    code, _, err = run("tag", library / "colosseum.png", "--sidecar-style", "lightroom",
                       "--write-location")
    assert code == 0, err
    sidecar = library / "colosseum.xmp"
    tags = exiftool_json(sidecar)
    assert as_list(tags.get("XMP-dc:Subject")) == ["Colosseum"]
    # The PNG has no GPS: it gets the landmark's position, marked as estimated.
    assert tags.get("XMP-exif:GPSLatitude") == pytest.approx(41.8902, abs=1e-3)
    assert "ESTIMATED" in str(tags.get("XMP-exif:GPSProcessingMethod"))
    assert not (library / "eiffel.jpg.xmp").exists()  # only the path asked for


# ------------------------------------------------------------------------- embedded


def test_embed_keeps_image_data_identical_and_exiftool_reads_subject(
    env: Path, library: Path, exiftool: str
) -> None:
    photo = library / "eiffel.jpg"
    scan(library)
    data, mtime = photo.read_bytes(), photo.stat().st_mtime_ns
    code, _, err = run("tag", photo, "--embed")
    assert code == 0, err
    assert not (library / "eiffel.jpg.xmp").exists()
    after = photo.read_bytes()
    assert after != data
    assert jpeg_scan_data(after) == jpeg_scan_data(data)  # SOS to EOF: the same bytes
    assert photo.stat().st_mtime_ns == mtime
    tags = exiftool_json(photo)
    assert as_list(tags.get("XMP-dc:Subject")) == ["Eiffel Tower"]
    assert tags.get("IFD0:Make") == "Canon"  # the camera's EXIF is still there
    assert listed()["eiffel.jpg"]["tag_mode"] == "embed"
    # photolm recorded the rewritten file's state: the next scan does not decode it again.
    assert scan(library)["skipped_unchanged"] == 3

    code, _, err = run("untag", photo)
    assert code == 0, err
    assert "XMP-dc:Subject" not in exiftool_json(photo)
    assert jpeg_scan_data(photo.read_bytes()) == jpeg_scan_data(data)


def test_embed_falls_back_to_a_sidecar_with_one_line(env: Path, tmp_path: Path) -> None:
    root = tmp_path / "Pictures"
    write_photo(root / "eiffel.gif", EIFFEL, fmt="GIF")
    scan(root)
    before = (root / "eiffel.gif").read_bytes()
    code, out, err = run("tag", "--embed", "--dry-run")  # said once, in the plan
    assert code == 0, err
    assert problem_lines(out + err, "eiffel.gif: unsupported format") == [
        f"{root / 'eiffel.gif'}: unsupported format for embedding: .gif - "
        "will write a sidecar instead"]
    code, _, err = run("tag", "--embed")
    assert code == 0, err
    notes = problem_lines(err, "eiffel.gif")
    assert notes == [f"note: {root / 'eiffel.gif'}: unsupported format for embedding: .gif - "
                     "wrote a sidecar instead"]
    assert (root / "eiffel.gif").read_bytes() == before
    marker = read_photolm_marker(root / "eiffel.gif")
    assert marker is not None and marker.landmark_name == "Eiffel Tower"
    assert listed()["eiffel.gif"]["tag_mode"] == "sidecar"


# ------------------------------------------------------------------------- dry run


def test_dry_run_changes_no_file_and_no_catalogue_row(env: Path, library: Path) -> None:
    scan(library)
    before = snapshot(library)
    code, out, err = run("tag", "--dry-run")
    assert code == 0, err
    assert f"{library / 'eiffel.jpg'} -> {library / 'eiffel.jpg.xmp'} (new sidecar)" in out
    assert "  + XMP-dc:Subject: Eiffel Tower" in out
    assert "dry run, nothing changed: 2 would be written" in err
    code, out, err = run("tag", "--dry-run", "--embed", "--json")
    assert code == 0, err
    plans = {Path(p["path"]).name: p for p in json.loads(out)["photos"]}
    assert plans["eiffel.jpg"]["status"] == "would-write"
    assert f"{library / 'eiffel.jpg'} (embedded, exiv2)" in plans["eiffel.jpg"]["plan"]
    code, _, err = run("untag", "--dry-run")
    assert code == 0, err
    assert snapshot(library) == before  # bytes and modification times
    assert all(r["tag_status"] is None for r in listed().values())


def test_dry_runs_list_only_the_photos_they_would_change(env: Path, library: Path) -> None:
    scan(library)
    assert run("tag", library / "eiffel.jpg")[0] == 0
    code, out, err = run("untag", "--dry-run")
    assert code == 0, err
    assert str(library / "eiffel.jpg") in out and "colosseum.png" not in out
    assert "1 would be removed, 2 had no photolm tags" in err
    code, out, err = run("tag", "--dry-run")
    assert code == 0, err
    assert str(library / "colosseum.png") in out and "eiffel.jpg" not in out
    assert "1 already tagged, 1 would be written" in err


# ------------------------------------------------------------------------- failures


def test_read_only_photo_fails_in_one_line_and_the_others_are_tagged(
    env: Path, library: Path, exiftool: str
) -> None:
    locked = library / "colosseum.png"
    scan(library)
    data = locked.read_bytes()
    locked.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    try:
        code, _out, preview = run("tag", "--embed", "--dry-run")
        assert code == 1 and "1 would be written; 1 would fail;" in preview, preview
        code, _out, err = run("tag", "--embed")
    finally:
        locked.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert code == 1
    assert "Traceback" not in err
    lines = problem_lines(err, "colosseum.png")
    assert len(lines) == 1 and lines[0].startswith("warning:") and "read-only" in lines[0]
    assert lines[0].count(str(locked)) == 1  # the path once, not "PATH: read-only file: PATH"
    assert locked.read_bytes() == data and not (library / "colosseum.png.xmp").exists()
    assert as_list(exiftool_json(library / "eiffel.jpg").get("XMP-dc:Subject")) == [
        "Eiffel Tower"]
    rows = listed()
    assert rows["colosseum.png"]["tag_status"] == "failed"
    assert "read-only" in str(rows["colosseum.png"]["tag_error"])
    assert rows["eiffel.jpg"]["tag_status"] == "written"


def test_read_only_folder_vanished_and_changed_photos(env: Path, tmp_path: Path) -> None:
    root = tmp_path / "Pictures"
    write_photo(root / "locked" / "eiffel.jpg", EIFFEL)
    write_photo(root / "gone.jpg", EIFFEL)
    write_photo(root / "edited.jpg", COLOSSEUM)
    write_photo(root / "fine.jpg", COLOSSEUM)
    scan(root)
    (root / "gone.jpg").unlink()
    write_photo(root / "edited.jpg", COLOSSEUM, size=(80, 60))  # edited after the scan
    folder = root / "locked"
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        code, out, err = run("tag", "--json")
    finally:
        folder.chmod(stat.S_IRWXU)
    assert code == 1
    failed = {Path(f["path"]).name: f["error"] for f in json.loads(out)["failed"]}
    assert set(failed) == {"eiffel.jpg", "gone.jpg", "edited.jpg"}
    assert "folder is read-only" in failed["eiffel.jpg"]
    assert failed["gone.jpg"].startswith("file vanished")
    assert "`photolm scan` its folder first" in failed["gone.jpg"]  # what to do about it
    assert "changed since it was scanned" in failed["edited.jpg"]
    for name in failed:
        assert len(problem_lines(err, name)) == 1
    assert os.listdir(folder) == ["eiffel.jpg"]
    assert (root / "fine.jpg.xmp").exists() and not (root / "edited.jpg.xmp").exists()


def test_tag_before_any_scan_is_one_line_and_creates_no_catalogue(env: Path) -> None:
    for command in (("tag",), ("untag",), ("confirm", "x.jpg", "--none")):
        code, _, err = run(*command)
        assert code == 1, command
        assert err.startswith("Error: No catalogue at") and "run `photolm scan" in err
        assert len(err.strip().splitlines()) == 1
    assert not env.exists()


def test_closing_lines_read_as_sentences(env: Path, library: Path) -> None:
    """A photo whose tags a "no landmark" answer took away is counted in words that read
    ("1 had photolm's tags removed", not "1 photolm tags removed"), and a run where every
    photo failed had something to do: not "nothing to do; 1 failed"."""
    scan(library)
    run("tag")
    run("confirm", library / "eiffel.jpg", "--none")
    code, _, preview = run("tag", "--dry-run")
    assert code == 0 and "dry run, nothing changed: 1 already tagged, 1 would have photolm's " \
        "tags removed;" in preview, preview
    code, _, err = run("tag")
    assert code == 0 and "tag: 1 already tagged, 1 had photolm's tags removed;" in err, err

    locked = library / "colosseum.png"
    locked.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    try:
        code, _, preview = run("tag", "--embed", "--dry-run", locked)
        code_written, _, err = run("tag", "--embed", locked)
    finally:
        locked.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert code == 1 and preview.splitlines()[-1] == "dry run, nothing changed: 1 would fail", \
        preview
    assert code_written == 1 and err.splitlines()[-1] == "tag: 1 failed", err


def test_unknown_path_is_reported_and_exit_1(env: Path, library: Path, tmp_path: Path) -> None:
    scan(library)
    write_photo(tmp_path / "elsewhere" / "new.jpg", EIFFEL)
    code, _, err = run("tag", tmp_path / "elsewhere")
    assert code == 1 and "no catalogued photos there; run `photolm scan`" in err


@pytest.mark.parametrize("command", [("tag",), ("untag",), ("confirm", "--none")])
def test_a_path_that_does_not_exist_is_called_so(env: Path, library: Path,
                                                 command: tuple[str, ...]) -> None:
    """Not "run photolm scan on it first": a scan of a typo finds nothing either."""
    scan(library)
    code, _, err = run(*command, library / "eifel.jpg")
    assert code == 1
    assert problem_lines(err, "eifel.jpg") == [
        f"warning: {library / 'eifel.jpg'}: no such file or folder"]


@pytest.mark.parametrize("command", [("tag",), ("untag",), ("confirm", "--none")])
def test_a_path_with_no_photo_to_scan_is_called_so(env: Path, library: Path, tmp_path: Path,
                                                   command: tuple[str, ...]) -> None:
    """Not "run photolm scan on it first" either: a scan of a folder without photos, or of
    a file that is not one, finds nothing to catalogue."""
    scan(library)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a photo")
    code, _, err = run(*command, empty)
    assert code == 1
    assert problem_lines(err, "empty") == [f"warning: {empty}: no photos there"]
    code, _, err = run(*command, empty / "notes.txt")
    assert code == 1
    assert problem_lines(err, "notes.txt") == [
        f"warning: {empty / 'notes.txt'}: not a photo (unrecognised content)"]


def test_confirm_says_why_a_photo_that_could_not_be_read_has_nothing_to_confirm(
    env: Path, library: Path
) -> None:
    (library / "empty.jpg").write_bytes(b"")
    run("scan", library)  # exit 1: the empty file could not be read
    code, _, err = run("confirm", library / "empty.jpg")
    assert code == 1
    assert problem_lines(err, "empty.jpg") == [
        f"warning: {library / 'empty.jpg'}: could not be read at the last scan (empty file), "
        "so nothing to confirm; name it with --landmark NAME, or say --none"]


def test_confirm_clear_counts_only_the_answers_it_cleared(env: Path, library: Path) -> None:
    """`confirm FOLDER --clear` said "3 photos: the model decides again (3 cleared)" when
    one photo of the three had an answer: the others had nothing to clear."""
    scan(library)
    assert run("confirm", library / "eiffel.jpg")[0] == 0
    code, out, err = run("confirm", library, "--clear", "--json")
    assert code == 0, err
    assert sorted((Path(r["path"]).name, r["previous_review"]) for r in json.loads(out)) == [
        ("colosseum.png", None), ("eiffel.jpg", "confirmed"), ("grey.jpg", None)]
    assert run("confirm", library / "grey.jpg", "--none")[0] == 0
    assert run("confirm", library / "eiffel.jpg")[0] == 0
    code, _, err = run("confirm", library, "--clear")
    assert code == 0
    assert err.strip() == ("3 photos: the model decides again (2 answers cleared, 1 had "
                           "none)"), err


# ------------------------------------------------------------------------- who decides


def test_below_threshold_only_when_confirmed_and_min_score(env: Path, library: Path) -> None:
    write_photo(library / "reddish.jpg", REDDISH)  # the tower's prototype scores it ~0.92
    scan(library)
    code, out, _ = run("tag", "--min-score", "0.97", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["skipped"] == {"below --min-score": 1, "no landmark recognised": 1}
    assert not (library / "grey.jpg.xmp").exists()
    assert not (library / "reddish.jpg.xmp").exists()

    code, _, err = run("confirm", library / "grey.jpg", "--landmark", "colloseum")
    assert code == 0, err
    code, _, err = run("tag", "--min-score", "0.97")
    assert code == 0, err
    marker = read_photolm_marker(library / "grey.jpg")
    assert marker is not None and marker.landmark_name == "Colosseum"
    assert marker.model_id == "person"
    assert not (library / "reddish.jpg.xmp").exists()


def test_gps_rejected_lookalike_is_not_tagged(env: Path, tmp_path: Path) -> None:
    root = tmp_path / "Pictures"
    write_photo(root / "vegas.jpg", EIFFEL, exif=gps_exif(*LAS_VEGAS))
    scan(root)
    code, out, _ = run("tag", "--json")
    assert code == 0
    assert json.loads(out)["skipped"] == {"GPS ruled the match out": 1}
    assert not (root / "vegas.jpg.xmp").exists()


def test_confirm_correction_with_a_typo_changes_search_and_survives_rescan(
    env: Path, library: Path
) -> None:
    scan(library)
    code, _, err = run("confirm", library / "eiffel.jpg", "--landmark", "colloseum")
    assert code == 0, err
    assert "Colosseum (1 corrected)" in err

    def found(query: str) -> list[str]:
        code, out, _ = run("search", query, "--json")
        assert code == 0
        return sorted(Path(h["path"]).name for h in json.loads(out))

    assert found("Colosseum") == ["colosseum.png", "eiffel.jpg"]
    assert found("Eiffel Tower") == []
    row = listed()["eiffel.jpg"]
    assert row["landmark"] == "Colosseum" and row["review"] == "corrected"
    assert row["recognised_landmark"] == "Eiffel Tower" and row["score"] is None

    assert scan(library, "--force")["processed"] == 3  # re-decided by the model...
    assert found("Colosseum") == ["colosseum.png", "eiffel.jpg"]  # ...the person's word stands
    assert listed()["eiffel.jpg"]["review"] == "corrected"
    code, out, _ = run("landmarks", "--json")
    counts = {r["name"]: r["photos"] for r in json.loads(out)}
    assert counts["Colosseum"] == 2 and counts["Eiffel Tower"] == 0


def test_confirm_none_untags_and_clear_gives_the_model_back(env: Path, library: Path) -> None:
    scan(library)
    code, _, err = run("confirm", library / "eiffel.jpg")  # the recognised landmark is right
    assert code == 0 and err.strip() == "1 photo: Eiffel Tower (1 confirmed)", err
    assert listed()["eiffel.jpg"]["review"] == "confirmed"
    run("tag")
    assert (library / "eiffel.jpg.xmp").exists()

    code, _, err = run("confirm", library / "eiffel.jpg", "--none")
    assert code == 0 and err.strip() == "1 photo: no landmark", err  # not "(1 none)"
    code, out, _ = run("search", "Eiffel Tower", "--json")
    assert json.loads(out) == []
    code, out, err = run("tag", "--json")  # the person said the tag is wrong: it goes
    assert code == 0, err
    assert json.loads(out)["counts"] == {"removed": 1, "unchanged": 1}
    assert not (library / "eiffel.jpg.xmp").exists()
    assert listed()["eiffel.jpg"]["landmark"] is None

    code, _, err = run("confirm", library / "eiffel.jpg", "--clear")
    assert code == 0 and err.strip() == "1 photo: the model decides again (1 answer cleared)"
    row = listed()["eiffel.jpg"]
    assert row["review"] is None and row["landmark"] == "Eiffel Tower"


def test_confirm_refuses_bad_names_and_photos_without_a_landmark(
    env: Path, library: Path
) -> None:
    scan(library)
    code, _, err = run("confirm", library / "eiffel.jpg", "--landmark", "xyzzy")
    assert code == 1  # a name typed well that names nothing: a data error, not usage
    assert err.startswith("Error: The model does not know 'xyzzy': no landmark")
    assert len(err.strip().splitlines()) == 1
    code, _, err = run("confirm", library / "eiffel.jpg", "--landmark", "Rome")
    assert code == 1 and "is a place, not a landmark" in err
    code, _, err = run("confirm", library / "eiffel.jpg", "--landmark", "Colosseum", "--none")
    assert code == 2 and "at most one of" in err
    code, _, err = run("confirm", library / "grey.jpg")  # nothing recognised to confirm
    assert code == 1 and len(problem_lines(err, "grey.jpg")) == 1
    assert listed()["eiffel.jpg"]["review"] is None  # refused answers change nothing


# ------------------------------------------------------------------------- scan


def test_scan_write_tags_tags_the_photos_of_this_scan(env: Path, library: Path,
                                                      tmp_path: Path) -> None:
    elsewhere = tmp_path / "Elsewhere"
    write_photo(elsewhere / "colosseum.jpg", COLOSSEUM)
    scan(elsewhere)
    code, out, err = run("scan", library, "--write-tags", "--embed", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["processed"] == 3
    assert result["tags"]["counts"] == {"written": 2}
    assert result["tags"]["skipped"] == {"no landmark recognised": 1}
    assert read_photolm_marker(library / "eiffel.jpg", mode="embed") is not None
    assert read_photolm_marker(library / "colosseum.png", mode="embed") is not None
    assert read_photolm_marker(elsewhere / "colosseum.jpg") is None  # not this scan's photo
    with Catalog.open(env, write=False) as cat:
        row = cat.get_photo(library / "eiffel.jpg")
        assert row is not None and row.tag_status == "written" and row.tag_mode == "embed"


def test_tag_options_without_write_tags_are_a_usage_error(env: Path, library: Path) -> None:
    code, _, err = run("scan", library, "--embed")
    assert code == 2 and "only apply with --write-tags" in err


def test_help_lists_the_tag_commands() -> None:
    code, out, _ = run("--help")
    assert code == 0
    for command in ("tag", "untag", "confirm"):
        assert command in out
    code, out, _ = run("tag", "--help")
    for option in ("--embed", "--sidecar-style", "--write-location", "--dry-run",
                   "--min-score", "--catalog", "--json", "--quiet"):
        assert option in out
    code, out, _ = run("scan", "--help")
    assert "--write-tags" in out


def _four_scanned_photos(tmp_path: Path) -> Path:
    root = tmp_path / "Pictures"
    for i in range(4):
        write_photo(root / f"p{i}.jpg", EIFFEL)
    scan(root)
    return root


def _ctrl_c_on_third_write(monkeypatch: pytest.MonkeyPatch) -> Callable[..., object]:
    """Make Ctrl-C land while the third photo is written; returns the real writer."""
    import photolm.tagging as tagging

    real, calls = tagging._write_one, []

    def write_one(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(tagging, "_write_one", write_one)
    return real


def _untag_restores_the_rest(monkeypatch: pytest.MonkeyPatch, real: Callable[..., object],
                             root: Path, before: dict) -> None:
    """With the real writer back, one untag removes the 2 photos' tags Ctrl-C left and every
    photo has its bytes from before tagging again."""
    import photolm.tagging as tagging

    monkeypatch.setattr(tagging, "_write_one", real)
    code, out, err = run("untag", "--json")
    assert code == 0, err
    assert json.loads(out)["counts"] == {"nothing-to-remove": 2, "removed": 2}
    assert {n: d for n, (d, _m) in snapshot(root).items()} == {
        n: d for n, (d, _m) in before.items()}


def test_ctrl_c_says_how_many_photos_were_written_and_untag_takes_them_back(
        env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while the third of four photos is written: one line says 2 of 4 were written
    (kept, untag takes them back) and 2 are untouched; exit 130 as for every Ctrl-C."""

    root = _four_scanned_photos(tmp_path)
    before = snapshot(root)
    real = _ctrl_c_on_third_write(monkeypatch)
    code, _out, err = run("tag", "--embed")
    assert code == 130
    assert err.strip() == ("Error: interrupted after 2 photos of 4 were written (kept; "
                           "`photolm untag` takes them back); 2 not reached are untouched, "
                           "and no photo is half-written.")
    changed = {name for name, (data, _m) in snapshot(root).items() if data != before[name][0]}
    assert changed == {"p0.jpg", "p1.jpg"}
    assert [listed()[f"p{i}.jpg"]["tag_status"] for i in range(4)] == [
        "written", "written", None, None]

    _untag_restores_the_rest(monkeypatch, real, root, before)



def test_ctrl_c_just_after_a_photo_was_replaced_counts_it_and_untag_restores_it(
        env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real Ctrl-C (SIGINT) arriving while the third photo's rename is made durable, after
    it replaced the photo: that photo counts as written, not as untouched, and keeps its way
    back, so untag gives every photo its bytes from before tagging. (Ctrl-C used to raise
    there, and the rewritten photo's undo record was dropped as unused.)"""
    import signal

    from photolm.metadata import atomic

    root = tmp_path / "Pictures"
    for i in range(4):  # four different photos: copies would share one way back
        write_photo(root / f"p{i}.jpg", EIFFEL, size=(64 + i, 48))
    scan(root)
    before = snapshot(root)
    real, calls = atomic.fsync_folder, []

    def fsync_folder(folder: Path) -> None:
        real(folder)
        calls.append(folder)
        if len(calls) == 3:
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(atomic, "fsync_folder", fsync_folder)
    code, _out, err = run("tag", "--embed")
    assert code == 130
    assert err.strip() == ("Error: interrupted after 3 photos of 4 were written (kept; "
                           "`photolm untag` takes them back); 1 not reached is untouched, "
                           "and no photo is half-written (the one in hand when Ctrl-C came "
                           "was finished first).")
    monkeypatch.setattr(atomic, "fsync_folder", real)
    code, out, err = run("untag", "--json")
    assert code == 0, err
    assert json.loads(out)["counts"] == {"nothing-to-remove": 1, "removed": 3}
    assert {n: d for n, (d, _m) in snapshot(root).items()} == {
        n: d for n, (d, _m) in before.items()}


def test_ctrl_c_in_scan_write_tags_says_what_tag_says_and_keeps_the_records(
        env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while `scan --write-tags` writes the third of four photos: the line `photolm
    tag` gives (2 of 4 written, kept, untag takes them back), exit 130, and the catalogue
    records the two as tagged."""
    root = _four_scanned_photos(tmp_path)
    before = snapshot(root)
    real = _ctrl_c_on_third_write(monkeypatch)
    code, _out, err = run("scan", root, "--write-tags", "--embed")
    assert code == 130
    assert err.strip().splitlines()[-1] == (
        "Error: interrupted after 2 photos of 4 were written (kept; `photolm untag` takes "
        "them back); 2 not reached are untouched, and no photo is half-written.")
    assert [listed()[f"p{i}.jpg"]["tag_status"] for i in range(4)] == [
        "written", "written", None, None]
    _untag_restores_the_rest(monkeypatch, real, root, before)

def test_ctrl_c_in_untag_says_how_far_it_got_and_untag_again_finishes(
        env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As tag: Ctrl-C while the third of four photos is untagged says 2 of 4 had their tags
    removed, 2 are untouched, exit 130; the catalogue knows which, and untag again restores
    every photo to its bytes before tagging."""

    root = _four_scanned_photos(tmp_path)
    before = snapshot(root)
    assert run("tag", "--embed")[0] == 0
    tagged = snapshot(root)
    real = _ctrl_c_on_third_write(monkeypatch)
    code, _out, err = run("untag")
    assert code == 130
    assert err.strip() == ("Error: interrupted after 2 photos of 4 had their tags removed "
                           "(`photolm untag` again finishes the rest); 2 not reached are "
                           "untouched, and no photo is half-written.")
    now = snapshot(root)
    assert {n for n in now if now[n][0] == before[n][0]} == {"p0.jpg", "p1.jpg"}
    assert {n for n in now if now[n][0] == tagged[n][0]} == {"p2.jpg", "p3.jpg"}

    _untag_restores_the_rest(monkeypatch, real, root, before)


def test_a_folder_sync_refused_after_the_rename_keeps_the_way_back(
        env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The photo is replaced, then the folder's fsync fails (EIO on a USB or network
    drive): the photo holds the tagged bytes, so its undo record must stay (it was dropped
    as if nothing had been written: untag could not restore it; review finding)."""
    import errno

    from photolm.metadata import atomic

    root = tmp_path / "Pictures"
    for i in range(4):
        write_photo(root / f"p{i}.jpg", EIFFEL, size=(64 + i, 48))
    scan(root)
    before = snapshot(root)
    real, calls = atomic.fsync_folder, []

    def refused_once(folder: Path) -> None:
        real(folder)
        calls.append(folder)
        if len(calls) == 3:
            raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(atomic, "fsync_folder", refused_once)
    code, _, err = run("tag", "--embed")
    assert code == 1 and "Input/output error" in err, err
    monkeypatch.setattr(atomic, "fsync_folder", real)
    code, _, err = run("untag")
    assert code == 0, err
    assert {n: b for n, (b, _) in snapshot(root).items()} == {
        n: b for n, (b, _) in before.items()}
