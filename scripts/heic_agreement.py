#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Does recognising a HEIC from its stored thumbnail agree with the full decode?

Makes iPhone-like HEICs (4:3, 1600x1200, one 320 px thumbnail as iPhones store, quality 60)
from real landmark photos in ``../shared/data/landmarks-extra`` (cached in
``.bench/heic-agreement/``, never in the repository), then runs the shipped model on both
decodes of each: the full image (what photolm did before) and the thumbnail (what the scan
does now). Reports top-1 agreement (nearest landmark) and verdict agreement (landmark or
"none" after the threshold), with the cosine between the two embeddings.

    .venv/bin/python scripts/heic_agreement.py --n 200
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SOURCE = REPO.parent / "shared" / "data" / "landmarks-extra"
OUT = REPO / ".bench" / "heic-agreement"
SIZE = (1600, 1200)


def _make(job: tuple[str, str]) -> str:
    import pillow_heif
    from PIL import Image

    src, out = job
    if os.path.exists(out):
        return out
    with Image.open(src) as img:
        img = img.convert("RGB")
    w, h = img.size
    if w / h > 4 / 3:
        cw = round(h * 4 / 3)
        img = img.crop(((w - cw) // 2, 0, (w - cw) // 2 + cw, h))
    else:
        ch = round(w * 3 / 4)
        img = img.crop((0, (h - ch) // 2, w, (h - ch) // 2 + ch))
    img = img.resize(SIZE, Image.Resampling.BICUBIC)
    pillow_heif.from_pillow(img).save(out + ".part", format="HEIF", quality=60,
                                      thumbnails=[320])
    os.replace(out + ".part", out)
    return out


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    opts = parser.parse_args(argv)

    import numpy as np

    from photolm.bundle import default_bundle_path, read_bundle
    from photolm.images import open_rgb, to_model_input
    from photolm.matching import Matcher
    from photolm.photo_read import read_photo
    from photolm.runtime import OnnxEmbedder

    sources = sorted(SOURCE.glob("*/*/*.jpg"))
    step = max(1, len(sources) // opts.n)
    picks = sources[::step][: opts.n]
    OUT.mkdir(parents=True, exist_ok=True)
    jobs = [(str(p), str(OUT / f"{i:04d}.heic")) for i, p in enumerate(picks)]
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=opts.jobs) as pool:
        heics = list(pool.map(_make, jobs))
    print(f"{len(heics)} HEICs ready in {time.perf_counter() - start:.0f} s", file=sys.stderr)

    bundle = read_bundle(default_bundle_path())
    pre = bundle.preprocess
    embedder = OnnxEmbedder(bundle.model_path, input_name=bundle.input_name,
                            output_name=bundle.output_name, device="cpu", threads=1)
    matcher = Matcher.from_bundle(bundle, top_k=1)
    full_s = thumb_s = 0.0
    full, thumb = [], []
    for path in heics:
        t = time.perf_counter()
        full.append(to_model_input(open_rgb(path, pre.resize), pre))  # no stored_min: full
        full_s += time.perf_counter() - t
        t = time.perf_counter()
        read = read_photo(path, pre)
        thumb_s += time.perf_counter() - t
        assert read.pixels is not None, read.error
        thumb.append(read.pixels)
    ef = np.concatenate([embedder.embed(np.stack(full[i:i + 16]))
                         for i in range(0, len(full), 16)])
    et = np.concatenate([embedder.embed(np.stack(thumb[i:i + 16]))
                         for i in range(0, len(thumb), 16)])
    mf, mt = matcher.match(ef), matcher.match(et)
    pairs = list(zip(mf, mt, strict=True))
    top1 = sum(a.top[0].landmark_id == b.top[0].landmark_id for a, b in pairs)
    verdict = sum((a.landmark.landmark_id if a.landmark else None)
                  == (b.landmark.landmark_id if b.landmark else None) for a, b in pairs)
    cosine = np.sum(ef * et, axis=1)
    n = len(heics)
    report = {
        "photos": n, "source": "../shared/data/landmarks-extra (every k-th, sorted)",
        "heic": f"{SIZE[0]}x{SIZE[1]}, thumbnail 320 px, quality 60 (pillow-heif)",
        "bundle": bundle.name, "top1_agreement": round(top1 / n, 4),
        "verdict_agreement": round(verdict / n, 4),
        "cosine_median": round(float(np.median(cosine)), 4),
        "cosine_min": round(float(cosine.min()), 4),
        "decode_ms_full": round(1000 * full_s / n, 1),
        "decode_ms_thumbnail_read_photo": round(1000 * thumb_s / n, 1),
    }
    out = REPO / ".bench" / "heic_agreement.json"
    out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
