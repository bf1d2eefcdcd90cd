# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``photolm`` typer application: registers the commands, nothing else."""

from __future__ import annotations

import typer

from photolm import __version__
from photolm.cli import (
    confirm,
    export_dataset,
    info,
    landmarks,
    learn,
    listing,
    places,
    prune,
    scan,
    search,
    serve,
    tag,
    unlearn,
    untag,
)
from photolm.cli.closed_pipe import whole_writes
from photolm.cli.flag_help import hide_flag_types
from photolm.cli.usage import OneLineUsageGroup

hide_flag_types()

app = typer.Typer(
    name="photolm",
    cls=OneLineUsageGroup,
    help=(
        "Recognise landmarks in your own photo folders, offline.\n\n"
        "Start with **photolm scan ~/Pictures**, then **photolm search "
        '"Eiffel Tower"**; **photolm tag** writes the landmarks into your photos\' '
        "metadata. Nothing leaves your machine."
    ),
    rich_markup_mode="markdown",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"photolm {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Recognise landmarks in your own photo folders, offline."""


app.command("scan")(scan.scan)
app.command("search")(search.search)
app.command("list")(listing.list_photos)
app.command("landmarks")(landmarks.landmarks)
app.command("info")(info.info)
app.command("tag")(tag.tag)
app.command("untag")(untag.untag)
app.command("confirm")(confirm.confirm)
app.command("prune")(prune.prune)
app.command("serve")(serve.serve)
app.command("learn")(learn.learn)
app.command("unlearn")(unlearn.unlearn)
app.add_typer(places.app, name="places")
app.command("export-dataset")(export_dataset.export_dataset)


def main() -> None:
    """Console-script entry point (also ``python -m photolm``: messages name ``photolm``)."""
    whole_writes()  # a reader that leaves early is seen whatever PYTHONUNBUFFERED says
    app(prog_name="photolm")
