# SPDX-License-Identifier: GPL-3.0-or-later
"""The Scan page's folders, and its re-scan, for two folders whose names differ only in how
a byte is spelled: ``a\\xffb`` with a backslash, and ``a<0xff>b``. Kept as
``backslashreplace`` text, the catalogue read both back as the second: the page listed it
once and a re-scan never looked in the first again."""

from __future__ import annotations

from pathlib import Path

from photolm.catalog import Catalog
from photolm.desktop.security import csrf_token
from photolm.printed_paths import printed
from tests.clirun import cli
from tests.desktop.conftest import TOKEN
from tests.test_lossless_names import twin_folders
from tests.tinybundle import COLOURS, write_photo


def test_the_scan_page_lists_and_rescans_both_folders(tmp_path: Path,
                                                      tiny_bundle_dir: Path) -> None:
    from starlette.testclient import TestClient

    from photolm.desktop.app import create_app
    from tests.desktop.conftest import BASE, Library, make_settings

    spelled, byte = twin_folders(tmp_path)
    catalog = tmp_path / "catalog.sqlite"
    assert cli("scan", printed(spelled), printed(byte), "--catalog", catalog,
               "--model", tiny_bundle_dir, "--quiet")[0] == 0
    newcomers = [write_photo(folder / "later.jpg", COLOURS["taj-mahal"])
                 for folder in (spelled, byte)]
    app = create_app(make_settings(Library(tmp_path, catalog, tiny_bundle_dir), tmp_path))
    with TestClient(app, base_url=BASE) as client:
        client.get(f"/?token={TOKEN}")
        page = client.get("/scan").text
        assert "not there now" not in page
        for folder in (spelled, byte):
            assert page.count(f"{printed(folder)}<") == 1, printed(folder)
        client.post("/scan/start", data={"csrf": csrf_token(TOKEN)})
        job = app.desktop.jobs.wait(60)
        assert job.state == "done", job.message
    with Catalog.open(catalog, write=False) as cat:
        assert [cat.get_photo(p) is not None for p in newcomers] == [True, True]
        assert cat.scan_roots() == [str(spelled), str(byte)]
