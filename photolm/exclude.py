# SPDX-License-Identifier: GPL-3.0-or-later
"""``scan --exclude GLOB``: which photos a person asked the scan to leave alone.

A pattern matches when it matches the file's name (``*.tmp``), the name of any folder between
the scanned folder and the file (``Trash``, ``@eaDir``), the path relative to the scanned
folder (``2019/raw/*``) or the absolute path (``/mnt/nas/backup/*``): people write all four,
and guessing which one they meant is the job of the tool, not theirs. Globs are
:mod:`fnmatch`'s (``*`` also crosses ``/`` in the last two forms).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from pathlib import Path


class Exclusions:
    """The ``--exclude`` patterns of one scan, against its roots."""

    def __init__(self, patterns: Sequence[str], roots: Sequence[Path | str]) -> None:
        self.patterns = tuple(p.rstrip("/") or p for p in patterns if p)
        self.roots = sorted((os.path.abspath(os.fspath(r)) for r in roots), key=len,
                            reverse=True)

    def match(self, path: Path | str) -> bool:
        if not self.patterns:
            return False
        absolute = os.path.abspath(os.fspath(path))
        relative = self._relative(absolute)
        parts = relative.split("/")
        for pattern in self.patterns:
            if any(fnmatch.fnmatch(part, pattern) for part in parts):
                return True
            if fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(absolute, pattern):
                return True
        return False

    def _relative(self, absolute: str) -> str:
        for root in self.roots:
            if absolute == root:
                return os.path.basename(absolute)
            if absolute.startswith(root.rstrip(os.sep) + os.sep):
                return Path(os.path.relpath(absolute, root)).as_posix()
        return os.path.basename(absolute)
