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
