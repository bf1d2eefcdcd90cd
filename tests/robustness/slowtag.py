# SPDX-License-Identifier: GPL-3.0-or-later
"""Tag every photo of a folder, slowed down, for tests that ``kill -9`` the tag writer.

Usage: ``python -m tests.robustness.slowtag PHOTOS MODE``, MODE ``embed`` or ``sidecar``.
Each rewrite pauses ``SLOW_REPLACE`` seconds after its temporary file is complete and
verified and before the rename (the widest window in which a kill leaves a temporary file
behind), so kills at random moments land in every phase: planning, writing the temporary
file, waiting to rename, and between photos. With ``SLOW_PROGRESS=FILE`` the number of
photos done so far is written to FILE after each one, so a test can aim its kill at a given
photo whatever the machine's speed. The landmark is always the Eiffel Tower.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

LANDMARK = ("eiffel_tower", "Eiffel Tower", ("Tour Eiffel",), "Paris", "France", 48.8584, 2.2945)


def main() -> None:
    from photolm.bundle import Landmark
    from photolm.metadata import apply_tags, atomic, plan_tags

    folder, mode = Path(sys.argv[1]), sys.argv[2]
    pause = float(os.environ.get("SLOW_REPLACE", "0.05"))

    def slow(temp: Path, target: Path) -> None:
        time.sleep(pause)

    atomic.before_replace = slow  # type: ignore[assignment]
    progress = os.environ.get("SLOW_PROGRESS")
    landmark = Landmark(*LANDMARK)
    # pathlib's glob matches hidden names: a killed writer's .photolm-tmp-…jpg is no photo
    # (photolm's discovery skips it), and tagging it left a sidecar temp behind
    photos = sorted(p for p in folder.glob("*.jpg") if not p.name.startswith("."))
    for done, photo in enumerate(photos, start=1):
        apply_tags(plan_tags(photo, landmark, 0.9, "model-1", mode=mode))  # type: ignore[arg-type]
        if progress:
            Path(progress + ".tmp").write_text(str(done))
            os.replace(progress + ".tmp", progress)


if __name__ == "__main__":
    main()
