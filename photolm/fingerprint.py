# SPDX-License-Identifier: GPL-3.0-or-later
"""Content fingerprints that recognise a moved or renamed photo without re-reading it all.

A full hash of a 12 MB camera JPEG costs as much I/O as decoding it, which would double the
cost of a first scan on a NAS. The fingerprint hashes the size plus the first and last
256 KiB: the head holds the EXIF block (capture time to the second, camera serial) and the
start of the entropy-coded data, the tail the end of it, so two different photos colliding
would need the same size, metadata and both ends of the compressed stream. It is used only to
carry results over to a new path, never to decide that a file is safe to overwrite.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import BinaryIO

SAMPLE = 256 * 1024


def fingerprint(path: Path, size: int | None = None) -> str:
    """``"fp1:<hex>"``: version-prefixed so the scheme can change without false matches."""
    with open(path, "rb") as handle:
        return fingerprint_handle(handle, size)


def fingerprint_handle(handle: BinaryIO, size: int | None = None) -> str:
    """:func:`fingerprint` of a file the caller has open (the scan reads each photo once);
    ``size`` defaults to the file's current size. Raises ``OSError`` like reading does."""
    digest = hashlib.blake2b(digest_size=20)
    total = os.fstat(handle.fileno()).st_size if size is None else size
    digest.update(total.to_bytes(8, "little"))
    handle.seek(0)
    if total <= 2 * SAMPLE:
        digest.update(handle.read())
    else:
        digest.update(handle.read(SAMPLE))
        handle.seek(total - SAMPLE)
        digest.update(handle.read(SAMPLE))
    return "fp1:" + digest.hexdigest()


def fingerprint_bytes(data: bytes) -> str:
    """:func:`fingerprint` of a whole file already in memory (a tag write holds the photo's
    bytes, before and after: no second read, and no window for the file to change)."""
    return fingerprint_handle(io.BytesIO(data), len(data))
