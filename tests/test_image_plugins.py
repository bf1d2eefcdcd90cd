# SPDX-License-Identifier: GPL-3.0-or-later
"""Opening a photo imports Pillow's plugins for photo formats only (issue 15): all ~45 of
them cost ~25 ms at the start of every scan, for formats photolm refuses anyway."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.tinybundle import COLOURS, write_photo

PROBE = """
import json, sys
from photolm.images import open_rgb
for path in sys.argv[1:]:
    open_rgb(path, 32)
print(json.dumps(sorted(m for m in sys.modules if m.startswith("PIL.")
                        and m.endswith("ImagePlugin"))))
"""


def test_only_photo_plugins_are_imported(tmp_path: Path) -> None:
    photos = [write_photo(tmp_path / f"p.{ext}", COLOURS["eiffel-tower"])
              for ext in ("jpg", "png", "tif", "webp", "gif", "bmp")]
    out = subprocess.run([sys.executable, "-c", PROBE, *map(str, photos)], check=True,
                         capture_output=True, text=True, cwd=Path(__file__).parents[1]).stdout
    plugins = {name.removeprefix("PIL.").removesuffix("ImagePlugin")
               for name in json.loads(out)}
    assert {"Jpeg", "Png", "Tiff", "WebP", "Gif", "Bmp"} <= plugins
    # Ppm: Image.open's own preinit imports it
    allowed = {"Jpeg", "Mpo", "Png", "Tiff", "WebP", "Gif", "Bmp", "Avif", "Ppm"}
    assert not plugins - allowed, plugins - allowed
