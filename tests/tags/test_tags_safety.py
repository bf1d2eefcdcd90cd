# SPDX-License-Identifier: GPL-3.0-or-later
"""A photo is never damaged: failures leave the original byte-identical, and each expected
problem (read-only file or folder, vanished file, unsupported format) is one clear line."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from photolm.bundle import Landmark
from photolm.errors import TagError
from photolm.metadata import (
    TEMP_PREFIX,
    apply_tags,
    atomic,
    containers,
    embedded,
    plan_tags,
    read_photolm_marker,
)
from tests.tags.photos import make_photo, plant_keywords, sha256


def _no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.startswith(TEMP_PREFIX)]


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[list[Path]]:
    """Paths made read-only by a test, made writable again afterwards for cleanup."""
    paths: list[Path] = []
    yield paths
    for path in paths:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


@pytest.mark.parametrize("mode", ["embed", "sidecar"])
def test_failure_just_before_rename_leaves_the_original_byte_identical(
        tmp_path: Path, eiffel: Landmark, monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    photo = make_photo(tmp_path / "photo.jpg")
    sidecar = tmp_path / "photo.jpg.xmp"
    if mode == "sidecar":
        sidecar.write_text('<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
                           '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
                           'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>'
                           '</x:xmpmeta><?xpacket end="w"?>')
    target = photo if mode == "embed" else sidecar
    before, mtime = target.read_bytes(), target.stat().st_mtime_ns
    plan = plan_tags(photo, eiffel, 0.9, "model-1", mode=mode)  # type: ignore[arg-type]
    seen: list[Path] = []

    def crash(temp: Path, dest: Path) -> None:
        seen.append(temp)
        assert temp.exists() and temp.read_bytes() != before  # the new file was complete
        raise OSError(5, "simulated I/O error")

    monkeypatch.setattr(atomic, "before_replace", crash)
    with pytest.raises(TagError, match="the original is untouched"):
        apply_tags(plan)

    assert seen, "the failure hook was never reached"
    assert target.read_bytes() == before
    assert target.stat().st_mtime_ns == mtime
    assert _no_temp_files(tmp_path)


def test_keyboard_interrupt_before_rename_also_cleans_up(tmp_path: Path, eiffel: Landmark,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    photo = make_photo(tmp_path / "photo.png")
    digest = sha256(photo)

    def interrupt(temp: Path, dest: Path) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic, "before_replace", interrupt)
    with pytest.raises(KeyboardInterrupt):
        apply_tags(plan_tags(photo, eiffel, 0.9, "model-1", mode="embed"))
    assert sha256(photo) == digest
    assert _no_temp_files(tmp_path)


def test_a_rewrite_that_damages_pixels_is_refused(tmp_path: Path, eiffel: Landmark,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    photo = make_photo(tmp_path / "photo.jpg")
    digest = sha256(photo)
    real_write = containers.jpeg_write

    def corrupting_write(data: bytes, **kwargs: object) -> bytes:
        out = bytearray(real_write(data, **kwargs))  # type: ignore[arg-type]
        out[-20] ^= 0x01  # one bit in the entropy-coded scan
        return bytes(out)

    monkeypatch.setattr(containers, "jpeg_write", corrupting_write)
    with pytest.raises(TagError, match=r"verification failed .*scan data.*untouched"):
        apply_tags(plan_tags(photo, eiffel, 0.9, "model-1", mode="embed"))
    assert sha256(photo) == digest
    assert _no_temp_files(tmp_path)


def test_a_rewrite_that_loses_other_metadata_is_refused(tmp_path: Path, eiffel: Landmark,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    photo = make_photo(tmp_path / "photo.jpg")
    digest = sha256(photo)
    real_write = embedded.write_metadata

    def forgetful_write(data: bytes, *, exif: dict[str, object], **kwargs: object) -> bytes:
        return real_write(data, exif={**exif, "Exif.Image.Model": None},  # type: ignore[arg-type]
                          **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(embedded, "write_metadata", forgetful_write)
    with pytest.raises(TagError, match="EXIF Exif.Image.Model changed"):
        apply_tags(plan_tags(photo, eiffel, 0.9, "model-1", mode="embed"))
    assert sha256(photo) == digest


def test_read_only_file_is_reported_and_untouched(tmp_path: Path, eiffel: Landmark,
                                                  read_only: list[Path]) -> None:
    photo = make_photo(tmp_path / "photo.jpg")
    digest = sha256(photo)
    photo.chmod(0o444)
    read_only.append(photo)

    with pytest.raises(TagError) as info:
        plan_tags(photo, eiffel, 0.9, "model-1", mode="embed")

    assert str(info.value).startswith("read-only file: ")
    assert "\n" not in str(info.value)
    assert sha256(photo) == digest


def test_read_only_file_checked_again_at_write_time(tmp_path: Path, eiffel: Landmark,
                                                    read_only: list[Path]) -> None:
    photo = make_photo(tmp_path / "photo.jpg")
    digest = sha256(photo)
    plan = plan_tags(photo, eiffel, 0.9, "model-1", mode="embed")
    photo.chmod(0o444)
    read_only.append(photo)
    with pytest.raises(TagError, match="^read-only file: "):
        apply_tags(plan)
    assert sha256(photo) == digest


def test_read_only_sidecar_is_reported(tmp_path: Path, eiffel: Landmark,
                                       read_only: list[Path]) -> None:
    photo = make_photo(tmp_path / "photo.jpg")
    apply_tags(plan_tags(photo, eiffel, 0.9, "model-1"))
    sidecar = tmp_path / "photo.jpg.xmp"
    sidecar.chmod(0o444)
    read_only.append(sidecar)
    other = Landmark("louvre", "Louvre", (), "Paris", "France")
    with pytest.raises(TagError, match="^read-only file: .*photo.jpg.xmp"):
        plan_tags(photo, other, 0.9, "model-1")


def test_read_only_folder_in_sidecar_mode_is_reported(tmp_path: Path, eiffel: Landmark,
                                                      read_only: list[Path]) -> None:
    folder = tmp_path / "album"
    folder.mkdir()
    photo = make_photo(folder / "photo.jpg")
    digest = sha256(photo)
    folder.chmod(0o555)
    read_only.append(folder)

    with pytest.raises(TagError) as info:
        plan_tags(photo, eiffel, 0.9, "model-1")

    assert str(info.value) == (
        f"folder is read-only: cannot create sidecar {folder / 'photo.jpg.xmp'}")
    assert sorted(p.name for p in folder.iterdir()) == ["photo.jpg"]
    assert sha256(photo) == digest


def test_read_only_folder_in_embed_mode_is_reported(tmp_path: Path, eiffel: Landmark,
                                                    read_only: list[Path]) -> None:
    folder = tmp_path / "album"
    folder.mkdir()
    photo = make_photo(folder / "photo.jpg")
    folder.chmod(0o555)
    read_only.append(folder)
    with pytest.raises(TagError, match="^folder is read-only: cannot write into "):
        plan_tags(photo, eiffel, 0.9, "model-1", mode="embed")


def test_vanished_file(tmp_path: Path, eiffel: Landmark) -> None:
    photo = make_photo(tmp_path / "photo.jpg")
    plan = plan_tags(photo, eiffel, 0.9, "model-1", mode="embed")
    photo.unlink()
    with pytest.raises(TagError, match="^file vanished: "):
        apply_tags(plan)
    with pytest.raises(TagError, match="^file vanished: "):
        plan_tags(photo, eiffel, 0.9, "model-1")
    assert _no_temp_files(tmp_path)


def test_photo_changed_by_another_program_meanwhile(tmp_path: Path, eiffel: Landmark,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    photo = make_photo(tmp_path / "photo.jpg")

    def someone_else_writes(temp: Path, dest: Path) -> None:
        with open(dest, "ab") as handle:
            handle.write(b"\0")

    monkeypatch.setattr(atomic, "before_replace", someone_else_writes)
    with pytest.raises(TagError, match="changed while photolm was writing"):
        apply_tags(plan_tags(photo, eiffel, 0.9, "model-1", mode="embed"))
    assert photo.read_bytes().endswith(b"\0")  # their write survives
    assert _no_temp_files(tmp_path)


def test_unsupported_format_falls_back_to_a_sidecar(tmp_path: Path, eiffel: Landmark) -> None:
    photo = make_photo(tmp_path / "anim.gif")
    digest = sha256(photo)

    plan = plan_tags(photo, eiffel, 0.9, "model-1", mode="embed")
    outcome = apply_tags(plan)

    assert plan.fallback_reason == "unsupported format for embedding: .gif"
    assert outcome.status == "written"
    assert outcome.files == (tmp_path / "anim.gif.xmp",)
    assert outcome.message.startswith(
        "unsupported format for embedding: .gif - wrote a sidecar instead")
    assert sha256(photo) == digest


def test_camera_raw_is_never_rewritten(tmp_path: Path, eiffel: Landmark) -> None:
    photo = make_photo(tmp_path / "shot.tif")
    raw = photo.rename(tmp_path / "shot.dng")  # TIFF inside, raw by name
    plan = plan_tags(raw, eiffel, 0.9, "model-1", mode="embed")
    assert plan.raw and plan.fallback_reason is None  # RAW: one note per run, not per photo
    assert plan.targets[0].path == tmp_path / "shot.dng.xmp"


def test_mode_and_mtime_are_kept_by_default(tmp_path: Path, eiffel: Landmark) -> None:
    photo = make_photo(tmp_path / "photo.jpg")
    photo.chmod(0o640)
    os.utime(photo, ns=(1_600_000_000_000_000_000, 1_600_000_000_123_456_789))

    apply_tags(plan_tags(photo, eiffel, 0.9, "model-1", mode="embed"))

    st = photo.stat()
    assert stat.S_IMODE(st.st_mode) == 0o640
    assert st.st_mtime_ns == 1_600_000_000_123_456_789


def test_mtime_updated_when_asked(tmp_path: Path, eiffel: Landmark) -> None:
    photo = make_photo(tmp_path / "photo.jpg")
    os.utime(photo, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    apply_tags(plan_tags(photo, eiffel, 0.9, "model-1", mode="embed"), keep_mtime=False)
    assert photo.stat().st_mtime_ns > 1_600_000_000_000_000_000


def test_hard_linked_photo_is_not_split(tmp_path: Path, eiffel: Landmark) -> None:
    photo = make_photo(tmp_path / "photo.jpg")
    os.link(photo, tmp_path / "backup.jpg")
    with pytest.raises(TagError, match="hard links"):
        apply_tags(plan_tags(photo, eiffel, 0.9, "model-1", mode="embed"))
    assert (tmp_path / "backup.jpg").read_bytes() == photo.read_bytes()


def test_lightroom_sidecar_shared_by_two_photos_is_refused(tmp_path: Path,
                                                           eiffel: Landmark) -> None:
    photo = make_photo(tmp_path / "IMG_1.jpg")
    (tmp_path / "IMG_1.CR2").write_bytes(b"raw")
    with pytest.raises(TagError, match="would be shared by IMG_1.jpg and IMG_1.CR2"):
        plan_tags(photo, eiffel, 0.9, "model-1", sidecar_style="lightroom")
    assert not (tmp_path / "IMG_1.xmp").exists()


def test_unparseable_sidecar_is_left_alone(tmp_path: Path, eiffel: Landmark) -> None:
    photo = make_photo(tmp_path / "photo.jpg")
    sidecar = tmp_path / "photo.jpg.xmp"
    sidecar.write_bytes(b"<x:xmpmeta><broken")
    with pytest.raises(TagError, match="^cannot merge into sidecar .*left it untouched"):
        plan_tags(photo, eiffel, 0.9, "model-1")
    assert sidecar.read_bytes() == b"<x:xmpmeta><broken"


def test_dry_run_plan_writes_nothing(tmp_path: Path, eiffel: Landmark) -> None:
    photo = make_photo(tmp_path / "photo.jpg")
    plant_keywords(photo, ["Holiday"])
    digest = sha256(photo)

    lines = plan_tags(photo, eiffel, 0.9, "model-1", mode="embed").describe()

    assert lines[0] == f"{photo} (embedded, exiv2)"
    assert "  + XMP-dc:Subject: Eiffel Tower" in lines
    assert "  + EXIF:XPKeywords: Eiffel Tower" in lines
    assert sha256(photo) == digest
    assert read_photolm_marker(photo) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.jpg"]


def test_symlinked_photo_stays_a_link(tmp_path: Path, eiffel: Landmark) -> None:
    real = make_photo(tmp_path / "real.jpg")
    link = tmp_path / "link.jpg"
    link.symlink_to(real)
    outcome = apply_tags(plan_tags(link, eiffel, 0.9, "model-1", mode="embed"))
    assert outcome.files == (real,)
    assert link.is_symlink()
    marker = read_photolm_marker(real)
    assert marker is not None and marker.embedded
