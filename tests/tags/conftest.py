# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for the tag tests: a landmark and the independent reader, ExifTool."""

from __future__ import annotations

import shutil

import pytest

from photolm.bundle import Landmark


@pytest.fixture
def eiffel() -> Landmark:
    return Landmark("eiffel_tower", "Eiffel Tower", ("Tour Eiffel",), "Paris", "France",
                    48.8584, 2.2945)


@pytest.fixture
def exiftool() -> str:
    """Path of exiftool; tests that need the independent reader skip without it."""
    exe = shutil.which("exiftool")
    if exe is None:
        pytest.skip("exiftool is not installed (apt-get install libimage-exiftool-perl); "
                    "it is the independent reader these tests check photolm against")
    return exe
