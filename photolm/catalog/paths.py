# SPDX-License-Identifier: GPL-3.0-or-later
"""Where the catalogue lives, and the one form in which a photo's path is keyed.

Paths are stored losslessly: ``path_key`` (BLOB, unique) is ``os.fsencode`` of the absolute
path, so file names that are not valid UTF-8 round-trip exactly; ``path`` and ``folder``
(TEXT) are display forms in which undecodable bytes appear as ``\\xNN``, never read back.
A path kept only as text, beside no key (a scan's roots, the files a tag wrote, the RAW a
verdict came from), is kept in :func:`as_text`'s form, which reads back exactly. The API
takes and returns ordinary ``str`` paths (with surrogate escapes where needed, as
:func:`os.listdir` gives them).
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

from photolm.printed_paths import printed, read_printed

StrPath = str | bytes | os.PathLike[str] | os.PathLike[bytes]

ENV_CATALOG = "PHOTOLM_CATALOG"
CATALOG_FILE = "catalog.sqlite"


def default_catalog_path() -> Path:
    """The per-user catalogue (e.g. ``~/.local/share/photolm/catalog.sqlite`` on Linux)."""
    import platformdirs

    return platformdirs.user_data_path("photolm", appauthor=False) / CATALOG_FILE


def resolve_catalog_path(option: Path | str | None = None) -> Path:
    """Pick the catalogue: ``--catalog`` first, then ``$PHOTOLM_CATALOG``, then the default."""
    if option:
        return Path(option).expanduser()
    env = os.environ.get(ENV_CATALOG)
    if env:
        return Path(env).expanduser()
    return default_catalog_path()


def normalise_path(path: StrPath) -> str:
    """The form a photo path is stored and keyed under: absolute, normalised, not resolved.

    Symlinks are deliberately not resolved: the catalogue records the path the user
    scanned. Keys of :meth:`~photolm.catalog.Catalog.load_index` are in this form.
    """
    return os.fsdecode(os.path.abspath(os.fsdecode(path)))


def path_key(path: StrPath) -> bytes:
    """The ``photos.path_key`` of a path."""
    return os.fsencode(normalise_path(path))


def display(raw: bytes) -> str:
    """The printable TEXT form of a key (``path``/``folder`` columns)."""
    return raw.decode("utf-8", "backslashreplace")


def as_text(path: StrPath) -> str:
    """The TEXT form of a path the catalogue keeps only as text: photolm's printed form
    (:mod:`photolm.printed_paths`: a backslash doubled, a byte that is not UTF-8 ``\\xNN``),
    so ``a\\xffb`` spelled with a backslash and ``a<0xff>b`` stay two names; ``display``'s
    ``backslashreplace`` form made them one (schema 8 rewrote such older text)."""
    return printed(path)


def from_text(text: str) -> str:
    """The path whose :func:`as_text` form is ``text`` (``os.fsdecode``'s form)."""
    return read_printed(text) or text


def prefix_range(folder: StrPath) -> tuple[bytes, bytes]:
    """``[lo, hi)`` of path keys under ``folder``: keys are BLOBs compared by bytes."""
    lo = path_key(folder)
    sep = os.fsencode(os.sep)
    if not lo.endswith(sep):
        lo += sep
    return lo, lo[:-1] + bytes([lo[-1] + 1])


def now() -> str:
    """The timestamps the catalogue stores: UTC, ISO 8601, whole seconds."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
