# SPDX-License-Identifier: GPL-3.0-or-later
"""Time ``tag --embed`` and ``untag`` per photo through the library, on 12 MP noise JPEGs.

Compare two checkouts by running this script once with each on ``PYTHONPATH`` in the same
session (alternate them: the machine's load moves medians more than small changes do)::

    PYTHONPATH=/path/to/other/checkout python scripts/bench_tags.py --photos 12
    PYTHONPATH=$PWD python scripts/bench_tags.py --photos 12

Prints the median per photo of tagging and of untagging. Works with ``photolm.metadata`` and
with the older ``photolm.tags`` package name.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

import photolm
from photolm.bundle import Landmark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=12)
    parser.add_argument("--size", type=int, nargs=2, default=(4000, 3000))
    args = parser.parse_args()
    try:
        from photolm.metadata import apply_tags, plan_tags, plan_untag
        from photolm.metadata.undo import MemoryUndoStore

        kwargs: dict[str, Any] = {"undo": MemoryUndoStore()}
    except ImportError:  # a checkout from before the rename
        from photolm.tags import apply_tags, plan_tags, plan_untag  # type: ignore[no-redef]

        kwargs = {}
    landmark = Landmark("eiffel_tower", "Eiffel Tower", (), "Paris", "France", 48.8584, 2.2945)
    rng = np.random.default_rng(0)
    width, height = args.size
    tag_s: list[float] = []
    untag_s: list[float] = []
    with tempfile.TemporaryDirectory(prefix="photolm-bench-tags-") as folder:
        for i in range(args.photos):
            photo = Path(folder) / f"p{i}.jpg"
            pixels = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(photo, quality=85)
            start = time.perf_counter()
            apply_tags(plan_tags(photo, landmark, 0.9, "bench", mode="embed"), **kwargs)
            tag_s.append(time.perf_counter() - start)
            start = time.perf_counter()
            apply_tags(plan_untag(photo), **kwargs)
            untag_s.append(time.perf_counter() - start)
            photo.unlink()
    print(f"{Path(photolm.__file__).parent.parent}: tag --embed median "
          f"{statistics.median(tag_s) * 1000:.0f} ms, untag median "
          f"{statistics.median(untag_s) * 1000:.0f} ms per {width}x{height} JPEG "
          f"(n={args.photos})")


if __name__ == "__main__":
    main()
