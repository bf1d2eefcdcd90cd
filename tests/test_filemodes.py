# SPDX-License-Identifier: GPL-3.0-or-later
"""Staged writes (the bundle writer, the trainer's run files) end with the modes an ordinary
create gives: the umask decides, not mkstemp's 0600 or mkdtemp's 0700."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest


@pytest.mark.parametrize(("mask", "file_mode", "folder_mode"),
                         [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750), (0o077, 0o600, 0o700)])
def test_staged_file_and_folder_get_the_umask_modes(tmp_path: Path, mask: int, file_mode: int,
                                                    folder_mode: int) -> None:
    from photolm.filemodes import as_if_created

    fd, staged = tempfile.mkstemp(dir=tmp_path)
    os.close(fd)
    folder = tempfile.mkdtemp(dir=tmp_path)
    old = os.umask(mask)
    try:
        as_if_created(staged)
        as_if_created(folder, folder=True)
        assert os.umask(mask) == mask  # the process's umask is left as it was
    finally:
        os.umask(old)
    assert os.stat(staged).st_mode & 0o777 == file_mode
    assert os.stat(folder).st_mode & 0o777 == folder_mode
