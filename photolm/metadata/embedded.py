# SPDX-License-Identifier: GPL-3.0-or-later
"""Every call into pyexiv2 (exiv2), behind one lock.

exiv2 keeps global state (namespace registry, log handler) and pyexiv2 is not thread-safe,
so all use goes through this module and :data:`EXIV2_LOCK`. Files are handed to exiv2 as
bytes (``pyexiv2.ImageData``), never as paths: photolm decides where bytes are read from and
written to (the atomic writer), exiv2 only transforms them in memory. That also sidesteps
pyexiv2's path encoding, which fails on file names that are not valid UTF-8.

Values are read twice over: as exiv2 parses them (to compare everything photolm did not
write, before and after) and, for IPTC, through Latin-1, which maps every byte to one
character, so a comparison can never be fooled by a decoding error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from photolm.errors import TagError
from photolm.metadata.fields import IPTC_UTF8, PHOTOLM_NS

EXIV2_LOCK = threading.RLock()
_state: dict[str, ModuleType] = {}
# exiv2's own log levels: 0 debug, 1 info, 2 warning, 3 error, 4 mute. pyexiv2 raises on any
# message at or above the level, so "error" keeps real failures loud and warnings (unknown
# maker-note tags and the like, common in real photos) quiet.
_LOG_ERRORS_ONLY = 3


class Exiv2Error(ValueError):
    """exiv2 could not read or write this data (the message is exiv2's)."""


def _exiv2() -> ModuleType:
    """Import and configure pyexiv2 once; call with the lock held."""
    module = _state.get("pyexiv2")
    if module is None:
        try:
            import pyexiv2
        except ImportError as exc:
            raise TagError(
                "pyexiv2 is not installed, so photolm cannot write tags: pip install pyexiv2"
            ) from exc
        pyexiv2.set_log_level(_LOG_ERRORS_ONLY)
        pyexiv2.registerNs(PHOTOLM_NS, "photolm")
        _state["pyexiv2"] = module = pyexiv2
    return module


@dataclass(frozen=True)
class EmbeddedMetadata:
    """What exiv2 reads from one file (or one XMP packet)."""

    packet: str  # the raw XMP packet, "" when there is none
    xmp: dict[str, Any]  # exiv2's flattened view: {"Xmp.dc.subject": [...], ...}
    exif: dict[str, str]  # Latin-1 view: lossless for every byte
    iptc: dict[str, Any]  # Latin-1 view: lossless for every byte
    icc: bytes
    mime: str


def read_metadata(data: bytes) -> EmbeddedMetadata:
    """Read all metadata of an image (or of an XMP sidecar) held in memory."""
    return _read(lambda pyexiv2: pyexiv2.ImageData(data))


def read_file_metadata(path: Path) -> EmbeddedMetadata:
    """:func:`read_metadata` of a file on disk, reading only its metadata blocks when the
    path can be given to exiv2 (valid UTF-8), else the whole file."""
    name = str(path)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return read_metadata(path.read_bytes())
    return _read(lambda pyexiv2: pyexiv2.Image(name))


def _read(open_image: Callable[[Any], Any]) -> EmbeddedMetadata:
    """Open an image with pyexiv2 (``open_image(module)``) and read it, under the lock."""
    with EXIV2_LOCK:
        pyexiv2 = _exiv2()
        try:
            image = open_image(pyexiv2)
        except (RuntimeError, ValueError) as exc:
            raise Exiv2Error(_one_line(exc)) from None
        return _collect(image)


def _collect(image: Any) -> EmbeddedMetadata:
    """Read everything from an open pyexiv2 image and close it; call with the lock held."""
    try:
        return EmbeddedMetadata(
            packet=image.read_raw_xmp(),
            xmp=image.read_xmp(),
            exif=image.read_exif(encoding="latin-1"),
            iptc=image.read_iptc(encoding="latin-1"),
            icc=image.read_icc(),
            mime=image.get_mime_type(),
        )
    except (RuntimeError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        raise Exiv2Error(_one_line(exc)) from None
    finally:
        image.close()


def decode_iptc(raw: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """The IPTC values as text, or ``(None, why)`` when photolm must not write IPTC here.

    IPTC IIM has no fixed character set: UTF-8 only when ``CharacterSet`` says so. Values
    in a legacy set (Latin-1, Shift-JIS...) cannot be rewritten without knowing which, and
    IPTC Keywords are rewritten as a whole list, so such a block is left alone.
    """
    if not raw:
        return None, None
    if raw.get("Iptc.Envelope.CharacterSet") == IPTC_UTF8:
        try:
            return {k: _recode(v) for k, v in raw.items()}, None
        except UnicodeDecodeError:
            return None, "the photo's IPTC claims UTF-8 but is not; IPTC left alone"
    if all(_ascii(v) for v in raw.values()):
        return dict(raw), None
    return None, "the photo's IPTC uses a legacy character set; IPTC left alone"


def _recode(value: Any) -> Any:
    if isinstance(value, list):
        return [item.encode("latin-1").decode("utf-8") for item in value]
    return value.encode("latin-1").decode("utf-8")


def _ascii(value: Any) -> bool:
    return all(item.isascii() for item in value) if isinstance(value, list) else value.isascii()


def write_metadata(data: bytes, *, packet: str | None, iptc: Mapping[str, Any],
                   exif: Mapping[str, str | None]) -> bytes:
    """``data`` with the given changes; nothing else is touched by photolm's request.

    ``packet``: the new XMP packet ("" removes XMP, ``None`` leaves it as it is); ``iptc``
    and ``exif``: exiv2 key -> new value, ``None`` deletes the key (IPTC lists replace all
    datasets of that key). IPTC text is written as UTF-8, which the caller has made sure is
    either declared or not needed (ASCII).
    """
    with EXIV2_LOCK:
        pyexiv2 = _exiv2()
        try:
            image = pyexiv2.ImageData(data)
        except (RuntimeError, ValueError) as exc:
            raise Exiv2Error(_one_line(exc)) from None
        try:
            if exif:
                image.modify_exif(dict(exif))
                remaining = image.read_exif(encoding="latin-1")
                if "Exif.Image.GPSTag" in remaining and not any(
                        k.startswith("Exif.GPSInfo.") for k in remaining):
                    # exiv2 would keep a pointer to an empty GPS directory.
                    image.modify_exif({"Exif.Image.GPSTag": None})
            if iptc:
                image.modify_iptc(dict(iptc), encoding="utf-8")
            if packet == "":
                image.clear_xmp()
            elif packet is not None:
                image.modify_raw_xmp(packet)
            return bytes(image.get_bytes())
        except (RuntimeError, ValueError) as exc:
            raise Exiv2Error(_one_line(exc)) from None
        finally:
            image.close()


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
