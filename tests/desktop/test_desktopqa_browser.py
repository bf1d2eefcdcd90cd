# SPDX-License-Identifier: GPL-3.0-or-later
"""What a person met walking through `photolm serve` with a real library, in real headless
Chromium: each test is a defect found that way."""

from __future__ import annotations

import os

import pytest

from photolm.catalog import Catalog
from tests.desktop import browser

why_not = browser.available()
if why_not is not None and os.environ.get("CI"):
    pytest.fail(f"the browser tests must run in CI: {why_not}", pytrace=False)
pytestmark = pytest.mark.skipif(why_not is not None, reason=why_not or "")


@pytest.fixture(scope="module")
def chromium():
    with browser.chromium() as b:
        yield b


def test_a_window_half_a_laptops_screen_wide_shows_the_answer_buttons(chromium, live,
                                                                      library) -> None:
    """At 800x768 (a window beside another on a 1600 px screen) the page is one column,
    and the photo was a box as high as the screen less its header: the verdict and the
    y / n buttons were a screen down, so y was pressed without seeing what it answers.
    The photo is now at most 40% of the screen high there too, as on a phone."""
    context = chromium.new_context(viewport={"width": 800, "height": 768})
    page = context.new_page()
    page.set_default_timeout(5000)
    page.goto(live.url)
    with Catalog.open(library.catalog, write=False) as cat:
        photo = next(r.id for r in cat.iter_photos() if r.path.endswith("taj.jpg"))
    for path in ("/uncertain", f"/photo/{photo}"):
        page.goto(live.base + path)
        button = page.locator("[data-key=y]").bounding_box()
        assert button["y"] + button["height"] <= 768, f"{path}: the y button below the fold"
        assert page.locator(".panel .title").bounding_box()["y"] < 768, path
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= 800, f"{path} is {wide} px wide"
    context.close()
