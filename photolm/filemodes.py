# SPDX-License-Identifier: GPL-3.0-or-later
"""Staging files and folders that are born with the mode an ordinary create gives them.

Writers that stage their output under a temporary name and rename it into place need a name
nobody else holds, which ``tempfile.mkstemp`` (0600) and ``mkdtemp`` (0700) provide; but those
modes would hide a bundle installed for every user of a machine, or a training run shared on
a GPU machine, from everyone but its writer. Correcting the mode afterwards races twice: the
file exists for a while with the wrong mode, and the umask can only be read by setting it, so
a thread creating a file meanwhile gets no umask at all (a world-writable file). Here the
kernel applies the umask as it creates the name exclusively (``O_CREAT | O_EXCL``, or
``mkdir``): 0666 or 0777 less the umask, from the first instant, and the umask is never
touched. Used by the bundle writer (photolm.bundle) and the trainer's writes (trainer.atomic).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

_TRIES = 100  # names are 8 random hex digits: a clash is already improbable once


def _names(folder: Path | str, prefix: str, suffix: str) -> list[Path]:
    return [Path(folder) / f"{prefix}{secrets.token_hex(4)}{suffix}" for _ in range(_TRIES)]


def create_staged_file(folder: Path | str, *, prefix: str = "", suffix: str = ""
                       ) -> tuple[int, Path]:
    """A new file in ``folder`` under a name nobody else holds, open for writing: its
    descriptor and path. Its mode is 0666 less the umask from the moment it exists."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for path in _names(folder, prefix, suffix):
        try:
            return os.open(path, flags, 0o666), path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {folder}")


def make_staged_folder(parent: Path | str, *, prefix: str = "") -> Path:
    """A new, empty folder in ``parent`` under a name nobody else holds; its mode is 0777
    less the umask from the moment it exists."""
    for path in _names(parent, prefix, ""):
        try:
            os.mkdir(path, 0o777)
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {parent}")
