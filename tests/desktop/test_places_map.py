# SPDX-License-Identifier: GPL-3.0-or-later
"""The unnamed-places page on real photos of an unseen place, and the offline map's outline."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from photolm.catalog import Catalog
from photolm.desktop.places import STRIP
from photolm.desktop.security import csrf_token
from tests.clirun import cli
from tests.desktop.conftest import BASE, TOKEN, make_settings


def places_json(lib) -> list[dict]:
    """What ``photolm places --json`` says about the library: the page must show the same."""
    code, out, err = cli("places", "--json", "--catalog", lib.catalog, "--model", lib.bundle)
    assert code == 0, err
    return json.loads(out)


def listed(lib) -> dict[str, str | None]:
    code, out, err = cli("list", "--json", "--catalog", lib.catalog)
    assert code == 0, err
    return {Path(r["path"]).name: r["landmark"] for r in json.loads(out)}


def learned_names(lib) -> list[str]:
    with Catalog.open(lib.catalog, write=False) as cat:
        return [item.landmark.name for item in cat.learned()]


def test_places_page_shows_what_photolm_places_finds_and_names_it(unseen_client,
                                                                   unseen) -> None:
    client = unseen_client
    groups = places_json(unseen)
    assert groups, "the unseen place's photos should form a group"
    assert 'href="/places"' in client.get("/").text  # in the menu
    html = client.get("/places").text
    assert re.findall(r'action="/places/([^/"]+)/name"', html) == [g["id"] for g in groups]
    assert len(re.findall(r'<img src="/thumb/\d+"', html)) == sum(
        min(g["size"], STRIP) for g in groups)
    # each thumbnail is the only content of its link: its alt text names the photo
    assert not re.search(r'<img src="/thumb/\d+" alt=""', html)
    assert re.search(r'<img src="/thumb/\d+" alt="[^"]+\.jpg"', html)
    group = groups[0]
    url = f"/places/{group['id']}/name"
    # a state change: POST with the CSRF token, nothing else
    assert client.post(url, data={"name": "Berliner Dom"}).status_code == 403
    assert client.get(url).status_code == 405
    blank = client.post(url, data={"name": " ", "csrf": csrf_token(TOKEN)})
    assert blank.status_code == 303 and blank.headers["location"].startswith("/places?e=")
    assert "Give the place a name." in client.get(blank.headers["location"]).text
    assert learned_names(unseen) == []
    res = client.post(url, data={"name": "Berliner Dom", "csrf": csrf_token(TOKEN)})
    assert res.status_code == 303
    assert "Learned Berliner Dom" in client.get(res.headers["location"]).text
    assert learned_names(unseen) == ["Berliner Dom"]
    shown = listed(unseen)
    assert {shown[Path(p).name] for p in group["photos"]} == {"Berliner Dom"}
    assert group["id"] not in client.get("/places").text  # named: no longer a candidate
    # the same group named again from a tab left open: said on the places page, as it is now
    again = client.post(url, data={"name": "Dom", "csrf": csrf_token(TOKEN)})
    assert again.status_code == 303
    assert re.search(r'class="error" role="alert">No place ',
                     client.get(again.headers["location"]).text)
    assert learned_names(unseen) == ["Berliner Dom"]


def test_the_name_form_stores_a_name_as_photolm_places_name_does(unseen_client,
                                                                   unseen) -> None:
    """The form's name gets the CLI's cleanup: runs of spaces, tabs and line breaks (a name
    pasted from two lines) become one space, another control character is refused."""
    client = unseen_client
    url = f"/places/{places_json(unseen)[0]['id']}/name"
    bell = client.post(url, data={"name": "Berliner\x07Dom", "csrf": csrf_token(TOKEN)})
    assert bell.status_code == 303
    assert "holds a control character" in client.get(bell.headers["location"]).text
    assert learned_names(unseen) == []
    res = client.post(url, data={"name": " Berliner\t Dom\r\n", "csrf": csrf_token(TOKEN)})
    assert res.status_code == 303
    assert "Learned Berliner Dom:" in client.get(res.headers["location"]).text
    assert learned_names(unseen) == ["Berliner Dom"]


def test_the_places_page_keeps_its_groups_until_the_catalogue_changes(
        unseen_client, unseen, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server keeps the last groups in memory, keyed as the cache file is: a reload
    groups nothing again (not even with the file gone), naming a group does."""
    import os

    from photolm import learning

    calls: list[int] = []
    real = learning._group_unclaimed
    monkeypatch.setattr(learning, "_group_unclaimed",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    client = unseen_client
    html = client.get("/places").text
    ids = re.findall(r'action="/places/([^/"]+)/name"', html)
    assert ids and len(calls) == 1
    for cached in (Path(os.environ["XDG_CACHE_HOME"]) / "photolm" / "places").iterdir():
        cached.unlink()
    assert client.get("/places").text == html
    assert len(calls) == 1
    res = client.post(f"/places/{ids[0]}/name",
                      data={"name": "Berliner Dom", "csrf": csrf_token(TOKEN)})
    assert res.status_code == 303 and len(calls) == 1  # found among the same groups
    assert ids[0] not in client.get("/places").text
    assert len(calls) == 2


def test_an_empty_places_page_says_why(client, library) -> None:
    assert places_json(library) == []  # the tiny library: every colour is a landmark or alone
    html = client.get("/places").text
    assert 'aria-current="page">Unnamed places' in html and "No groups" in html
    assert "read with another model" not in html


def test_places_after_an_upgrade_changed_the_network_says_to_scan(client, library) -> None:
    """After an upgrade that ships another network, serve opens with it, but the photos hold
    only the earlier network's vectors: "no groups" would be wrong, a scan is the way on."""
    import sqlite3

    with sqlite3.connect(library.catalog) as db:  # as the earlier photolm's scan left them
        db.execute("UPDATE embeddings SET model_id = ?", ("1" * 64,))
    html = client.get("/places").text
    assert "No groups" not in html and "read with another model" in html
    assert 'href="/scan"' in html


def test_the_outline_never_draws_across_the_antimeridian() -> None:
    from photolm.desktop.worldmap import WIDTH, outline_path

    path = outline_path()
    for sub in re.findall(r"M[^MZ]*", path):
        xs = [float(x) for x in re.findall(r"[ML](-?[\d.]+) ", sub)]
        assert all(abs(a - b) < WIDTH / 2 for a, b in itertools.pairwise(xs))
    assert path.count("M") > 100  # continents and islands, not an empty canvas


def test_naming_a_place_locks_the_catalogue_only_to_store_it(unseen_client, unseen,
                                                             monkeypatch) -> None:
    """The re-match after naming a place is computed without the write lock, so a scan can
    write meanwhile; what it stored is not overwritten by a verdict made before it (the
    naming is computed again under the lock)."""
    from photolm import rematch
    from photolm.catalog import PhotoRecord

    group = places_json(unseen)[0]
    twin = str(unseen.photos / "twin-of-a-group-photo.jpg")
    real = rematch._redecide
    wrote: list[str] = []

    def scan_meanwhile(cat, bundle, *args, **kwargs):
        decided = real(cat, bundle, *args, **kwargs)
        if not wrote:  # another writer gets the lock while the naming is being computed
            with Catalog.open(unseen.catalog, write=True, create=False) as other:
                first = group["photos"][0]
                emb, desc = other.photo_vectors([first], bundle.model_id)[first]
                shipped = bundle.landmarks[0]  # claimed by a landmark: not in the group
                other.write_results(
                    [PhotoRecord(twin, 1, 1, bundle_id=bundle.bundle_id,
                                 model_id=bundle.model_id, embedding=emb,
                                 landmark_id=shipped.id, landmark_name=shipped.name,
                                 score=0.5)],
                    [] if desc is None else [(twin, bundle.model_id, desc)])
            wrote.append(twin)
        return decided

    monkeypatch.setattr(rematch, "_redecide", scan_meanwhile)
    res = unseen_client.post(f"/places/{group['id']}/name",
                             data={"name": "Berliner Dom", "csrf": csrf_token(TOKEN)})
    assert res.status_code == 303 and wrote, res.text
    shown = listed(unseen)
    assert {shown[Path(p).name] for p in [*group["photos"], twin]} == {"Berliner Dom"}


def test_places_page_leaves_out_groups_that_look_like_no_place(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from photolm.desktop.app import create_app
    from tests.desktop.conftest import Library
    from tests.tinybundle import make_tiny_bundle, write_photo

    bundle, catalog, photos = tmp_path / "bundle", tmp_path / "catalog.sqlite", tmp_path / "lib"
    make_tiny_bundle(bundle, descriptor_threshold=0.5)
    for i in range(3):  # as in tests/test_learn_cli.py: portraits, and a place
        write_photo(photos / f"faces/face{i}.jpg", (148 + i, 130, 172))
        write_photo(photos / f"square/square{i}.jpg", (164 + i, 197, 218))
    code, _, err = cli("scan", photos, "--quiet", "--catalog", catalog, "--model", bundle)
    assert code == 0, err
    lib = Library(photos, catalog, bundle)
    with TestClient(create_app(make_settings(lib, tmp_path)), base_url=BASE,
                    follow_redirects=False) as client:
        client.get(f"/?token={TOKEN}")
        html = client.get("/places").text
        assert len(re.findall(r'action="/places/[^/"]+/name"', html)) == 1
        assert "1 group not shown, looking like no place" in html and 'href="/places?all=1"' in html
        everything = client.get("/places?all=1").text
        assert len(re.findall(r'action="/places/[^/"]+/name"', everything)) == 2
        assert "like no place" not in everything
        # the portraits' group is marked, and the way back to the places alone is there
        assert everything.count("not a place, by their looks") == 1
        assert '<a href="/places">Only the places</a>' in everything
        assert "not a place, by their looks" not in html and "Only the places" not in html
    # a bundle measured with a lower bar (its own metrics.places) lists both groups
    from photolm import places
    from photolm.bundle import PlaceValues, read_bundle, rewrite_bundle

    measured = read_bundle(bundle)
    rewrite_bundle(measured, bundle, metrics={**measured.metrics, "places": PlaceValues(
        cuts={"descriptor": asdict(places.CUTS["descriptor"])}, likeness=0.1).to_json()})
    with TestClient(create_app(make_settings(lib, tmp_path)), base_url=BASE,
                    follow_redirects=False) as client:
        client.get(f"/?token={TOKEN}")
        html = client.get("/places").text
        assert len(re.findall(r'action="/places/[^/"]+/name"', html)) == 2
        assert "like no place" not in html


def test_places_page_shows_a_photos_raw_as_the_photo_page_does(tmp_path: Path,
                                                               tiny_bundle_dir: Path) -> None:
    """A RAW + JPEG pair is one photo: its thumbnail in a group says it has a camera RAW,
    named as ``photolm places`` names it (``+ RAW IMG_0000.CR2``); a photo without one says
    nothing of the kind."""
    from starlette.testclient import TestClient

    from photolm.desktop.app import create_app
    from tests.desktop.conftest import Library
    from tests.tinybundle import write_photo

    catalog, photos = tmp_path / "catalog.sqlite", tmp_path / "lib"
    for i in range(3):  # a place the tiny bundle has never seen: unclaimed, alike
        write_photo(photos / f"IMG_000{i}.JPG", (20 + i, 200, 210))
    (photos / "IMG_0000.CR2").write_bytes(b"a RAW: paired by its name, never read")
    code, _, err = cli("scan", photos, "--quiet", "--catalog", catalog, "--model",
                       tiny_bundle_dir)
    assert code == 0, err
    lib = Library(photos, catalog, tiny_bundle_dir)
    (group,) = places_json(lib)
    assert group["companions"] == {str(photos / "IMG_0000.JPG"): [str(photos / "IMG_0000.CR2")]}
    with TestClient(create_app(make_settings(lib, tmp_path)), base_url=BASE,
                    follow_redirects=False) as client:
        client.get(f"/?token={TOKEN}")
        html = client.get("/places").text
    with Catalog.open(catalog, write=False) as cat:
        jpeg = cat.get_photo(photos / "IMG_0000.JPG")
    assert jpeg is not None
    items = re.findall(r"<li>.*?</li>", html, flags=re.S)
    assert len(items) == 3
    (paired,) = [li for li in items if f'href="/photo/{jpeg.id}"' in li]
    assert "+ RAW IMG_0000.CR2" in paired
    assert sum("RAW" in li for li in items) == 1  # the other two have none


@contextmanager
def _scanned_client(photos: Path, bundle: Path, tmp_path: Path) -> Iterator[tuple[Any, Path]]:
    """A logged-in test client on a library of the test's own, scanned with ``bundle``;
    and its catalogue."""
    from starlette.testclient import TestClient

    from photolm.desktop.app import create_app
    from tests.desktop.conftest import Library

    catalog = tmp_path / "catalog.sqlite"
    code, _, err = cli("scan", photos, "--quiet", "--catalog", catalog, "--model", bundle)
    assert code == 0, err
    app = create_app(make_settings(Library(photos, catalog, bundle), tmp_path))
    with TestClient(app, base_url=BASE, follow_redirects=False) as client:
        client.get(f"/?token={TOKEN}")
        yield client, catalog


def test_a_places_page_with_only_hidden_groups_does_not_say_no_groups(tmp_path: Path) -> None:
    """Under '1 group that looks like no place not shown' the page said 'No groups: every
    photo is claimed by a landmark'."""
    from tests.tinybundle import make_tiny_bundle, write_photo

    bundle, photos = tmp_path / "bundle", tmp_path / "lib"
    make_tiny_bundle(bundle, descriptor_threshold=0.5)
    for i in range(3):  # portraits only: one group, and it looks like no place
        write_photo(photos / f"faces/face{i}.jpg", (148 + i, 130, 172))
    with _scanned_client(photos, bundle, tmp_path) as (client, _):
        html = client.get("/places").text
    assert "1 group not shown, looking like no place" in html
    assert "No groups" not in html and "No group here looks like a place" in html


def test_a_dot_for_several_photos_lists_them_all(tmp_path: Path, tiny_bundle_dir) -> None:
    """Three photos taken at the Colosseum were one dot that opened the first of them only:
    the other two could not be reached from the map."""
    from tests.imagefactory import exif_block
    from tests.tinybundle import COLOURS, write_photo

    photos = tmp_path / "lib"
    rome = ("N", (41.0, 53.0, 24.0), "E", (12.0, 29.0, 32.0))
    for i in range(3):
        write_photo(photos / f"rome/colosseum-{i}.jpg", COLOURS["colosseum"],
                    exif=exif_block(taken=f"2022:05:0{i + 1} 10:00:00", gps=rome))
    write_photo(photos / "paris/eiffel.jpg", COLOURS["eiffel-tower"], exif=exif_block(
        gps=("N", (48.0, 51.0, 30.0), "E", (2.0, 17.0, 40.0))))
    with _scanned_client(photos, tiny_bundle_dir, tmp_path) as (client, catalog):
        html = client.get("/map").text
        links = re.findall(r'<a href="([^"]+)" aria-label="([^"]+)"><path', html)
        assert sorted(label for _, label in links) == ["1 photo near 48.9, 2.3",
                                                       "3 photos near 41.9, 12.5"]
        group = next(href for href, label in links if label.startswith("3"))
        assert group.startswith("/map?at=")
        near = client.get(group.replace("&amp;", "&")).text
        assert "3 photos near 41.9, 12.5" in near
        with Catalog.open(catalog, write=False) as cat:
            ids = {r.id for r in cat.iter_photos() if "colosseum" in r.path}
        assert {int(i) for i in re.findall(r'<a href="/photo/(\d+)\?next=',
                                                  near.split('id="near"')[1])} == ids
        # the same dot, its address written otherwise; and a place with no dot
        assert "3 photos near 41.9, 12.5" in client.get("/map?at=41.90,12.50").text
        assert "0 photos near 10.0, 10.0" in client.get("/map?at=10,10").text
        single = next(href for href, label in links if label.startswith("1"))
        assert single.startswith("/photo/")
        assert client.get("/map?at=nowhere").status_code == 400


def test_a_dot_of_more_photos_than_a_page_counts_them_all_and_pages_through(
        tmp_path: Path, tiny_bundle_dir) -> None:
    """A dot of 1,234 photos opened a list headed "500 photos": the list stopped at 500 and
    the heading counted the list. The heading says what the dot says, and the rest are a
    link away, none twice, none left out."""
    from photolm.catalog import PhotoRecord
    from tests.imagefactory import exif_block
    from tests.tinybundle import COLOURS, write_photo

    photos = tmp_path / "lib"
    write_photo(photos / "rome/colosseum.jpg", COLOURS["colosseum"],
                exif=exif_block(gps=("N", (41.0, 53.0, 24.0), "E", (12.0, 29.0, 32.0))))
    with _scanned_client(photos, tiny_bundle_dir, tmp_path) as (client, catalog):
        more = 1233  # catalogued beside it at the same spot (rows, not files: fast)
        with Catalog.open(catalog, write=True) as cat:
            cat.write_results([PhotoRecord(str(photos / f"rome/more-{i:04}.jpg"), 1, 1,
                                           latitude=41.89 + i * 1e-6, longitude=12.49,
                                           taken=f"2023-01-01T00:{i // 60 % 60:02}:{i % 60:02}")
                               for i in range(more)])
        html = client.get("/map").text
        (href,) = re.findall(r'<a href="([^"]+)" aria-label="1234 photos near 41\.9, 12\.5"',
                             html)
        seen: list[int] = []
        page = client.get(href.replace("&amp;", "&")).text
        assert "1234 photos near 41.9, 12.5</h2>" in page
        while True:
            grid = page.split('id="near"')[1]
            seen += [int(i) for i in re.findall(r'<a href="/photo/(\d+)\?next=', grid)]
            assert f"Showing {len(seen) - len(re.findall('/photo/', grid)) + 1}" in grid
            nxt = re.search(r'<a href="([^"]+)#near">next (\d+) →</a>', grid)
            if nxt is None:
                break
            page = client.get(nxt.group(1).replace("&amp;", "&")).text
            assert "1234 photos near 41.9, 12.5</h2>" in page
        with Catalog.open(catalog, write=False) as cat:
            assert sorted(seen) == sorted(r.id for r in cat.iter_photos())
        assert len(seen) == len(set(seen)) == 1234


def test_a_place_named_almost_like_a_known_landmark_is_refused_as_a_typo(unseen_client,
                                                                         unseen) -> None:
    """`photolm places name` refuses "Colloseum" (almost "Colosseum") as a likely typo: a
    second landmark would take the first one's photos. The page learned it without a word;
    it now refuses it the same way, and "a new landmark" learns it all the same."""
    group = places_json(unseen)[0]
    url = f"/places/{group['id']}/name"
    csrf = csrf_token(TOKEN)
    res = unseen_client.post(url, data={"name": "Colloseum", "csrf": csrf})
    assert res.status_code == 303 and res.headers["location"].startswith("/places?e=")
    html = unseen_client.get(res.headers["location"]).text
    assert re.search(r'class="error" role="alert">&#39;Colloseum&#39; is not a landmark '
                     r'photolm knows, but almost &#39;Colosseum&#39;', html)
    assert learned_names(unseen) == []
    res = unseen_client.post(url, data={"name": "Colloseum", "new": "1", "csrf": csrf})
    assert "Learned Colloseum" in unseen_client.get(res.headers["location"]).text
    assert learned_names(unseen) == ["Colloseum"]
