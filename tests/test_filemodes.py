# SPDX-License-Identifier: GPL-3.0-or-later
"""Staged writes (the bundle writer, the trainer's run files) are born with the modes an
ordinary create gives: the umask decides, not mkstemp's 0600 or mkdtemp's 0700; and nothing
races to get there.

The race-free part is checked by watching the two calls a correction would need: ``os.umask``
(reading the umask means setting it, and the process's umask is shared by every thread: one
that creates a file while it is 0 makes a world-writable file) and ``os.chmod`` (a file whose
mode is corrected after it exists had the wrong mode until then). Neither may be called:
the kernel applies the umask as it creates the name."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

MASKS = [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750), (0o077, 0o600, 0o700)]


@pytest.fixture
def no_correction(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Records any os.umask or os.chmod call made while the test runs (after its own
    umask is set)."""
    calls: list[str] = []
    umask, chmod = os.umask, os.chmod

    def spy_umask(mask: int) -> int:
        calls.append(f"umask({mask:#o})")
        return umask(mask)

    def spy_chmod(path: object, mode: int, *args: object, **kwargs: object) -> None:
        calls.append(f"chmod({path}, {mode:#o})")
        chmod(path, mode, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "umask", spy_umask)
    monkeypatch.setattr(os, "chmod", spy_chmod)
    yield calls


@pytest.fixture
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


@pytest.mark.parametrize(("umask", "file_mode", "folder_mode"), MASKS, indirect=["umask"])
def test_a_written_bundle_gets_the_umask_modes_without_a_correction(
        tmp_path: Path, umask: int, file_mode: int, folder_mode: int,
        no_correction: list[str]) -> None:
    from tests.tinybundle import make_tiny_bundle

    make_tiny_bundle(tmp_path / "b")
    assert no_correction == []
    assert (tmp_path / "b").stat().st_mode & 0o777 == folder_mode
    for member in (tmp_path / "b").iterdir():
        assert member.stat().st_mode & 0o777 == file_mode, member


@pytest.mark.parametrize(("umask", "file_mode", "folder_mode"), MASKS, indirect=["umask"])
def test_a_trainer_run_file_is_born_with_the_umask_mode(
        tmp_path: Path, umask: int, file_mode: int, folder_mode: int,
        no_correction: list[str]) -> None:
    from trainer.atomic import atomic_write

    seen: list[int] = []

    def write(handle: object) -> None:  # the staged file, before it is renamed into place
        seen.append(os.fstat(handle.fileno()).st_mode & 0o777)  # type: ignore[attr-defined]
        handle.write(b"{}")  # type: ignore[attr-defined]

    atomic_write(tmp_path / "config.json", write)
    assert no_correction == [] and seen == [file_mode]
    assert (tmp_path / "config.json").stat().st_mode & 0o777 == file_mode
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"]  # no staged file left


def test_staged_names_never_take_an_existing_one(tmp_path: Path) -> None:
    from photolm.filemodes import create_staged_file, make_staged_folder

    made = set()
    for _ in range(20):
        fd, path = create_staged_file(tmp_path, prefix=".x.", suffix=".tmp")
        os.close(fd)
        made.add(path)
        made.add(make_staged_folder(tmp_path, prefix=".x."))
    assert len(made) == 40 and set(tmp_path.iterdir()) == made
    assert all(p.name.startswith(".x.") for p in made)
