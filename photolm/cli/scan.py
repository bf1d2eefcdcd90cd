# SPDX-License-Identifier: GPL-3.0-or-later
"""``photolm scan``: find photos, recognise landmarks, store everything in the catalogue."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from photolm.cli.learn import merged_json, note_adopted
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
from photolm.cli.output import (
    Bar,
    bar_wanted,
    display,
    err,
    note,
    print_json,
    progress_bar,
    reporting,
    say,
    warn,
    warn_unmatchable,
)
from photolm.ctrl_c import exit_status, interrupted
from photolm.wording import counted

if TYPE_CHECKING:
    from photolm.catalog import Catalog
    from photolm.scan import ScanSummary
    from photolm.tagging import TagSummary


def scan(
    paths: Annotated[
        list[Path],
        typer.Argument(metavar="PATHS", show_default=False,
                       help="Photo folders (or single photos) to scan, recursively."),
    ],
    catalog: CatalogOpt = None,
    model: ModelOpt = None,
    device: DeviceOpt = DeviceChoice.auto,
    json_out: JsonOpt = False,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=1024,
                          help="Photos per catalogue transaction, and per inference batch on "
                          "a GPU or with --threads above 1.")
    ] = 16,
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1,
                     help="Threads that read photos and, on the CPU, run the model on them. "
                     "Default: one per CPU core.",
                     show_default=False),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option("--threads", min=1,
                     help="onnxruntime CPU threads per inference run. Default: 1, as the "
                     "workers run the model side by side; with more, one thread runs it on "
                     "whole batches.",
                     show_default=False),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Re-process photos even when they are unchanged.")
    ] = False,
    include_hidden: Annotated[
        bool, typer.Option("--include-hidden",
                           help="Also scan hidden files and folders (names starting with a dot).")
    ] = False,
    verify: Annotated[
        bool, typer.Option("--verify", help="Also re-check the content of photos that look "
                           "unchanged (same size and time) and re-process those replaced by "
                           "another photo. Reads 512 KiB per photo.")
    ] = False,
    exclude: Annotated[
        list[str] | None,
        typer.Option("--exclude", metavar="GLOB", show_default=False,
                     help="Leave out photos whose name, folder name or path matches, e.g. "
                     "`*.tmp`, `Trash`, `2019/raw/*`. Repeatable."),
    ] = None,
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
    that cannot be read gets one warning line and an entry in the catalogue; while it stays
    unchanged, later scans count it as known instead of failing again. Photos with GPS are
    checked against the landmark's position. Exit status: 0 when nothing new failed (and
    every photo was tagged, with --write-tags); 1 when some photo newly could not be read,
    a folder could not be read, a symbolic link is broken, or a folder given is empty
    although photos were catalogued in it (a drive not mounted?); 130 when Ctrl-C
    stopped it (143 for SIGTERM, 129 for SIGHUP).
    """
    with reporting(), warnings.catch_warnings():
        from photolm.cli.usage import options_clash

        if not write_tags and (embed or write_location
                               or sidecar_style != SidecarStyleChoice.darktable):
            raise options_clash("scan", "--embed, --sidecar-style and --write-location only "
                                "apply with --write-tags.")
        # Pillow warns about odd EXIF blocks ("Corrupt EXIF data", "Truncated File Read")
        # on photos it still decodes correctly; they are not actionable, a failed photo is.
        warnings.simplefilter("ignore", UserWarning)
        from photolm.bundle import load_bundle
        from photolm.catalog import Catalog, resolve_catalog_path
        from photolm.printed_paths import given_paths
        from photolm.scan import Scanner, ScanOptions, scan_session

        bundle = load_bundle(model)
        # with the bundle's descriptor output too, when it has one (issue 12)
        embedder = scan_session(bundle, device=device.value, threads=threads)
        options = ScanOptions(batch_size=batch_size, workers=workers, force=force,
                              include_hidden=include_hidden, verify=verify,
                              exclude=tuple(exclude or ()))
        with Catalog.open(resolve_catalog_path(catalog), write=True) as cat:
            scanner = Scanner(cat, bundle, embedder, options)
            roots = given_paths(paths)  # as `photolm list` prints them, too
            with progress_bar("scanning", show=bar_wanted(quiet=quiet, json_out=json_out),
                              rate="photos/s") as bar:
                summary = scanner.run(roots, _Renderer(bar))
            tags = None
            if write_tags and not summary.interrupted:
                roots = scanner.roots or roots  # as the catalogue spells them
                tags = _write_tags(cat, roots, embed, sidecar_style, write_location, json_out,
                                   quiet)
                summary = scanner.recount(roots)  # the totals: tagged now
        warn_unmatchable(summary.unmatchable)
        note_adopted(scanner.matcher.adopted)
        for lost in summary.lost_learned:  # a new threshold or network unnamed them
            note(lost.name, lost.sentence())
        if json_out:
            print_json({**summary.to_json(),
                        "merged_learned": [merged_json(m) for m in scanner.matcher.adopted],
                        **({"tags": tags.to_json()} if tags else {})})
        elif not quiet:
            _print_summary(summary, tags)
            if tags is not None:
                from photolm.cli.tag import closing_line

                err.print(closing_line(tags), markup=False, highlight=False, emoji=False)
        if summary.interrupted:
            raise typer.Exit(exit_status(summary.stop_signal))
        raise typer.Exit(0 if summary.ok and (tags is None or tags.ok) else 1)


def _write_tags(cat: Catalog, roots: list[Path], embed: bool,
                sidecar_style: SidecarStyleChoice, write_location: bool, json_out: bool,
                quiet: bool) -> TagSummary:
    """Tag the photos under this scan's roots that qualify: the same code as `photolm tag`,
    and the same line when Ctrl-C stops it."""
    import contextlib

    from photolm.cli.tag import interrupted_line, render_tag_events
    from photolm.errors import TaggingInterrupted
    from photolm.tagging import TagSettings, TagSummary, select_photos, tag_photos

    settings = TagSettings(mode="embed" if embed else "sidecar",
                           sidecar_style=sidecar_style.value, write_location=write_location)
    rows = select_photos(cat, roots).rows  # a root without photos was already reported
    summary = TagSummary("tag")
    try:
        # closed while the catalogue is open: the writes done so far are recorded
        with contextlib.closing(tag_photos(cat, rows, settings)) as events:
            return render_tag_events(events, summary, json_out=json_out, quiet=quiet)
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP
        raise TaggingInterrupted(interrupted_line(summary, exc), exc) from None


class _Renderer:
    """Turns scan events into progress and one warning line per problem."""

    def __init__(self, bar: Bar) -> None:
        self.bar = bar

    def __call__(self, event: object) -> None:
        from photolm.scan import PhotoDone, Started, WalkIssue

        if isinstance(event, WalkIssue):
            warn(event.path, event.message)
        elif isinstance(event, Started):
            if event.other_model:  # why an unchanged library takes a full scan's time
                say(f"{counted(event.other_model, 'unchanged photo')} read again: their "
                    "stored vectors are another model's (an earlier photolm's, or another "
                    "bundle's), which this one cannot use")
            if event.to_decode:  # a re-scan with nothing to do draws no "0/0" bar
                self.bar.start(event.to_decode)
        elif isinstance(event, PhotoDone):
            if event.problem:
                warn(event.path, event.problem)
            if event.decoded:
                self.bar.advance()


def _formats(formats: set[str]) -> str:
    """What a pair's photo is, for a summary row: "JPEG", "HEIC" or, when this run met
    both, "JPEG/HEIC" (:func:`photolm.discovery.paired_format`)."""
    return "/".join(sorted(formats, reverse=True)) or "photo"


def _from_raw_label(summary: ScanSummary) -> str:
    """The summary row for pairs recognised from their RAW, naming what was unreadable."""
    from photolm.discovery import paired_format

    return f"{_formats({paired_format(p) for p, _, _ in summary.from_raw})} unreadable, RAW used"


def _print_summary(summary: ScanSummary, tags: TagSummary | None = None) -> None:
    """This run's work beside the totals of the scanned folders, so a re-scan that had
    nothing to do does not read "with a landmark 0, 0.0 photos/s"; with --write-tags, the
    photos tagged by this run beside those tagged in these folders."""
    from rich.table import Table

    from photolm.discovery import describe_skipped

    total = summary.in_these_folders
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_column()
    table.add_row("", "this run", "in these folders")
    rows: list[tuple[str, object, object]] = [
        ("photos found", summary.found, total.get("photos", "")),
        ("recognised now", summary.processed, ""),
        ("re-matched (new prototypes)", summary.rematched, ""),
        ("moved or renamed", summary.moved, ""),
        ("skipped, unchanged", summary.unchanged, ""),
        ("with a landmark", summary.landmarks, total.get("with_landmark", "")),
        ("decided by GPS evidence", summary.gps_changed, ""),
        # photos, as --json's `errors` and the column beside it count them
        ("errors", len(summary.errors), total.get("errors", "")),
        ("missing since last scan", summary.missing, ""),
    ]
    optional = [("walk problems (folders, links)", len(summary.walk_problems), ""),
                ("known unreadable (unchanged)", summary.known_failures, ""),
                ("read again (another model)", summary.other_model, ""),
                ("replaced (--verify)", summary.replaced, ""),
                ("excluded (--exclude)", summary.excluded, ""),
                ("hidden files skipped", summary.hidden, ""),
                ("hidden folders not looked into", len(summary.hidden_folders), ""),
                # joined by this run (a re-scan joins none), beside all those found
                (f"RAW + {_formats(summary.paired_formats)} pairs joined", summary.joined,
                 summary.pairs),
                (f"RAWs newly joined to a {_formats(summary.merged_formats)}", summary.merged,
                 ""),
                (_from_raw_label(summary), len(summary.from_raw), "")]
    rows += [row for row in optional if row[1]]
    if tags is not None:
        rows.append(("tagged", tags.counts.get("written", 0), total.get("tagged", "")))
    if summary.skipped:  # videos, Live Photo videos
        rows.append(("skipped (not scanned)", describe_skipped(summary.skipped), ""))
    for label, now, catalogued in rows:
        table.add_row(label, str(now), str(catalogued))
    table.add_row("time", f"{summary.seconds:.1f} s", "")
    if summary.processed:
        table.add_row("speed", f"{summary.photos_per_second:.1f} photos/s", "")
    err.print(table)
    # a sentence, not a count: under the table rather than in its right-aligned number column
    err.print(f"model: {summary.bundle} on {summary.provider}", markup=False, highlight=False)
    if summary.known_failures:
        err.print(f"{summary.known_failures} known unreadable (not changed since they failed; "
                  "--force tries again): photolm list --errors", markup=False, highlight=False)
    if summary.hidden:
        err.print(f"{counted(summary.hidden, 'hidden file')} skipped (names starting with a dot): "
                  "--include-hidden scans them", markup=False, highlight=False)
    if summary.hidden_folders:
        err.print(_hidden_folders_line(summary.hidden_folders), markup=False, highlight=False)
    if summary.interrupted:
        err.print(f"[yellow]{interrupted(summary.stop_signal, capital=True)}:[/] everything "
                  "scanned so far is saved; run the same command again to continue.")


def _hidden_folders_line(folders: list[str]) -> str:
    """The hidden folders the walk did not look into, in one line: a photo kept in one
    (``.private/IMG_0001.jpg``) is not counted as a hidden file, and must not go unsaid.
    The first few are named, as the scan's record keeps them; ``--json``'s
    ``hidden_folders`` lists them all."""
    from photolm.scan import HIDDEN_FOLDERS_KEPT as shown

    names = [display(f) for f in folders[:shown]]
    more = len(folders) - len(names)
    listed = ", ".join(names) + (f" and {more} more" if more else "")
    return (f"{counted(len(folders), 'hidden folder')} not looked into (names starting with a "
            f"dot: {listed}): --include-hidden scans them")
