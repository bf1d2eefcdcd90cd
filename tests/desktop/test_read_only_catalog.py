# SPDX-License-Identifier: GPL-3.0-or-later
"""The desktop on a catalogue it may read but not change: an older one read from an upgraded
copy says so on every page, in the words of the CLI's ``note:`` line; an action that would
write (an answer, a scan, a tag run, a place named) gets the CLI's read-only refusal where
it was asked, and nothing is written. Through the app's HTTP responses and in Chromium."""

from __future__ import annotations

import html
import os
import re
import shutil
from pathlib import Path

import pytest

from photolm.catalog import Catalog, schema
from tests.clirun import cli
from tests.desktop import browser
from tests.desktop.conftest import BASE, TOKEN, Library, make_settings, serving
from tests.test_catalog_older_read_only import _digest, _stored_version

WHY = "it is on a read-only file system"
REFUSAL = f"is read-only ({WHY}): search, list and info can read it, but this command changes it"


@pytest.fixture(scope="module")
def older_scanned(scanned: Library, tmp_path_factory: pytest.TempPathFactory) -> Library:
    """The desktop's library as the photolm at schema 7 catalogued it."""
    catalog = tmp_path_factory.mktemp("older") / "catalog.sqlite"
    with pytest.MonkeyPatch.context() as m:
        m.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:7])
        m.setattr(schema, "SCHEMA_VERSION", 7)
        code, _, err = cli("scan", scanned.photos, "--catalog", catalog, "--model",
                           scanned.bundle, "--quiet")
    assert code == 0, err
    return Library(scanned.photos, catalog, scanned.bundle)


@pytest.fixture
def older(older_scanned: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Library:
    """This test's own copy, judged read-only (a share mounted read-only)."""
    import photolm.catalog.store as store

    catalog = tmp_path / "share" / "catalog.sqlite"
    catalog.parent.mkdir()
    shutil.copyfile(older_scanned.catalog, catalog)
    monkeypatch.setattr(store, "_read_only_reason", lambda p: WHY)
    return Library(older_scanned.photos, catalog, older_scanned.bundle)


@pytest.fixture
def older_client(older: Library, tmp_path: Path):
    from starlette.testclient import TestClient

    from photolm.desktop.app import create_app

    app = create_app(make_settings(older, tmp_path))
    with TestClient(app, base_url=BASE, follow_redirects=False) as client:
        assert client.get(f"/?token={TOKEN}").status_code == 303
        client.desktop = app.desktop
        yield client


def _cli_note(older: Library) -> str:
    """What ``photolm list`` says of the catalogue: its one ``note:`` line, as words."""
    code, _, err = cli("list", "--json", "--catalog", older.catalog)
    assert code == 0 and err.startswith("note: ") and err.count("\n") == 1, err
    return err.removeprefix("note: ").strip()


def _banner(page_html: str) -> str | None:
    found = re.search(r'<div class="copynote" role="status"><strong>Note:</strong> (.*?)</div>',
                      page_html, re.S)
    return html.unescape(found.group(1)) if found else None


def _photo_id(catalog: Path, name: str) -> int:
    with Catalog.open(catalog, write=False) as cat:
        return next(r.id for r in cat.iter_photos() if r.path.endswith(name))


def test_every_page_says_it_reads_an_upgraded_copy_in_the_clis_words(older_client,
                                                                    older) -> None:
    note = _cli_note(older)
    assert "uses an older format (schema 7)" in note and WHY in note
    photo = _photo_id(older.catalog, "taj.jpg")
    for path in ("/", "/landmark/eiffel-tower", "/search?q=colloseo", f"/photo/{photo}",
                 "/uncertain", "/places", "/map", "/tags", "/scan", "/unreadable",
                 "/nothing-here"):
        res = older_client.get(path)
        assert res.status_code in (200, 404), (path, res.status_code)
        assert _banner(res.text) == note, path
    assert _stored_version(older.catalog) == 7


def test_a_writable_catalogue_has_no_note(client) -> None:
    assert _banner(client.get("/").text) is None


def test_actions_that_would_write_get_the_clis_read_only_refusal(older_client, older,
                                                                 tmp_path: Path) -> None:
    from photolm.desktop.security import csrf_token

    before = _digest(older.catalog.parent)
    code, _, err = cli("confirm", older.photos / "agra" / "taj.jpg", "--catalog", older.catalog)
    assert code == 1 and err.startswith("Error: Catalogue ") and REFUSAL in err, err
    refusal = err.removeprefix("Error: ").strip()  # the CLI's line, word for word
    csrf = csrf_token(TOKEN)
    photo = _photo_id(older.catalog, "taj.jpg")
    for action in ("confirm", "none", "correct"):
        res = older_client.post(f"/photo/{photo}/review", data={
            "action": action, "landmark": "Colosseum", "csrf": csrf})
        assert res.status_code == 303, (action, res.status_code)
        location = res.headers["location"]
        assert location.startswith(f"/photo/{photo}?e="), location
        shown = older_client.get(location).text
        assert 'class="error" role="alert"' in shown and refusal in html.unescape(shown), action
    for action, back in (("scan/start", "/scan"), ("tags/tag", "/tags"),
                         ("tags/untag", "/tags"), ("places/pl-0/name", "/places")):
        res = older_client.post(f"/{action}", data={"name": "Old Bridge", "csrf": csrf})
        assert res.status_code == 303 and res.headers["location"].startswith(f"{back}?e="), (
            action, res.status_code, res.headers.get("location"))
        shown = html.unescape(older_client.get(res.headers["location"]).text)
        assert refusal in shown, action
        assert older_client.desktop.jobs.current is None, action  # refused before it began
    # a tag preview only reads: it runs, on the copy
    assert older_client.post("/tags/preview", data={"csrf": csrf}).status_code == 303
    job = older_client.desktop.jobs.wait(60)
    assert job is not None and job.state == "done", (job and job.message)
    assert _digest(older.catalog.parent) == before and _stored_version(older.catalog) == 7


why_not = browser.available()


@pytest.mark.skipif(why_not is not None, reason=why_not or "")
def test_chromium_shows_the_note_and_the_refusal_at_a_laptops_width(older, tmp_path) -> None:
    note = _cli_note(older)
    photo = _photo_id(older.catalog, "taj.jpg")
    with serving(older, tmp_path) as live, browser.chromium() as chromium:
        context = chromium.new_context(viewport={"width": 1366, "height": 768})
        page = context.new_page()
        page.set_default_timeout(5000)
        page.goto(live.url)
        banner = page.locator(".copynote")
        assert banner.is_visible() and banner.inner_text() == f"Note: {note}"
        box = banner.bounding_box()
        assert box["y"] + box["height"] < 768 / 3  # above the page's own content
        assert page.evaluate("document.documentElement.scrollWidth") <= 1366
        page.goto(f"{live.base}/photo/{photo}")
        page.keyboard.press("n")  # "no landmark": an answer the catalogue cannot store
        page.wait_for_selector("p.error[role=alert]")
        assert REFUSAL in page.inner_text("p.error[role=alert]")
        assert page.locator(".copynote").is_visible()
        context.close()
    assert _stored_version(older.catalog) == 7
    assert os.path.exists(older.catalog)
