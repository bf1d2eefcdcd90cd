# SPDX-License-Identifier: GPL-3.0-or-later
"""The trainer's expected failures.

They subclass :class:`photolm.errors.PhotolmError` so that one ``except`` clause (in the
trainer CLI, or in ``export`` which calls into the trainer) turns any of them into a single
``Error: ...`` line. Messages say what happened and what to do about it.
"""

from __future__ import annotations

from photolm.errors import PhotolmError, StoppedError


class TrainerError(PhotolmError):
    """An expected failure in the trainer, with a message written for the user."""


class ConfigError(TrainerError):
    """A config file or an option value is invalid or contradicts another one."""


class DataError(TrainerError):
    """A dataset root is missing, empty or unreadable, or a file list does not match it."""


class WeightsError(TrainerError):
    """Pretrained weights cannot be found locally or do not fit the backbone."""


class CheckpointError(TrainerError):
    """A checkpoint is missing, damaged or was written by an incompatible trainer."""


class StorageError(TrainerError):
    """A run-folder file could not be written (the disk is full, read-only or gone) or read
    back to be copied."""


class TrainingInterrupted(TrainerError, StoppedError):
    """Training stopped on Ctrl-C (SIGTERM, SIGHUP) after saving a resumable checkpoint
    (exit status 130; 143, 129)."""
