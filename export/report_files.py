# SPDX-License-Identifier: GPL-3.0-or-later
"""Files an export command writes when its work is done: a report, a record, a list.

The work (an export, a measurement over every held-out photo) takes minutes, so the path is
checked before it starts (:func:`check_writable`), and a write that still fails afterwards
(the disk filled, the folder went) is one line saying what was kept (:func:`write_text`).
Missing folders are made at write time, so a check that fails leaves nothing behind.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from export.errors import ExportError
from photolm.errors import PhotolmError
from photolm.storage import no_space
from trainer.atomic import refusal_reason, refused_write


def check_writable(path: Path, option: str) -> None:
    """Refuse, in one line naming ``option``, a ``path`` that could not be written as a
    file: a folder in its place, a file among its parents, a folder not writable."""
    path = Path(path)
    if path.is_dir():
        raise ExportError(f"Cannot write {option} {path}: it is a folder; give {option} a "
                          "file name.")
    there = next((p for p in path.parents if os.path.lexists(p)), Path("."))
    if not there.is_dir():
        raise _refused(path, option, f"{there} is a file, not a folder")
    if not os.access(there, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise _refused(path, option, "permission denied")


def write_text(path: Path, text: str, option: str, *, kept: str = "") -> None:
    """Write ``text`` to ``path``, making its missing folders; a failure is one line naming
    ``option`` and, if given, what was ``kept`` all the same."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise _refused(path, option, (exc.strerror or str(exc)).lower(), kept) from None


def write_json(path: Path, record: Any, option: str, *, kept: str = "") -> None:
    """:func:`write_text` of ``record`` as indented JSON (the reports' one layout)."""
    write_text(path, json.dumps(record, indent=2, ensure_ascii=False) + "\n", option,
               kept=kept)


@contextmanager
def refusals_as_errors(what: str, where: Path, after: str = "", *,
                       elsewhere: str = "") -> Iterator[None]:
    """A write the system refuses under ``where`` (a full disk, a read-only folder) while
    writing ``what`` becomes one :class:`ExportError` line, ``after`` saying what was kept.
    ``elsewhere`` names the setting that moves the writes (``TMPDIR``): to a folder with
    room when the disk is full, to one the export may write to when it refused otherwise.

    Found behind other errors too: ``torch.onnx.export`` and ``torch.save`` report a full
    disk as an error of their own raised while handling the ``OSError``. Wrap only calls
    that write: a permission or I/O error is taken for a refused write (as
    :func:`photolm.storage.write_refused` with ``writing``), and a photo read in the same
    block would be sent to free space it does not need (:mod:`export.read_failures`).
    """
    try:
        yield
    except PhotolmError:
        raise
    except Exception as exc:
        refused = refused_write(exc)
        if refused is None:
            raise
        why = refusal_reason(refused, where, refused.filename2 or refused.filename or where)
        if elsewhere:
            why += (f", or point {elsewhere} at a folder with room" if no_space(refused)
                    else f"; point {elsewhere} at a folder you can write to")
        raise ExportError(f"Cannot write {what}: {why}{after}.") from None


def _refused(path: Path, option: str, reason: str, kept: str = "") -> ExportError:
    return ExportError(f"Cannot write {option} {path}: {reason}"
                       + (f" ({kept})" if kept else "")
                       + f". Give {option} a path in a folder you can write to.")
