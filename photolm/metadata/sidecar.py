# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a photo's XMP sidecar lives, and reading one safely.

Two naming conventions exist. darktable and digiKam append ``.xmp`` to the full file name
(``IMG_1234.jpg.xmp``), so a raw file and its JPEG keep separate sidecars; Lightroom
replaces the extension (``IMG_1234.xmp``), so ``IMG_1234.CR2`` and ``IMG_1234.JPG`` would
share one. photolm defaults to the first and, in the Lightroom style, refuses a photo whose
sidecar name another photo in the folder would also claim. Immich reads both.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Literal

from photolm.discovery import PHOTO_EXTENSIONS, display_path
from photolm.errors import TagError

SidecarStyle = Literal["darktable", "lightroom"]
SIDECAR_STYLES: tuple[SidecarStyle, ...] = ("darktable", "lightroom")

# Camera raw formats: they sit beside a JPEG of the same shot, sharing its stem.
RAW_EXTENSIONS = frozenset({
    ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".dng", ".orf", ".rw2",
    ".raf", ".pef", ".srw", ".x3f", ".3fr", ".erf", ".kdc", ".mrw", ".iiq",
})


def sidecar_candidates(photo: Path, style: SidecarStyle) -> tuple[Path, Path]:
    base = photo.name if style == "darktable" else photo.stem
    return photo.with_name(base + ".xmp"), photo.with_name(base + ".XMP")


def sidecar_path(photo: Path | str, style: SidecarStyle = "darktable") -> Path:
    """The sidecar ``photo`` has in ``style``: an existing one (either case of ``.xmp``),
    else the lower-case name photolm would create."""
    photo = Path(photo)
    if style not in SIDECAR_STYLES:
        raise ValueError(f"unknown sidecar style {style!r}; use one of {SIDECAR_STYLES}")
    lower, upper = sidecar_candidates(photo, style)
    if not exists(lower) and exists(upper):
        return upper
    return lower


def exists(path: Path) -> bool:
    """``path.exists()``, except that a name too long for the file system (a photo named
    252-255 bytes has no room for ``.xmp``) is simply a sidecar that cannot exist."""
    try:
        return path.exists()
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            return False
        raise


def check_not_shared(photo: Path, sidecar: Path, style: SidecarStyle) -> None:
    """Refuse a Lightroom-style sidecar that another photo of the same stem would share."""
    if style != "lightroom":
        return
    for ext in sorted(PHOTO_EXTENSIONS | RAW_EXTENSIONS):
        for variant in (ext, ext.upper()):
            other = photo.with_name(photo.stem + variant)
            if other.name == photo.name or not other.exists():
                continue
            if os.path.samefile(other, photo):  # a case-insensitive file system
                continue
            raise TagError(
                f"{display_path(sidecar)} would be shared by {display_path(photo.name)} and "
                f"{display_path(other.name)} (Lightroom names sidecars by the stem); use the "
                f"darktable style ({display_path(photo.name)}.xmp) for this folder")
