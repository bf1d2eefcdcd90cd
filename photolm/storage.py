# SPDX-License-Identifier: GPL-3.0-or-later
"""What the storage under a file says when a write fails: full, read-only, or gone.

Photos live on nearly full laptop disks, NAS shares and USB sticks. The operating system's
answer (``ENOSPC``, ``EROFS``, ``EACCES``...) decides what a person can do about a failure,
so the catalogue and the tag writer word it from here, once: "no space left on the disk
holding X: free some space and run again" is actionable where "disk I/O error" or "damaged,
move it aside" is not. And "missing" must mean *gone*: a file behind a folder photolm may
not enter, or on a share that answers with an I/O error, is not proof that it was deleted.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from photolm.printed_paths import printed

# A quota reached on a share (EDQUOT) is as full as a full disk for the person writing.
_NO_SPACE = frozenset(e for e in (errno.ENOSPC, getattr(errno, "EDQUOT", None)) if e)
# What only a write is answered: the disk (or the quota) full, the file too large for its file
# system, a read-only file system. Proof of a refused write whatever call failed.
_WRITE_ONLY_REFUSALS = _NO_SPACE | {errno.EFBIG, errno.EROFS}
# What a read is answered too (a photo photolm may not open, a disk failing under it): a
# refused write only when the call that failed was itself writing.
_ALSO_READ_REFUSALS = frozenset((errno.EACCES, errno.EPERM, errno.EIO))
# Below this much free space a failed write is put down to a full disk: SQLite reports some
# writes that ran out of space as a bare I/O error (its WAL index on a full tmpfs, say).
NEARLY_FULL_BYTES = 1 << 20


def no_space(exc: BaseException) -> bool:
    """Whether ``exc`` is the operating system saying the disk (or the quota) is full."""
    return isinstance(exc, OSError) and exc.errno in _NO_SPACE


def too_large(exc: BaseException) -> bool:
    """``EFBIG``: the file system (FAT32: 4 GiB) or a process limit refuses a larger file."""
    return isinstance(exc, OSError) and exc.errno == errno.EFBIG


def write_refused(exc: BaseException, *, writing: bool = False) -> bool:
    """Whether ``exc`` is the storage refusing a write: full, over quota, a file too large,
    read-only; with ``writing`` (the failed call only wrote, e.g. the export's ONNX file),
    also not allowed or an I/O error. Without it, a failure of a command as a whole, which
    also reads, is called a refused write only when no read could have caused it: an
    unreadable photo is not a reason to free space or choose another ``--out``."""
    if not isinstance(exc, OSError):
        return False
    return exc.errno in _WRITE_ONLY_REFUSALS or (writing and exc.errno in _ALSO_READ_REFUSALS)


def no_space_message(path: Path | str) -> str:
    return f"no space left on the disk holding {printed(path)}: free some space and run again"


def too_large_message(path: Path | str) -> str:
    return (f"{printed(path)} would be larger than its file system or this process may "
            "write (a FAT32 USB stick takes files under 4 GiB)")


def nearly_full(path: Path | str) -> bool:
    """Whether the file system holding ``path`` (or its nearest existing folder) has less
    than :data:`NEARLY_FULL_BYTES` free for an ordinary user."""
    here = Path(path)
    while not here.exists() and here != here.parent:
        here = here.parent
    try:
        vfs = os.statvfs(here)
    except (OSError, AttributeError):  # Windows has no statvfs: nothing to say
        return False
    return vfs.f_bavail * vfs.f_frsize < NEARLY_FULL_BYTES


def read_only_file_system(path: Path | str) -> bool:
    """Whether ``path`` lies on a file system mounted read-only (POSIX only)."""
    flag = getattr(os, "ST_RDONLY", 0)
    if not flag:
        return False
    try:
        return bool(os.statvfs(path).f_flag & flag)
    except OSError:
        return False


def gone(path: Path | str) -> bool:
    """Whether ``path`` is really not there: ``False`` when it cannot be looked at (a folder
    photolm may not enter, an I/O error on a share), which is not proof it was deleted."""
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return False
