# SPDX-License-Identifier: GPL-3.0-or-later
"""The desktop's tag page shows the notes a tag write left, as ``photolm tag`` prints them:
a photo that names its own city keeps it, and the page says so, its file name escaped."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from markupsafe import escape

from photolm.desktop.security import csrf_token
from tests.clirun import cli
from tests.desktop.conftest import BASE, TOKEN, Library, make_settings
from tests.tags.photos import exiftool_json, plant_keywords
from tests.tinybundle import COLOURS, write_photo


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool reads the tags back")
def test_tag_page_shows_the_notes_of_a_write(tmp_path: Path, tiny_bundle_dir: Path) -> None:
    from starlette.testclient import TestClient

    from photolm.desktop.app import create_app

    photo = write_photo(tmp_path / "mine" / "<i>eiffel</i>.jpg", COLOURS["eiffel-tower"])
    plant_keywords(photo, ["Holiday"], city="Lyon")
    catalog = tmp_path / "catalog.sqlite"
    assert cli("scan", photo.parent, "--catalog", catalog, "--model", tiny_bundle_dir,
               "--quiet")[0] == 0
    app = create_app(make_settings(Library(photo.parent, catalog, tiny_bundle_dir), tmp_path))
    with TestClient(app, base_url=BASE) as client:
        client.get(f"/?token={TOKEN}")
        client.post("/tags/tag", data={"csrf": csrf_token(TOKEN), "mode": "embed"})
        job = app.desktop.jobs.wait(30)
        assert job.state == "done", job.message
        page = client.get("/tags").text
    line = (f"{photo}: kept XMP-photoshop:City 'Lyon' (the photo names its own place: no "
            "city, state or country written)")
    assert f"<li>{escape(line)}</li>" in page
    assert "<i>eiffel</i>" not in page  # the file name is text, never markup
    assert "1 note</summary>" in page and "1 photo with notes" in page
    assert exiftool_json(photo).get("XMP-photoshop:City") == "Lyon"
