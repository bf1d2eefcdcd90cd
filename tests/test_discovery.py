# SPDX-License-Identifier: GPL-3.0-or-later
"""photolm.discovery: what the folder walk finds, skips and reports."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from photolm import discovery
from photolm.discovery import (
    Found,
    Problem,
    Skipped,
    display_path,
    sniff_format,
    walk_photos,
)
from tests import imagefactory as factory


def walk(*roots: Path, **options: bool) -> tuple[list[Found], list[Problem]]:
    items = list(walk_photos(roots, **options))
    return ([i for i in items if isinstance(i, Found)],
            [i for i in items if isinstance(i, Problem)])


def rel(found: list[Found], root: Path) -> list[str]:
    return [str(f.path.relative_to(root)) for f in found]


def test_nested_folders_in_deterministic_order(tmp_path: Path) -> None:
    for name in ["b/2.jpg", "b/1.jpg", "a/z/deep.png", "top.jpg", "a/x.jpg", "B.JPG"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        factory.solid_jpeg(tmp_path / name)
    found, problems = walk(tmp_path)
    assert problems == []
    # Files of a folder first (sorted), then its sub-folders (sorted), depth first.
    assert rel(found, tmp_path) == ["B.JPG", "top.jpg", "a/x.jpg", "a/z/deep.png",
                                    "b/1.jpg", "b/2.jpg"]
    first = found[0]
    assert first.path.is_absolute()
    st = (tmp_path / "B.JPG").stat()
    assert (first.size, first.mtime_ns, first.kind) == (st.st_size, st.st_mtime_ns, "jpeg")
    assert found[3].kind == "jpeg"  # content decides the kind, not the .png name
    assert [f.path for f in walk_photos([tmp_path])] == [f.path for f in found]


def test_relative_root_gives_absolute_paths(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    factory.solid_jpeg(tmp_path / "p.jpg")
    monkeypatch.chdir(tmp_path)
    found, _ = walk(Path("."))
    assert [f.path for f in found] == [tmp_path / "p.jpg"]


def test_hidden_and_junk(tmp_path: Path) -> None:
    for name in [
        "keep.jpg", ".hidden.jpg", ".secret/in.jpg", "@eaDir/keep.jpg/SYNOPHOTO_THUMB_XL.jpg",
        "__MACOSX/x.jpg", "._keep.jpg", ".photolm-tmp-123.jpg", ".thumbnails/t.png",
        "sub/#recycle/old.jpg",
    ]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        factory.solid_jpeg(tmp_path / name)
    found, _ = walk(tmp_path)
    assert rel(found, tmp_path) == ["keep.jpg"]
    found, _ = walk(tmp_path, include_hidden=True)
    assert rel(found, tmp_path) == [".hidden.jpg", "keep.jpg", ".secret/in.jpg"]


def test_hidden_root_named_explicitly_is_walked(tmp_path: Path) -> None:
    (tmp_path / ".photos").mkdir()
    factory.solid_jpeg(tmp_path / ".photos" / "p.jpg")
    found, _ = walk(tmp_path / ".photos")
    assert len(found) == 1


def test_symlink_loops_terminate_and_each_file_is_found_once(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    factory.solid_jpeg(tmp_path / "a" / "one.jpg")
    factory.solid_jpeg(tmp_path / "a" / "b" / "two.jpg")
    os.symlink(tmp_path / "a", tmp_path / "a" / "b" / "loop")  # a/b/loop -> a
    # Second ways into the same folder and file, sorting before the real ones.
    os.symlink(tmp_path / "a", tmp_path / "0-alias")
    os.symlink(tmp_path / "a" / "one.jpg", tmp_path / "0-link.jpg")
    found, problems = walk(tmp_path)
    assert problems == []
    assert rel(found, tmp_path) == ["a/one.jpg", "a/b/two.jpg"]  # real paths win
    # Overlapping roots do not repeat photos either.
    found, _ = walk(tmp_path, tmp_path / "a", tmp_path / "a" / "one.jpg")
    assert len(found) == 2


def test_symlinks_ignored_when_not_following(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "elsewhere").mkdir()
    factory.solid_jpeg(tmp_path / "elsewhere" / "x.jpg")
    os.symlink(tmp_path / "elsewhere", tmp_path / "real" / "linked")
    os.symlink(tmp_path / "elsewhere" / "x.jpg", tmp_path / "real" / "y.jpg")
    found, _ = walk(tmp_path / "real", follow_symlinks=False)
    assert found == []
    found, _ = walk(tmp_path / "real")
    # One photo, reached through two links: each real file is reported once.
    assert rel(found, tmp_path) == ["real/linked/x.jpg"]


def test_broken_symlink_to_a_photo_is_a_problem(tmp_path: Path) -> None:
    os.symlink(tmp_path / "missing.jpg", tmp_path / "dangling.jpg")
    os.symlink(tmp_path / "missing.txt", tmp_path / "dangling.txt")
    found, problems = walk(tmp_path)
    assert found == []
    assert problems == [Problem(tmp_path / "dangling.jpg", "broken symbolic link")]


def test_unreadable_folder_is_reported_and_the_walk_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    factory.solid_jpeg(locked / "secret.jpg")
    factory.solid_jpeg(tmp_path / "open.jpg")
    if os.geteuid() == 0:  # root reads everything: simulate the denial instead
        real_scandir = os.scandir

        def scandir(path: str) -> object:
            if os.fspath(path) == str(locked):
                raise PermissionError(13, "Permission denied", str(path))
            return real_scandir(path)

        monkeypatch.setattr(discovery.os, "scandir", scandir)
    else:
        locked.chmod(0)
    try:
        found, problems = walk(tmp_path)
    finally:
        locked.chmod(0o755)
    assert rel(found, tmp_path) == ["open.jpg"]
    assert problems == [Problem(locked, "permission denied: cannot list folder")]


def test_unreadable_photo_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    factory.solid_jpeg(tmp_path / "a.jpg")
    factory.solid_jpeg(tmp_path / "b.jpg")
    real_sniff = discovery.sniff_file

    def sniff(path: str) -> str | None:
        if os.path.basename(path) == "a.jpg":
            raise PermissionError(13, "Permission denied", path)
        return real_sniff(path)

    monkeypatch.setattr(discovery, "sniff_file", sniff)
    found, problems = walk(tmp_path)
    # Still a photo by its name: the scan records it with its error instead of losing it.
    assert rel(found, tmp_path) == ["a.jpg", "b.jpg"]
    assert [f.kind for f in found if f.path.name == "a.jpg"] == ["unknown"]
    assert problems == []


def test_file_vanishing_mid_walk_is_silently_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    factory.solid_jpeg(tmp_path / "gone.jpg")
    factory.solid_jpeg(tmp_path / "stays.jpg")
    real_sniff = discovery.sniff_file

    def sniff(path: str) -> str | None:
        if path.endswith("gone.jpg"):
            raise FileNotFoundError(2, "No such file or directory", path)
        return real_sniff(path)

    monkeypatch.setattr(discovery, "sniff_file", sniff)
    found, problems = walk(tmp_path)
    assert rel(found, tmp_path) == ["stays.jpg"] and problems == []


def test_detection_by_content_and_extension(tmp_path: Path) -> None:
    factory.solid_jpeg(tmp_path / "IMG_0001")  # camera file without an extension
    factory.heic_stub(tmp_path / "IMG_0002")
    factory.png_grey(tmp_path / "scan.dat")
    factory.text_file(tmp_path / "notes.txt")
    factory.text_file(tmp_path / "README")
    factory.text_file(tmp_path / "bm.txt", "BMW 320i service log, 14 entries\n")  # "BM..."
    factory.random_bytes(tmp_path / "garbage.jpg")
    factory.empty_file(tmp_path / "empty.png")
    factory.text_file(tmp_path / "fake.png")
    factory.solid_jpeg(tmp_path / "clip.mp4")  # videos are never sniffed
    (tmp_path / "IMG_0003.CR2").write_bytes(b"II*\x00\x10\x00\x00\x00CR\x02\x00" + bytes(64))
    factory.text_file(tmp_path / "IMG_0001.xmp", "<x:xmpmeta/>")
    found, problems = walk(tmp_path)
    assert problems == []
    assert {f.path.name: f.kind for f in found} == {
        "IMG_0001": "jpeg", "IMG_0002": "heic", "scan.dat": "png",
        "garbage.jpg": "unknown", "empty.png": "unknown", "fake.png": "unknown",
        "IMG_0003.CR2": "raw",  # a RAW on its own is a photo: by extension, not content
    }


def skipped(*roots: Path) -> dict[str, str]:
    return {i.path.name: i.reason for i in walk_photos(roots) if isinstance(i, Skipped)}


def test_raw_beside_its_jpeg_is_one_photo_and_videos_are_skipped_with_a_reason(
        tmp_path: Path) -> None:
    raw = b"II*\x00\x10\x00\x00\x00CR\x02\x00" + bytes(64)
    factory.solid_jpeg(tmp_path / "IMG_1000.JPG")
    (tmp_path / "img_1000.cr2").write_bytes(raw)  # same shot: stems match whatever the case
    (tmp_path / "IMG_1000.DNG").write_bytes(raw)  # a second RAW of the shot
    (tmp_path / "IMG_1001.NEF").write_bytes(raw)  # a RAW alone
    factory.heic_stub(tmp_path / "IMG_2000.HEIC")
    (tmp_path / "IMG_2000.MOV").write_bytes(b"\x00" * 32)  # its Live Photo video
    (tmp_path / "IMG_2000.ARW").write_bytes(raw)  # HEIC + RAW, as some cameras write
    factory.heic_stub(tmp_path / "IMG_3000.HEIC")
    factory.solid_jpeg(tmp_path / "IMG_3000.jpg")  # JPEG and HEIC: the RAW goes with the JPEG
    (tmp_path / "IMG_3000.RAF").write_bytes(raw)
    (tmp_path / "holiday.mp4").write_bytes(b"\x00" * 32)
    (tmp_path / "IMG_1000.xmp").write_text("<x:xmpmeta/>")  # a sidecar: not worth a word
    found, problems = walk(tmp_path)
    assert problems == []
    assert {f.path.name: (f.kind, [c.name for c in f.companions]) for f in found} == {
        "IMG_1000.JPG": ("jpeg", ["IMG_1000.DNG", "img_1000.cr2"]),
        "IMG_1001.NEF": ("raw", []),
        "IMG_2000.HEIC": ("heic", ["IMG_2000.ARW"]),
        "IMG_3000.HEIC": ("heic", []),
        "IMG_3000.jpg": ("jpeg", ["IMG_3000.RAF"]),
    }
    assert skipped(tmp_path) == {
        "IMG_2000.MOV": discovery.SKIP_LIVE_PHOTO,
        "holiday.mp4": discovery.SKIP_VIDEO,
    }
    # a RAW named on its own stands for its pair
    found, _ = walk(tmp_path / "img_1000.cr2")
    assert [(f.path.name, len(f.companions)) for f in found] == [("IMG_1000.JPG", 2)]
    found, _ = walk(tmp_path / "IMG_1000.JPG")
    assert [(f.path.name, len(f.companions)) for f in found] == [("IMG_1000.JPG", 2)]


def test_a_raw_whose_jpeg_cannot_be_a_photo_is_a_photo_of_its_own(tmp_path: Path) -> None:
    (tmp_path / "IMG_1.CR2").write_bytes(b"II*\x00\x10\x00\x00\x00CR\x02\x00" + bytes(64))
    factory.text_file(tmp_path / "IMG_1.jpg.txt")
    os.symlink(tmp_path / "IMG_1.jpg.txt", tmp_path / "IMG_1.JPG")  # links are not paired
    (tmp_path / "IMG_2.NEF").write_bytes(bytes(64))
    (tmp_path / "IMG_2.jpg").mkdir()  # a folder named like a JPEG
    found, problems = walk(tmp_path)
    assert problems == []
    assert sorted((f.path.name, f.companions) for f in found) == [
        ("IMG_1.CR2", ()), ("IMG_1.JPG", ()), ("IMG_2.NEF", ())]


def test_describe_skipped() -> None:
    assert discovery.describe_skipped({}) == "none"
    assert discovery.describe_skipped({"video": 2, "live_photo_video": 1}) \
        == "1 Live Photo video, 2 videos"


def test_single_file_roots(tmp_path: Path) -> None:
    photo = factory.solid_jpeg(tmp_path / "p.jpg")
    notes = factory.text_file(tmp_path / "notes.txt")
    found, problems = walk(photo, notes, tmp_path / "nowhere")
    assert [f.path for f in found] == [photo]
    assert problems == [
        Problem(notes, "not a photo (unrecognised content)"),
        Problem(tmp_path / "nowhere", "not found: no such file or folder"),
    ]


def test_non_utf8_file_name(tmp_path: Path) -> None:
    raw_name = b"caf\xe9-\xff.jpg"  # Latin-1 bytes: not valid UTF-8
    with open(os.path.join(os.fsencode(tmp_path), raw_name), "wb") as handle:
        handle.write(factory.HEIC_HEADER)
    found, problems = walk(tmp_path)
    assert problems == [] and len(found) == 1
    path = found[0].path
    assert os.fsencode(path).endswith(raw_name)  # round-trips to the real bytes
    assert found[0].kind == "heic"
    assert display_path(path).endswith("caf\\xe9-\\xff.jpg")
    display_path(path).encode("utf-8")  # printable and storable as UTF-8 text
    assert path.read_bytes() == factory.HEIC_HEADER


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00", "jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "png"),
        (b"II*\x00\x08\x00\x00\x00", "tiff"),
        (b"MM\x00*\x00\x00\x00\x08", "tiff"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "webp"),
        (b"GIF89a\x10\x00", "gif"),
        (b"BM\x36\x00\x0c\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00", "bmp"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "heic"),
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00", "heif"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00", "avif"),
        (b"\x00\x00\x00\x18ftypqt  \x00\x00\x00\x00", None),  # a QuickTime movie
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x00\x00", None),  # an MP4
        (b"BMW 320i service", None),
        (b"RIFF\x10\x00\x00\x00WAVEfmt ", None),
        (b"%PDF-1.7\n", None),
        (b"", None),
    ],
)
def test_sniff_format(head: bytes, kind: str | None) -> None:
    assert sniff_format(head) == kind
