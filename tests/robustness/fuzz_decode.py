# SPDX-License-Identifier: GPL-3.0-or-later
"""Coverage-guided fuzzing of photo decoding and metadata reading with atheris (libFuzzer).

Not a test: a tool to run by hand for minutes or hours, whose findings become regression
files that ``test_fuzz.py`` replays in every CI run::

    pip install atheris
    python -m tests.robustness.fuzz_decode -max_total_time=300 -rss_limit_mb=3072 \\
        -artifact_prefix=/tmp/photolm-fuzz/ /tmp/photolm-fuzz-corpus

The corpus folder is seeded with small valid photos of every format on the first run. The
property is the one the scan relies on: :func:`photolm.images.load_for_model` and
:func:`photolm.images.image_info` return a correct result or raise ``ImageError``;
:func:`photolm.exif.read_exif` returns an ``ExifInfo`` with sane fields and never raises.
Anything else is a crash; copy its artifact into ``tests/robustness/regressions/``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path


def seed_corpus(folder: Path) -> None:
    """Small valid files of every photo format, with EXIF where the format carries it."""
    from tests.robustness.fuzz_targets import seeds

    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        return
    for name, data in seeds().items():
        (folder / name).write_bytes(data)


def main() -> None:
    import atheris

    with atheris.instrument_imports():
        import exifread  # noqa: F401  (instrumented for coverage feedback)
        from PIL import (  # noqa: F401
            GifImagePlugin,
            Image,
            JpegImagePlugin,
            PngImagePlugin,
            TiffImagePlugin,
        )

        from tests.robustness import fuzz_targets

    corpus = [a for a in sys.argv[1:] if not a.startswith("-")]
    for folder in corpus:
        seed_corpus(Path(folder))
    scratch = Path(tempfile.mkdtemp(prefix="photolm-fuzz-")) / "input"

    def one_input(data: bytes) -> None:
        scratch.write_bytes(data)
        fuzz_targets.check_file(scratch)

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
