# SPDX-License-Identifier: GPL-3.0-or-later
"""The README's results table, rendered from a bundle's own manifest.

``python -m export.results photolm/models/default`` prints it as Markdown. Reading the
numbers back from the shipped bundle (rather than from a log) means the table cannot
describe a different model than the one users get.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from photolm.bundle import Bundle
from photolm.wording import counted


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{100 * float(value):.1f} %"


def results_markdown(bundle: Bundle) -> str:
    """A Markdown table of the shipped model's held-out metrics and its variants."""
    m = bundle.metrics
    if "top1" not in m:
        return f"Bundle {bundle.path} records no export metrics.\n"
    cal = m.get("calibration") or {}
    data = bundle.provenance.get("data", {})
    photos = data.get("photos", {})
    lines = [
        f"Model: {bundle.name} ({bundle.precision}, "
        f"{bundle.model_path.stat().st_size / 1e6:.1f} MB, "
        f"{counted(len(bundle.landmarks), 'landmark')}, "
        f"bundle {bundle.short_id}).",
        f"Measured on the {m.get('evaluated_on', 'held-out split')}: {m.get('images')} landmark "
        f"photos never used for training or prototypes (training: {photos.get('train', '?')} "
        f"photos), and {m.get('distractor_images', 0)} non-landmark photos never used to choose "
        "the threshold.",
        "",
        "| metric | value |",
        "| --- | ---: |",
        f"| top-1 accuracy | {_pct(m.get('top1'))} |",
        f"| top-5 accuracy | {_pct(m.get('top5'))} |",
        f"| GAP | {float(m['gap']):.3f} |",
        f"| false-positive rate on non-landmark photos (threshold {bundle.threshold:.3f}, "
        f"target {_pct(cal.get('target_fpr'))}) | {_pct(m.get('fpr'))} |",
        f"| precision / recall at the threshold | {_pct(m.get('precision_at_threshold'))} / "
        f"{_pct(m.get('recall_at_threshold'))} |",
    ]
    variants = m.get("variants") or {}
    if len(variants) > 1:
        lines += ["", "| model | size | images/s (this CPU) | top-1 | top-5 | GAP |",
                  "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for name, v in variants.items():
            lines.append(f"| {name} | {v['size_bytes'] / 1e6:.1f} MB | {v['images_per_s']:.0f} "
                         f"| {_pct(v['top1'])} | {_pct(v['top5'])} | {float(v['gap']):.3f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """``python -m export.results BUNDLE_DIR``: the table on stdout; a folder that is not a
    bundle is one ``Error:`` line, like every other export command."""
    import typer

    from export.bundle_arg import read_given_bundle
    from photolm.cli.output import reporting
    from photolm.cli.usage import tool_app, tool_command

    app = tool_app()

    @tool_command(app)
    def results(
        bundle: Path = typer.Argument(..., metavar="BUNDLE", show_default=False,
                                      help="Model bundle folder (from photolm-export)."),
    ) -> None:
        """Print the README's results table (Markdown) from a bundle's own manifest."""
        with reporting():
            text = results_markdown(read_given_bundle(bundle))
        sys.stdout.write(text)

    app(args=argv, prog_name="python -m export.results")


if __name__ == "__main__":
    main()
