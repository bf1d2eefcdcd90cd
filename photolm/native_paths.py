# SPDX-License-Identifier: GPL-3.0-or-later
"""Paths handed to C libraries that take a UTF-8 string, not the operating system's bytes.

A Linux or NAS file name may hold bytes that are not UTF-8 (a folder copied from an old
Windows or camera file system). Python keeps them as surrogate escapes and ``open()`` works,
but onnxruntime and LibRaw (rawpy) encode the ``str`` as UTF-8 and fail, one with a pybind
"incompatible constructor arguments" line, the other as a "corrupt RAW file". For such a
path the callers give the library the file's content instead, which Python can always read;
for every other path they keep passing the path (LibRaw then reads only what it needs, and
onnxruntime maps the model), so the common case costs nothing more.
"""

from __future__ import annotations

import os
from pathlib import Path


def utf8_path(path: Path | str) -> str | None:
    """``path`` as a string a UTF-8 C library can open, or ``None`` when its bytes are not
    UTF-8 (then read the file in Python and hand over its content)."""
    text = os.fspath(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return text
