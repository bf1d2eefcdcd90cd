# SPDX-License-Identifier: GPL-3.0-or-later
"""How fast the desktop shows a landmark page of 1,000 photos, cold and warm.

Generates 1,000 camera-like JPEGs (1600x1200, EXIF dates) in a temporary folder, catalogues
them as photos of one landmark (written straight into a catalogue: the model is not what is
measured), starts the desktop on a free port and opens the landmark page in headless
Chromium (a fresh profile each run, so the browser's own cache never helps):

* **usable**: from navigation start until the page is shown and every thumbnail in the
  first screen is decoded and painted (``complete`` and ``naturalWidth > 0``);
* **cold**: the same with an empty thumbnail cache (thumbnails made on demand), and how long
  another page takes meanwhile (it must not wait for the thumbnails);
* **html**: the landmark page's HTML alone, server side (httpx).

    .venv/bin/python scripts/bench_desktop.py [--photos 1000] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

VISIBLE_READY = """() => {
  const imgs = Array.from(document.querySelectorAll('.grid img'));
  if (imgs.length === 0) return false;
  const seen = imgs.filter(i => i.getBoundingClientRect().top < innerHeight);
  return seen.length > 0 && seen.every(i => i.complete && i.naturalWidth > 0);
}"""


def make_library(folder: Path, count: int) -> Path:
    import numpy as np
    from PIL import Image

    from photolm.bundle import Landmark
    from photolm.catalog import Catalog, PhotoRecord
    from photolm.fingerprint import fingerprint
    from tests.imagefactory import exif_block

    photos = folder / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    base = np.linspace(0, 255, 1600, dtype=np.float32)[None, :, None]
    records = []
    looks = []
    for _ in range(20):  # 20 looks; EXIF dates make every file (and fingerprint) distinct
        tint = rng.integers(0, 255, 3).astype(np.float32)
        pixels = (base * 0.5 + tint * 0.5 + rng.normal(0, 8, (1200, 1, 3))).clip(0, 255)
        looks.append(Image.fromarray(np.broadcast_to(pixels, (1200, 1600, 3)).astype(np.uint8)))
    for i in range(count):
        img = looks[i % len(looks)]
        path = photos / f"IMG_{i:05d}.jpg"
        taken = f"20{10 + i % 14}:{1 + i % 12:02d}:{1 + i % 28:02d} 12:00:00"
        img.save(path, "JPEG", quality=85, exif=exif_block(taken=taken, gps=None))
        st = path.stat()
        records.append(PhotoRecord(
            path=str(path), size=st.st_size, mtime_ns=st.st_mtime_ns,
            content_hash=fingerprint(path, st.st_size), taken=taken.replace(":", "-", 2),
            width=1600, height=1200, bundle_id="bench", landmark_id="eiffel-tower",
            landmark_name="Eiffel Tower", score=float(rng.uniform(0.6, 0.99)),
            topk=[{"landmark_id": "eiffel-tower", "name": "Eiffel Tower", "score": 0.9}]))
    catalog = folder / "catalog.sqlite"
    with Catalog.open(catalog, write=True) as cat:
        cat.replace_landmarks("bench", [Landmark("eiffel-tower", "Eiffel Tower", (), "Paris",
                                                 "France", 48.8584, 2.2945)])
        cat.write_results(records)
    return catalog


def start(catalog: Path, cache: Path, *, nodelay: bool = True):
    import socket

    from photolm.desktop.server import prepare, serve_in_thread

    prepared = prepare(catalog, None, "127.0.0.1", 0, cache_dir=cache)
    if not nodelay:  # the baseline: how the server was before TCP_NODELAY
        prepared.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0)
    return prepared, serve_in_thread(prepared.app, prepared.sock)


def usable_seconds(browser, url: str, page_path: str) -> float:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(url)  # log in: sets the cookie (not timed)
    base = url.split("/?")[0]
    t0 = time.perf_counter()
    page.goto(base + page_path, wait_until="commit")
    while not page.evaluate(VISIBLE_READY):
        time.sleep(0.005)
    elapsed = time.perf_counter() - t0
    context.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    import httpx

    from photolm.desktop.security import cookie_name
    from tests.desktop.browser import chromium

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        catalog = make_library(Path(tmp), args.photos)
        print(f"library: {args.photos} photos in {time.perf_counter() - t0:.1f} s")
        prepared, server = start(catalog, Path(tmp) / "thumbs")
        page_path = "/landmark/eiffel-tower?order=newest"
        base = prepared.url.split("/?")[0]
        cookies = {cookie_name(prepared.settings.port): prepared.settings.token}
        with chromium() as browser, httpx.Client(base_url=base, cookies=cookies) as client:
            # cold: empty thumbnail cache; meanwhile, how long does another page take?
            other: list[float] = []

            def other_pages() -> None:
                time.sleep(0.3)
                for _ in range(5):
                    t = time.perf_counter()
                    client.get("/scan").raise_for_status()
                    other.append(time.perf_counter() - t)

            side = threading.Thread(target=other_pages)
            side.start()
            cold = usable_seconds(browser, prepared.url, page_path)
            side.join()
            print(f"cold, first screen usable: {cold:.2f} s; another page meanwhile: "
                  f"median {statistics.median(other) * 1000:.0f} ms, max "
                  f"{max(other) * 1000:.0f} ms")
            # warm every thumbnail, then measure
            t = time.perf_counter()
            desktop = prepared.app.desktop
            from photolm.catalog import Catalog

            with Catalog.open(catalog, write=False) as cat:
                jobs = [desktop.thumbs.submit(row, 320) for row in cat.iter_photos()]
            for job in jobs:
                job.result()
            print(f"all {len(jobs)} thumbnails made in {time.perf_counter() - t:.1f} s "
                  f"({os.cpu_count()} cores)")
            baseline, baseline_server = start(catalog, Path(tmp) / "thumbs", nodelay=False)
            base_client = httpx.Client(
                base_url=baseline.url.split("/?")[0],
                cookies={cookie_name(baseline.settings.port): baseline.settings.token})
            with Catalog.open(catalog, write=False) as cat:
                ids = [row.id for row in cat.iter_photos()][:200]
            single: dict[str, list[float]] = {"without TCP_NODELAY": [], "now": []}
            for label, who in (("without TCP_NODELAY", base_client), ("now", client)):
                who.get(page_path)  # lists the photos, as a browser would first
                for photo_id in ids:
                    t = time.perf_counter()
                    who.get(f"/thumb/{photo_id}").raise_for_status()
                    single[label].append(time.perf_counter() - t)
                print(f"one cached thumbnail, one at a time, {label}: median "
                      f"{statistics.median(single[label]) * 1000:.1f} ms")
            base_client.close()
            html = []
            for _ in range(args.runs):
                t = time.perf_counter()
                res = client.get(page_path)
                html.append(time.perf_counter() - t)
                assert res.status_code == 200 and res.text.count("<img") >= args.photos
            runs: dict[str, list[float]] = {"without TCP_NODELAY": [], "now": []}
            for _ in range(args.runs):  # interleaved, so both see the same machine load
                runs["without TCP_NODELAY"].append(
                    usable_seconds(browser, baseline.url, page_path))
                runs["now"].append(usable_seconds(browser, prepared.url, page_path))
            baseline_server.should_exit = True
            for label, values in runs.items():
                print(f"warm, first screen usable, {label}: median "
                      f"{statistics.median(values):.2f} s "
                      f"(runs: {', '.join(f'{w:.2f}' for w in values)})")
            ratio = statistics.median(runs["without TCP_NODELAY"]) / statistics.median(runs["now"])
            print(f"ratio: {ratio:.2f}x")
            print(f"landmark page HTML ({args.photos} photos): median "
                  f"{statistics.median(html) * 1000:.0f} ms")
        server.should_exit = True


if __name__ == "__main__":
    main()
