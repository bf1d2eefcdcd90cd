# SPDX-License-Identifier: GPL-3.0-or-later
"""Where output goes: data on stdout, talk (progress, warnings, errors) on stderr.

Keeping the two apart is what makes ``photolm search --json ... | jq`` safe while still
showing progress bars and warnings to the person at the terminal.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import string
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NoReturn

import typer
from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.style import Style
from rich.text import Span, Text

from photolm.cli.closed_pipe import PipeConsole
from photolm.errors import PhotolmError
from photolm.printed_paths import ONE_LINE, printed

DEBUG_ENV = "PHOTOLM_DEBUG"

out = PipeConsole(soft_wrap=True, highlight=False)
err = PipeConsole(stderr=True, soft_wrap=True, highlight=False)



def display(path: object) -> str:
    """A printable, one-line form of a path, read back by the commands that take paths:
    bytes that are not UTF-8, control characters and bidirectional controls become
    ``\\xNN`` bytes (``\\n``, ``\\r``, ``\\t``), a backslash ``\\\\`` (see
    :mod:`photolm.printed_paths`)."""
    return printed(path)


def print_json(data: Any) -> None:
    """Machine-readable output: plain JSON on stdout, nothing else mixed in."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    sys.stdout.flush()


def print_json_rows(rows: Iterable[Any]) -> None:
    """A JSON array written row by row, byte for byte what :func:`print_json` writes for
    the list: ``list --json`` of 100,000 photos never holds them all (docs/performance.md).
    Strings in JSON hold no raw newline, so indenting every line of a row nests it."""
    write = sys.stdout.write
    first = True
    for row in rows:
        text = json.dumps(row, ensure_ascii=False, indent=2, default=str)
        write(("[\n  " if first else ",\n  ") + text.replace("\n", "\n  "))
        first = False
    write("[]\n" if first else "\n]\n")
    sys.stdout.flush()


_MAX_WORD = 24  # a longer "word" (a hash, a URL) is folded after all


@dataclass(frozen=True)
class Column:
    header: str
    path: bool = False  # never broken: the table grows wider than the terminal instead
    justify: Literal["left", "right"] = "left"
    whole: bool = False  # never broken either (an id to copy), though not a path

    @property
    def unbroken(self) -> bool:
        return self.path or self.whole


@dataclass(frozen=True)
class Unnamed:
    """A cell whose words say what it is ("could not be read: empty file", in ``list``'s
    landmark column): a block shows it without its column's name, which would make it read
    "landmark could not be read: ..."; a table and a pipe show its value as any cell's."""

    value: str | Text


Cell = str | Text | Unnamed


@dataclass(frozen=True)
class Row:
    """One row for :func:`print_row_stream`: its cells, and what :func:`print_rows` takes
    for all rows at once: its RAWs' paths, what to say after their names, a note of its own
    (``raws``, ``raw_notes``, ``notes`` there)."""

    cells: Sequence[Cell]
    raws: Sequence[str] = ()
    raw_note: str | None = None
    note: str | None = None


# rows held at most while a listing decides between a table and blocks; a longer listing is
# read twice instead (see print_row_stream)
_KEEP = 10_000
_BATCH = 256  # blocks written to the terminal at once


def print_rows(title: str, columns: Sequence[Column], rows: Sequence[Sequence[Cell]],
               *, note: str | None = None, raws: Sequence[Sequence[str]] = (),
               raw_notes: Sequence[str | None] = (), notes: Sequence[str | None] = (),
               grouped_by: int = 0) -> None:
    """Rows for a person: a table on a terminal, plain tab-separated lines elsewhere.

    In a pipe or a file a box-drawn table only gets in the way of ``grep``/``cut``, so each
    row is one line of tab-separated fields (markup dropped) and the title goes to stderr.
    On a terminal, a path is never folded mid-name: other columns wrap first, and when even
    that is not enough the table is drawn wider than the terminal, which then wraps whole
    lines (a path copied from it is still whole). ``note`` is printed after the rows, on
    stderr.

    ``raws``: each row's camera RAW companions (paths), shown by file name (a RAW always
    sits in its photo's folder): on a terminal on a line of their own under the row's path,
    which is all but always longer (folders and all), so the table is no wider for them; in
    a pipe as one last field, so the fields a script cuts keep their places. Neither when no
    row has a RAW. ``raw_notes``: per row, what to say after its RAWs' names on a terminal
    (a pipe's field stays the names a script cuts). ``notes``: per row, a line to show under
    its path on a terminal where no RAW line carries one (a pipe's fields stay as they are).

    ``grouped_by``: the first N cells name a group of photos (``places``: a place, one row a
    photo). In a pipe every line repeats them, so each line still holds one path; on a
    terminal consecutive rows with the same first N cells are drawn as one, their paths (and
    RAWs) one under another.
    """
    if not out.is_terminal:
        print_plain_rows(title, zip(rows, raws or [()] * len(rows), strict=True),
                         raws=any(raws), note=note)
        return
    at = _path_column(columns)
    raw_names = _raw_names(raws) or [""] * len(rows)
    extras = list(raw_notes) or [None] * len(rows)
    alone = list(notes) or [None] * len(rows)
    shaped = [_shaped(row, at, names, extra, line) for row, names, extra, line
              in zip(rows, raw_names, extras, alone, strict=True)]
    if grouped_by:  # a group's cells are named in its block, whatever they say
        shaped = [(row, [False] * len(row))
                  for row in _grouped([row for row, _ in shaped], grouped_by, at)]
    _draw_rows(title, columns, lambda: iter(shaped), keep=len(shaped),
               group_first=bool(grouped_by), note=note)


def print_row_stream(title: str, columns: Sequence[Column], rows: Callable[[], Iterable[Row]],
                     *, raws: bool, note: str | None = None) -> None:
    """:func:`print_rows` of rows read while they are drawn, for ``list`` of 100,000 photos:
    what it prints is the same, and it never holds more than ten thousand rows (a few MB).

    ``rows()`` gives the rows from the first each time it is called (a fresh read of the
    catalogue). In a pipe each line is written as its row is read. On a terminal the rows
    are read until one makes the table wider than the terminal: the listing is then drawn
    as blocks, from the first row, as they are read (with photos in folders, all but always
    from the first row: at once). A table needs every row's widths before its first line:
    when more than ten thousand rows fit a table, they are measured in a first read and drawn
    in a second. ``raws``: whether any row has a RAW (a pipe's lines all carry the field).
    """
    if not out.is_terminal:
        print_plain_rows(title, ((row.cells, row.raws) for row in rows()), raws=raws,
                         note=note)
        return
    at = _path_column(columns)

    def shaped() -> Iterator[tuple[list[str | Text], list[bool]]]:
        for row in rows():
            yield _shaped(row.cells, at, ", ".join(os.path.basename(r) for r in row.raws),
                          row.raw_note, row.note)

    _draw_rows(title, columns, shaped, keep=_KEEP, note=note)


def _path_column(columns: Sequence[Column]) -> int:
    return next((i for i, c in enumerate(columns) if c.path), -1)


def _shaped(cells: Sequence[Cell], at: int, raw_names: str, raw_note: str | None,
            note: str | None) -> tuple[list[str | Text], list[bool]]:
    """A row's cells as a terminal shows them (each one line; the path with its RAW line
    and its note under it), and which of them go unnamed in a block (:class:`Unnamed`)."""
    bare = [isinstance(cell, Unnamed) for cell in cells]
    row = [_one_line(_value(cell)) for cell in cells]
    if at >= 0 and raw_names:
        row[at] = _with_raw(row[at], raw_names, raw_note)
    if at >= 0 and note:
        row[at] = _text(row[at]).append(f"\n  {note}", style="dim")
    return row, bare


class _Measure:
    """What a table's layout needs of its rows, kept as they go by so that no row need be
    kept for it: each column's widest line, longest word (up to :data:`_MAX_WORD`, the
    narrowest a wrapped column gets) and longest word uncapped."""

    def __init__(self, columns: Sequence[Column]) -> None:
        self.columns = list(columns)
        self.widths = [len(c.header) for c in columns]
        self.words = [0] * len(columns)
        self.longest = [0] * len(columns)

    def add(self, row: Sequence[str | Text]) -> None:
        for i, cell in enumerate(row):
            plain = _plain(cell)
            self.widths[i] = max(self.widths[i], *map(cell_len, plain.split("\n")))
            words = plain.split()
            if words:
                word = max(map(cell_len, words))
                self.words[i] = max(self.words[i], min(_MAX_WORD, word))
            else:  # as rich measures a cell of spaces: its width
                word = max(map(cell_len, plain.splitlines()), default=0)
            self.longest[i] = max(self.longest[i], word)

    def needed(self) -> int:
        """The table's width, its wrapped columns as narrow as they may get."""
        return sum(w if c.unbroken else min(w, max(12, word)) for c, w, word
                   in zip(self.columns, self.widths, self.words, strict=True)
                   ) + 3 * len(self.columns) + 1  # borders and padding


def _draw_rows(title: str, columns: Sequence[Column],
               rows: Callable[[], Iterator[tuple[list[str | Text], list[bool]]]], *,
               keep: int, group_first: bool = False, note: str | None = None) -> None:
    """A table of ``rows()`` (shaped), or blocks (:func:`_print_stacked`) when a path makes
    the table wider than the terminal. Rows are read until that is known, ``keep`` of them
    held; when more fit a table, every row is measured and ``rows()`` read again to draw
    them, so the output is what a layout of all rows at once gives, whatever their number."""
    at = _path_column(columns)
    measure = _Measure(columns)
    kept: list[tuple[list[str | Text], list[bool]]] = []
    whole = True  # every row read so far is in kept
    reading = rows()
    stacked = False
    width = out.width  # rich asks the terminal each time
    for row in reading:
        measure.add(row[0])
        if len(kept) < keep:
            kept.append(row)
        else:
            whole = False
        if at >= 0 and measure.needed() > width:
            stacked = True  # the widths only grow: blocks, whatever the rows to come
            break
    stacked = stacked or (at >= 0 and measure.needed() > width)
    if not whole:
        getattr(reading, "close", lambda: None)()  # read again from the first row
    if stacked:
        _print_stacked(title, columns, itertools.chain(kept, reading) if whole else rows(),
                       at, group_first=group_first)
    else:
        shown = out.width
        try:
            out.width = max(shown, measure.needed())
            drawn = iter(kept) if whole else rows()
            _print_table(title, columns, ([_text(cell) for cell in row] for row, _ in drawn),
                         measure)
        finally:
            out.width = shown
    if note:
        err.print(note, markup=False, highlight=False, emoji=False)


def print_plain_rows(title: str, rows: Iterable[tuple[Sequence[Cell], Sequence[str]]],
                     *, raws: bool, note: str | None = None) -> None:
    """:func:`print_rows` in a pipe, row by row from an iterable of (cells, RAW paths):
    ``list`` of 100,000 photos writes each line as it reads its photo. ``raws``: whether
    any row has a RAW (the field is on every line or on none)."""
    if title:
        err.print(title, markup=False, highlight=False, emoji=False)
    write = sys.stdout.write
    for cells, raw in rows:
        fields = [_plain(_one_line(_value(cell))) for cell in cells]
        if raws:
            fields.append(", ".join(os.path.basename(r) for r in raw))
        write("\t".join(fields) + "\n")
    sys.stdout.flush()
    if note:
        err.print(note, markup=False, highlight=False, emoji=False)


def _table(title: str, columns: Sequence[Column], words: Sequence[int],
           fixed: Sequence[int] | None = None) -> Any:
    """The rich table :func:`print_rows` draws, without rows; ``fixed``: column widths
    (padding included) decided already."""
    from rich.table import Table

    # the title names landmarks (a learned "Club [/] Bridge"): text, never markup
    table = Table(title=Text(title) if title else None, title_justify="left")
    for i, (column, word) in enumerate(zip(columns, words, strict=True)):
        width = None if fixed is None else fixed[i] - 2
        if column.unbroken:
            table.add_column(column.header, no_wrap=True, min_width=word if fixed is None
                             else None, justify=column.justify, width=width)
        else:
            table.add_column(column.header, overflow="fold", justify=column.justify,
                             min_width=word if fixed is None else None, width=width)
    return table


def _print_table(title: str, columns: Sequence[Column], rows: Iterator[Sequence[Text]],
                 measure: _Measure) -> None:
    """What ``out.print(table)`` of a rich table of all ``rows`` draws, streamed.

    rich measures and renders every cell of a table through its general layout before it
    prints a line: 100,000 photos took 46 s on a terminal (docs/performance.md). The
    column widths depend only on each column's widest line and longest word (``measure``,
    of all the rows), so rich lays out a table of two stand-in rows with those (unbroken
    columns' minimum is their width). rich draws the title, the header and the first row;
    each further row is the same cells wrapped by rich's own :meth:`Text.wrap` (or, when a
    cell fits on one line, padded as that wrap pads it), joined by the same box lines."""
    from rich.segment import Segment, Segments

    widths, words, longest = measure.widths, measure.words, measure.longest
    mins = [w if c.unbroken else word for c, w, word in zip(columns, widths, words,
                                                           strict=True)]
    probe = _table(title, columns, mins)
    # each column measured as the real cells measure: widest line, longest word
    probe.add_row(*(Text(" ".join("a" * ((w + 1) // 2)).ljust(w)[:w]) for w in widths))
    probe.add_row(*(Text("b" * w) for w in longest))
    fixed = probe._calculate_column_widths(
        out, out.options.update_width(out.options.max_width - probe._extra_width))
    head = _table(title, columns, mins, fixed)
    first = next(rows, None)
    if first is not None:
        head.add_row(*first)
    # the options out.print(table) renders with on photolm's soft-wrapping console
    lines = list(Segment.split_lines(out.render(head, out.options.update(
        no_wrap=True, overflow="ignore"))))
    bottom = lines.pop() if first is not None else []
    newline = Segment.line()
    out.print(Segments([s for line in lines for s in (*line, newline)]), crop=False)
    if first is None:
        return
    box = head.box.substitute(out.options, safe=out.safe_box)
    cells = list(zip(columns, fixed, strict=True))
    batch: list[Segment] = []
    row = next(rows, None)
    while row is not None:
        after = next(rows, None)  # the last row closes the table
        left, right, divider = ((box.foot_left, box.foot_right, box.foot_vertical)
                                if after is None else
                                (box.mid_left, box.mid_right, box.mid_vertical))
        shaped = [_cell_lines(cell, column, width - 2)
                  for cell, (column, width) in zip(row, cells, strict=True)]
        height = max(len(lines) for lines in shaped)
        for k in range(height):
            # the line Text(left).append(" ").append(cell)... makes, put together at once
            parts, spans, at = [left], [], len(left)
            for i, cell_lines in enumerate(shaped):
                if k < len(cell_lines):
                    plain, style, cell_spans = cell_lines[k]
                    if style:
                        spans.append(Span(at + 1, at + 1 + len(plain), style))
                    spans.extend(span.move(at + 1) for span in cell_spans)
                    parts.append(f" {plain} ")
                else:
                    parts.append(" " * fixed[i])
                parts.append(divider if i < len(shaped) - 1 else right)
                at += len(parts[-2]) + 1
            batch.extend(Text("".join(parts), spans=spans).render(out))
            batch.append(newline)
        if len(batch) > 4096:
            out.print(Segments(batch), crop=False)
            batch = []
        row = after
    batch.extend([*bottom, newline])
    out.print(Segments(batch), crop=False)


def _word(text: str) -> int:
    """A cell's longest word, as rich measures a text's narrowest width."""
    words = text.split()
    return (max(cell_len(w) for w in words) if words
            else max((cell_len(line) for line in text.splitlines()), default=0))


def _cell_lines(cell: Text, column: Column, width: int
                ) -> list[tuple[str, str | Style, list[Span]]]:
    """A cell's lines in a column ``width`` cells wide, as rich's table makes them: each
    line's text, base style and spans."""
    plain = cell.plain
    if "\n" not in plain and "\t" not in plain and cell_len(plain) <= width:
        # what Text.wrap does to a line that fits (Text.truncate's padding, or rstrip and
        # pad_left), without copying the Text
        if column.justify == "right":
            text = plain.rstrip()
            spans = [span if span.end < len(text) else
                     Span(span.start, min(len(text), span.end), span.style)
                     for span in cell.spans if span.start < len(text)]
            pad = width - cell_len(text)
            return [(" " * pad + text, cell.style, [span.move(pad) for span in spans])]
        return [(plain + " " * (width - cell_len(plain)), cell.style, cell.spans)]
    return [(line.plain, line.style, line.spans)
            for line in cell.wrap(out, width, justify=column.justify,
                                  overflow="ellipsis" if column.unbroken else "fold",
                                  no_wrap=column.unbroken)]


def _print_stacked(title: str, columns: Sequence[Column],
                   rows: Iterable[tuple[Sequence[str | Text], Sequence[bool]]], at: int, *,
                   group_first: bool = False) -> None:
    """Rows whose paths make the table wider than the terminal, one block each: the path
    (and its RAW line) whole on a line of its own, the other cells under it, indented and
    named: on one line when they fit, else one a line (long values wrap under themselves).
    A terminal would otherwise wrap every line of the table into a jumble.

    ``rows``: each row's cells and which of them are shown without their column's name
    (:class:`Unnamed`). ``group_first``: each row is a group of photos (``places``), its
    path cell their paths one a line: the group's own cells lead, named, and its paths
    follow, indented. Each line is what ``out.print(line, soft_wrap=True)`` draws, rendered
    by rich and written :data:`_BATCH` blocks at a time: a print and a write per line made
    blocks the slowest way to list a catalogue (docs/performance.md)."""
    from rich.segment import Segment, Segments

    if title:
        out.print(Text(title, style="bold"), soft_wrap=True)
    newline = Segment.line()
    batch: list[Segment] = []
    for n, (row, bare) in enumerate(rows, start=1):
        for line in _block_lines(columns, row, bare, at, group_first=group_first):
            batch.extend(line.render(out))
            batch.append(newline)
        if n % _BATCH == 0:
            out.print(Segments(batch), crop=False)
            batch = []
    if batch:
        out.print(Segments(batch), crop=False)


def _block_lines(columns: Sequence[Column], row: Sequence[str | Text], bare: Sequence[bool],
                 at: int, *, group_first: bool) -> Iterator[Text]:
    """One row of :func:`_print_stacked`, line by line."""
    indent = 4
    fields = [("" if bare[i] else column.header, _text(cell))
              for i, (column, cell) in enumerate(zip(columns, row, strict=True))
              if i != at and _plain(cell)]
    if group_first:
        yield _inline(Text(), fields)
        for path_line in _text(row[at]).split("\n"):
            yield Text(" " * indent) + path_line
        return
    yield from _text(row[at]).split("\n", allow_blank=True)  # as rich splits it to print
    if not fields:
        return
    line = _inline(Text(" " * indent), fields)
    if "\n" not in line.plain and cell_len(line.plain) <= out.width:
        yield line
        return
    named = max(cell_len(header) for header, _ in fields) + 2
    for header, value in fields:
        yield from _field_lines(header, value, pad=indent, label_width=named, style="dim",
                                room=max(20, out.width - indent - named))


def _inline(line: Text, fields: Sequence[tuple[str, Text]]) -> Text:
    """``line`` with the named cells appended side by side: ``header value   header value``."""
    for n, (header, value) in enumerate(fields):
        line.append("   " if n else "").append(f"{header} " if header else "", style="dim")
        line.append(value)
    return line


def _print_field(label: str, value: Text, *, pad: int, label_width: int, style: str,
                 room: int | None) -> None:
    """One ``label  value`` field: ``pad`` spaces, the label in a column ``label_width``
    wide, the value folded to ``room`` cells under itself, never under the label (``None``:
    one line, however long). The layout of :func:`print_sections` and of a stacked row."""
    for line in _field_lines(label, value, pad=pad, label_width=label_width, style=style,
                             room=room):
        out.print(line, soft_wrap=True)


def _field_lines(label: str, value: Text, *, pad: int, label_width: int, style: str,
                 room: int | None) -> Iterator[Text]:
    """The lines of :func:`_print_field`."""
    pieces = [value] if room is None else value.wrap(out, room, overflow="fold")
    for k, piece in enumerate(pieces):
        piece.rstrip()
        yield Text(" " * pad).append((label if k == 0 else "").ljust(label_width),
                                     style=style).append(piece)


def print_paths(paths: Sequence[str], raws: Sequence[Sequence[str]] = ()) -> None:
    """One path a line on stdout (a list a script may read, like ``prune``'s), each photo's
    camera RAWs as :func:`print_rows` shows them: by name on the line under the path on a
    terminal, as a tab-separated last field in a pipe."""
    raw_names = _raw_names(raws)
    if not out.is_terminal:
        for i, path in enumerate(paths):
            sys.stdout.write("\t".join([path, *([raw_names[i]] if raw_names else [])]) + "\n")
        sys.stdout.flush()
        return
    for i, path in enumerate(paths):
        out.print(_with_raw(path, raw_names[i]) if raw_names and raw_names[i] else Text(path),
                  crop=False)


def _raw_names(raws: Sequence[Sequence[str]]) -> list[str]:
    """Each row's RAW companions by file name (a RAW always sits in its photo's folder);
    nothing at all when no row has one."""
    if not any(raws):
        return []
    return [", ".join(os.path.basename(r) for r in row) for row in raws]


def _grouped(rows: Sequence[Sequence[str | Text]], by: int, at: int
             ) -> list[Sequence[str | Text]]:
    """Consecutive rows with the same first ``by`` cells as one, the path cells (column
    ``at``) one under another."""
    merged: list[Sequence[str | Text]] = []
    for row in rows:
        last = merged[-1] if merged else None
        if last is not None and list(map(_plain, last[:by])) == list(map(_plain, row[:by])):
            merged[-1] = [*last[:at], _text(last[at]).append("\n").append(_text(row[at])),
                          *last[at + 1:]]
        else:
            merged.append(row)
    return merged


def _text(cell: str | Text) -> Text:
    """A copy to append to: plain strings are text, never markup (a path may hold "[...]")."""
    return cell.copy() if isinstance(cell, Text) else Text(cell)


def _with_raw(path: str | Text, names: str, note: str | None = None) -> Text:
    """A path cell with its RAW companions' names (and ``note``) on the line under it."""
    cell = _text(path)
    cell.append(f"\n  + RAW {names}" + (f" ({note})" if note else ""), style="dim")
    return cell


@dataclass(frozen=True)
class Field:
    """One ``label  value`` line of :func:`print_sections`."""

    label: str
    value: str
    whole: bool = False  # a path: never wrapped by photolm (the terminal may wrap it)


def print_sections(sections: Sequence[tuple[str, Sequence[Field]]]) -> None:
    """Headed groups of ``label  value`` lines on stdout, labels aligned across groups.

    On a terminal a long value wraps under itself, never under the labels, between words;
    a path is printed whole (a path copied from the screen must work). In a pipe or a file
    each field stays one line, so ``grep`` finds the whole value beside its label.
    """
    indent = 2
    width = max((cell_len(f.label) + (indent if heading else 0)
                 for heading, fields in sections for f in fields), default=0) + 2
    wrap = out.is_terminal
    for n, (heading, fields) in enumerate(sections):
        if not fields:
            continue
        if heading:
            if n:
                out.print()
            out.print(Text(heading, style="bold"), soft_wrap=True)
        pad = indent if heading else 0
        room = out.width - width
        for field in fields:
            folds = wrap and not field.whole and room >= 20 and cell_len(field.value) > room
            _print_field(field.label, Text(field.value), pad=pad, label_width=width - pad,
                         style="bold", room=room if folds else None)


def _one_line(cell: str | Text) -> str | Text:
    """A cell as one line: a message in it that quotes a name with a tab or a newline (a
    tag error naming its photo) would split a row in a pipe and break it on a terminal;
    control characters are escaped as in a printed path, whose backslashes stay."""
    plain = _plain(cell)
    if plain.isprintable():  # every character ONE_LINE escapes is unprintable: for speed
        return cell
    flat = plain.translate(ONE_LINE)
    if flat == plain:
        return cell
    return Text(flat, style=cell.style) if isinstance(cell, Text) else flat


def _value(cell: Cell) -> str | Text:
    return cell.value if isinstance(cell, Unnamed) else cell


def _plain(cell: str | Text) -> str:
    return cell.plain if isinstance(cell, Text) else cell


def warn(path: object, message: str) -> None:
    """One line per problem photo or folder, on stderr: ``warning: PATH: what happened``.

    Library errors that name the path themselves (the tag writer's "read-only file: PATH
    (...)") are shown as they are rather than with the path twice, the path printed as
    everywhere else; a control character left in the message is escaped, so the warning
    stays one line.
    """
    from photolm.discovery import display_path

    shown = display(path)
    named = (display_path(path)  # as some libraries name it
             if isinstance(path, (str, bytes, os.PathLike)) else shown)
    if shown in message:  # printed already (photolm's own messages): as it is
        line = message
    elif named in message:
        line = message.replace(named, shown)
    else:
        line = f"{shown}: {message}"
    err.print(f"[yellow]warning:[/] {escape(line.translate(ONE_LINE))}")


def warn_not_catalogued(path: str) -> None:
    """A path given to a command that acts on catalogued photos (confirm, tag, untag) that
    matched none: a typo is told apart from a photo that only needs scanning, and from a
    folder (or file) with no photo to scan, which a scan would not help."""
    from photolm.discovery import Found, Problem, walk_photos

    if not os.path.lexists(path):
        warn(path, "no such file or folder")
        return
    given = os.path.abspath(path)
    first = next((item for item in walk_photos([path]) if isinstance(item, Found) or (
        isinstance(item, Problem) and os.path.abspath(item.path) == given)), None)
    if isinstance(first, Found):
        warn(path, "no catalogued photos there; run `photolm scan` on it first")
    elif isinstance(first, Problem):  # a file that is not a photo, or cannot be read
        warn(path, first.message)
    else:
        warn(path, "no photos there")


def warn_unmatchable(names: Sequence[str]) -> None:
    """One line on stderr: learned landmarks the current model cannot recognise because
    none of their example photos is left to learn them from, and what to do about it."""
    if not names:
        return
    which = ", ".join(names)
    one = len(names) == 1
    err.print("[yellow]warning:[/] " + escape(
        f"learned {'landmark' if one else 'landmarks'} {which} cannot be recognised with this "
        f"model: none of {'its' if one else 'their'} example photos is left to learn "
        f"{'it' if one else 'them'} from. Teach {'it' if one else 'them'} again with `photolm "
        f"learn NAME PHOTOS`, or forget {'it' if one else 'them'} with `photolm unlearn NAME`."))


def note(path: object, message: str) -> None:
    """One line about a photo that is not a problem but worth knowing (e.g. a sidecar was
    written because the format cannot hold embedded tags), on stderr."""
    err.print(f"[cyan]note:[/] {escape(display(path))}: {escape(message.translate(ONE_LINE))}")


def say(text: str) -> None:
    """A line of talk on stderr (no path in it): on a terminal wrapped between words at its
    width, as an 80-column terminal would otherwise cut "show it now" into "show it n" and
    "ow"; in a pipe or a log one line, whole, for ``grep``."""
    err.print(Text(text), soft_wrap=not err.is_terminal)


def error_line(message: str) -> None:
    """``Error: MESSAGE`` on one line, as a warning is: a control character (a newline in a
    file name, an escape sequence in a library's message) or a bidirectional control left
    in the message is escaped. photolm's messages print the paths they name already
    (:func:`~photolm.printed_paths.printed`), so a backslash is left as it is."""
    err.print(f"[bold red]Error:[/] {escape(message.translate(ONE_LINE))}")


class Bar:
    """A progress bar that may be switched off: its methods do nothing then."""

    def __init__(self, progress: Any | None, verb: str = "", fields: Sequence[str] = ()) -> None:
        self._progress = progress
        self._task: Any | None = None
        self._verb = verb
        self._fields = fields

    def start(self, total: int, verb: str | None = None) -> None:
        """Begin (or begin again: the next stage of the work, called ``verb``)."""
        if self._progress is None:
            return
        if self._task is not None:
            self._progress.remove_task(self._task)
        self._task = self._progress.add_task(
            escape(self._verb if verb is None else verb), total=total, rate="-",
            **dict.fromkeys(self._fields, "-"))

    def advance(self, n: int = 1) -> None:
        if self._progress is None or self._task is None:
            return
        self._progress.update(self._task, advance=n)
        # The rate since the start, not rich's own estimate: work done in batches (a scan
        # commits 16 photos at once) comes in bursts microseconds apart, which rich's
        # estimate reads as 100,000 photos/s.
        task = self._progress.tasks[-1]  # the task start() added last
        speed = task.completed / task.elapsed if task.elapsed else None
        self._progress.update(self._task, rate=f"{speed:.1f}" if speed else "-")

    def update(self, done: int | None = None, *, verb: str | None = None,
               **fields: str) -> None:
        """Set how much is done, a new description (``verb``) and the ``fields`` given to
        :func:`progress_bar`, for callers that know their own figures (the trainer)."""
        if self._progress is None or self._task is None:
            return
        if verb is not None:
            fields["description"] = escape(verb)
        self._progress.update(self._task, completed=done, **fields)


@contextlib.contextmanager
def progress_bar(verb: str, *, show: bool, rate: str | None = None,
                 fields: Sequence[str] = (), eta: bool = False,
                 console: Console | None = None) -> Iterator[Bar]:
    """A transient progress bar on stderr for long work (``rate``: e.g. "photos/s" adds the
    speed and an ETA). ``show=False`` (no terminal, --quiet, --json) gives a silent bar, so
    callers never branch on it.

    ``fields``: more columns, each a template such as ``"loss {loss}"`` whose value the
    caller sets with :meth:`Bar.update`; ``eta`` adds the elapsed time and an ETA without a
    rate; ``console``: the console the caller prints its own lines on while the bar runs
    (default: photolm's stderr), so the two never draw over each other.
    """
    names = [name for template in fields for _, name, _, _ in string.Formatter().parse(template)
             if name]
    if not show:
        yield Bar(None)
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns: list[Any] = [TextColumn("[bold]{task.description}"), BarColumn(),
                          MofNCompleteColumn()]
    columns += [TextColumn(escape(t).replace("{", "{task.fields[").replace("}", "]}"))
                for t in fields]
    if rate:
        columns.append(TextColumn(f"{{task.fields[rate]}} {escape(rate)}"))
    if rate or eta:
        columns += [TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
    with Progress(*columns, console=console or err, transient=True) as progress:
        yield Bar(progress, verb, names)


def bar_wanted(*, quiet: bool = False, json_out: bool = False) -> bool:
    """Progress bars only for a person at a terminal."""
    return err.is_terminal and not quiet and not json_out


@contextlib.contextmanager
def reporting() -> Iterator[None]:
    """Turn expected failures into one ``Error:`` line and an exit status, never a traceback.

    Set PHOTOLM_DEBUG=1 to see the traceback anyway. An older catalogue read from an
    upgraded copy (it may not be written here) is said in one line, once per command.
    """
    from photolm.catalog.upgraded_copy import UpgradedCopy, telling

    told: set[UpgradedCopy] = set()

    def tell(copy: UpgradedCopy) -> None:
        if copy not in told:
            told.add(copy)
            err.print(f"[cyan]note:[/] {escape(copy.notice().translate(ONE_LINE))}")

    try:
        with telling(tell):
            yield
    except PhotolmError as exc:
        if os.environ.get(DEBUG_ENV):
            raise
        error_line(str(exc))
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP (photolm.ctrl_c)
        stopped(exc)
    except ImportError as exc:
        # Ctrl-C while a native module loads: pybind11 (scipy's HiGHS, which trainer fit
        # imports) re-raises it as ImportError("initialization failed"): a traceback that
        # reads as a broken install
        stop = _caused_by_ctrl_c(exc)
        if stop is None:
            raise
        stopped(stop)


def stopped(exc: BaseException) -> NoReturn:
    """``Error: interrupted.`` (``interrupted by SIGTERM.``) and 128 + the signal."""
    from photolm.ctrl_c import exit_status, interrupted

    error_line(f"{interrupted(exc)}.")
    raise typer.Exit(exit_status(exc)) from None


def _caused_by_ctrl_c(exc: BaseException) -> KeyboardInterrupt | None:
    """The KeyboardInterrupt in ``exc``'s chain of causes, if any."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return cause
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return None
