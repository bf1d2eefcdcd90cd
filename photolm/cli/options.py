# SPDX-License-Identifier: GPL-3.0-or-later
"""Options shared by several commands, declared once so their names and help never drift."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer


class DeviceChoice(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


CatalogOpt = Annotated[
    Path | None,
    typer.Option(
        "--catalog",
        help="Catalogue file. Default: $PHOTOLM_CATALOG, else photolm/catalog.sqlite in your "
        "user data folder.",
        show_default=False,
        dir_okay=False,
    ),
]
ModelOpt = Annotated[
    Path | None,
    typer.Option(
        "--model",
        help="Model bundle folder. Default: $PHOTOLM_MODEL, else the model shipped with photolm.",
        show_default=False,
    ),
]
# learn, unlearn, places, landmarks, serve and info: the catalogue's stored vectors are that
# network's, so without --model they use it (photolm.model_choice)
ScannedModelOpt = Annotated[
    Path | None,
    typer.Option(
        "--model",
        help="Model bundle folder. Default: $PHOTOLM_MODEL, else the model this catalogue's "
        "photos were last scanned with (the shipped one before any scan).",
        show_default=False,
    ),
]
DeviceOpt = Annotated[
    DeviceChoice,
    typer.Option(
        "--device",
        help="Where the model runs: auto (GPU when onnxruntime-gpu can use one), cpu or cuda.",
        case_sensitive=False,
    ),
]
JsonOpt = Annotated[
    bool,
    typer.Option("--json", help="Print machine-readable JSON on stdout instead of a table."),
]


class SidecarStyleChoice(str, Enum):
    darktable = "darktable"
    lightroom = "lightroom"


PathsArg = Annotated[
    list[Path] | None,
    typer.Argument(metavar="PATHS", show_default=False,
                   help="Photos or folders, as scanned. Default: every catalogued photo."),
]
EmbedOpt = Annotated[
    bool,
    typer.Option("--embed", help="Write into the photo itself (JPEG, PNG, TIFF, WebP; HEIC with "
                 "ExifTool) so the tag travels with the file. Other formats get a sidecar, "
                 "with one line saying so. Default: an XMP sidecar, the original untouched."),
]
SidecarStyleOpt = Annotated[
    SidecarStyleChoice,
    typer.Option("--sidecar-style", case_sensitive=False,
                 help="Sidecar name: darktable/digiKam's IMG.jpg.xmp, or Lightroom's IMG.xmp "
                 "(refused where a raw file and its JPEG would share it)."),
]
WriteLocationOpt = Annotated[
    bool,
    typer.Option("--write-location", help="Give photos without GPS the landmark's position, "
                 "marked as estimated, so map views can place them."),
]
DryRunOpt = Annotated[
    bool,
    typer.Option("--dry-run", help="Show what would change, field by field; change nothing."),
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress bar and no summary line.")
]
