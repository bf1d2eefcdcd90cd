# SPDX-License-Identifier: GPL-3.0-or-later
"""The desktop's Scan page says what ``photolm scan`` says in a note: line when a changed
model took a learned landmark's name from photos (tests/test_learned_model_change.py has
the library and the model update), in real headless Chromium."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.desktop import browser
from tests.desktop.conftest import Library, serving
from tests.test_learn_cli import PINK
from tests.test_learned_model_change import SENTENCE, taught_library, updated_model
from tests.tinybundle import write_photo

why_not = browser.available()
if why_not is not None and os.environ.get("CI"):
    pytest.fail(f"the browser tests must run in CI: {why_not}", pytrace=False)
pytestmark = pytest.mark.skipif(why_not is not None, reason=why_not or "")


def test_the_scan_page_says_which_photos_lost_a_learned_name(
        tiny_bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    photos = taught_library(tiny_bundle_dir, tmp_path, monkeypatch)
    model = updated_model(tmp_path, monkeypatch, network=False)
    write_photo(photos / "changed.png", PINK)  # as the CLI's test: changed, not counted
    library = Library(photos, tmp_path / "catalog.sqlite", model)
    with browser.chromium() as chromium, serving(library, tmp_path) as live:
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        pg = context.new_page()
        pg.set_default_timeout(60_000)
        pg.goto(live.url)
        pg.goto(f"{live.base}/scan")
        pg.click("button:has-text('Scan these folders')")
        pg.wait_for_selector("section.job.done")
        assert pg.locator("section.job .lost-learned").all_inner_texts() == [
            f"Old Bridge: {SENTENCE}"]
        pg.click("section.job a:has-text('Review the uncertain photos')")
        pg.wait_for_url("**/uncertain")
        # one photo at a time, closest first: the bluish one (now the Taj Mahal's), then it
        assert "Uncertain 1 of 2" in pg.inner_text("main")
        pg.keyboard.press("ArrowRight")
        pg.locator("main", has_text="near.png").wait_for()
        pg.goto(f"{live.base}/scan")  # said once: the next scan re-decides nothing
        pg.click("button:has-text('Scan these folders')")
        pg.wait_for_selector("section.job.done")
        assert pg.locator("section.job .lost-learned").count() == 0
        context.close()
