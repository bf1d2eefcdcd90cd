# SPDX-License-Identifier: GPL-3.0-or-later
"""ExifTool as the writer for formats exiv2 can only read (HEIC, HEIF, AVIF).

ExifTool is a separate program (Debian/Ubuntu ``libimage-exiftool-perl``, Homebrew
``exiftool``); photolm uses it only when it is installed, and otherwise falls back to a
sidecar and says so. Bytes go in on stdin and come out on stdout (``-o -``), so ExifTool
never writes beside the photo: the atomic writer does, exactly as for exiv2.

photolm hands ExifTool a complete XMP packet (``-XMP<=packet``) that it edited itself, so
the same editor and the same verification serve every format.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from photolm.errors import TagError

TIMEOUT_S = 120
# Tags that legitimately change when metadata is rewritten: file-system facts, ExifTool's
# own version, where the media data now starts, values ExifTool derives from other tags
# (Composite), and XMP (compared separately, field by field).
_VOLATILE_GROUPS = ("System:", "ExifTool:", "XMP", "Composite:", "SourceFile")
_VOLATILE_TAGS = frozenset({"QuickTime:MediaDataSize", "QuickTime:MediaDataOffset",
                            "File:FileSize"})


class ExifToolError(ValueError):
    """ExifTool failed or reported an error (the message is its first line)."""


def exiftool_path() -> str | None:
    """The ``exiftool`` executable on PATH, or ``None``."""
    return shutil.which("exiftool")


def _exiftool(args: list[str], data: bytes) -> bytes:
    exe = exiftool_path()
    if exe is None:
        raise TagError("exiftool is not installed (it is needed to write into HEIC/HEIF)")
    try:
        # In a session of its own: a terminal's Ctrl-C goes to its whole foreground process
        # group, and ExifTool killed by it mid-write failed the photo photolm holds Ctrl-C
        # back for (photolm.ctrl_c) until it is finished; photolm's own stop ends it after.
        result = subprocess.run([exe, *args], input=data, capture_output=True,
                                timeout=TIMEOUT_S, check=False, start_new_session=True)
    except subprocess.TimeoutExpired:
        raise ExifToolError(f"exiftool took longer than {TIMEOUT_S} s") from None
    except OSError as exc:
        raise ExifToolError(f"cannot run exiftool: {exc.strerror}") from None
    errors = result.stderr.decode("utf-8", errors="replace").strip()
    if result.returncode != 0 or errors.startswith("Error"):
        first = errors.splitlines()[0] if errors else f"exit status {result.returncode}"
        raise ExifToolError(f"exiftool: {first}")
    return result.stdout


def read_xmp_packet(data: bytes) -> bytes:
    """The raw XMP packet of an image held in memory (``b""`` when it has none)."""
    return _exiftool(["-b", "-XMP", "-"], data)


def write_xmp_packet(data: bytes, packet: bytes | None) -> bytes:
    """``data`` with its XMP replaced by ``packet`` (``None`` removes the XMP)."""
    if packet is None:
        return _exiftool(["-q", "-q", "-o", "-", "-XMP:All=", "-"], data)
    with tempfile.TemporaryDirectory(prefix="photolm-xmp-") as folder:
        packet_file = Path(folder) / "packet.xmp"
        packet_file.write_bytes(packet)
        return _exiftool(["-q", "-q", "-o", "-", f"-XMP<={packet_file}", "-"], data)


def read_tags(data: bytes) -> dict[str, Any]:
    """Every tag ExifTool reads, as ``{"Group:Tag": value}`` (numbers unformatted)."""
    out = _exiftool(["-j", "-G1", "-a", "-n", "-b", "-"], data)
    try:
        parsed = json.loads(out.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExifToolError(f"unreadable exiftool output ({exc})") from None
    return parsed[0] if parsed else {}


def stable_tags(tags: dict[str, Any]) -> dict[str, Any]:
    """``tags`` without those that change whenever metadata is rewritten."""
    return {k: v for k, v in tags.items()
            if not k.startswith(_VOLATILE_GROUPS) and k not in _VOLATILE_TAGS}
