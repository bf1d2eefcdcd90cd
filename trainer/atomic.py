# SPDX-License-Identifier: GPL-3.0-or-later
"""Write a run-folder file so that it is either wholly old or wholly new.

config.json, checkpoints and best.pt are read back by ``--resume`` and by ``export``; a
training run killed mid-write must not leave half a file behind under the real name. The
content goes to a temporary file in the same folder (a rename is only atomic within one file
system), is flushed to disk, and is then renamed over the target; any failure removes the
temporary file. The file is created with the permissions an ordinary ``open`` would give it
(mkstemp's 0600 would hide a run from the colleagues sharing a GPU machine).

Reports, lists and plots written for a person (``eda``, ``evaluate``, ``clean``, ``tune``,
``explain``) are written in place, through :func:`writing`, so that the disk refusing them
(full, read-only, permission denied, an I/O error) is one line naming the file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import BinaryIO

from photolm.errors import PhotolmError
from photolm.filemodes import create_staged_file
from photolm.storage import (
    no_space,
    no_space_message,
    too_large,
    too_large_message,
    write_refused,
)

COPY_CHUNK = 1 << 20


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


def storage_error(path: Path | str, exc: OSError, *, folder: bool = False) -> Exception:
    """The one line for a run-folder write the operating system refused (a full disk, a
    read-only or vanished folder), worded as photolm words it (:mod:`photolm.storage`);
    ``folder``: ``path`` is the folder written into, the file unknown."""
    from trainer.errors import StorageError

    path = Path(path)
    where = path if folder else path.parent
    return StorageError(f"Cannot write {'in ' if folder else ''}{path}: "
                        f"{refusal_reason(exc, where, path)}.")


def refusal_reason(exc: OSError, folder: Path | str, file: Path | str) -> str:
    """Why the system refused to write ``file`` in ``folder``, in words to act on."""
    if no_space(exc):
        return no_space_message(folder)
    if too_large(exc):
        return too_large_message(file)
    return (exc.strerror or str(exc)).lower()


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(handle)`` on a temporary file beside ``path``, then rename it into place;
    a write the system refuses is a :class:`~trainer.errors.StorageError` (the file as it
    was, no temporary file left)."""
    path = Path(path)
    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = create_staged_file(path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        said = isinstance(exc, PhotolmError)  # e.g. the source of a copy could not be read
        refused = refusal_behind(exc) if isinstance(exc, Exception) and not said else None
        if refused is not None:
            raise storage_error(path, refused) from None
        raise
    return path


@contextmanager
def writing(path: Path | str) -> Iterator[None]:
    """Around a call that only writes ``path`` (a report, a plot, a list): the system's
    refusal is one :class:`~trainer.errors.StorageError` line naming the file, a
    permission or I/O error included (:func:`photolm.storage.write_refused` with
    ``writing``). Found behind a library's own error too (matplotlib, Pillow). Wrap only
    writes: a photo read inside would be blamed on the disk written to."""
    try:
        yield
    except PhotolmError:
        raise
    except Exception as exc:
        refused = refused_write(exc)
        if refused is None:
            raise
        raise storage_error(path, refused) from None


def refused_write(exc: BaseException) -> OSError | None:
    """The refusal behind ``exc``, raised by a call that only wrote; ``None`` if none."""
    refused = refusal_behind(exc)
    return refused if refused is not None and write_refused(refused, writing=True) else None


def refusal_behind(exc: BaseException | None) -> OSError | None:
    """The system's refusal behind ``exc``: ``torch.save`` reports a failed write as a
    RuntimeError ("unexpected pos 704 vs 598") raised while handling the ``OSError``."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, OSError):
            return exc
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


def append_text(path: Path, text: str) -> None:
    """Append to a run-folder log (log.jsonl, bad_images.txt), a refusal as one line."""
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise storage_error(path, exc) from None


def remove_log(path: Path) -> None:
    """Start a run-folder log over (a fresh run's bad_images.txt and log.jsonl): gone, so
    the run's first line begins it; a refusal as one line."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise storage_error(path, exc) from None


def write_report(path: Path, text: str) -> Path:
    """A report or list a command writes for a person (not read back by a run): written in
    place, a refusal as one line naming it (:func:`writing`)."""
    with writing(path):
        path.write_text(text, encoding="utf-8")
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    return atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))


def atomic_copy(src: Path, dst: Path) -> Path:
    """Copy ``src`` over ``dst`` atomically (best.pt from last.pt). A source that cannot be
    read is "Cannot read SRC", not a refused write of ``dst``: the person is to check the
    disk holding ``src``, not free space where ``dst`` goes."""
    src = Path(src)

    def copy(handle: BinaryIO) -> None:
        with ExitStack() as stack:
            try:
                source = stack.enter_context(open(src, "rb"))
            except OSError as exc:
                raise _read_error(src, exc) from None
            while True:
                try:
                    chunk = source.read(COPY_CHUNK)
                except OSError as exc:
                    raise _read_error(src, exc) from None
                if not chunk:
                    return
                handle.write(chunk)

    return atomic_write(dst, copy)


def _read_error(path: Path, exc: OSError) -> Exception:
    from trainer.errors import StorageError

    return StorageError(f"Cannot read {path}: {(exc.strerror or str(exc)).lower()}.")
