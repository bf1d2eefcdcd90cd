# SPDX-License-Identifier: GPL-3.0-or-later
"""A photo the export cannot read while it measures: one line naming the photo.

The parity check, int8 calibration and the embedding pass read the dataset's photos. Their
decoders skip a photo they cannot use (counted in the report), so what reaches here is a read
failure a library raised its own way: an I/O error on the data disk, a file the export may
not open. It is worded as a read, naming the file, never as a refused write of the working
files (:func:`export.report_files.refusals_as_errors`), which would send a person to free
space or move ``TMPDIR`` for nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from export.errors import ExportError
from photolm.errors import PhotolmError
from photolm.printed_paths import printed
from trainer.atomic import refusal_behind


@contextmanager
def reads_as_errors(after: str = "") -> Iterator[None]:
    """An ``OSError`` (found behind a library's own error too) while reading photos becomes
    one :class:`ExportError` line naming the file; ``after`` says what was kept."""
    try:
        yield
    except PhotolmError:
        raise
    except Exception as exc:
        failed = refusal_behind(exc)
        if failed is None:
            raise
        what = printed(failed.filename) if failed.filename is not None else "a photo"
        why = (failed.strerror or str(failed)).lower()
        raise ExportError(f"Cannot read {what}: {why}; check the disk holding it and that "
                          f"you may read it, then run again{after}.") from None
