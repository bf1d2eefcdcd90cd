# SPDX-License-Identifier: GPL-3.0-or-later
"""RAW pairs on the desktop's pages: a RAW + HEIC or RAW + JPEG pair is one photo, and every
page that shows it says so the way the CLI does (Starlette's test client, a real scan)."""

from __future__ import annotations

import json
import re

import pytest

from photolm.catalog import Catalog
from tests.clirun import cli
from tests.desktop.conftest import BASE, TOKEN, Library, make_settings
from tests.imagefactory import heic_stub
from tests.test_formats import dng_with_preview, needs_exiftool, needs_samples
from tests.tinybundle import COLOURS, write_photo


@pytest.fixture
def pairs_client(raw_pairs_scanned: Library, tmp_path):
    from starlette.testclient import TestClient

    from photolm.desktop.app import create_app

    # a margin wide enough that every photo of the tiny bundle (1.0 against 0.9) is uncertain
    settings = make_settings(raw_pairs_scanned, tmp_path, uncertain_margin=0.5)
    with TestClient(create_app(settings), base_url=BASE, follow_redirects=False) as client:
        client.get(f"/?token={TOKEN}")
        yield client


def _ids(lib: Library) -> dict[str, int]:
    with Catalog.open(lib.catalog, write=False) as cat:
        return {r.path.rsplit("/", 1)[-1]: r.id for r in cat.iter_photos()}


def _cells(html: str) -> dict[str, str]:
    """Each thumbnail's cell of a grid, by its photo's file name (the cell's hover title)."""
    return {re.search(r'title="[^"]*/([^/"]+)"', li).group(1): li
            for li in re.findall(r"<li>.*?</li>", html, flags=re.S)}


def test_photo_page_says_what_a_raw_pairs_photo_is(pairs_client, raw_pairs_scanned) -> None:
    """A RAW + HEIC pair was recognised from its HEIC, not "from the JPEG": the page names
    the format as the scan summary does (discovery.paired_format), on the photo page and on
    the uncertain review, which shows the same details."""
    ids = _ids(raw_pairs_scanned)
    heic = pairs_client.get(f"/photo/{ids['IMG_0001.HEIC']}").text
    assert "IMG_0001.CR2</span>" in heic
    assert "the same shot, tagged in its own sidecar; recognised from the HEIC" in heic
    assert "from the JPEG" not in heic
    jpeg = pairs_client.get(f"/photo/{ids['IMG_0002.JPG']}").text
    assert "the same shot, tagged in its own sidecar; recognised from the JPEG" in jpeg
    assert "the same shot" not in pairs_client.get(f"/photo/{ids['IMG_0003.JPG']}").text
    reviews = [pairs_client.get(f"/uncertain?i={i}").text for i in range(3)]
    (review,) = [r for r in reviews if f"/photo/{ids['IMG_0001.HEIC']}/image" in r]
    assert "recognised from the HEIC" in review and "from the JPEG" not in review


@pytest.mark.parametrize("page", ["/landmark/eiffel-tower?order=score",
                                  "/landmark/eiffel-tower?order=newest", "/search?q=eiffel"])
def test_grid_pages_mark_a_photo_with_a_raw(pairs_client, page: str) -> None:
    """Search results and a landmark's page show a photo's camera RAW under its thumbnail,
    named as the Unnamed places page and ``photolm list`` name it; a photo without one
    shows nothing of the kind."""
    cells = _cells(pairs_client.get(page).text)
    assert set(cells) == {"IMG_0001.HEIC", "IMG_0002.JPG", "IMG_0003.JPG"}
    assert '<span class="meta raw">+ RAW IMG_0001.CR2</span>' in cells["IMG_0001.HEIC"]
    assert '<span class="meta raw">+ RAW IMG_0002.NEF</span>' in cells["IMG_0002.JPG"]
    assert "RAW" not in cells["IMG_0003.JPG"]


@pytest.fixture
def fallback_client(tmp_path, tiny_bundle_dir):
    """A RAW + HEIC pair whose HEIC no decoder can read, scanned for real: recognised from
    the preview inside its RAW (a real DNG's, showing the Eiffel Tower)."""
    from starlette.testclient import TestClient

    from photolm.desktop.app import create_app

    photos = tmp_path / "photos"
    photos.mkdir()
    heic_stub(photos / "IMG_0004.HEIC")
    dng_with_preview(photos / "IMG_0004.dng", write_photo(
        tmp_path / "preview.jpg", COLOURS["eiffel-tower"], size=(120, 80)))
    write_photo(photos / "IMG_0005.JPG", COLOURS["eiffel-tower"])
    (photos / "IMG_0005.NEF").write_bytes(b"a RAW: paired by its name, never read")
    lib = Library(photos, tmp_path / "catalog.sqlite", tiny_bundle_dir)
    code, _, stderr = cli("scan", photos, "--catalog", lib.catalog, "--model", lib.bundle,
                          "--quiet")
    assert code == 0 and "IMG_0004.HEIC" in stderr, stderr  # its one warning line
    settings = make_settings(lib, tmp_path, uncertain_margin=0.5)
    with TestClient(create_app(settings), base_url=BASE, follow_redirects=False) as client:
        client.get(f"/?token={TOKEN}")
        yield client, _ids(lib)


@needs_exiftool
@needs_samples
def test_pages_say_a_photo_was_recognised_from_its_raws_preview(fallback_client) -> None:
    """The catalogue records that the HEIC's verdict came from its RAW's preview, and the
    photo page and the uncertain review (the same details) say so, not "from the HEIC";
    the pair beside it, whose JPEG was read, is still "recognised from the JPEG"."""
    client, ids = fallback_client
    wording = ("the same shot, tagged in its own sidecar; recognised from its preview: the "
               "HEIC could not be read")  # as `photolm list` says it
    page = client.get(f"/photo/{ids['IMG_0004.HEIC']}").text
    assert "IMG_0004.dng</span>" in page and wording in page
    assert "recognised from the HEIC" not in page
    other = client.get(f"/photo/{ids['IMG_0005.JPG']}").text
    assert "sidecar; recognised from the JPEG" in other and "preview" not in other
    reviews = [client.get(f"/uncertain?i={i}").text for i in range(2)]
    (review,) = [r for r in reviews if f"/photo/{ids['IMG_0004.HEIC']}/image" in r]
    assert wording in review and "recognised from the HEIC" not in review


@needs_exiftool
@needs_samples
def test_a_photo_recognised_from_its_raws_preview_shows_that_preview(fallback_client) -> None:
    """The HEIC no decoder can read would only give the "cannot be read" picture; its
    thumbnail and large view show the RAW preview the scan recognised instead."""
    import io

    import numpy as np
    from PIL import Image

    client, ids = fallback_client
    for url in (f"/thumb/{ids['IMG_0004.HEIC']}", f"/photo/{ids['IMG_0004.HEIC']}/image"):
        shown = client.get(url)
        assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg", url
        pixels = np.asarray(Image.open(io.BytesIO(shown.content)).convert("RGB"), dtype=float)
        assert np.abs(pixels.mean(axis=(0, 1)) - COLOURS["eiffel-tower"]).max() < 12, url


@needs_exiftool
@needs_samples
@pytest.mark.parametrize("after", ["replaced", "deleted"])
def test_the_cli_and_the_photo_page_say_the_same_when_the_raw_used_is_gone(
        tmp_path, tiny_bundle_dir, monkeypatch, after: str) -> None:
    """A pair recognised from its DNG's preview, whose DNG was later replaced by a CR2 or
    deleted (the JPEG unchanged, so its verdict still comes from the DNG). Replaced:
    ``photolm list`` named the DNG, the photo page said "the RAW's preview" beside the CR2,
    the only RAW it has now. Deleted: neither said anything, as the words rode on a RAW
    line. One rule (``PhotoRow.recognised_from_note``, ``recognised_from_alone``) now says
    it for ``list``, ``search`` and the photo page: beside the RAW left, else on a line of
    its own."""
    from starlette.testclient import TestClient

    from photolm.desktop.app import create_app
    from tests.test_raw_pairs import on_a_terminal

    photos = tmp_path / "photos"
    photos.mkdir()
    jpeg = write_photo(photos / "IMG_0006.JPG", COLOURS["eiffel-tower"])
    jpeg.write_bytes(jpeg.read_bytes()[:300])  # truncated: the RAW's preview is used
    dng_with_preview(photos / "IMG_0006.dng", write_photo(
        tmp_path / "preview.jpg", COLOURS["colosseum"], size=(120, 80)))
    lib = Library(photos, tmp_path / "catalog.sqlite", tiny_bundle_dir)
    monkeypatch.setenv("PHOTOLM_CATALOG", str(lib.catalog))
    monkeypatch.setenv("PHOTOLM_MODEL", str(lib.bundle))
    assert cli("scan", photos, "--quiet")[0] == 0
    if after == "replaced":
        (photos / "IMG_0006.dng").rename(photos / "IMG_0006.CR2")
    else:
        (photos / "IMG_0006.dng").unlink()
    assert cli("scan", photos, "--quiet")[0] == 0
    said = ("recognised from the preview in IMG_0006.dng (gone since): the JPEG could not be "
            "read")
    beside = f"+ RAW IMG_0006.CR2 ({said})" if after == "replaced" else f"  {said}"
    for command in (("list",), ("search", "Colosseum")):
        shown = on_a_terminal(monkeypatch, *command)
        at = next(i for i, line in enumerate(shown) if str(jpeg) in line)
        assert beside in shown[at + 1], "\n".join(shown)
    code, out, _ = cli("list", "--json")
    assert code == 0 and json.loads(out)[0]["recognised_from"] == str(photos / "IMG_0006.dng")
    with TestClient(create_app(make_settings(lib, tmp_path)), base_url=BASE,
                    follow_redirects=False) as client:
        client.get(f"/?token={TOKEN}")
        page = client.get(f"/photo/{_ids(lib)['IMG_0006.JPG']}").text
    if after == "replaced":
        assert "IMG_0006.CR2</span>" in page and f"sidecar; {said}</dd>" in page, page
    else:
        assert f"<dt>RAW</dt><dd>{said}</dd>" in page, page
