# SPDX-License-Identifier: GPL-3.0-or-later
"""A short fuzz run of image loading and metadata reading, and a replay of every input that
ever broke them.

The property (tests/robustness/fuzz_targets.py): decoding gives a model input of the right
shape and range or an ``ImageError``; EXIF reading gives sane fields and never raises. The
inputs are random bytes, random bytes behind a real format's magic number, mutations of
small valid photos of every format, and random EXIF blocks inside a valid JPEG. Inputs that
failed once (found by this test or by ``python -m tests.robustness.fuzz_decode``, the atheris
harness) live in tests/robustness/regressions/ and are replayed on every run.
"""

from __future__ import annotations

import os
import struct
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import imagefactory as factory
from tests.robustness.fuzz_targets import check_exif, check_file, seeds
from tests.robustness.helpers import loud_log_records, native_stderr

T = TypeVar("T")
REGRESSIONS = Path(__file__).parent / "regressions"
LIMIT_S = 10.0  # per input; real photos take milliseconds
SEEDS = seeds()
MAGIC = [b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xe1", b"\x89PNG\r\n\x1a\n", b"II*\x00", b"MM\x00*",
         b"GIF89a", b"GIF87a", b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"BM", factory.HEIC_HEADER]
# CI runs a short fuzz; PHOTOLM_FUZZ_SCALE=50 (say) runs 50x as many examples by hand.
SCALE = max(1, int(os.environ.get("PHOTOLM_FUZZ_SCALE", "1")))
FUZZ = settings(max_examples=200 * SCALE, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


def bounded(call: Callable[[], T], seconds: float = LIMIT_S) -> T:
    """``call()`` in a daemon thread: a hang fails the test instead of freezing the suite."""
    result: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(call())
        except BaseException as exc:
            failure.append(exc)

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still running after {seconds} s: an endless loop?"
    if failure:
        raise failure[0]
    return result[0]


def _run(tmp_path: Path, data: bytes, name: str = "input.jpg") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    # No line of its own from a C decoder (fd 2) or a library's logger (last-resort handler)
    with native_stderr() as native, loud_log_records() as logged:
        outcome = bounded(lambda: check_file(path))
    assert native[0] == "", native[0]
    assert [r.getMessage() for r in logged] == []
    return outcome


@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes(tmp_path: Path, data: bytes) -> None:
    _run(tmp_path, data)


@FUZZ
@given(magic=st.sampled_from(MAGIC), rest=st.binary(max_size=1024))
def test_random_bytes_behind_a_real_magic_number(tmp_path: Path, magic: bytes,
                                                 rest: bytes) -> None:
    _run(tmp_path, magic + rest)


_mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(1, 255)),
    st.tuples(st.just("cut"), st.integers(0, 10**6), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("erase"), st.integers(0, 10**6), st.integers(1, 256)),
    st.tuples(st.just("int"), st.integers(0, 10**6),
              st.sampled_from([0, 1, 0x7F, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF])),
)


def mutate(data: bytes, mutations: list[tuple[str, int, object]]) -> bytes:
    buf = bytearray(data)
    for kind, where, arg in mutations:
        at = where % (len(buf) + 1)
        if kind == "flip" and buf:
            buf[at % len(buf)] ^= int(arg)  # type: ignore[call-overload]
        elif kind == "cut":
            del buf[at:]
        elif kind == "insert":
            buf[at:at] = arg  # type: ignore[index]
        elif kind == "erase":
            del buf[at: at + int(arg)]  # type: ignore[call-overload]
        elif kind == "int":  # overwrite 4 bytes with a boundary value: sizes, offsets, counts
            buf[at: at + 4] = struct.pack("<I", int(arg))  # type: ignore[call-overload]
    return bytes(buf)


@settings(FUZZ, max_examples=400 * SCALE)
@given(seed=st.sampled_from(sorted(SEEDS)), mutations=st.lists(_mutation, min_size=1,
                                                                max_size=4))
def test_mutated_valid_photos(tmp_path: Path, seed: str, mutations: list) -> None:
    _run(tmp_path, mutate(SEEDS[seed], mutations), name=seed)


_box_kind = st.sampled_from([b"meta", b"iinf", b"infe", b"iloc", b"free", b"ftyp", b"pitm",
                            b"Exif", b"\x00\x00\x00\x00"])
_box = st.builds(
    lambda size, kind, large, body: (
        struct.pack(">I", size) + kind + (struct.pack(">Q", large) if size == 1 else b"") + body),
    st.one_of(st.sampled_from([0, 1, 2, 7, 8, 12, 16, 0xFFFFFFFF]), st.integers(0, 4096)),
    _box_kind, st.sampled_from([0, 1, 8, 16, 24, 2**32, 2**63]), st.binary(max_size=32))


@FUZZ
@given(boxes=st.lists(_box, min_size=1, max_size=4), meta_first=st.booleans())
def test_random_iso_bmff_boxes_after_a_heic_header(tmp_path: Path, boxes: list[bytes],
                                                  meta_first: bool) -> None:
    """HEIC metadata is a tree of sized boxes: sizes of 0, 1 (then a 64-bit size), smaller
    than a header or beyond the file must end the parse, not loop it."""
    meta = struct.pack(">I", 12 + sum(map(len, boxes))) + b"meta" + bytes(4) if meta_first else b""
    _run(tmp_path, factory.HEIC_HEADER + meta + b"".join(boxes), name="boxes.heic")


@FUZZ
@given(tiff=st.one_of(st.binary(max_size=512), st.builds(
    lambda order, body: (b"II*\x00" if order else b"MM\x00*") + body,
    st.booleans(), st.binary(max_size=512))))
def test_random_exif_blocks_inside_a_valid_jpeg(tmp_path: Path, tiff: bytes) -> None:
    path = factory.jpeg_with_raw_exif(tmp_path / "exif.jpg", tiff)
    assert check_file(path) == "ok"  # broken metadata never costs the photo


@settings(FUZZ, max_examples=60 * SCALE)
@given(entries=st.lists(st.tuples(
    st.sampled_from([0, 1, 2, 3, 4, 5, 6, 7, 0x1D, 0x8825]),  # GPS tags, and a bogus pointer
    st.integers(0, 13),  # TIFF types, including invalid ones
    st.integers(0, 2**32 - 1), st.binary(min_size=0, max_size=24)), max_size=6))
def test_random_gps_directories(tmp_path: Path, entries: list) -> None:
    path = factory.jpeg_with_raw_exif(tmp_path / "gps.jpg", factory.tiff_with_gps(entries))
    from photolm.exif import read_exif

    check_exif(read_exif(path))


def _regressions() -> list[Path]:
    return sorted(p for p in REGRESSIONS.iterdir() if p.is_file() and p.name != "README.md")


@pytest.mark.parametrize("path", _regressions(), ids=lambda p: p.name)
def test_regression_inputs(path: Path, tmp_path: Path) -> None:  # each within LIMIT_S
    assert _run(tmp_path, path.read_bytes(), name=path.name) in ("ok", "image-error")


def test_there_are_regression_inputs() -> None:
    assert len(_regressions()) >= 10
