# SPDX-License-Identifier: GPL-3.0-or-later
"""CI's hypothesis tests are deterministic: tests/conftest.py loads the "ci" profile unless
HYPOTHESIS_PROFILE names another (``explore``, for looking for bugs by hand)."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings


@pytest.mark.skipif(os.environ.get("HYPOTHESIS_PROFILE", "ci") != "ci",
                    reason="another profile was asked for")
def test_the_default_profile_tries_the_same_examples_every_run() -> None:
    assert settings.default.derandomize
    assert settings.default.database is None  # no failure saved elsewhere changes the run
    assert settings.default.deadline is None
