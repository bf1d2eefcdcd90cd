# SPDX-License-Identifier: GPL-3.0-or-later
"""A ``trainer fit`` that fails before its first checkpoint leaves no half run folder behind.

Bad data found at the end of epoch 1, a full disk or Ctrl-C before anything was saved
would otherwise leave ``config.json``, ``classes.json`` and ``split.json`` without a
``last.pt``: a folder that looks like a run, holds nothing to resume or export, and sits in
the way of the next attempt. So the run notes what its folder held before it started and,
when it fails with no checkpoint there, removes only what it wrote itself (and the folder,
if it made it and it is now empty). A folder holding ``last.pt`` or ``best.pt`` is never
touched, nor is any file that was there before the run. ``bad_images.txt`` stays: it lists
the photos to fix before the next attempt (which starts it over). A run that is killed
cannot tidy up; ``--resume`` explains such a folder (:func:`trainer.fit.resume_checkpoint`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# What fit writes before its first checkpoint; bad_images.txt is kept on purpose.
RUN_FILES = ("config.json", "classes.json", "split.json", "log.jsonl")
KEPT = "bad_images.txt"
CHECKPOINTS = ("last.pt", "best.pt")


@dataclass(frozen=True)
class RunFolderBefore:
    """A run folder as it was before ``fit`` started writing into it."""

    path: Path
    existed: bool
    names: frozenset[str]

    @classmethod
    def look(cls, path: Path | str) -> RunFolderBefore:
        path = Path(path)
        if not path.is_dir():  # missing (made by the run), or a file: refused later
            return cls(path, path.exists(), frozenset())
        # each name looked up, not the folder listed: a folder one may write and enter but
        # not list (a drop box) would otherwise read as empty, and tidy() would take the
        # person's own config.json for the run's
        return cls(path, True, frozenset(
            name for name in (*RUN_FILES, *CHECKPOINTS, KEPT)
            if os.path.lexists(path / name)))

    def tidy(self) -> str:
        """Remove what the run wrote when the folder holds no checkpoint; the sentence that
        says what was removed ("" when nothing the person could have seen was)."""
        if any((self.path / name).exists() for name in CHECKPOINTS):
            return ""
        removed = False
        for name in RUN_FILES:
            if name in self.names:
                continue
            try:
                (self.path / name).unlink()
                removed = True
            except FileNotFoundError:
                pass
            except OSError:  # a read-only disk: what stays is explained by the error itself
                return ""
        if not self.existed:
            try:
                self.path.rmdir()
            except OSError:  # not empty: bad_images.txt, or files someone else put there
                pass
            else:  # gone: say so only if it held files the person may have seen
                return (f"Removed the run folder {self.path}: it held no checkpoint."
                        if removed else "")
        if not removed:
            return ""
        kept = ", all but bad_images.txt" if (self.path / KEPT).exists() else ""
        return f"Removed the files this run wrote in {self.path}{kept}: it held no checkpoint."
