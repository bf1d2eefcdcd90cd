# SPDX-License-Identifier: GPL-3.0-or-later
"""A photo rewritten by ``tag --embed`` (and given back by ``untag``) keeps its extended
attributes: the tags, comments and ratings file managers keep beside the bytes (KDE
Dolphin's ``user.xdg.tags``), a POSIX ACL.

photolm writes a temporary copy and renames it over the photo; the copy had none of them,
so they were lost with the rename, silently. One it cannot keep now stops the rewrite.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from tests.clirun import cli as run
from tests.tags.photos import as_list, exiftool_json
from tests.tinybundle import COLOURS, write_photo

pytestmark = pytest.mark.skipif(not hasattr(os, "setxattr"),
                                reason="Python has no extended-attribute calls here")
ATTRS = {"user.xdg.tags": b"holiday,family", "user.xdg.comment": "premier jour, été".encode()}


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = write_photo(tmp_path / "Pictures" / "eiffel.jpg", COLOURS["eiffel-tower"])
    try:
        for name, value in ATTRS.items():
            os.setxattr(path, name, value)
    except OSError as exc:
        pytest.skip(f"no user extended attributes on this file system: {exc.strerror}")
    return path


def attrs(path: Path) -> dict[str, bytes]:
    return {name: os.getxattr(path, name) for name in os.listxattr(path)
            if name.startswith("user.")}


def test_tag_embed_and_untag_keep_the_photos_extended_attributes(
        env: Path, photo: Path, exiftool: str) -> None:
    original = photo.read_bytes()
    assert run("scan", photo.parent, "--quiet")[0] == 0
    code, _, err = run("tag", "--embed")
    assert code == 0, err
    assert as_list(exiftool_json(photo).get("XMP-dc:Subject")) == ["Eiffel Tower"]
    assert attrs(photo) == ATTRS
    code, _, err = run("untag")
    assert code == 0, err
    assert photo.read_bytes() == original and attrs(photo) == ATTRS


def test_an_attribute_that_cannot_be_kept_stops_the_rewrite(
        env: Path, photo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = photo.read_bytes()
    assert run("scan", photo.parent, "--quiet")[0] == 0

    def refused(path: object, name: str, value: bytes, *args: object, **kwargs: object) -> None:
        raise OSError(errno.EPERM, os.strerror(errno.EPERM))

    monkeypatch.setattr(os, "setxattr", refused)
    code, _, err = run("tag", "--embed")
    assert code == 1
    lines = [line for line in err.splitlines() if "eiffel.jpg" in line]
    assert len(lines) == 1 and "extended attribute" in lines[0] and "user.xdg" in lines[0], err
    assert photo.read_bytes() == original and attrs(photo) == ATTRS
    assert [p.name for p in photo.parent.iterdir()] == ["eiffel.jpg"]  # no temporary file left


def test_an_attribute_the_new_file_has_already_is_no_refusal(
        env: Path, photo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file system that gives every new file of the folder the attribute (an inherited
    ACL) and refuses it set again: the value is there, the rewrite goes on."""
    assert run("scan", photo.parent, "--quiet")[0] == 0
    setxattr = os.setxattr

    def inherited(path: object, name: str, value: bytes, *args: object, **kwargs: object
                  ) -> None:
        setxattr(path, name, value)  # type: ignore[arg-type]
        raise OSError(errno.EPERM, os.strerror(errno.EPERM))

    monkeypatch.setattr(os, "setxattr", inherited)
    code, _, err = run("tag", "--embed")
    assert code == 0, err
    assert attrs(photo) == ATTRS
