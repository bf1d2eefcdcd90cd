# SPDX-License-Identifier: GPL-3.0-or-later
"""Is the file at a catalogued path still the photo the catalogue describes?

Size and mtime say "probably" and cost nothing; a photo replaced by another of the same size
with its mtime put back fools them (issue 10.5). The content fingerprint of
:mod:`photolm.fingerprint` (512 KiB read) settles it. ``scan --verify`` asks this of photos
that look unchanged; the tag writer asks it before writing a landmark into a file, so the
landmark of one photo never lands in another.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from photolm.fingerprint import fingerprint

if TYPE_CHECKING:
    from photolm.catalog import PhotoRow


def same_content(path: str | Path, size: int, content_hash: str | None) -> bool:
    """Whether ``path`` (of ``size`` bytes) has the fingerprint ``content_hash``.

    ``True`` when there is no stored fingerprint to compare with; ``False`` when the file
    cannot be read (nothing can be promised about it).
    """
    if content_hash is None:
        return True
    try:
        return fingerprint(Path(path), size) == content_hash
    except OSError:
        return False


def changed_since_scan(row: PhotoRow) -> str | None:
    """Why the file at ``row.path`` is not the photo catalogued there, or ``None`` when it is.

    A changed mtime alone is not a change (copying, ``touch``): the content decides.
    """
    try:
        st = os.stat(row.path)
    except FileNotFoundError:
        return "the file is gone; run `photolm scan` on its folder"
    except OSError as exc:
        return f"cannot look at the file ({exc.strerror or exc})"
    if st.st_size != row.size or not same_content(row.path, st.st_size, row.content_hash):
        return "the file holds another photo than when it was scanned; run `photolm scan` first"
    return None


def content_unchanged(row: PhotoRow) -> bool:
    """``True`` when the file still holds the photo the catalogue describes."""
    return changed_since_scan(row) is None
