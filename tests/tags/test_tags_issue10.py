# SPDX-License-Identifier: GPL-3.0-or-later
"""Regressions from issue 10's outside test of the tag promises, one test per defect.

Through the CLI where a user sees it (tiny bundle, real catalogue), ExifTool as the reader.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from PIL import Image

from photolm.bundle import Landmark
from photolm.fingerprint import SAMPLE, fingerprint, fingerprint_bytes
from photolm.metadata import apply_tags, containers, inplace, plan_tags, plan_untag, verify
from photolm.metadata.undo import (
    MemoryUndoStore,
    UndoRecord,
    UndoStoreError,
    apply_patch,
    find_original,
    make_patch,
    sha256,
)
from tests.clirun import cli as run
from tests.tags.photos import as_list, camera_exif, exiftool_json, plant_keywords
from tests.tags.test_tags_samples import SAMPLES
from tests.tinybundle import COLOURS, write_photo

EIFFEL = COLOURS["eiffel-tower"]


def scan(root: Path) -> None:
    code, _out, err = run("scan", root, "--json")
    assert code == 0, err


def sample(name: str, folder: Path) -> Path:
    if not (SAMPLES / name).exists():
        pytest.skip("../shared/data/metadata-samples is not there")
    path = folder / name
    path.write_bytes((SAMPLES / name).read_bytes())
    return path


# 10.3: untag gives back the original bytes of a photo with XMP and IPTC ---------------------
def test_cli_untag_after_embed_gives_the_original_bytes_back(env: Path, tmp_path: Path,
                                                              exiftool: str) -> None:
    photo = write_photo(tmp_path / "lib" / "eiffel.jpg", EIFFEL, exif=camera_exif())
    plant_keywords(photo, ["Holiday", "Paris trip"], iptc=True)  # XMP and IPTC already there
    original = photo.read_bytes()
    scan(photo.parent)
    code, _out, err = run("tag", "--embed")
    assert code == 0, err
    assert photo.read_bytes() != original
    assert "Eiffel Tower" in as_list(exiftool_json(photo).get("XMP-dc:Subject"))
    code, _out, err = run("untag")
    assert code == 0, err
    assert photo.read_bytes() == original


def test_untag_of_a_photo_changed_since_removes_only_photolm_values(
        tmp_path: Path, eiffel: Landmark, exiftool: str) -> None:
    photo = write_photo(tmp_path / "eiffel.jpg", EIFFEL, exif=camera_exif())
    undo = MemoryUndoStore()
    apply_tags(plan_tags(photo, eiffel, 0.9, "m", mode="embed"), undo=undo)
    plant_keywords(photo, ["Added later"])  # another tool writes into the photo
    apply_tags(plan_untag(photo), undo=undo)
    assert as_list(exiftool_json(photo).get("XMP-dc:Subject")) == ["Added later"]


def test_undo_patch_round_trips_insertions_and_in_place_edits() -> None:
    original = bytes(range(256)) * 40
    inserted = original[:100] + b"XMP" * 50 + original[100:]
    patched = bytearray(original + b"appended")
    patched[4:8] = b"\x00\x01\x02\x03"
    for tagged in (inserted, bytes(patched)):
        patch = make_patch(tagged, original)
        assert patch is not None and len(patch) < 400
        assert apply_patch(tagged, patch) == original


def test_fingerprint_of_bytes_is_the_scans_fingerprint_of_the_file(tmp_path: Path) -> None:
    """Undo records are keyed by the fingerprint of bytes in memory; the scan computes it from
    the file: they must agree for files read whole and for files sampled at both ends."""
    for size in (1000, 2 * SAMPLE + 1):
        data = os.urandom(size)
        (tmp_path / "f").write_bytes(data)
        assert fingerprint_bytes(data) == fingerprint(tmp_path / "f")


def test_find_original_gives_the_original_only_when_the_patch_restores_it() -> None:
    original = bytes(range(256)) * 40
    tagged = original[:100] + b"XMP" * 50 + original[100:]
    patch = make_patch(tagged, original)
    assert patch is not None
    store = MemoryUndoStore()
    store.save(UndoRecord("p.jpg", fingerprint_bytes(tagged), sha256(tagged), sha256(original),
                          patch))
    found = find_original(store, tagged)
    assert found is not None and found[1] == original
    assert find_original(store, original) is None  # not a file photolm wrote
    store.save(UndoRecord("p.jpg", fingerprint_bytes(tagged), sha256(tagged), sha256(b"other"),
                          patch))
    assert find_original(store, tagged) is None  # the patch does not give that original back

    class Broken(MemoryUndoStore):
        def find(self, fingerprint: str, tagged_sha256: str) -> UndoRecord | None:
            raise UndoStoreError("catalogue locked")

    assert find_original(Broken(), tagged) is None  # untag falls back to removing values


@pytest.mark.parametrize("damaged", [b"S\x00\x01", b"P" + (1 << 62).to_bytes(8, "big"),
                                     b"P\x00\x00\x00\x00\x00\x00\x00\x10\x00\x01", b"Zzz", b""])
def test_a_damaged_undo_record_is_no_record(damaged: bytes) -> None:
    """A truncated or garbled patch in the catalogue (a damaged disk, a record cut short)
    must read as "no way back" (untag then removes the values), never as a traceback."""
    tagged = b"\xff\xd8" + bytes(range(256)) * 8
    store = MemoryUndoStore()
    store.save(UndoRecord("p.jpg", fingerprint_bytes(tagged), sha256(tagged), sha256(b"x"),
                          damaged))
    assert find_original(store, tagged) is None


# 10.3: the verifier catches each change the outside test saw ----------------------------------
def test_verifier_catches_xmp_reserialisation() -> None:
    with pytest.raises(ValueError, match="re-serialised"):
        verify.check_packet(b"<x:xmpmeta x:xmptk='XMP Core 4.4.0-Exiv2'/>", b"<x:xmpmeta/>")


def test_verifier_catches_reordered_iptc(tmp_path: Path) -> None:
    data = sample("IPTC.jpg", tmp_path).read_bytes()
    datasets = containers.jpeg_iim(data)
    assert datasets and len(datasets) > 3
    block = containers.build_iim(datasets)
    assert block in data
    reordered = data.replace(block, containers.build_iim(list(reversed(datasets))))
    with pytest.raises(ValueError, match="IPTC"):
        verify.check_container("jpeg", data, reordered, exif_changed=False, iptc_changed=True)


def test_verifier_catches_png_exif_byte_order_flip(tmp_path: Path) -> None:
    photo = tmp_path / "p.png"
    Image.new("RGB", (8, 8)).save(photo, exif=camera_exif())
    data = photo.read_bytes()
    assert b"eXIfMM" in data or b"eXIfII" in data
    flipped = data.replace(b"eXIfMM", b"eXIfII") if b"eXIfMM" in data else \
        data.replace(b"eXIfII", b"eXIfMM")
    with pytest.raises(ValueError, match="PNG chunk"):
        verify.check_container("png", data, flipped, exif_changed=False, iptc_changed=False)


def test_verifier_catches_a_second_iptc_block_in_tiff(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    data = sample("GeoTiff.tif", tmp_path).read_bytes()
    # A writer that adds an IPTC entry (tag 33723) to IFD0, as exiv2 did to some TIFFs.
    monkeypatch.setattr(containers.tiff, "_TIFF_XMP", 33723)
    grown = containers.tiff_write(data, packet=b"\x1c\x02\x00\x00\x00")
    monkeypatch.undo()
    with pytest.raises(ValueError, match="TIFF"):
        verify.check_container("tiff", data, grown, exif_changed=False, iptc_changed=False)


def test_empty_subject_bag_survives_tag_and_untag(tmp_path: Path, eiffel: Landmark) -> None:
    photo = write_photo(tmp_path / "p.jpg", EIFFEL)
    packet = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/'
              b'1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dc="http://'
              b'purl.org/dc/elements/1.1/"><dc:subject><rdf:Bag/></dc:subject>'
              b"</rdf:Description></rdf:RDF></x:xmpmeta>")
    photo.write_bytes(containers.jpeg_write(photo.read_bytes(), packet=packet))
    original = photo.read_bytes()
    undo = MemoryUndoStore()
    apply_tags(plan_tags(photo, eiffel, 0.9, "m", mode="embed"), undo=undo)
    apply_tags(plan_untag(photo), undo=undo)
    assert photo.read_bytes() == original
    # Without the kept original (the fallback), the empty bag is still left as it was.
    apply_tags(plan_tags(photo, eiffel, 0.9, "m", mode="embed"))
    apply_tags(plan_untag(photo))
    assert b"<dc:subject><rdf:Bag/></dc:subject>" in containers.jpeg_xmp(photo.read_bytes())


# 10.1: a maker note that would change sends the photo to a sidecar, with one line ---------------
def test_maker_note_change_falls_back_to_a_sidecar(tmp_path: Path, eiffel: Landmark,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    photo = sample("Canon.jpg", tmp_path)
    original = photo.read_bytes()
    # Pretend photolm did not know about maker notes: EXIF (XPKeywords) would be rewritten.
    monkeypatch.setattr(inplace, "has_maker_note", lambda exif: False)
    plan = plan_tags(photo, eiffel, 0.9, "m", mode="embed")
    assert plan.fallback_reason is not None and "maker note" in plan.fallback_reason
    outcome = apply_tags(plan)
    assert photo.read_bytes() == original
    assert outcome.files == (tmp_path / "Canon.jpg.xmp",)
    assert "maker note" in outcome.message and "\n" not in outcome.message


# 10.2: a JPEG comment is kept byte for byte ---------------------------------------------------
def test_jpeg_comment_is_kept_and_photo_tagged(tmp_path: Path, eiffel: Landmark,
                                               exiftool: str) -> None:
    photo = tmp_path / "gimp.jpg"
    Image.new("RGB", (16, 16), EIFFEL).save(photo, comment=b"Created with GIMP")
    outcome = apply_tags(plan_tags(photo, eiffel, 0.9, "m", mode="embed"))
    assert outcome.status == "written" and outcome.fallback_reason is None
    segments, _sos = containers.jpeg_segments(photo.read_bytes())
    assert [s.raw for s in segments if s.marker == 0xFE] == \
        [b"\xff\xfe\x00\x13Created with GIMP"]
    assert exiftool_json(photo).get("File:Comment") == "Created with GIMP"


# 10.4: hand-written sidecars that are valid XMP are merged -------------------------------------
BODY = ('<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        'rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:subject><rdf:Bag>'
        "<rdf:li>Mine</rdf:li></rdf:Bag></dc:subject></rdf:Description></rdf:RDF>")
WRAPPED = f'<x:xmpmeta xmlns:x="adobe:ns:meta/">{BODY}</x:xmpmeta>\n'


@pytest.mark.parametrize("text", [
    "<!-- written by hand -->\n" + WRAPPED,
    '<?xml version="1.0" encoding="UTF-8"?>\n<!-- mine -->\n' + WRAPPED,
    BODY + "\n",
    '<?xml version="1.0"?>\n' + BODY,
], ids=["comment", "declaration", "bare-rdf", "declaration-bare-rdf"])
def test_hand_written_sidecars_are_merged(tmp_path: Path, eiffel: Landmark, exiftool: str,
                                          text: str) -> None:
    photo = write_photo(tmp_path / "p.jpg", EIFFEL)
    sidecar = tmp_path / "p.jpg.xmp"
    sidecar.write_text(text, encoding="utf-8")
    assert apply_tags(plan_tags(photo, eiffel, 0.9, "m")).status == "written"
    assert sorted(as_list(exiftool_json(sidecar).get("XMP-dc:Subject"))) == \
        ["Eiffel Tower", "Mine"]


# 10.5: a photo replaced by another of the same size and date is refused --------------------------
def test_replaced_photo_with_restored_mtime_is_refused(env: Path, tmp_path: Path) -> None:
    photo = write_photo(tmp_path / "lib" / "a.jpg", EIFFEL, size=(64, 48))
    scan(photo.parent)
    st = photo.stat()
    other = bytearray(photo.read_bytes())
    other[-10] ^= 0xFF  # another photo, same size
    photo.write_bytes(bytes(other))
    os.utime(photo, ns=(st.st_atime_ns, st.st_mtime_ns))
    code, _out, err = run("tag", "--embed")
    assert code == 1
    lines = [line for line in err.splitlines() if "a.jpg" in line]
    assert len(lines) == 1 and "not the photo that was scanned" in lines[0]
    assert "scan --verify" in lines[0]
    assert photo.read_bytes() == bytes(other)
    assert not (photo.parent / "a.jpg.xmp").exists()


# 10.6: untag works for names too long for a sidecar, and speaks of removing -------------------
def test_untag_of_a_255_byte_name(env: Path, tmp_path: Path) -> None:
    photo = write_photo(tmp_path / "lib" / ("a" * 251 + ".jpg"), EIFFEL)
    scan(photo.parent)
    code, _out, err = run("tag", "--embed")
    assert code == 0, err
    code, out, err = run("untag", "--json")
    assert code == 0, err
    assert json.loads(out)["counts"] == {"removed": 1}
    assert read_marker_subjects(photo) == []


def read_marker_subjects(photo: Path) -> list[object]:
    return as_list(exiftool_json(photo).get("XMP-dc:Subject")) if os.access(photo, os.R_OK) \
        else []


def test_untag_messages_say_remove(env: Path, tmp_path: Path) -> None:
    photo = write_photo(tmp_path / "lib" / "a.jpg", EIFFEL)
    scan(photo.parent)
    assert run("tag", "--embed")[0] == 0
    photo.chmod(0o444)
    try:
        code, _out, err = run("untag")
    finally:
        photo.chmod(0o644)
    assert code == 1
    line = next(line for line in err.splitlines() if "a.jpg" in line)
    assert "remove photolm's tags" in line and "to tag it" not in line


# 10.15: city / region / country / ISO code go to the matching fields -------------------------
def test_place_fields(tmp_path: Path, exiftool: str) -> None:
    photo = write_photo(tmp_path / "p.jpg", EIFFEL)
    landmark = Landmark("eiffel_tower", "Eiffel Tower", (), "Paris", "France", 48.8584, 2.2945,
                        region="Île-de-France", country_code="fr")
    apply_tags(plan_tags(photo, landmark, 0.9, "m", mode="embed"))
    tags = exiftool_json(photo)
    assert tags.get("XMP-photoshop:City") == "Paris"
    assert tags.get("XMP-photoshop:State") == "Île-de-France"
    assert tags.get("XMP-photoshop:Country") == "France"
    assert tags.get("XMP-iptcCore:CountryCode") == "FR"
    shown = as_list(tags.get("XMP-iptcExt:LocationShown"))[0]
    assert isinstance(shown, dict)
    assert shown.get("ProvinceState") == "Île-de-France" and shown.get("CountryCode") == "FR"


def test_place_fields_in_iptc(tmp_path: Path, exiftool: str) -> None:
    photo = write_photo(tmp_path / "p.jpg", EIFFEL)
    plant_keywords(photo, ["Holiday"], iptc=True)
    landmark = Landmark("eiffel_tower", "Eiffel Tower", (), "Paris", "France", 48.8584, 2.2945,
                        region="Île-de-France", country_code="FR")
    apply_tags(plan_tags(photo, landmark, 0.9, "m", mode="embed"))
    tags = exiftool_json(photo)
    assert tags.get("IPTC:City") == "Paris"
    assert tags.get("IPTC:Province-State") == "Île-de-France"
    assert tags.get("IPTC:Country-PrimaryLocationName") == "France"
    assert tags.get("IPTC:Country-PrimaryLocationCode") == "FR"


# RAW camera files: never written into, sidecars named as Lightroom and darktable expect -------
@pytest.mark.parametrize(("style", "sidecar_name"), [("darktable", "CanonRaw.cr2.xmp"),
                                                     ("lightroom", "CanonRaw.xmp")])
def test_raw_files_get_sidecars_even_with_embed(tmp_path: Path, eiffel: Landmark,
                                                style: str, sidecar_name: str) -> None:
    photo = sample("CanonRaw.cr2", tmp_path)
    original = photo.read_bytes()
    plan = plan_tags(photo, eiffel, 0.9, "m", mode="embed", sidecar_style=style)  # type: ignore[arg-type]
    assert plan.raw and plan.fallback_reason is None  # one note per run, not per photo
    outcome = apply_tags(plan)
    assert outcome.files == (tmp_path / sidecar_name,)
    assert photo.read_bytes() == original


def test_cli_tag_writes_region_and_country_code_from_the_bundle(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exiftool: str) -> None:
    from dataclasses import replace

    from tests.tinybundle import LANDMARKS, make_tiny_bundle

    places = {"eiffel-tower": ("Île-de-France", "FR")}
    landmarks = [replace(lm, region=places[lm.id][0], country_code=places[lm.id][1])
                 if lm.id in places else lm for lm in LANDMARKS]
    make_tiny_bundle(tmp_path / "bundle", landmarks=landmarks)
    monkeypatch.setenv("PHOTOLM_MODEL", str(tmp_path / "bundle"))
    monkeypatch.setenv("PHOTOLM_CATALOG", str(tmp_path / "catalog.sqlite"))
    photo = write_photo(tmp_path / "lib" / "eiffel.jpg", EIFFEL)
    scan(photo.parent)
    code, _out, err = run("tag")
    assert code == 0, err
    tags = exiftool_json(tmp_path / "lib" / "eiffel.jpg.xmp")
    assert tags.get("XMP-photoshop:City") == "Paris"
    assert tags.get("XMP-photoshop:State") == "Île-de-France"
    assert tags.get("XMP-iptcCore:CountryCode") == "FR"


# 10.7: a photo moved without its sidecar does not strand photolm's sidecar ------------------
@pytest.mark.parametrize("then", ["untag", "tag"])
def test_moved_photo_sidecar_is_cleaned(env: Path, tmp_path: Path, then: str) -> None:
    root = tmp_path / "lib"
    photo = write_photo(root / "eiffel.jpg", EIFFEL)
    scan(root)
    assert run("tag")[0] == 0
    old_sidecar = root / "eiffel.jpg.xmp"
    assert old_sidecar.exists()
    moved = root / "2023" / "paris.jpg"
    moved.parent.mkdir()
    photo.rename(moved)  # the sidecar stays behind
    scan(root)
    code, _out, err = run(then)
    assert code == 0, err
    assert not old_sidecar.exists()  # photolm created it; its only content was photolm's
    new_sidecar = root / "2023" / "paris.jpg.xmp"
    assert new_sidecar.exists() == (then == "tag")


def test_sidecar_of_another_photo_is_not_touched(env: Path, tmp_path: Path) -> None:
    root = tmp_path / "lib"
    photo = write_photo(root / "eiffel.jpg", EIFFEL)
    scan(root)
    assert run("tag")[0] == 0
    sidecar = root / "eiffel.jpg.xmp"
    moved = root / "2023" / "eiffel.jpg"
    moved.parent.mkdir()
    photo.rename(moved)
    write_photo(root / "eiffel.jpg", EIFFEL)  # a new photo now owns the old place
    scan(root)
    assert run("untag", moved)[0] == 0
    assert sidecar.exists()


# Undo details the docs promise -------------------------------------------------------------
def test_retagging_keeps_the_way_back_to_the_first_original(tmp_path: Path, eiffel: Landmark
                                                            ) -> None:
    photo = write_photo(tmp_path / "p.jpg", EIFFEL, exif=camera_exif())
    plant_keywords(photo, ["Holiday"], iptc=True)
    original = photo.read_bytes()
    undo = MemoryUndoStore()
    apply_tags(plan_tags(photo, eiffel, 0.9, "m", mode="embed"), undo=undo)
    colosseum = Landmark("colosseum", "Colosseum", (), "Rome", "Italy", 41.89, 12.49)
    apply_tags(plan_tags(photo, colosseum, 0.9, "m", mode="embed"), undo=undo)
    assert len(undo.records) == 1
    apply_tags(plan_untag(photo), undo=undo)
    assert photo.read_bytes() == original and not undo.records


def test_no_undo_record_when_the_patch_would_be_too_large(
        tmp_path: Path, eiffel: Landmark, monkeypatch: pytest.MonkeyPatch) -> None:
    from photolm.metadata import undo as undo_module

    monkeypatch.setattr(undo_module, "MAX_PATCH_BYTES", 10)
    photo = write_photo(tmp_path / "p.jpg", EIFFEL)
    store = MemoryUndoStore()
    outcome = apply_tags(plan_tags(photo, eiffel, 0.9, "m", mode="embed"), undo=store)
    assert not store.records
    assert any("too large" in note for note in outcome.notes)


def test_a_matching_iptc_digest_keeps_matching(tmp_path: Path, eiffel: Landmark,
                                               exiftool: str) -> None:
    import hashlib

    photo = sample("IPTC.jpg", tmp_path)
    data = photo.read_bytes()
    block = containers.build_iim(containers.jpeg_iim(data) or [])
    stale = exiftool_json(photo).get("Photoshop:IPTCDigest")
    assert isinstance(stale, str) and len(stale) == 32
    photo.write_bytes(data.replace(bytes.fromhex(stale), hashlib.md5(block).digest()))
    tags = exiftool_json(photo)
    assert tags["Photoshop:IPTCDigest"] == tags["File:CurrentIPTCDigest"]
    apply_tags(plan_tags(photo, eiffel, 0.9, "m", mode="embed"))
    tags = exiftool_json(photo)
    assert "Eiffel Tower" in as_list(tags.get("IPTC:Keywords"))
    assert tags["Photoshop:IPTCDigest"] == tags["File:CurrentIPTCDigest"]


def test_raw_note_is_one_line_per_run(capsys: pytest.CaptureFixture[str]) -> None:
    from photolm.cli.tag import render_tag_events
    from photolm.tagging import TagResult, TagStarted, TagSummary

    events = [TagStarted(3, 0)] + [
        TagResult(f"/p/IMG_{i}.CR2", "tag", "written", "Eiffel Tower", "sidecar", "tagged",
                  raw=True) for i in range(3)]
    render_tag_events(events, TagSummary("tag"), json_out=False, quiet=False, embed=True)
    lines = [line for line in capsys.readouterr().err.splitlines() if "RAW" in line]
    assert lines == ["note: 3 camera RAW files tagged in XMP sidecars: photolm never writes "
                     "into RAW files"]


# WebP: XMP written into the file, every other chunk kept ------------------------------------
@pytest.mark.parametrize("lossless", [False, True], ids=["vp8", "vp8l"])
def test_webp_embed_and_untag(tmp_path: Path, eiffel: Landmark, exiftool: str,
                              lossless: bool) -> None:
    photo = tmp_path / "p.webp"
    Image.new("RGBA" if lossless else "RGB", (37, 21), EIFFEL).save(photo, lossless=lossless)
    original = photo.read_bytes()
    assert b"VP8X" not in original  # a simple WebP: photolm must add the header XMP needs
    undo = MemoryUndoStore()
    outcome = apply_tags(plan_tags(photo, eiffel, 0.9, "m", mode="embed"), undo=undo)
    assert outcome.status == "written" and outcome.fallback_reason is None
    tags = exiftool_json(photo)
    assert as_list(tags.get("XMP-dc:Subject")) == ["Eiffel Tower"]
    assert (tags.get("RIFF:ImageWidth"), tags.get("RIFF:ImageHeight")) == (37, 21)
    with Image.open(photo) as image:
        assert image.size == (37, 21)
    apply_tags(plan_untag(photo), undo=undo)
    assert photo.read_bytes() == original


def test_the_way_back_is_kept_before_the_photo_is_rewritten(
        tmp_path: Path, eiffel: Landmark, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever fails once the photo is rewritten can never leave a tagged photo untag cannot
    restore: the record is saved first; a store that breaks leaves the photo as it was, and
    a rewrite that fails takes its fresh record back."""
    from photolm.errors import TagError
    from photolm.metadata import atomic

    photo = write_photo(tmp_path / "p.jpg", EIFFEL, exif=camera_exif())
    original = photo.read_bytes()

    seen: list[bytes] = []

    class Watching(MemoryUndoStore):
        def save(self, record):  # type: ignore[no-untyped-def]
            seen.append(photo.read_bytes())
            super().save(record)

    store = Watching()
    apply_tags(plan_tags(photo, eiffel, 0.9, "m", mode="embed"), undo=store)
    assert seen == [original] and photo.read_bytes() != original
    (record,) = store.records.values()
    assert record.tagged_sha256 == hashlib.sha256(photo.read_bytes()).hexdigest()
    apply_tags(plan_untag(photo), undo=store)
    assert photo.read_bytes() == original

    class Broken(MemoryUndoStore):
        def save(self, record):  # type: ignore[no-untyped-def]
            raise RuntimeError("the store broke")

    with pytest.raises(RuntimeError):
        apply_tags(plan_tags(photo, eiffel, 0.9, "m", mode="embed"), undo=Broken())
    assert photo.read_bytes() == original  # nothing written without its way back

    def no_rename(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise TagError("the disk is full")

    monkeypatch.setattr(atomic, "replace_file", no_rename)
    store = MemoryUndoStore()
    with pytest.raises(TagError):
        apply_tags(plan_tags(photo, eiffel, 0.9, "m", mode="embed"), undo=store)
    assert photo.read_bytes() == original and not store.records
