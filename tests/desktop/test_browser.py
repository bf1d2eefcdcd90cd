# SPDX-License-Identifier: GPL-3.0-or-later
"""End to end in real headless Chromium: what a person does, and the security rules."""

from __future__ import annotations

import os
import re
import time

import pytest

from photolm.catalog import Catalog
from tests.desktop import browser
from tests.desktop.conftest import EVIL_MODEL, EVIL_NAME, serving, slow_jobs
from tests.tinybundle import COLOURS, write_photo

why_not = browser.available()
if why_not is not None and os.environ.get("CI"):
    pytest.fail(f"the browser tests must run in CI: {why_not}", pytrace=False)
pytestmark = pytest.mark.skipif(why_not is not None, reason=why_not or "")

# How long a background job (scan, tag preview) may take to show its result: generous, as
# a 2-core machine running the whole suite beside other work took over 15 s for a preview.
JOB_MS = 60_000


@pytest.fixture(scope="module")
def chromium():
    with browser.chromium() as b:
        yield b


@pytest.fixture
def page(chromium, live):
    """A fresh browser profile that opened the address `photolm serve` prints."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    pg = context.new_page()
    pg.requests = requests
    pg.dialogs = []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.set_default_timeout(5000)
    pg.goto(live.url)
    yield pg
    context.close()


def _row(library, name: str):
    with Catalog.open(library.catalog, write=False) as cat:
        return next(r for r in cat.iter_photos() if r.path.endswith(name))


def test_search_open_a_photo_and_correct_it(page, live, library) -> None:
    assert page.url == f"{live.base}/"  # the token left the address bar
    assert page.locator(".card").count() == 3
    page.fill("input[name=q]", "colloseo")
    page.press("input[name=q]", "Enter")
    page.wait_for_url("**/search?q=colloseo")
    assert "Colosseum" in page.inner_text("main h2")
    page.locator(".grid a").first.click()
    page.wait_for_url(re.compile(r"/photo/\d+"))
    photo_id = int(page.url.split("/photo/")[1].split("?")[0])
    assert page.evaluate("document.querySelector('.large img').naturalWidth") > 0
    page.fill("input[name=landmark]", "taj mahal")
    page.click("form.correct button")
    page.wait_for_selector("text=corrected by you")
    with Catalog.open(library.catalog, write=False) as cat:
        row = next(r for r in cat.iter_photos() if r.id == photo_id)
    assert (row.review, row.review_landmark_id) == ("corrected", "taj-mahal")
    assert all(url.startswith(live.base) for url in page.requests)  # nothing from elsewhere


def test_uncertain_photos_are_reviewed_with_the_keyboard(page, live, library) -> None:
    page.goto(f"{live.base}/uncertain")
    assert "1 of 1" in page.inner_text("h1")
    page.keyboard.press("y")
    page.wait_for_selector("text=nothing to review")
    row = _row(library, "uncertain.png")
    assert (row.review, row.review_landmark_id) == ("corrected", "cologne-cathedral")


def test_no_landmark_from_the_photo_page_with_the_keyboard(page, live, library) -> None:
    page.goto(f"{live.base}/photo/{_row(library, 'taj.jpg').id}")
    page.keyboard.press("n")
    page.wait_for_selector("text=you said: none")
    assert _row(library, "taj.jpg").review == "none"


def test_hostile_names_and_exif_are_shown_as_text(page, live, library) -> None:
    page.goto(f"{live.base}/photo/{_row(library, EVIL_NAME).id}")
    assert EVIL_NAME in page.inner_text(".facts")
    page.goto(f"{live.base}/photo/{_row(library, 'taj.jpg').id}")
    assert EVIL_MODEL in page.inner_text(".facts")
    page.goto(f"{live.base}/landmark/eiffel-tower")
    assert page.dialogs == [] and page.locator("img[src='x']").count() == 0


def test_without_the_token_nothing_is_shown(chromium, live) -> None:
    context = chromium.new_context()
    pg = context.new_page()
    res = pg.goto(f"{live.base}/")
    assert res.status == 403 and "secret token" in pg.inner_text("body")
    assert pg.goto(f"{live.base}/?token=wrong").status == 403
    context.close()


def test_a_page_on_another_origin_cannot_change_anything(chromium, live, library) -> None:
    """A logged-in browser visiting a hostile page: its form POST carries no CSRF token (and
    a cross-site Origin), so the answer is refused and the catalogue is unchanged."""
    context = chromium.new_context()
    pg = context.new_page()
    pg.goto(live.url)  # logged in: the cookie is set
    photo = _row(library, "grey.jpg").id
    # The attacker's page, served from another origin (the same server on 127.0.0.2 would
    # do; a data: URL is another origin too).
    pg.goto("data:text/html,<form method=post action='" + live.base + f"/photo/{photo}/review'>"
            "<input name=action value=none></form>")
    with pg.expect_navigation():
        pg.evaluate("document.forms[0].submit()")
    assert "Refused" in pg.inner_text("body")
    assert _row(library, "grey.jpg").review is None
    context.close()


def test_tag_preview_shows_progress_without_reloading(page, live, monkeypatch) -> None:
    """The progress panel polls itself (htmx) until the job is done; then the plan is a click
    away. Each photo is slowed down so the running state is really seen."""
    slow_jobs(monkeypatch, 0.25)
    page.goto(f"{live.base}/tags")
    page.click("button[formaction='/tags/preview']")
    page.wait_for_url("**/tags")
    assert page.inner_text("section.job .state") == "running"
    page.evaluate("window.__same_document = true")
    page.wait_for_selector("section.job.done", timeout=JOB_MS)
    # when it ends, the page's main part is fetched again in place: the plan is shown
    page.wait_for_selector("table.plan")
    assert page.evaluate("window.__same_document === true")  # swapped in place, no reload
    assert "would be written" in page.inner_text("section.job")
    assert "would-write" in page.inner_text("table.plan")


def test_the_scan_page_is_brought_up_to_date_when_its_scan_ends(page, live, library,
                                                                 monkeypatch) -> None:
    """The Scan button stayed disabled and 'Last scan' showed the scan before, until a reload."""
    slow_jobs(monkeypatch, 0.25)
    newcomers = [write_photo(library.photos / "new" / f"new-{i}.jpg", COLOURS["colosseum"])
                 for i in range(2)]  # work for the scan
    try:
        _scan_from_the_page(page, live)
    finally:
        for photo in newcomers:
            photo.unlink()


def _scan_from_the_page(page, live) -> None:
    page.goto(f"{live.base}/scan")
    before = page.inner_text("dl.facts")
    page.click("button:has-text('Scan these folders')")
    page.wait_for_url("**/scan")
    assert page.inner_text("section.job .state") == "running"
    assert page.locator("button:has-text('Scan these folders')").is_disabled()
    page.wait_for_selector("section.job.done", timeout=JOB_MS)
    button = page.locator("button:has-text('Scan these folders')")
    deadline = time.monotonic() + 5
    while button.is_disabled():
        assert time.monotonic() < deadline, "the Scan button stayed disabled after the scan"
        time.sleep(0.1)
    after = page.inner_text("dl.facts")
    assert after != before and "recognised by this scan\n2" in after
    assert "in these folders" in after


def test_name_an_unnamed_place_from_the_menu(chromium, unseen_live, unseen) -> None:
    """Real photos of a place the shipped model never saw: the page shows them as a group,
    a person names it, and the catalogue has learned it."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(unseen_live.url)
    page.click("nav a[href='/places']")
    page.wait_for_url("**/places")
    group = page.locator(".place-group").first
    photos = group.locator("img")
    assert photos.count() >= 3
    deadline = time.monotonic() + 30  # wait_for_function would evaluate a string: CSP says no
    while not photos.evaluate_all("imgs => imgs.every(i => i.complete && i.naturalWidth > 0)"):
        assert time.monotonic() < deadline, "the group's thumbnails never loaded"
        time.sleep(0.1)
    group.locator("input[name=name]").fill("Berliner Dom")
    group.locator("button", has_text="Learn it").click()
    page.wait_for_url("**/places?m=*")
    assert "Learned Berliner Dom" in page.inner_text(".flash")
    with Catalog.open(unseen.catalog, write=False) as cat:
        (item,) = cat.learned()
        named = [r for r in cat.iter_photos() if r.effective_landmark_id == item.id]
    assert item.landmark.name == "Berliner Dom"
    assert len(named) >= photos.count() and len(item.examples) >= photos.count()
    context.close()


def test_a_grid_shows_a_photos_raw_under_its_thumbnail(chromium, raw_pairs_scanned,
                                                       tmp_path) -> None:
    """The RAW marker of a RAW + HEIC pair is seen under its thumbnail on a landmark's page,
    inside its cell, as on the Unnamed places page."""
    with serving(raw_pairs_scanned, tmp_path) as server:
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(5000)
        page.goto(server.url)
        page.goto(f"{server.base}/landmark/eiffel-tower")
        cell = page.locator(".grid li", has=page.locator("a[title$='IMG_0001.HEIC']"))
        marker = cell.locator(".raw")
        assert marker.is_visible() and marker.inner_text() == "+ RAW IMG_0001.CR2"
        thumb, box, mark = (x.bounding_box() for x in (cell.locator("img"), cell, marker))
        assert mark["y"] >= thumb["y"] + thumb["height"] - 1  # under the thumbnail
        assert box["x"] <= mark["x"] and mark["x"] + mark["width"] <= box["x"] + box["width"] + 1
        assert page.locator(".grid .raw").count() == 2  # the JPEG alone has none
        context.close()


def test_every_page_fits_a_phone_screen(chromium, live, library) -> None:
    """At 390x844 nothing is wider than the screen (the search box used to stick out of the
    header) and the header leaves the photo most of the screen."""
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(5000)
    page.goto(live.url)
    photo = _row(library, "taj.jpg").id
    for path in ("/", "/landmark/eiffel-tower", "/search?q=colloseo", f"/photo/{photo}",
                 "/uncertain", "/places", "/map", "/tags", "/scan", "/unreadable",
                 "/nothing-here"):
        page.goto(live.base + path)
        assert page.locator("h1").count() == 1, f"{path}: one h1 a page"
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= 390, f"{path} is {wide} px wide on a 390 px screen"
        search = page.locator("header input[name=q]").bounding_box()
        assert search["x"] >= 0 and search["x"] + search["width"] <= 390, path
        assert page.locator("header.top").bounding_box()["height"] < 844 / 4, path
    # reviewing on a phone: the answer buttons on the first screen, no keyboard hints
    for path in ("/uncertain", f"/photo/{photo}"):
        page.goto(live.base + path)
        button = page.locator(".answer button").first.bounding_box()
        assert button["y"] + button["height"] <= 844, f"{path}: answer button below the fold"
    page.goto(f"{live.base}/uncertain")
    assert not page.locator("h1 .keys").is_visible()
    assert not page.locator(".answer button kbd").first.is_visible()
    # the tag preview's plan: long XMP lines wrap, a wide table scrolls in its own box
    page.goto(f"{live.base}/tags")
    page.click("button[formaction='/tags/preview']")
    page.wait_for_selector("table.plan", timeout=JOB_MS)
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 390, f"the tag preview is {wide} px wide on a 390 px screen"
    context.close()


def test_the_page_asks_for_an_icon_that_is_there(page, live) -> None:
    """Chromium asks for /favicon.ico unless a page names its icon; a 404 there was a red
    console error on every first page."""
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    page.goto(f"{live.base}/map")
    page.wait_for_load_state("networkidle")
    assert page.locator("link[rel=icon]").count() == 1
    assert failed == []


def test_a_map_dot_is_a_finger_sized_target_on_a_phone(chromium, live, library) -> None:
    """On a 390 px wide screen the world map is drawn at about a third of its size, and a
    dot of one photo was under 4 px across: a finger could not hit it. Each dot answers a
    touch anywhere within 11 px of its centre (a 22-24 px target) and a tap opens what it
    stands for."""
    import math

    context = chromium.new_context(viewport={"width": 390, "height": 844}, has_touch=True,
                                   is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(5000)
    page.goto(live.url)
    page.goto(f"{live.base}/map")
    dots = page.locator("svg.world a")
    assert dots.count() == 2  # Paris, Las Vegas
    hit_at = ("([x, y]) => document.elementFromPoint(x, y)?.closest('a')"
              "?.getAttribute('aria-label') ?? null")
    centres = {}
    for i in range(dots.count()):
        dot = dots.nth(i)
        box = dot.locator("circle.dot").bounding_box()
        assert box["width"] < 8, "the test is about dots smaller than a finger"
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        centres[dot.get_attribute("href")] = (x, y)
        for radius in (0, 2, 4, 6, 8, 10, 11):
            for k in range(8):
                dx, dy = (radius * f(k * math.pi / 4) for f in (math.cos, math.sin))
                hit = page.evaluate(hit_at, [x + dx, y + dy])
                assert hit == dot.get_attribute("aria-label"), (radius, k, hit)
    photo = _row(library, "eiffel-0.jpg").id
    (x, y), = [xy for href, xy in centres.items() if href.startswith(f"/photo/{photo}?")]
    page.touchscreen.tap(x + 10, y - 4)
    page.wait_for_url(lambda url: f"/photo/{photo}?" in url)
    context.close()


def test_photos_a_scan_could_not_read_are_listed_with_their_reasons(page, live,
                                                                     library) -> None:
    """No page listed the photos a scan could not read; the CLI did (`list --errors`). A
    desktop scan that meets one links to the list from its result and from the last scan's
    facts; the list names each file and its reason, as the CLI does, as text."""
    import json

    from tests.clirun import cli

    broken = library.photos / "odd" / "<i>broken.jpg"  # garbage with a photo's name
    broken.parent.mkdir(exist_ok=True)
    broken.write_bytes(b"not a photo at all, only its name says so")
    try:
        page.goto(f"{live.base}/scan")
        page.click("button:has-text('Scan these folders')")
        page.wait_for_selector("section.job.done", timeout=JOB_MS)
        page.click("section.job a:has-text('could not be read')")
        page.wait_for_url("**/unreadable")
        code, out, err = cli("list", "--errors", "--json", "--catalog", library.catalog)
        assert code == 0, err
        (listed,) = json.loads(out)  # what the CLI says about it
        assert listed["path"] == str(broken) and listed["error"]
        (item,) = page.locator("ul.unreadable li").all()
        assert item.locator("a.path").inner_text() == str(broken)
        assert item.locator(".reason").inner_text() == listed["error"]
        assert page.locator("main i").count() == 0  # the name is text, never markup
        page.goto(f"{live.base}/scan")
        page.click("dl.facts a:has-text('which, and why')")
        page.wait_for_url("**/unreadable")
        item = page.locator("ul.unreadable li a.path")
        item.click()  # its photo page says the same
        page.wait_for_url(lambda url: "/photo/" in url)
        assert listed["error"] in page.inner_text("main")
    finally:
        broken.unlink()


def test_a_long_word_typed_by_someone_wraps_instead_of_widening_the_page(page, live,
                                                                          library) -> None:
    """A pasted URL or a key held down: the search heading, "does not know" and a mistyped
    correction's error repeat what was typed, and one unbroken word of it made the page
    thousands of pixels wide at 1280 px."""
    word = "x" * 400
    photo = _row(library, "taj.jpg").id
    for path in (f"/search?q={word}", f"/photo/{photo}?e=photolm+does+not+know+{word}",
                 f"/uncertain?m=Saved:+{word}.jpg"):
        page.goto(live.base + path)
        assert word in page.inner_text("main")
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= 1280, f"{path[:30]} is {wide} px wide on a 1280 px screen"


def _a_tag_run_beside_the_landmarks(context, live):  # type: ignore[no-untyped-def]
    """Two tabs of one browser: a tag preview running (its progress polling the server)
    and the landmarks page, as a person leaves them when serve goes away."""
    tags, landmarks = context.new_page(), context.new_page()
    tags.goto(live.url)
    landmarks.goto(f"{live.base}/")
    tags.goto(f"{live.base}/tags")
    tags.click("button[formaction='/tags/preview']")
    tags.wait_for_selector("section.job.running")
    return tags, landmarks


def test_a_page_says_so_when_the_server_has_stopped(chromium, library, tmp_path,
                                                    monkeypatch) -> None:
    """Ctrl-C while a tag run's progress is on screen: the panel used to stay frozen at
    'running' with nothing saying why; a page without progress said nothing either until a
    click showed the browser's error page. A failed poll, or coming back to the tab, now
    shows one line saying photolm stopped."""
    slow_jobs(monkeypatch, 0.5)
    context = chromium.new_context()
    with serving(library, tmp_path) as live:
        tags, landmarks = _a_tag_run_beside_the_landmarks(context, live)
        assert tags.locator("#offline").count() == 0
    tags.wait_for_selector("#offline", timeout=10000)
    assert "not running any more" in tags.inner_text("#offline")
    landmarks.bring_to_front()
    landmarks.evaluate("window.dispatchEvent(new Event('focus'))")
    landmarks.wait_for_selector("#offline", timeout=10000)
    assert "start it again" in landmarks.inner_text("#offline")
    context.close()


def test_a_page_from_an_earlier_serve_says_to_open_the_newer_ones_address(
        chromium, library, tmp_path, monkeypatch) -> None:
    """serve stopped and started again (the same port, a new token): the old tabs' requests
    are refused (403: their cookie holds the old token), which is not "not running any
    more" but "open the address the running one printed", on a page polling a tag run's
    progress and on a page come back to."""
    slow_jobs(monkeypatch, 0.5)
    newer = ("This page belongs to an earlier run of photolm serve: open the address the "
             "running one printed.")
    context = chromium.new_context()
    with serving(library, tmp_path) as first:
        tags, landmarks = _a_tag_run_beside_the_landmarks(context, first)
        port = int(first.base.rsplit(":", 1)[1])
    with serving(library, tmp_path, port=port,
                 token="newer-token-0123456789abcdefghijklmnopq") as second:
        assert second.base == first.base
        tags.wait_for_function(
            "text => document.getElementById('offline')?.textContent === text", arg=newer,
            timeout=10000)
        landmarks.bring_to_front()
        landmarks.evaluate("window.dispatchEvent(new Event('focus'))")
        landmarks.wait_for_selector("#offline", timeout=10000)
        assert landmarks.inner_text("#offline") == newer
    context.close()


def test_an_answer_given_by_mistake_on_the_uncertain_page_is_undone_with_u(page, live,
                                                                          library) -> None:
    """y moves on to the next photo at once; a key pressed by mistake could only be taken
    back by finding the photo again. The line saying what was stored has an Undo (key u)
    that forgets the answer and shows that photo again."""
    page.goto(f"{live.base}/uncertain")
    page.keyboard.press("y")
    page.wait_for_selector("text=nothing to review")
    assert _row(library, "uncertain.png").review == "corrected"
    page.keyboard.press("u")
    page.wait_for_selector("text=Forgot your answer for uncertain.png")
    assert "1 of 1" in page.inner_text("h1")
    assert _row(library, "uncertain.png").review is None
    assert page.locator("form.undo").count() == 0  # nothing left to undo


def test_a_page_drawn_during_a_scan_says_when_it_ended(page, live) -> None:
    """The landmarks page opened while a scan runs shows its progress in a bar; when the
    scan ended the bar just vanished and the page kept its old counts with nothing saying
    they were out of date. It now says the scan is done, with a link that reloads it."""

    def work(job) -> None:
        job.total = 3
        for _ in range(3):
            time.sleep(0.4)
            job.step()

    live.desktop.jobs.start("scan", "Scan", work)
    page.goto(f"{live.base}/")
    assert "Scan:" in page.inner_text(".jobbar")
    page.wait_for_selector(".jobbar.ended", timeout=10000)
    assert "Scan done" in page.inner_text(".jobbar")
    with page.expect_navigation():
        page.click(".jobbar a")
    assert page.url == f"{live.base}/" and page.locator(".jobbar:visible").count() == 0


def test_a_map_dots_list_is_not_hidden_under_the_sticky_header(page, live) -> None:
    """A dot of many photos opens /map?at=...#near: the browser scrolled the list's heading
    to the top of the window, under the header that stays there, so the heading (how many
    photos, where) was hidden."""
    page.goto(f"{live.base}/map?at=48.9,2.3")
    # a long list below the heading, as a dot of hundreds of photos has
    page.evaluate("() => { const tall = document.createElement('div'); "
                  "tall.style.height = '3000px'; document.querySelector('main').append(tall); }")
    page.evaluate("location.hash = '#near'")
    page.wait_for_function("window.scrollY > 0")
    header = page.locator("header.top").bounding_box()
    heading = page.locator("#near").bounding_box()
    assert heading["y"] >= header["y"] + header["height"], (heading, header)


def _contrast(page, selector: str) -> float:
    """WCAG contrast ratio of an element's text against the first opaque background behind
    it, from the browser's computed colours."""
    return page.evaluate("""(selector) => {
        const rgb = (c) => c.match(/[0-9.]+/g).map(Number);
        const lum = ([r, g, b]) => [r, g, b].map((v) => {
            v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
        }).reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
        let el = document.querySelector(selector);
        const fg = lum(rgb(getComputedStyle(el).color));
        let bg = null;
        for (; el && bg === null; el = el.parentElement) {
            const c = rgb(getComputedStyle(el).backgroundColor);
            if (c.length === 3 || c[3] === 1) bg = lum(c);
        }
        if (bg === null) bg = 1;
        return (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    }""", selector)


def test_links_and_badges_are_readable(page, live, library) -> None:
    """WCAG AA (4.5:1 for text this size): the links' blue on the page's grey was 4.3:1 and
    the green "confirmed by you" badge 3.7:1."""
    photo = _row(library, "taj.jpg").id
    page.goto(f"{live.base}/photo/{photo}")
    page.click("button[value=confirm]")
    page.wait_for_selector(".verdict .badge")
    assert _contrast(page, ".verdict .badge") >= 4.5
    page.goto(f"{live.base}/landmark/taj-mahal")
    assert _contrast(page, ".order a") >= 4.5
    assert _contrast(page, ".grid .badge") >= 4.5


# Old Bridge, learned from a cyan photo with the tiny model, then shipped by a model
# retrained with it: the CLI's note line, as a page says it
MERGED_LINE = ("Old Bridge: the model now has this landmark itself: your learned Old Bridge is "
               "now 1 example photo added to the model's old bridge; 1 answer of yours names "
               "it now (`photolm unlearn old bridge` takes them back)")


def _taught_then_retrained(tmp_path, tiny_bundle_dir, monkeypatch):
    """Cyan photos taught as "Old Bridge" (one example, one confirmed), four pink ones no
    landmark claims (a place to name), and the library served with a model that ships
    "old bridge" itself."""
    from tests.clirun import cli
    from tests.desktop.conftest import Library
    from tests.test_learn_cli import CYAN, PINK
    from tests.test_learn_new_model import retrained_bundle

    photos, catalog = tmp_path / "photos", tmp_path / "catalog.sqlite"
    for i in range(3):
        write_photo(photos / f"cyan{i}.jpg", (CYAN[0] + i, CYAN[1], CYAN[2]))
    for i in range(4):
        write_photo(photos / "trip" / f"pink{i}.jpg", (PINK[0], PINK[1] + i, PINK[2]))
    model = ("--model", tiny_bundle_dir)
    for args in (("scan", photos, "--quiet", *model),
                 ("learn", "Old Bridge", photos / "cyan0.jpg", *model),
                 ("confirm", photos / "cyan1.jpg")):
        code, _, err = cli(*args, "--catalog", catalog)
        assert code == 0, err
    return Library(photos, catalog, retrained_bundle(tmp_path, monkeypatch))


def _merged_page(chromium, live):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(15000)
    pg.goto(live.url)
    return context, pg


def _learned_ids(library) -> list[str]:
    with Catalog.open(library.catalog, write=False) as cat:
        return [item.id for item in cat.learned()]


def test_a_scan_that_makes_a_learned_landmark_the_models_says_so(
        chromium, tmp_path, tiny_bundle_dir, monkeypatch) -> None:
    """`photolm scan` says in a note: line that a learned landmark the new model ships is
    now the model's; a scan from the Scan page did it silently. Its progress panel says it,
    and so does that landmark's page."""
    library = _taught_then_retrained(tmp_path, tiny_bundle_dir, monkeypatch)
    with serving(library, tmp_path) as live:
        context, pg = _merged_page(chromium, live)
        pg.goto(f"{live.base}/scan")
        pg.click("button:has-text('Scan these folders')")
        pg.wait_for_selector("section.job.done .merged")
        assert pg.locator("section.job .merged").all_inner_texts() == [MERGED_LINE]
        assert _learned_ids(library) == ["old-bridge"]  # the model's id: one landmark
        pg.goto(f"{live.base}/landmark/old-bridge")
        assert pg.locator(".merged").all_inner_texts() == [MERGED_LINE]
        pg.goto(f"{live.base}/scan")  # a second scan has nothing left to fold
        pg.click("button:has-text('Scan these folders')")
        pg.wait_for_selector("section.job.done")
        assert pg.locator("section.job .merged").count() == 0
        context.close()


def test_naming_a_place_after_a_new_model_says_the_learned_landmark_is_the_models(
        chromium, tmp_path, tiny_bundle_dir, monkeypatch) -> None:
    """Naming a place "Old Bridge" folds the learned Old Bridge into the model's first (as
    `photolm places name` does), adds the photos to that one landmark and says both."""
    library = _taught_then_retrained(tmp_path, tiny_bundle_dir, monkeypatch)
    with serving(library, tmp_path) as live:
        context, pg = _merged_page(chromium, live)
        pg.goto(f"{live.base}/places")
        group = pg.locator(".place-group").first
        group.locator("input[name=name]").fill("Old Bridge")
        group.locator("button", has_text="Learn it").click()
        pg.wait_for_url("**/places?m=*")
        assert "Added 4 example photos to old bridge" in pg.inner_text(".flash")
        assert pg.locator(".merged").all_inner_texts() == [MERGED_LINE]
        assert _learned_ids(library) == ["old-bridge"]
        pg.goto(f"{live.base}/landmark/old-bridge")
        assert pg.locator(".merged").all_inner_texts() == [MERGED_LINE]
        context.close()
