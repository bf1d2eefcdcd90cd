# SPDX-License-Identifier: GPL-3.0-or-later
"""The exporter's expected failures: one class, so the CLI prints one ``Error:`` line."""

from __future__ import annotations

from photolm.errors import PhotolmError


class ExportError(PhotolmError):
    """The export cannot produce a trustworthy bundle; the message says why and what to do."""
