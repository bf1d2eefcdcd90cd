# SPDX-License-Identifier: GPL-3.0-or-later
"""``photolm scan``: find photos, recognise landmarks, store everything in the catalogue."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from photolm.cli.options import (
    CatalogOpt,
    DeviceChoice,
    DeviceOpt,
    EmbedOpt,
    JsonOpt,
    ModelOpt,
    SidecarStyleChoice,
    SidecarStyleOpt,
    WriteLocationOpt,
)
from photolm.cli.output import err, print_json, reporting, warn

if TYPE_CHECKING:
    from photolm.catalog import Catalog
    from photolm.scan import ScanSummary
    from photolm.tagging import TagSummary


def scan(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Photo folders (or single photos) to scan, recursively.",
                       show_default=False),
    ],
    catalog: CatalogOpt = None,
    model: ModelOpt = None,
    device: DeviceOpt = DeviceChoice.auto,
    json_out: JsonOpt = False,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=1024, help="Photos per inference batch.")
    ] = 16,
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, help="Decoding threads. Default: one per CPU core.",
                     show_default=False),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option("--threads", min=1, help="onnxruntime CPU threads. Default: CPU cores.",
                     show_default=False),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Re-process photos even when they are unchanged.")
    ] = False,
    include_hidden: Annotated[
        bool, typer.Option("--include-hidden", help="Also look inside hidden folders.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar and no summary table.")
    ] = False,
    write_tags: Annotated[
        bool, typer.Option("--write-tags", help="Then tag the photos found, as `photolm tag` "
                           "would: recognised landmarks go into their metadata.")
    ] = False,
    embed: EmbedOpt = False,
    sidecar_style: SidecarStyleOpt = SidecarStyleChoice.darktable,
    write_location: WriteLocationOpt = False,
) -> None:
    """Scan photo folders and recognise the landmarks in them.

    Unchanged photos are skipped, renamed or moved photos keep their results, and a photo
    that cannot be read gets one warning line and an entry in the catalogue. Photos with
    GPS are checked against the landmark's position. Exit status: 0 when every photo was
    processed (and tagged, with --write-tags), 1 when some could not be.
    """
    with reporting(), warnings.catch_warnings():
        from photolm.errors import UsageError

        if not write_tags and (embed or write_location
                               or sidecar_style != SidecarStyleChoice.darktable):
            raise UsageError("--embed, --sidecar-style and --write-location only apply with "
                             "--write-tags.")
        # Pillow warns about odd EXIF blocks ("Corrupt EXIF data", "Truncated File Read")
        # on photos it still decodes correctly; they are not actionable, a failed photo is.
        warnings.simplefilter("ignore", UserWarning)
        from photolm.bundle import load_bundle
        from photolm.catalog import Catalog, resolve_catalog_path
        from photolm.runtime import OnnxEmbedder
        from photolm.scan import Scanner, ScanOptions

        bundle = load_bundle(model)
        embedder = OnnxEmbedder(
            bundle.model_path,
            input_name=bundle.input_name,
            output_name=bundle.output_name,
            device=device.value,
            threads=threads,
        )
        options = ScanOptions(batch_size=batch_size, workers=workers, force=force,
                              include_hidden=include_hidden)
        with Catalog.open(resolve_catalog_path(catalog), write=True) as cat:
            scanner = Scanner(cat, bundle, embedder, options)
            show_bar = err.is_terminal and not quiet and not json_out
            roots = [p.expanduser() for p in paths]
            with _Renderer(show_bar) as render:
                summary = scanner.run(roots, render)
            tags = None
            if write_tags and not summary.interrupted:
                tags = _write_tags(cat, roots, embed, sidecar_style, write_location, json_out,
                                   quiet)
        if json_out:
            print_json({**summary.to_json(), **({"tags": tags.to_json()} if tags else {})})
        elif not quiet:
            _print_summary(summary)
            if tags is not None:
                from photolm.cli.tag import closing_line

                err.print(closing_line(tags), markup=False, highlight=False, emoji=False)
        if summary.interrupted:
            raise typer.Exit(130)
        raise typer.Exit(0 if summary.ok and (tags is None or tags.ok) else 1)


def _write_tags(cat: Catalog, roots: list[Path], embed: bool,
                sidecar_style: SidecarStyleChoice, write_location: bool, json_out: bool,
                quiet: bool) -> TagSummary:
    """Tag the photos under this scan's roots that qualify: the same code as `photolm tag`."""
    from photolm.cli.tag import render_tag_events
    from photolm.tagging import TagSettings, TagSummary, select_photos, tag_photos

    settings = TagSettings(mode="embed" if embed else "sidecar",
                           sidecar_style=sidecar_style.value, write_location=write_location)
    rows = select_photos(cat, roots).rows  # a root without photos was already reported
    summary = TagSummary("tag")
    return render_tag_events(tag_photos(cat, rows, settings), summary, json_out=json_out,
                             quiet=quiet)


class _Renderer:
    """Turns scan events into a progress bar and one warning line per problem."""

    def __init__(self, show_bar: bool) -> None:
        self.show_bar = show_bar
        self.progress = None
        self.task = None

    def __enter__(self) -> _Renderer:
        if self.show_bar:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(
                TextColumn("[bold]scanning"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]} photos/s"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=err,
                transient=True,
            )
            self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.__exit__(None, None, None)

    def __call__(self, event: object) -> None:
        from photolm.scan import ERROR, UNCHANGED, PhotoDone, Started, WalkIssue

        if isinstance(event, WalkIssue):
            warn(event.path, event.message)
        elif isinstance(event, Started):
            if self.progress is not None:
                self.task = self.progress.add_task("scan", total=event.to_decode, rate="-")
        elif isinstance(event, PhotoDone):
            if event.outcome == ERROR:
                warn(event.path, event.error or "failed")
            if self.progress is not None and self.task is not None and event.outcome != UNCHANGED:
                task = self.progress.tasks[0]
                rate = f"{task.speed:.1f}" if task.speed else "-"
                self.progress.update(self.task, advance=1, rate=rate)


def _print_summary(summary: ScanSummary) -> None:
    from rich.table import Table

    from photolm.discovery import describe_skipped

    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("photos found", summary.found),
        ("recognised now", summary.processed),
        ("re-matched (new prototypes)", summary.rematched),
        ("moved or renamed", summary.moved),
        ("skipped, unchanged", summary.unchanged),
        ("with a landmark", summary.landmarks),
        ("decided by GPS evidence", summary.gps_changed),
        ("errors", len(summary.errors) + len(summary.walk_problems)),
        ("missing since last scan", summary.missing),
        ("skipped (not scanned)", describe_skipped(summary.skipped)),
        ("time", f"{summary.seconds:.1f} s"),
        ("speed", f"{summary.photos_per_second:.1f} photos/s"),
        ("model", f"{summary.bundle} on {summary.provider}"),
    ]
    for label, value in rows:
        table.add_row(label, str(value))
    err.print(table)
    if summary.interrupted:
        err.print("[yellow]Interrupted:[/] everything scanned so far is saved; run the same "
                  "command again to continue.")
