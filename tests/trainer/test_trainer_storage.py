# SPDX-License-Identifier: GPL-3.0-or-later
"""`trainer fit` stopped by a full disk, a read-only one or Ctrl-C: one line, and a run to
resume.

The fault is injected where the disk answers: the write into the temporary file beside
``last.pt`` fails with ENOSPC, or EROFS for a folder that turned read-only (``torch.save``
turns that into a RuntimeError of its own, "unexpected pos ..."), so no root, mount or full
disk is needed.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.trainer.test_trainer_cli import _invoke


class _FullDisk:
    """A file object whose every write is refused as a full (or read-only) disk refuses it."""

    def __init__(self, handle: object, code: int = errno.ENOSPC) -> None:
        self._handle, self._code = handle, code

    def write(self, _data: object) -> int:
        raise OSError(self._code, os.strerror(self._code))

    def __getattr__(self, name: str) -> object:
        return getattr(self._handle, name)

    def __enter__(self) -> _FullDisk:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()  # type: ignore[attr-defined]


def _disk_fills_at(monkeypatch: pytest.MonkeyPatch, name: str, nth: int,
                   code: int = errno.ENOSPC) -> None:
    """The ``nth`` temporary file written for ``name`` (and every later one) gets ENOSPC
    (or ``code``)."""
    import trainer.atomic

    real_create, real_fdopen = trainer.atomic.create_staged_file, os.fdopen
    made: list[Path] = []
    full: set[int] = set()

    def create_staged_file(folder, *, prefix="", suffix=""):  # type: ignore[no-untyped-def]
        fd, path = real_create(folder, prefix=prefix, suffix=suffix)
        if os.path.basename(path).startswith(f".{name}."):
            made.append(path)
            if len(made) >= nth:
                full.add(fd)
        return fd, path

    def fdopen(fd, *args, **kwargs):  # type: ignore[no-untyped-def]
        handle = real_fdopen(fd, *args, **kwargs)
        return _FullDisk(handle, code) if fd in full else handle

    monkeypatch.setattr(trainer.atomic, "create_staged_file", create_staged_file)
    monkeypatch.setattr(os, "fdopen", fdopen)


@pytest.mark.parametrize("refusal", [errno.ENOSPC, errno.EROFS], ids=["full", "read-only"])
def test_a_disk_that_fills_mid_run_is_one_line_and_the_run_resumes(
        refusal: int, tiny_data: Path, tiny: dict, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A disk that fills, or a folder that turns read-only (a USB disk remounted after an
    error), as training.md promises both."""
    import torch

    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({**tiny, "epochs": 2, "max_steps_per_epoch": 1}))
    run = tmp_path / "run"
    _disk_fills_at(monkeypatch, "last.pt", nth=2, code=refusal)  # epoch 1 saved, 2 is not

    code, _out, err = _invoke("fit", str(tiny_data), "--out", str(run), "--config", str(config))

    assert code == 1
    why = {errno.ENOSPC: f"no space left on the disk holding {run}: free some space and run "
                         "again",
           errno.EROFS: "read-only file system"}[refusal]
    problems = [line for line in err.splitlines() if line.startswith("Error:")]
    assert problems == [
        f"Error: Cannot write {run / 'last.pt'}: {why}. {run / 'last.pt'} holds epoch 1: "
        f"continue with trainer fit --resume --out {run}."], err
    assert "Traceback" not in err
    assert not [p.name for p in run.iterdir() if p.name.endswith(".tmp")]
    assert torch.load(run / "last.pt", weights_only=True)["epoch"] == 1

    monkeypatch.undo()  # space freed
    code, _out, err = _invoke("fit", "--resume", "--out", str(run))
    assert code == 0, err
    assert [r["epoch"] for r in map(json.loads, (run / "log.jsonl").read_text().splitlines())
            ] == [1, 2]


def test_a_full_disk_before_the_first_epoch_says_nothing_was_saved(
        tiny_data: Path, tiny: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(tiny))
    run = tmp_path / "run"
    _disk_fills_at(monkeypatch, "last.pt", nth=1)

    code, _out, err = _invoke("fit", str(tiny_data), "--out", str(run), "--config", str(config))

    assert code == 1 and "Traceback" not in err
    (line,) = [line for line in err.splitlines() if line.startswith("Error:")]
    assert line.endswith("free some space and run again. No epoch was saved: start the run "
                         f"over. Removed the files this run wrote in {run}, all but "
                         "bad_images.txt: it held no checkpoint.")  # tiny_data's broken.jpg
    assert [p.name for p in run.iterdir()] == ["bad_images.txt"]


def _stopped_in_the_second_epoch(tiny: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 stop: Callable[[], None]) -> tuple[Path, Path]:
    """A two-epoch config and its run folder; ``stop()`` is called where the second epoch's
    training runs."""
    from trainer import fit as fit_module

    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({**tiny, "epochs": 2, "max_steps_per_epoch": 1}))
    real = fit_module._Trainer.train_epoch

    def train_epoch(self, epoch, *args, **kwargs):  # type: ignore[no-untyped-def]
        if epoch == 1:
            stop()
        return real(self, epoch, *args, **kwargs)

    monkeypatch.setattr(fit_module._Trainer, "train_epoch", train_epoch)
    return config, tmp_path / "run"


def test_ctrl_c_mid_run_saves_says_how_to_resume_and_the_run_resumes(
        tiny_data: Path, tiny: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C in the second epoch (raised where the epoch's training runs)."""

    def ctrl_c() -> None:
        raise KeyboardInterrupt

    config, run = _stopped_in_the_second_epoch(tiny, tmp_path, monkeypatch, ctrl_c)
    code, _out, err = _invoke("fit", str(tiny_data), "--out", str(run), "--config", str(config))
    assert code == 130
    assert err.strip().splitlines()[-1] == (
        f"Interrupted: stopped in epoch 2; saved {run / 'last.pt'} after 1 complete epoch (an "
        f"unfinished epoch is run again). Continue with: trainer fit --resume --out {run}")

    monkeypatch.undo()
    code, _out, err = _invoke("fit", "--resume", "--out", str(run))
    assert code == 0, err
    assert "resuming after epoch 1" in err
    assert [r["epoch"] for r in map(json.loads, (run / "log.jsonl").read_text().splitlines())
            ] == [1, 2]


@pytest.fixture
def own_stop_handlers() -> Iterator[None]:
    """Give this process its SIGTERM and SIGHUP handlers back after the trainer set them."""
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}
    yield
    for signum, handler in before.items():
        signal.signal(signum, handler)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_mid_run_saves_and_says_how_to_resume_with_143(
        tiny_data: Path, tiny: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], own_stop_handlers: None) -> None:
    """SIGTERM (a job scheduler's stop, ``timeout``) ends a run as Ctrl-C does. Run
    in-process through the console script's ``main``, which installs the handler, so no
    second torch start-up is paid; the signal is a real one."""
    from trainer import cli as trainer_cli

    def sigterm() -> None:
        # SIG_DFL would end this test run too: then the trainer installed no handler
        assert signal.getsignal(signal.SIGTERM) != signal.SIG_DFL, "SIGTERM kills the run"
        signal.raise_signal(signal.SIGTERM)

    config, run = _stopped_in_the_second_epoch(tiny, tmp_path, monkeypatch, sigterm)
    monkeypatch.setattr(sys, "argv", ["trainer", "fit", str(tiny_data), "--out", str(run),
                                      "--config", str(config)])
    with pytest.raises(SystemExit) as exited:
        trainer_cli.main()
    err = capsys.readouterr().err
    assert exited.value.code == 143, err
    assert err.strip().splitlines()[-1] == (
        f"Interrupted by SIGTERM: stopped in epoch 2; saved {run / 'last.pt'} after 1 complete "
        f"epoch (an unfinished epoch is run again). Continue with: trainer fit --resume --out "
        f"{run}")
    assert (run / "last.pt").is_file() and "Traceback" not in err


class _RefusingFile:
    """``open(..., "w")`` on a disk that refuses the write: the open works, the first write
    does not (and names no file), as a full disk (ENOSPC), one remounted read-only after
    the open (EROFS), a share that withdrew the permission (EACCES) or a failing disk (EIO)
    answers it."""

    code = errno.ENOSPC

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def __enter__(self) -> _RefusingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def write(self, _data: object) -> int:
        raise OSError(self.code, os.strerror(self.code))


REFUSALS = [errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EIO]
REFUSAL_IDS = ["full", "read-only", "permission", "io-error"]


def _why(code: int, folder: Path) -> str:
    return {errno.ENOSPC: f"no space left on the disk holding {folder}: free some space and "
                          "run again",
            errno.EROFS: "read-only file system", errno.EACCES: "permission denied",
            errno.EIO: "input/output error"}[code]


@pytest.mark.parametrize("refusal", REFUSALS, ids=REFUSAL_IDS)
def test_a_report_the_disk_refuses_is_one_line_naming_it(
        refusal: int, trained_run: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """evaluate's per-class CSV (eda's, clean's and tune's files go the same way)."""
    import trainer.evaluate

    refusing = type("Refusing", (_RefusingFile,), {"code": refusal})
    monkeypatch.setattr(trainer.evaluate, "open", refusing, raising=False)
    out = tmp_path / "evaluation"
    code, _out, err = _invoke("evaluate", str(trained_run), "--out", str(out),
                              "--prototypes", "head")
    assert code == 1 and "Traceback" not in err
    assert err.strip() == f"Error: Cannot write {out / 'per_class.csv'}: {_why(refusal, out)}."


def _savefig_refused(monkeypatch: pytest.MonkeyPatch, refusal: int) -> None:
    """matplotlib's ``open`` of the PNG is refused, naming it."""
    from matplotlib.figure import Figure

    def savefig(self, path, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError(refusal, os.strerror(refusal), str(path))

    monkeypatch.setattr(Figure, "savefig", savefig)


@pytest.mark.parametrize("refusal", REFUSALS, ids=REFUSAL_IDS)
def test_a_plot_the_disk_refuses_is_one_line_naming_it(
        refusal: int, trained_run: Path, tiny_data: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """explain's PNG."""
    _savefig_refused(monkeypatch, refusal)
    png = tmp_path / "plots" / "why.png"
    photo = next((tiny_data / "red_circle").glob("*.jpg"))
    code, _out, err = _invoke("explain", str(trained_run), str(photo), "--out", str(png))
    assert code == 1 and "Traceback" not in err
    assert err.strip() == f"Error: Cannot write {png}: {_why(refusal, png.parent)}."


@pytest.mark.parametrize("refusal", [errno.EACCES, errno.EIO], ids=["permission", "io-error"])
def test_eda_plots_the_disk_refuses_are_one_line_naming_them(
        refusal: int, tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _savefig_refused(monkeypatch, refusal)
    out = tmp_path / "eda"
    code, _out, err = _invoke("eda", str(tiny_data), "--out", str(out))
    assert code == 1 and "Traceback" not in err
    assert err.strip() == (f"Error: Cannot write {out / 'class_sizes.png'}: "
                           f"{_why(refusal, out)}.")


@pytest.mark.parametrize("failure", ["open", "read"])
def test_a_checkpoint_that_cannot_be_read_back_for_best_pt_is_called_a_read(
        failure: str, tiny_data: Path, tiny: dict, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """best.pt is copied from last.pt: a failing disk under last.pt (EIO) is "Cannot read"
    it, not a refused write of best.pt, which would send the person to free space."""
    import builtins

    import trainer.atomic

    class _FailingDisk:
        def __init__(self, handle: object) -> None:
            self._handle = handle

        def read(self, *_args: object) -> bytes:
            raise OSError(errno.EIO, os.strerror(errno.EIO))

        def __enter__(self) -> _FailingDisk:
            return self

        def __exit__(self, *exc: object) -> None:
            self._handle.close()  # type: ignore[attr-defined]

    def failing_open(path, mode="r", *args, **kwargs):  # type: ignore[no-untyped-def]
        if mode == "rb" and Path(path).name == "last.pt":
            if failure == "open":
                raise OSError(errno.EIO, os.strerror(errno.EIO), str(path))
            return _FailingDisk(builtins.open(path, mode, *args, **kwargs))
        return builtins.open(path, mode, *args, **kwargs)

    monkeypatch.setattr(trainer.atomic, "open", failing_open, raising=False)
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(tiny))
    run = tmp_path / "run"
    code, _out, err = _invoke("fit", str(tiny_data), "--out", str(run), "--config", str(config))
    assert code == 1 and "Traceback" not in err
    (line,) = [line for line in err.splitlines() if line.startswith("Error:")]
    assert line.startswith(f"Error: Cannot read {run / 'last.pt'}: input/output error.")
    assert not (run / "best.pt").exists()
    assert not [p.name for p in run.iterdir() if p.name.endswith(".tmp")]
