# SPDX-License-Identifier: GPL-3.0-or-later
"""What a person met walking through `photolm serve` with a real library: each test is a
defect found that way, through the HTTP layer (Starlette's test client)."""

from __future__ import annotations

import re

import pytest

from photolm.catalog import Catalog
from photolm.desktop.security import csrf_token
from tests.desktop.conftest import TOKEN

CSRF = {"csrf": csrf_token(TOKEN)}


def _alert(html: str) -> str:
    found = re.search(r'class="error" role="alert">([^<]*)<', html)
    return found.group(1) if found else ""


def test_a_scan_or_tag_run_asked_for_while_a_terminal_scan_writes_is_refused_on_its_page(
        app, client, library, monkeypatch) -> None:
    """`photolm scan` running in a terminal holds the write lock: Scan or Write tags pressed
    then started a job that failed at once with the command line's "Another photolm process
    is writing catalogue ...; ... or use --catalog to pick another." in its progress panel.
    Now each is refused before it starts, on its page, as an answer is (the busy line); a
    preview, which only reads, still runs."""
    from photolm.desktop import app as app_module

    monkeypatch.setattr(app_module, "LOCK_WAIT_S", 0.05)
    with Catalog.open(library.catalog, write=True):  # the terminal's scan
        for path, page in (("/scan/start", "/scan"), ("/tags/tag", "/tags"),
                           ("/tags/untag", "/tags")):
            res = client.post(path, data=CSRF)
            assert res.status_code == 303, path
            assert res.headers["location"].startswith(f"{page}?e="), path
            said = _alert(client.get(res.headers["location"]).text)
            assert said.startswith("The catalogue is busy"), (path, said)
            assert "--catalog" not in said
            assert app.desktop.jobs.current is None, path  # nothing started, nothing failed
        assert client.post("/tags/preview", data=CSRF).headers["location"] == "/tags"
        assert app.desktop.jobs.wait(30).state == "done"


def test_a_job_that_meets_a_terminal_scan_says_so_in_the_pages_words(library,
                                                                     tiny_bundle_dir) -> None:
    """The other writer may start between the check and the job: the job's failure is the
    page's busy line too, not the command line's advice."""
    from photolm.desktop.jobs import Jobs, scan_work, tag_work

    jobs = Jobs()
    with Catalog.open(library.catalog, write=True):
        for work in (scan_work(library.catalog, tiny_bundle_dir, [str(library.photos)]),
                     tag_work(library.catalog, "tag")):
            jobs.start("scan", "Scan", work)
            job = jobs.wait(30)
            assert job is not None and job.state == "failed"
            assert job.message.startswith("The catalogue is busy"), job.message


def test_an_address_with_a_number_too_large_is_a_page_not_a_500(client) -> None:
    """A mistyped id or offset past SQLite's integers (OverflowError) was a bare
    "Internal Server Error": it names no photo, or no photos."""
    huge = "9" * 20
    for path in (f"/photo/{huge}", f"/thumb/{huge}", f"/photo/{huge}/image"):
        res = client.get(path)
        assert res.status_code == 404 and "No photo" in res.text, path
    for path in (f"/uncertain?i={huge}&a={huge}&photo={huge}",
                 f"/map?at=48.9,2.3&from={huge}"):
        assert client.get(path).status_code == 200, path


def test_a_bug_is_a_page_with_the_way_back(app, monkeypatch) -> None:
    """An error no page expects was Starlette's plain "Internal Server Error"; now the
    site's own page says what broke in one line, with the way back."""
    from starlette.testclient import TestClient

    from photolm.desktop import queries
    from tests.desktop.conftest import BASE

    def broken(*_args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(queries, "landmark_summaries", broken)
    with TestClient(app, base_url=BASE, raise_server_exceptions=False) as c:
        c.get(f"/?token={TOKEN}")
        res = c.get("/")
    assert res.status_code == 500 and res.headers["content-type"].startswith("text/html")
    assert "RuntimeError: a bug" in res.text and 'href="/"' in res.text
    assert "Traceback" not in res.text


def test_the_previews_plan_says_why_a_photo_would_fail(tmp_path, tiny_bundle_dir) -> None:
    """A photo moved since the scan: the plan listed it as "failed" with nothing beside it,
    the reason only in the progress panel's problem list; the row says it now."""
    from starlette.testclient import TestClient

    from photolm.desktop.app import create_app
    from tests.clirun import cli
    from tests.desktop.conftest import BASE, Library, make_settings
    from tests.tinybundle import COLOURS, write_photo

    photos = tmp_path / "photos"
    for name in ("a.jpg", "b.jpg"):
        write_photo(photos / name, COLOURS["eiffel-tower"])
    catalog = tmp_path / "catalog.sqlite"
    assert cli("scan", photos, "--catalog", catalog, "--model", tiny_bundle_dir,
               "--quiet")[0] == 0
    (photos / "b.jpg").rename(tmp_path / "b.jpg")  # moved since the scan
    app = create_app(make_settings(Library(photos, catalog, tiny_bundle_dir), tmp_path))
    with TestClient(app, base_url=BASE) as client:
        client.get(f"/?token={TOKEN}")
        client.post("/tags/preview", data=CSRF)
        assert app.desktop.jobs.wait(30).state == "done"
        page = client.get("/tags").text
    rows = dict(re.findall(r'<tr><td class="path">[^<]*/([ab]\.jpg)</td><td>failed</td>'
                           r"(.*?)</tr>", page, flags=re.S))
    assert list(rows) == ["b.jpg"]
    assert re.search(r'class="reason">[^<]*file vanished', rows["b.jpg"]), rows


def test_the_back_button_never_shows_an_answer_that_is_no_longer_true(client,
                                                                       library) -> None:
    """y on the uncertain page, then n on the same photo: the back button returned to the
    first answer's address, which said "Saved: uncertain.png shows Cologne Cathedral." with
    an Undo (that would have forgotten the newer "no landmark"). A reload of the latest
    answer's page still says what it stored."""
    with Catalog.open(library.catalog, write=False) as cat:
        photo = next(r for r in cat.iter_photos() if r.path.endswith("uncertain.png"))
    post = f"/photo/{photo.id}/review"
    first = client.post(post, data={**CSRF, "action": "top", "next": "/uncertain?i=0"})
    yes = first.headers["location"]
    page = client.get(yes).text  # a reload: still true
    assert "Saved: uncertain.png shows Cologne Cathedral." in page and 'data-key="u"' in page
    second = client.post(post, data={**CSRF, "action": "none", "next": f"/photo/{photo.id}"})
    no = second.headers["location"]
    assert "Saved: uncertain.png shows no landmark." in client.get(no).text
    page = client.get(yes).text  # back twice
    assert "Cologne Cathedral." not in page and 'data-key="u"' not in page
    client.post(post, data={**CSRF, "action": "clear"})
    assert "shows no landmark." not in client.get(no).text  # back once, after a Forget


def test_every_route_that_changes_something_needs_the_token_csrf_and_our_origin(
        app, client, anonymous_client) -> None:
    """Each POST route of the app, read from its route table (so a route added later is
    checked too): refused without the token, without the CSRF token, from another origin,
    and by GET; nothing starts."""
    from starlette.routing import Route

    params = {"photo_id": "1", "action": "tag", "group_id": "0"}
    posts = [r.path_format.format(**{k: v for k, v in params.items() if k in r.param_convertors})
             for r in app.app.routes if isinstance(r, Route) and "POST" in (r.methods or ())]
    assert len(posts) >= 5, posts
    for path in posts:
        assert anonymous_client.post(path, data=CSRF).status_code == 403, path
        assert client.post(path, data={"csrf": "0" * 64}).status_code == 403, path
        assert client.post(path, data={}).status_code == 403, path
        assert client.post(path, data=CSRF, headers={"origin": "http://evil.example"}
                           ).status_code == 403, path
        assert client.get(path).status_code == 405, path
    assert app.desktop.jobs.current is None


@pytest.fixture
def anonymous_client(app):
    from starlette.testclient import TestClient

    from tests.desktop.conftest import BASE

    with TestClient(app, base_url=BASE, follow_redirects=False) as c:
        yield c


def test_a_refused_landmark_name_goes_back_into_its_field(client, library) -> None:
    """A landmark name photolm does not know typed under "It is really": the page said
    why, and the field was empty, to be typed again. The name is back in it, to be
    mended, on the photo page and on the uncertain page."""
    with Catalog.open(library.catalog, write=False) as cat:
        photo = next(r.id for r in cat.iter_photos() if r.path.endswith("grey.jpg"))
    for nxt in (f"/photo/{photo}", "/uncertain?i=0"):
        res = client.post(f"/photo/{photo}/review", data={
            **CSRF, "action": "correct", "landmark": "Berliner <Dom>", "next": nxt})
        page = client.get(res.headers["location"]).text
        assert _alert(page), nxt
        assert re.search(r'name="landmark"[^>]*value="Berliner &lt;Dom&gt;"', page), nxt


def test_a_refused_place_name_goes_back_into_its_groups_field(unseen_client,
                                                              unseen) -> None:
    """"Colloseum" for a new place is refused as a likely typo: the field was empty after
    it; the name is back in that group's field."""
    from tests.desktop.test_places_map import places_json

    group = places_json(unseen)[0]["id"]
    res = unseen_client.post(f"/places/{group}/name", data={**CSRF, "name": "Colloseum"})
    page = unseen_client.get(res.headers["location"]).text
    assert "almost" in _alert(page)
    assert re.findall(r'name="name"[^>]*value="([^"]*)"', page) == ["Colloseum"]
