# SPDX-License-Identifier: GPL-3.0-or-later
"""One exception family for failures a user can act on.

The CLI turns any :class:`PhotolmError` into a single ``Error: ...`` line on stderr (exit 1)
instead of a traceback, so every message here must say what happened *and* what to do.
Per-photo problems (a corrupt JPEG, an unreadable file) are not exceptions at this level:
the scan records them as results and goes on.
"""

from __future__ import annotations


class PhotolmError(Exception):
    """An expected failure with a message written for the user."""

    exit_code: int = 1


class UsageError(PhotolmError):
    """The command line asks for something impossible (exit status 2, like typer's)."""

    exit_code = 2


class NotKnownError(PhotolmError):
    """A value typed well but naming nothing photolm knows: a landmark name (``confirm
    --landmark Eifel``), a learned landmark to unlearn, a place id. The command line was
    right and the data says no, so exit status 1 like any failure, not a usage error's 2;
    the message says the closest names where photolm has some ("Did you mean ...?")."""


class BundleError(PhotolmError):
    """A model bundle is missing, incomplete, tampered with or from an unknown format."""


class RuntimeMissingError(PhotolmError):
    """Neither onnxruntime nor onnxruntime-gpu can be imported."""


class DeviceError(PhotolmError):
    """The requested execution device (e.g. ``--device cuda``) is not available."""


class CatalogError(PhotolmError):
    """The catalogue cannot be opened, is corrupt, or comes from a newer photolm."""


class CatalogBusyError(CatalogError):
    """Another photolm process holds the catalogue's write lock."""


class ImageError(PhotolmError):
    """A single photo cannot be decoded; the scan records it and moves on."""


class TagError(PhotolmError):
    """Writing or removing metadata on one photo failed; the original is untouched."""


class StoppedError(PhotolmError):
    """Ctrl-C, SIGTERM or SIGHUP stopped the work, and the message says what it left (see
    :mod:`photolm.ctrl_c`); the exit status is the signal's, 130 for Ctrl-C."""

    exit_code = 130
    signum = 2  # SIGINT

    def __init__(self, message: str, stop: BaseException | None = None) -> None:
        super().__init__(message)
        if stop is not None:
            from photolm.ctrl_c import exit_status, stop_signal

            self.signum, self.exit_code = stop_signal(stop), exit_status(stop)


class TaggingInterrupted(TagError, StoppedError):
    """A stop while photos were being tagged; the message says how far it got."""
