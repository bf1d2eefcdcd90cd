# SPDX-License-Identifier: GPL-3.0-or-later
"""The BUNDLE argument of export's tools (``python -m export.descriptor|gate|unseen|results``).

:func:`photolm.bundle.read_bundle` explains a path with no bundle the way ``photolm`` needs
("pass --model ..., or unset PHOTOLM_MODEL"), options these tools do not have. Here such a
path (a trainer run's folder too) gets the advice they need, in one place for all four;
every problem of a bundle that is there stays read_bundle's to explain.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def read_given_bundle(path: Path | str) -> Any:
    """The bundle at ``path`` (a folder or its ``manifest.json``), or one ``ExportError``
    line naming what was given and what to give instead."""
    from export.errors import ExportError
    from photolm.bundle import MANIFEST, read_bundle
    from photolm.printed_paths import printed

    root = Path(path).expanduser()
    if not (root / MANIFEST).is_file() and root.name != MANIFEST:
        what = "does not exist" if not root.exists() else f"is not a model bundle (no {MANIFEST})"
        raise ExportError(f"{printed(root)} {what}; give the folder photolm-export wrote "
                          "(its --out).")
    return read_bundle(root)
