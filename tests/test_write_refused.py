# SPDX-License-Identifier: GPL-3.0-or-later
"""One answer to "did the disk refuse a write?" for photolm, the trainer and the exporter.

A failure only a write gets (full, over quota, too large, read-only) is one whatever call
failed; permission denied and an I/O error are one only from a call that was writing, since
reading a photo gets them too (the trainer's commands as a whole, which also read, ask
without ``writing``)."""

from __future__ import annotations

import errno
import os

import pytest

from photolm.storage import write_refused


def _error(code: int) -> OSError:
    return OSError(code, os.strerror(code), "/photos/a.jpg")


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS])
def test_what_only_a_write_is_answered_is_a_refused_write_from_any_call(code: int) -> None:
    assert write_refused(_error(code))
    assert write_refused(_error(code), writing=True)


@pytest.mark.parametrize("code", [errno.EACCES, errno.EPERM, errno.EIO])
def test_what_a_read_is_answered_too_is_a_refused_write_only_from_a_write(code: int) -> None:
    assert not write_refused(_error(code))
    assert write_refused(_error(code), writing=True)


@pytest.mark.parametrize("exc", [_error(errno.ENOENT), RuntimeError("no space left")])
def test_a_missing_file_or_no_os_error_is_no_refused_write(exc: Exception) -> None:
    assert not write_refused(exc, writing=True)

