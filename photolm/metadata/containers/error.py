# SPDX-License-Identifier: GPL-3.0-or-later
"""The one exception of the container editors (a caller falls back to a sidecar)."""

from __future__ import annotations


class ContainerError(ValueError):
    """photolm cannot place metadata into this file with certainty (message says why)."""
