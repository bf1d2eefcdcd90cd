# SPDX-License-Identifier: GPL-3.0-or-later
"""Screenshots of the desktop's main pages for the README, from real photos.

Scans a small library made of links to ``../shared/data`` photos (a few per landmark plus
some non-landmark photos; a handful re-saved with a GPS position so the map has dots, all in a
temporary folder: nothing is copied into the repository) with the shipped model, starts
``photolm serve``'s app on a free port and photographs each page in headless Chromium. A few
shots have a camera RAW beside them (copies of ExifTool's small sample RAW files in
``../shared/data/metadata-samples``, paired by name and never read; only regular files pair,
so those shots are copies too), and the photo page's shot is an iPhone's RAW + HEIC pair, so
the pages show how they name RAW pairs.

    .venv/bin/python scripts/desktop_screenshots.py            # writes docs/desktop/*.png
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared" / "data"
CLASSES = ("eiffel_tower", "roman_colosseum", "taj_mahal", "statue_of_liberty", "stonehenge",
           "pyramids_of_giza", "machu_pichu", "christ_the_reedemer", "burj_khalifa")
PER_CLASS = 7
UNSEEN = ("berlin_cathedral", "berlin_brandenburg_gate")
WITH_GPS = 2  # per class, re-saved with the landmark's position (jittered) and a date
# shots (by index in a class) with a camera RAW beside them, and the RAW files linked as such
WITH_RAW = (1, 4)
RAWS = ("CanonRaw.cr2", "Nikon.nef", "FujiFilm.raf", "DNG.dng")
HEIC_SHOT = ("taj_mahal", 1)  # the photo page's shot (Taj Mahal, newest first): RAW + HEIC


def add_raw(photo: Path, k: int) -> None:
    """A camera RAW beside ``photo`` (same stem): the ``k``-th of the sample RAWs."""
    src = SHARED / "metadata-samples" / "images" / RAWS[k % len(RAWS)]
    shutil.copyfile(src, photo.with_suffix(src.suffix.upper()))


def build_library(folder: Path) -> Path:
    from PIL import Image

    from tests.imagefactory import exif_block

    with open(SHARED / "wonders" / "classes.csv", encoding="utf-8") as handle:
        places = {r["folder"]: r for r in csv.DictReader(handle)}
    photos = folder / "Pictures"
    raws = 0
    for n, name in enumerate(CLASSES):
        files = sorted((SHARED / "wonders" / name).glob("*.jpg"))[:PER_CLASS]
        target = photos / places[name]["city"].split(" (")[0]
        target.mkdir(parents=True, exist_ok=True)
        for i, src in enumerate(files):
            dest = target / f"IMG_{n:02d}{i:02d}.jpg"
            if i < WITH_GPS:
                lat, lon = float(places[name]["latitude"]), float(places[name]["longitude"])
                lat, lon = lat + 0.004 * (i + 1), lon - 0.003 * (i + 1)
                heic = (name, i) == HEIC_SHOT
                exif = exif_block(
                    taken=f"20{18 + i + n % 5}:0{1 + n % 9}:1{i} 1{i}:2{n % 6}:00",
                    make="Apple" if heic else "Fujifilm",
                    model="iPhone 15 Pro" if heic else "X-T30",
                    gps=("N" if lat >= 0 else "S", (abs(lat), 0.0, 0.0),
                         "E" if lon >= 0 else "W", (abs(lon), 0.0, 0.0)))
                image = Image.open(src).convert("RGB")
                if heic:
                    import pillow_heif

                    dest = dest.with_suffix(".HEIC")
                    pillow_heif.from_pillow(image).save(dest, quality=88, exif=exif)
                else:
                    image.save(dest, "JPEG", quality=88, exif=exif)
            elif i in WITH_RAW:
                shutil.copyfile(src, dest)
            else:
                os.symlink(src, dest)
            if i in WITH_RAW:
                add_raw(dest, raws)
                raws += 1
    # places the shipped model was never trained on: `photolm places` groups them
    berlin = photos / "Berlin"
    berlin.mkdir(parents=True, exist_ok=True)
    for name in UNSEEN:
        for i, src in enumerate(sorted((SHARED / "landmarks-unseen-dev" / name).glob("*.jpg"))
                                [:PER_CLASS]):
            dest = berlin / f"IMG_{name[7:11]}{i:02d}.jpg"
            if i in WITH_RAW:
                shutil.copyfile(src, dest)
                add_raw(dest, raws)
                raws += 1
            else:
                os.symlink(src, dest)
    misc = photos / "Phone"
    misc.mkdir(parents=True, exist_ok=True)
    for i, src in enumerate(sorted((SHARED / "distractors").rglob("*.jpg"))[:12]):
        os.symlink(src, misc / f"PXL_{i:04d}.jpg")
    return photos


def wait_for_images(page) -> None:
    page.wait_for_function("Array.from(document.images).every(i => i.complete)",
                           timeout=60_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "desktop")
    args = parser.parse_args()
    from photolm.desktop.server import prepare, serve_in_thread
    from tests.desktop.browser import chromium

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        photos = build_library(work)
        catalog = work / "catalog.sqlite"
        subprocess.run([sys.executable, "-m", "photolm", "scan", str(photos), "--catalog",
                        str(catalog), "--quiet"], check=False, cwd=REPO,
                       env={**os.environ, "PYTHONPATH": str(REPO)})
        prepared = prepare(catalog, None, "127.0.0.1", 0, cache_dir=work / "thumbs")
        server = serve_in_thread(prepared.app, prepared.sock)
        base = prepared.url.split("/?")[0]
        args.out.mkdir(parents=True, exist_ok=True)
        desktop = prepared.app.desktop
        with chromium() as browser:
            # bypass_csp: Playwright's wait_for_function evaluates a string, which our CSP forbids
            context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
            page = context.new_page()
            page.goto(prepared.url)

            def shot(path: str, name: str) -> None:
                page.goto(base + path)
                wait_for_images(page)
                page.screenshot(path=str(args.out / f"{name}.png"))
                print(f"{name}: {base}{path}")

            shot("/", "landmarks")
            shot("/landmark/eiffel-tower?order=score", "landmark")
            shot("/search?q=colosseo", "search")
            page.goto(base + "/landmark/taj-mahal?order=newest")
            photo = page.locator(".grid a").first.get_attribute("href")
            shot(photo or "/", "photo")
            shot("/uncertain", "uncertain")
            shot("/map", "map")
            page.goto(base + "/tags")
            page.click("button[formaction='/tags/preview']")
            desktop.jobs.wait(120)
            shot("/tags", "tags")
            shot("/scan", "scan")
            shot("/places", "places")
            context.close()
        server.should_exit = True


if __name__ == "__main__":
    main()
