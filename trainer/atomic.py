# SPDX-License-Identifier: GPL-3.0-or-later
"""Write a run-folder file so that it is either wholly old or wholly new.

config.json, checkpoints and best.pt are read back by ``--resume`` and by ``export``; a
training run killed mid-write must not leave half a file behind under the real name. The
content goes to a temporary file in the same folder (a rename is only atomic within one file
system), is flushed to disk, and is then renamed over the target; any failure removes the
temporary file. The file is created with the permissions an ordinary ``open`` would give it
(mkstemp's 0600 would hide a run from the colleagues sharing a GPU machine).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from photolm.filemodes import create_staged_file


def output_folder(path: Path | str, *, create: bool = True, option: str = "--out") -> Path:
    """The folder a command writes into; a file in its place (or a folder that cannot be
    made) is one error line naming the option, checked before any work starts."""
    from trainer.errors import TrainerError

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise TrainerError(f"{option} {path} is a file; give a folder.")
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TrainerError(f"Cannot create the {option} folder {path}: "
                               f"{(exc.strerror or str(exc)).lower()}.") from None
    return path


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(handle)`` on a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = create_staged_file(path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    return atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))


def atomic_copy(src: Path, dst: Path) -> Path:
    def copy(handle: BinaryIO) -> None:
        with open(src, "rb") as source:
            shutil.copyfileobj(source, handle)

    return atomic_write(dst, copy)
