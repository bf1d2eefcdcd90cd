# SPDX-License-Identifier: GPL-3.0-or-later
"""Counts in messages agree with their words: never "1 classes" or "2 epoches"; a score and
its threshold never print alike when they differ."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from photolm.wording import counted

_SCORES = st.floats(-1, 1).map(lambda x: x + 0.0)  # cosine scores; no -0.0


@pytest.mark.parametrize(("args", "text"), [
    ((1, "class", "has"), "1 class has"),
    ((2, "class", "has"), "2 classes have"),
    ((0, "photo", "is"), "0 photos are"),
    ((1, "folder", "holds"), "1 folder holds"),
    ((3, "folder", "holds"), "3 folders hold"),
    ((2, "complete epoch"), "2 complete epochs"),
    ((2, "batch"), "2 batches"),
    ((2, "category"), "2 categories"),
    ((1, "non-landmark photo", "scores"), "1 non-landmark photo scores"),
])
def test_counted_words_agree_with_the_count(args: tuple, text: str) -> None:
    assert counted(*args) == text


def test_an_irregular_plural_can_be_given() -> None:
    assert counted(2, "person", plural="people") == "2 people"
    assert counted(1, "person", plural="people") == "1 person"


@given(_SCORES, _SCORES)
def test_a_score_and_a_threshold_print_apart_with_the_fewest_decimals(score: float,
                                                                       against: float) -> None:
    from photolm.wording import apart, decimals

    shown, bar = apart(score, against)
    assert (shown == bar) == (score == against)
    n = decimals(score, against)
    assert n == 2 or f"{score:.{n - 1}f}" == f"{against:.{n - 1}f}"
