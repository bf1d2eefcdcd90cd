# SPDX-License-Identifier: GPL-3.0-or-later
"""The desktop's pages and actions through Starlette's test client."""

from __future__ import annotations

import re

from photolm.catalog import Catalog
from tests.clirun import cli
from tests.desktop.conftest import BASE, EVIL_MODEL, EVIL_NAME, TOKEN


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', html).group(1)


def _photo_id(library, name: str) -> int:
    with Catalog.open(library.catalog, write=False) as cat:
        return next(r.id for r in cat.iter_photos() if r.path.endswith(name))


def test_landmarks_grid_has_covers_and_counts(client) -> None:
    html = client.get("/").text
    assert re.search(r"Eiffel Tower</strong><span class=\"count\">4<", html)
    assert re.search(r"Colosseum</strong><span class=\"count\">2<", html)
    assert html.count('<img src="/thumb/') == 3  # three landmarks with photos, one cover each


def test_landmark_page_orders_by_score_or_newest(client, library) -> None:
    newest = client.get("/landmark/eiffel-tower?order=newest").text
    ids = [int(i) for i in re.findall(r'<a href="/photo/(\d+)\?', newest)]
    dated = [_photo_id(library, f"eiffel-{i}.jpg") for i in (1, 0, 2)]  # 2023, 2021, 2019
    assert ids[:3] == dated and len(ids) == 4
    assert "2023-08-15" in newest


def test_search_uses_the_cli_name_search(client) -> None:
    for query in ("tour eiffel", "eifel tower", "Paris"):
        html = client.get("/search", params={"q": query}).text
        assert "Eiffel Tower" in html and "/landmark/eiffel-tower" in html, query
    html = client.get("/search", params={"q": "colloseo"}).text
    assert "Colosseum" in html
    miss = client.get("/search", params={"q": "xyzzy"}).text
    assert "The model does not know &#39;xyzzy&#39;" in miss  # the CLI's sentence
    typo = client.get("/search", params={"q": "colosium arena"}).text
    assert "Did you mean Colosseum?" in typo and 'href="/search?q=Colosseum"' in typo


def test_photo_page_explains_the_verdict(client, library) -> None:
    html = client.get(f"/photo/{_photo_id(library, 'eiffel-0.jpg')}").text
    assert "Top candidates" in html and "threshold" in html
    assert "The model recognised Eiffel Tower with 1.00, at or above the threshold 0.90" in html
    assert "GPS: " in html and "GPS agrees" in html  # eiffel-0 carries a position in Paris
    assert "2021-05-01" in html
    grey = client.get(f"/photo/{_photo_id(library, 'grey.jpg')}").text
    assert "No landmark: the best candidate" in grey and "below the threshold 0.90" in grey
    vegas = client.get(f"/photo/{_photo_id(library, 'replica.jpg')}").text
    assert '<h1 class="title">No landmark' in vegas
    assert "The scores alone chose Eiffel Tower (1.00), but GPS ruled it out." in vegas
    assert "from where the photo was taken: rejected" in vegas


def test_photo_page_names_the_raw_of_the_same_shot(client, library) -> None:
    photo_id = _photo_id(library, "eiffel-0.jpg")
    with Catalog.open(library.catalog, write=True) as cat:
        path = cat.photo_by_id(photo_id).path
        cat.sync_companions({path: [path[: -len(".jpg")] + ".CR2"]})
    html = client.get(f"/photo/{photo_id}").text
    assert "eiffel-0.CR2</span>" in html
    assert "the same shot, tagged in its own sidecar; recognised from the JPEG" in html
    assert "the same shot" not in client.get(f"/photo/{_photo_id(library, 'grey.jpg')}").text


def test_correct_through_the_page_changes_the_catalogue(client, library) -> None:
    photo = _photo_id(library, "grey.jpg")
    csrf = _csrf(client.get(f"/photo/{photo}").text)
    res = client.post(f"/photo/{photo}/review",
                      data={"csrf": csrf, "action": "correct", "landmark": "colloseum"})
    assert res.status_code == 303 and res.headers["location"].startswith(f"/photo/{photo}?m=")
    with Catalog.open(library.catalog, write=False) as cat:
        row = next(r for r in cat.iter_photos() if r.id == photo)
    assert (row.review, row.review_landmark_id) == ("corrected", "colosseum")
    assert "corrected by you" in client.get(f"/photo/{photo}").text


def test_confirm_and_no_landmark_use_the_shared_rule(client, library) -> None:
    photo = _photo_id(library, "colosseum-0.jpg")
    csrf = _csrf(client.get(f"/photo/{photo}").text)
    client.post(f"/photo/{photo}/review", data={"csrf": csrf, "action": "confirm"})
    with Catalog.open(library.catalog, write=False) as cat:
        assert cat.photos(["colosseum"])[0].review == "confirmed"
    client.post(f"/photo/{photo}/review", data={"csrf": csrf, "action": "none"})
    with Catalog.open(library.catalog, write=False) as cat:
        assert len(cat.photos(["colosseum"])) == 1


def test_confirm_without_a_landmark_is_one_clear_error(client, library) -> None:
    photo = _photo_id(library, "grey.jpg")
    csrf = _csrf(client.get(f"/photo/{photo}").text)
    res = client.post(f"/photo/{photo}/review", data={"csrf": csrf, "action": "confirm"},
                      follow_redirects=True)
    assert "No landmark recognised to confirm" in res.text
    # a mistyped name is said on the page it was typed on, not on a page of its own at the
    # POST's address (whose reload would post it again)
    bad = client.post(f"/photo/{photo}/review", data={
        "csrf": csrf, "action": "correct", "landmark": "Paris", "next": "/uncertain?i=0"})
    assert bad.status_code == 303 and bad.headers["location"].startswith("/uncertain?i=0&e=")
    page = client.get(bad.headers["location"]).text
    assert re.search(r'class="error" role="alert">[^<]*is a place, not a landmark', page)
    with Catalog.open(library.catalog, write=False) as cat:
        assert next(r for r in cat.iter_photos() if r.id == photo).review is None


def test_a_page_left_open_in_another_tab_does_not_overwrite_a_newer_answer(client,
                                                                           library) -> None:
    photo = _photo_id(library, "uncertain.png")
    first = client.get("/uncertain").text
    second = client.get("/uncertain").text  # the same photo, in another tab
    seen = re.search(r'name="seen" value="([^"]*)"', second).group(1)
    client.post(f"/photo/{photo}/review", data={
        "csrf": _csrf(first), "action": "top", "next": "/uncertain?i=0",
        "seen": re.search(r'name="seen" value="([^"]*)"', first).group(1)})
    # the same answer from the stale page (y pressed twice) is no conflict: it stays stored
    twice = client.post(f"/photo/{photo}/review", data={
        "csrf": _csrf(second), "action": "top", "next": "/uncertain?i=0", "seen": seen})
    assert twice.headers["location"].startswith("/uncertain?i=0&m=Saved")
    stale = client.post(f"/photo/{photo}/review", data={
        "csrf": _csrf(second), "action": "none", "next": "/uncertain?i=0", "seen": seen})
    assert stale.headers["location"].startswith(f"/photo/{photo}?next=%2Funcertain")
    assert "answered meanwhile" in client.get(stale.headers["location"]).text
    with Catalog.open(library.catalog, write=False) as cat:
        row = next(r for r in cat.iter_photos() if r.id == photo)
    assert (row.review, row.review_landmark_id) == ("corrected", "cologne-cathedral")


def test_uncertain_review_lists_photos_near_the_threshold(client, library) -> None:
    html = client.get("/uncertain").text
    assert "1 of 1" in html and 'data-key="y"' in html and 'data-key="n"' in html
    photo = _photo_id(library, "uncertain.png")
    assert f"/photo/{photo}/image" in html
    res = client.post(f"/photo/{photo}/review",
                      data={"csrf": _csrf(html), "action": "top", "next": "/uncertain?i=0"})
    assert res.headers["location"].startswith("/uncertain?i=0&m=")
    with Catalog.open(library.catalog, write=False) as cat:
        row = next(r for r in cat.iter_photos() if r.id == photo)
    assert row.review == "corrected" and row.review_landmark_id == "cologne-cathedral"
    assert "nothing to review" in client.get("/uncertain").text
    # the answered photo is gone from the page: a line says what was stored
    after = client.get(res.headers["location"]).text
    assert "nothing to review" in after
    assert "Saved: uncertain.png shows Cologne Cathedral." in after


def test_every_answer_says_what_it_stored(client, library) -> None:
    photo = _photo_id(library, "colosseum-0.jpg")
    csrf = _csrf(client.get(f"/photo/{photo}").text)
    said = {}
    for action in ("confirm", "none", "clear"):
        res = client.post(f"/photo/{photo}/review", data={"csrf": csrf, "action": action})
        said[action] = client.get(res.headers["location"]).text
    assert "Saved: colosseum-0.jpg shows Colosseum." in said["confirm"]
    assert "Saved: colosseum-0.jpg shows no landmark." in said["none"]
    assert "Forgot your answer for colosseum-0.jpg" in said["clear"]


def test_an_unknown_address_is_a_page_with_the_way_back(client) -> None:
    for path in ("/nothing-here", "/photo/abc", "/landmark/colosseum/extra"):
        res = client.get(path)
        assert res.status_code == 404, path
        assert "Nothing at this address" in res.text and '<a href="/"' in res.text, path


def test_thumbnails_and_large_images_are_upright_jpegs(client, library) -> None:
    from io import BytesIO

    from PIL import Image

    photo = _photo_id(library, "colosseum-1.jpg")  # 48 x 64, portrait
    res = client.get(f"/thumb/{photo}")
    assert res.headers["content-type"] == "image/jpeg"
    assert Image.open(BytesIO(res.content)).size == (48, 64)
    assert client.get(f"/photo/{photo}/image").status_code == 200


def test_hostile_file_names_and_exif_are_escaped(client, library) -> None:
    evil = _photo_id(library, EVIL_NAME)
    html = client.get(f"/photo/{evil}").text
    assert EVIL_NAME not in html and "&lt;img src=x onerror=alert(1)&gt;.jpg" in html
    taj = client.get(f"/photo/{_photo_id(library, 'taj.jpg')}").text
    assert EVIL_MODEL not in taj and "&lt;script&gt;" in taj


def test_map_draws_the_world_offline_with_a_dot_per_place(client, library) -> None:
    html = client.get("/map").text
    assert '<path d="M' in html and html.count('class="dot"') == 2  # Paris, Las Vegas
    assert f'href="/photo/{_photo_id(library, "eiffel-0.jpg")}?next=/map"' in html


def test_renders_are_upright_by_exif_orientation(tmp_path) -> None:
    """What /thumb/ID and /photo/ID/image serve: stored 96x64 with orientation 6 (rotate 90°
    clockwise to view) comes out 64x96 with the red marker at the top right."""
    from PIL import Image

    from photolm.desktop.thumbs import render
    from tests.imagefactory import oriented_jpeg

    photo = oriented_jpeg(tmp_path / "rotated.jpg", 6)
    out = render(photo, tmp_path / "cache" / "r.jpg", 320)
    img = Image.open(out).convert("RGB")
    assert img.size == (64, 96)
    r, g, b = img.getpixel((56, 8))  # top right
    assert r > 180 and g < 90 and b < 90


def test_a_photo_moved_away_since_the_scan_says_so(client, library) -> None:
    """Its image is the 'cannot be read' placeholder: the page says why."""
    photo = _photo_id(library, "colosseum-1.jpg")
    path = library.photos / "rome" / "colosseum-1.jpg"
    assert "not there now" not in client.get(f"/photo/{photo}").text
    away = path.rename(path.with_name("colosseum-1.jpg.away"))
    try:
        html = client.get(f"/photo/{photo}").text
    finally:
        away.rename(path)
    assert "not there now: moved or deleted since the last scan" in html


def test_file_names_are_shown_as_the_cli_prints_them(tmp_path) -> None:
    """A right-to-left override in a file name ("holiday<U+202E>gpj.exe.jpg") would make a
    page show another name; a newline one name as two lines. Every page names a photo as
    `photolm list` prints it: those characters as escapes, a backslash doubled."""
    from starlette.testclient import TestClient

    from photolm.bundle import read_bundle
    from photolm.desktop.app import create_app
    from tests.desktop.conftest import Library, make_settings
    from tests.tinybundle import COLOURS, make_tiny_bundle, write_photo

    photos = tmp_path / "photos"
    spoof, newline = "holiday\u202egpj.exe.jpg", "two\nlines.jpg"
    for name in (spoof, newline):
        write_photo(photos / name, COLOURS["eiffel-tower"])
    bundle = make_tiny_bundle(tmp_path / "bundle")
    catalog = tmp_path / "catalog.sqlite"
    code, _, err = cli("scan", photos, "--catalog", catalog, "--model", bundle.path, "--quiet")
    assert code == 0, err
    code, listed, err = cli("list", "--catalog", catalog)
    assert code == 0, err
    lib = Library(photos, catalog, bundle.path)
    assert read_bundle(bundle.path).landmarks
    with TestClient(create_app(make_settings(lib, tmp_path)), base_url=BASE,
                    follow_redirects=False) as client:
        assert client.get(f"/?token={TOKEN}").status_code == 303
        pages = [client.get("/landmark/eiffel-tower").text]
        pages += [client.get(f"/photo/{i}").text for i in (1, 2)]
    for html in pages:
        assert "\u202e" not in html and "two\nlines" not in html
    details = "".join(pages[1:])
    assert "holiday\\xe2\\x80\\xaegpj.exe.jpg" in details and "two\\nlines.jpg" in details
    assert "holiday\\xe2\\x80\\xaegpj.exe.jpg" in listed  # the very form the CLI prints


def test_why_names_both_when_gps_chose_a_near_landmark_over_a_far_one() -> None:
    """photolm.geo lets a candidate within 10 km outrank a farther one scoring a little
    higher; the photo page says the scores alone put the other first."""
    from types import SimpleNamespace

    from photolm.desktop.explain import why

    row = SimpleNamespace(
        review=None, error=None, landmark_id="learned:hoi-an", landmark_name="Hoi An",
        score=0.71, gps_changed=True, visual_landmark_name="Imperial City of Hue",
        visual_score=0.74, latitude=15.877, review_landmark_name=None,
        topk=[{"name": "Imperial City of Hue", "score": 0.74}, {"name": "Hoi An", "score": 0.71}],
        gps_reason="Imperial City of Hue scores a little higher but is 104 km from where the "
                   "photo was taken; 922 m from Hoi An: GPS agrees")
    lines = why(row, 0.66)  # type: ignore[arg-type]
    assert lines[0] == ("The scores alone put Imperial City of Hue first (0.74); GPS chose "
                        "Hoi An (0.71, at or above the threshold 0.66), the one the photo was "
                        "taken near.")
    assert lines[1].startswith("GPS: Imperial City of Hue scores a little higher")


def test_the_photo_page_shows_the_digits_a_close_miss_needs(client, library) -> None:
    """A photo that missed the 0.90 threshold by 0.0004 does not read "scored 0.90, below
    the threshold 0.90": the sentence prints the decimals that tell them apart, as list's."""
    import json
    import sqlite3

    photo = _photo_id(library, "grey.jpg")
    with sqlite3.connect(library.catalog) as db:
        (topk,) = db.execute("SELECT topk FROM photos WHERE id = ?", (photo,)).fetchone()
        top = json.loads(topk)
        top[0]["score"] = 0.8996
        db.execute("UPDATE photos SET topk = ? WHERE id = ?", (json.dumps(top), photo))
    html = client.get(f"/photo/{photo}").text
    assert f"the best candidate, {top[0]['name']}, scored 0.8996, below the threshold 0.9000." \
        in html, html
    # and the candidates' table beside it
    assert '<td class="num">0.8996</td>' in html and '<td class="num">0.9000</td>' in html


def test_a_photo_replaced_since_the_scan_says_so(client, library) -> None:
    """Another picture saved under the photo's name: the page shows the new picture beside
    the verdict about the old one, so it says so (on the uncertain page too). A file only
    touched (same content, new time) has not changed."""
    import os
    import shutil

    from tests.tinybundle import write_photo

    photo = _photo_id(library, "colosseum-1.jpg")
    path = library.photos / "rome" / "colosseum-1.jpg"
    assert "changed since the last scan" not in client.get(f"/photo/{photo}").text
    keep = path.with_name("colosseum-1.jpg.keep")
    shutil.copy2(path, keep)
    try:
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
        assert "changed since the last scan" not in client.get(f"/photo/{photo}").text
        write_photo(path, (128, 128, 128), size=(40, 40))  # another picture, same name
        html = client.get(f"/photo/{photo}").text
    finally:
        os.replace(keep, path)
    assert "This file changed since the last scan" in html
    assert "changed since the last scan</dd>" in html

    # the Uncertain page, whose one photo is misc/uncertain.png, says the same
    path = library.photos / "misc" / "uncertain.png"
    assert "changed since the last scan" not in client.get("/uncertain").text
    keep = path.with_name("uncertain.png.keep")
    shutil.copy2(path, keep)
    try:
        write_photo(path, (128, 128, 128), size=(40, 40))
        html = client.get("/uncertain").text
    finally:
        os.replace(keep, path)
    assert "uncertain.png" in html
    assert "This file changed since the last scan" in html
    assert "changed since the last scan</dd>" in html


def test_the_uncertain_page_says_how_many_an_older_photolm_left_unweighed(
        client, library) -> None:
    """A photolm of 2026-12-01 kept no threshold per model: its photos cannot be weighed,
    and the page must say so, not a silent "nothing to review"."""
    import sqlite3

    assert "left out" not in client.get("/uncertain").text
    with sqlite3.connect(library.catalog) as db:  # as that photolm left it
        db.execute("DELETE FROM meta WHERE key LIKE 'threshold:%'")
        (unanswered,) = db.execute(
            "SELECT count(*) FROM photos WHERE review IS NULL AND error IS NULL AND "
            "json_extract(topk, '$[0].score') IS NOT NULL").fetchone()
    html = client.get("/uncertain").text
    assert "nothing to review" in html and unanswered > 1
    assert f"{unanswered} photos left out: an earlier photolm recognised them" in html


def test_the_uncertain_page_says_when_its_photo_is_not_there(client, library) -> None:
    row_path = library.photos / "misc" / "uncertain.png"
    away = row_path.rename(row_path.with_name("uncertain.png.away"))
    try:
        html = client.get("/uncertain").text
    finally:
        away.rename(row_path)
    assert "not there now: moved or deleted since the last scan" in html


def test_a_landmark_none_of_whose_photos_show_it_any_more_says_so(client, library) -> None:
    """Its only photo answered 'no landmark': the page was a heading over nothing."""
    taj = _photo_id(library, "taj.jpg")
    page = client.get(f"/photo/{taj}").text
    client.post(f"/photo/{taj}/review", data={"csrf": _csrf(page), "action": "none"})
    html = client.get("/landmark/taj-mahal").text
    assert "No photo shows Taj Mahal now" in html
    assert "No photo shows" not in client.get("/landmark/colosseum").text


def test_the_scan_page_says_when_the_last_scan_was_stopped(client, library) -> None:
    """A scan stopped half way (its Stop button, or Ctrl-C) was listed as 'Finished' like
    one that looked at every photo."""
    import sqlite3

    assert "Finished" in client.get("/scan").text
    with sqlite3.connect(library.catalog) as db:
        db.execute("UPDATE scans SET counts = json_set(counts, '$.interrupted', json('true')) "
                   "WHERE id = (SELECT max(id) FROM scans)")
    db.close()
    html = client.get("/scan").text
    assert "<dt>Stopped</dt>" in html and "before it had looked at every photo" in html
    assert "<dt>Finished</dt>" not in html


def test_tag_files_and_scanned_folders_are_shown_as_the_cli_prints_them(tmp_path) -> None:
    """The photo page's 'Tags written' (the sidecar's path) and the Scan page's folders
    showed a right-to-left override raw, so "trip<U+202E>gpj.exe" displayed as another
    name there while every other page escaped it."""
    from starlette.testclient import TestClient

    from photolm.desktop.app import create_app
    from tests.desktop.conftest import Library, make_settings
    from tests.tinybundle import COLOURS, make_tiny_bundle, write_photo

    folder = tmp_path / "trip\u202egpj.exe"
    write_photo(folder / "tower.jpg", COLOURS["eiffel-tower"])
    bundle = make_tiny_bundle(tmp_path / "bundle")
    catalog = tmp_path / "catalog.sqlite"
    for args in (("scan", folder, "--model", bundle.path), ("tag", folder)):
        code, _, err = cli(*args, "--catalog", catalog, "--quiet")
        assert code == 0, err
    assert (folder / "tower.jpg.xmp").exists()
    lib = Library(folder, catalog, bundle.path)
    with TestClient(create_app(make_settings(lib, tmp_path)), base_url=BASE,
                    follow_redirects=False) as client:
        client.get(f"/?token={TOKEN}")
        pages = {"photo": client.get(f"/photo/{_photo_id(lib, 'tower.jpg')}").text,
                 "scan": client.get("/scan").text}
    for name, html in pages.items():
        assert "\u202e" not in html, name
        assert "trip\\xe2\\x80\\xaegpj.exe" in html, name
    assert "trip\\xe2\\x80\\xaegpj.exe/tower.jpg.xmp" in pages["photo"]
