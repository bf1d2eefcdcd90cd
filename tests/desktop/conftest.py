# SPDX-License-Identifier: GPL-3.0-or-later
"""A small scanned library for the desktop tests: generated photos, the tiny bundle, the CLI.

Scanned once per session (the CLI's own ``photolm scan``), then each test gets its own copy
of the catalogue so answers stored by one test never leak into another.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the desktop extra is not installed")

from tests.clirun import cli
from tests.imagefactory import exif_block
from tests.tinybundle import COLOURS, write_photo

TOKEN = "test-token-0123456789abcdefghijklmnopqrstuv"
PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
EVIL_NAME = "<img src=x onerror=alert(1)>.jpg"
EVIL_MODEL = "<script>alert('exif')</script>"


@dataclass(frozen=True)
class Library:
    photos: Path
    catalog: Path
    bundle: Path


def _blend(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    return tuple(round(x * (1 - t) + y * t) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def make_photos(folder: Path) -> None:
    """Eiffel Tower x4 (dated, one with GPS in Paris) and its Las Vegas replica (GPS rules
    it out), Colosseum x2, Taj Mahal x1, nothing x1,
    one photo near the threshold, and two hostile ones: a file name and an EXIF camera model
    that are HTML."""
    red, green, blue = COLOURS["eiffel-tower"], COLOURS["colosseum"], COLOURS["taj-mahal"]
    for i, day in enumerate(("2021:05:01", "2023:08:15", "2019:02:03")):
        exif = exif_block(taken=f"{day} 10:00:00", gps=None if i else ("N", (48.0, 51.0, 30.0),
                                                                       "E", (2.0, 17.0, 40.0)))
        write_photo(folder / f"paris/eiffel-{i}.jpg", red, exif=exif)
    write_photo(folder / "paris" / EVIL_NAME, red)
    # Looks like the Eiffel Tower, taken in Las Vegas: GPS rules the match out
    write_photo(folder / "vegas/replica.jpg", red, exif=exif_block(
        taken="2020:06:06 20:00:00", gps=("N", (36.0, 6.0, 44.0), "W", (115.0, 10.0, 20.0))))
    write_photo(folder / "rome/colosseum-0.jpg", green)
    write_photo(folder / "rome/colosseum-1.jpg", green, size=(48, 64))
    write_photo(folder / "agra/taj.jpg", blue,
                exif=exif_block(taken="2022:01:01 09:00:00", gps=None, make="Evil",
                                model=EVIL_MODEL))
    write_photo(folder / "misc/grey.jpg", (128, 128, 128))
    # PNG keeps the colour exact: top candidate Cologne Cathedral at 0.857, Eiffel Tower 0.834,
    # both just below the tiny bundle's threshold of 0.9
    write_photo(folder / "misc/uncertain.png", _blend(red, COLOURS["cologne-cathedral"], 0.4))


@pytest.fixture(scope="session")
def scanned(tmp_path_factory: pytest.TempPathFactory, tiny_bundle_dir: Path) -> Library:
    root = tmp_path_factory.mktemp("desktop")
    photos = root / "photos"
    make_photos(photos)
    catalog = root / "catalog.sqlite"
    code, _, stderr = cli("scan", photos, "--catalog", catalog, "--model", tiny_bundle_dir,
                          "--quiet")
    assert code == 0, stderr
    return Library(photos, catalog, tiny_bundle_dir)


@pytest.fixture(scope="session")
def raw_pairs_scanned(tmp_path_factory: pytest.TempPathFactory, tiny_bundle_dir: Path
                      ) -> Library:
    """Three photos of the Eiffel Tower as a camera writes them: a HEIC with a RAW beside it
    (an iPhone shooting RAW + HEIC), a JPEG with a RAW, a JPEG alone. The RAWs are paired by
    their names and never read (their JPEG or HEIC is)."""
    from PIL import Image

    from tests.imagefactory import real_heic
    from tests.tinybundle import write_photo

    root = tmp_path_factory.mktemp("raw-pairs")
    photos = root / "photos"
    photos.mkdir()
    red = COLOURS["eiffel-tower"]
    if real_heic(photos / "IMG_0001.HEIC", image=Image.new("RGB", (64, 48), red)) is None:
        pytest.skip("pillow-heif cannot write a HEIC here")
    (photos / "IMG_0001.CR2").write_bytes(b"a RAW: paired by its name, never read")
    write_photo(photos / "IMG_0002.JPG", red)
    (photos / "IMG_0002.NEF").write_bytes(b"a RAW: paired by its name, never read")
    write_photo(photos / "IMG_0003.JPG", red)
    catalog = root / "catalog.sqlite"
    code, _, stderr = cli("scan", photos, "--catalog", catalog, "--model", tiny_bundle_dir,
                          "--quiet")
    assert code == 0, stderr
    return Library(photos, catalog, tiny_bundle_dir)


UNSEEN = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "landmarks-unseen-dev"
UNSEEN_PLACE = "berlin_cathedral"  # never trained on; 5 of its first 6 photos form a group
UNSEEN_PHOTOS = 6


@pytest.fixture(scope="session")
def unseen_scanned(tmp_path_factory: pytest.TempPathFactory) -> Library:
    """A few real photos of one place the shipped model was never trained on, scanned with
    the shipped model: ``photolm places`` finds them as one group."""
    from photolm.bundle import default_bundle_path

    folder = UNSEEN / UNSEEN_PLACE
    if not folder.is_dir():
        pytest.skip(f"shared photos not found under {UNSEEN}")
    root = tmp_path_factory.mktemp("unseen")
    photos = root / "photos" / "Berlin trip"
    photos.mkdir(parents=True)
    for src in sorted(folder.glob("*.jpg"))[:UNSEEN_PHOTOS]:
        shutil.copyfile(src, photos / src.name)  # a temporary copy, never in the repository
    catalog = root / "catalog.sqlite"
    code, _, stderr = cli("scan", photos, "--catalog", catalog, "--model",
                          default_bundle_path(), "--quiet")
    assert code == 0, stderr
    return Library(photos, catalog, default_bundle_path())


@pytest.fixture
def unseen(unseen_scanned: Library, tmp_path: Path) -> Library:
    """The scanned unseen place with a catalogue of this test's own."""
    catalog = tmp_path / "catalog.sqlite"
    shutil.copyfile(unseen_scanned.catalog, catalog)
    return Library(unseen_scanned.photos, catalog, unseen_scanned.bundle)


@pytest.fixture
def library(scanned: Library, tmp_path: Path) -> Library:
    """The scanned library with a catalogue of this test's own."""
    catalog = tmp_path / "catalog.sqlite"
    shutil.copyfile(scanned.catalog, catalog)
    return Library(scanned.photos, catalog, scanned.bundle)


def slow_jobs(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Each unit of a job's work (a photo scanned or tagged) takes ``seconds`` longer, so a
    test sees the job running (its progress, its Stop button, a refusal while it runs)."""
    from photolm.desktop.jobs import Job

    real_step = Job.step

    def slow_step(self: Job) -> None:
        time.sleep(seconds)
        real_step(self)

    monkeypatch.setattr(Job, "step", slow_step)


def make_settings(lib: Library, tmp_path: Path, **extra: object):
    from photolm.bundle import read_bundle
    from photolm.desktop.app import Settings

    bundle = read_bundle(lib.bundle)
    values: dict[str, object] = {
        "catalog_path": lib.catalog, "token": TOKEN, "port": PORT, "host": "127.0.0.1",
        "model": lib.bundle, "threshold": bundle.threshold, "bundle_id": bundle.bundle_id,
        "cache_dir": tmp_path / "thumbs",
        # the tiny bundle's photos score 1.0 against a threshold of 0.9: a narrower band
        # than the default 0.1 keeps them out of the uncertain ones
        "uncertain_margin": 0.06,
    }
    values.update(extra)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def app(library: Library, tmp_path: Path):
    from photolm.desktop.app import create_app

    return create_app(make_settings(library, tmp_path))


@pytest.fixture
def client(app):
    """A logged-in test client (token cookie set through the token URL, as a browser gets it)."""
    from starlette.testclient import TestClient

    with TestClient(app, base_url=BASE, follow_redirects=False) as c:
        res = c.get(f"/?token={TOKEN}")
        assert res.status_code == 303
        yield c


@pytest.fixture
def unseen_client(unseen: Library, tmp_path: Path):
    """A logged-in test client of the unseen place's library."""
    from starlette.testclient import TestClient

    from photolm.desktop.app import create_app

    with TestClient(create_app(make_settings(unseen, tmp_path)), base_url=BASE,
                    follow_redirects=False) as client:
        client.get(f"/?token={TOKEN}")
        yield client


@dataclass(frozen=True)
class Live:
    """A real uvicorn server on a free loopback port, in a thread of this process."""

    base: str
    url: str  # with the token, as `photolm serve` prints it
    desktop: object


@contextmanager
def serving(lib: Library, tmp_path: Path, *, port: int = 0,
            token: str = TOKEN) -> Iterator[Live]:
    """``port`` and ``token``: a later run of ``photolm serve`` on an earlier one's port
    (the default port), with the new token it draws."""
    from photolm.desktop.app import create_app
    from photolm.desktop.server import address, bind, serve_in_thread

    sock = bind("127.0.0.1", port)
    port = sock.getsockname()[1]
    app = create_app(make_settings(lib, tmp_path, port=port, token=token))
    server = serve_in_thread(app, sock)
    try:
        yield Live(f"http://127.0.0.1:{port}", address("127.0.0.1", port, token), app.desktop)
    finally:
        server.should_exit = True
        server.thread.join(timeout=10)
        sock.close()


@pytest.fixture
def live(library: Library, tmp_path: Path) -> Iterator[Live]:
    with serving(library, tmp_path) as server:
        yield server


@pytest.fixture
def unseen_live(unseen: Library, tmp_path: Path) -> Iterator[Live]:
    with serving(unseen, tmp_path) as server:
        yield server
