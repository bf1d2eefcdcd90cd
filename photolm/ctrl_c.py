# SPDX-License-Identifier: GPL-3.0-or-later
"""Ctrl-C, SIGTERM and SIGHUP: one way to stop a command, held back while a step that must
not be cut in two runs.

Python raises ``KeyboardInterrupt`` at whatever line runs when Ctrl-C arrives, and photolm's
commands keep their work safe where it lands (``except KeyboardInterrupt`` and ``finally``:
the photos tagged so far recorded, the batches scanned so far kept, a temporary copy
removed). SIGTERM (``kill``, ``timeout``, a service manager's stop, a NAS task scheduler)
and SIGHUP (the terminal closed) would instead end the process at once, skipping all that.
:func:`stop_on_signals` makes them raise :class:`Stopped`, a ``KeyboardInterrupt``, so one
path serves all three; :func:`exit_status` and :func:`interrupted` give the exit status
(128 + the signal, as a shell reports a process a signal ended) and the words for it.

Some steps must not stop half-way: a photo rewritten but not yet known as rewritten (its way
back forgotten), or onnxruntime's import, whose native part turns an interrupt into
``ImportError``. Inside :func:`held` a stop is only noted; :meth:`Held.deliver` raises it
where the caller chooses. Signals reach the main thread only, so elsewhere (the desktop's
job threads, which stop by asking) nothing is held.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

# Windows has no SIGHUP; a closed console there is another mechanism.
STOP_SIGNALS: tuple[int, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))

Handler = Callable[[int, Any], Any] | int | None


class Stopped(KeyboardInterrupt):
    """A stop raised by photolm rather than by Python's Ctrl-C handler: SIGTERM or SIGHUP
    at any time, or any of the three once a step held it back has finished
    (``finished_first``). Being a ``KeyboardInterrupt``, every place that keeps work safe
    on Ctrl-C keeps it safe on these too."""

    def __init__(self, signum: int, *, finished_first: bool = False) -> None:
        super().__init__(signum)
        self.signum = signum
        self.finished_first = finished_first


# The stop signals this process received through photolm's handlers, first first: signals
# are the process's, not a command's. After SIGHUP the terminal is gone, and the entry point
# reads this to end with 129 however the writes to it fail.
_received: list[int] = []


def first_received() -> int | None:
    """The first stop signal that reached photolm's handlers (or a hold), if any."""
    return _received[0] if _received else None


def _raise_stopped(signum: int, _frame: object) -> None:
    _received.append(signum)
    raise Stopped(signum)


def stop_on_signals() -> None:
    """Make SIGTERM and SIGHUP stop the command as Ctrl-C does. A signal ignored already
    stays ignored (``nohup`` ignores SIGHUP so that a closed terminal does not stop the
    job), and one another program handles keeps its handler."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in STOP_SIGNALS:
        if signum != signal.SIGINT and signal.getsignal(signum) == signal.SIG_DFL:
            signal.signal(signum, _raise_stopped)


def stop_signal(stop: BaseException | int) -> int:
    """The signal that stopped the command (given it, or the exception it raised): a plain
    ``KeyboardInterrupt`` is Ctrl-C's."""
    if isinstance(stop, int):
        return stop
    return stop.signum if isinstance(stop, Stopped) else int(signal.SIGINT)


def exit_status(stop: BaseException | int) -> int:
    """128 + the signal: 130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP."""
    return 128 + stop_signal(stop)


def named(stop: BaseException | int) -> str:
    """``Ctrl-C``, ``SIGTERM`` or ``SIGHUP``, as a person knows each."""
    signum = stop_signal(stop)
    return "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name


def interrupted(stop: BaseException | int, *, capital: bool = False) -> str:
    """``interrupted`` for Ctrl-C (the words every command has always said), ``interrupted
    by SIGTERM`` for the others; ``Interrupted`` to begin a line."""
    words = "interrupted" if stop_signal(stop) == signal.SIGINT else (
        f"interrupted by {named(stop)}")
    return words.replace("i", "I", 1) if capital else words


class Held:
    """What :func:`held` noted: the first stop signal that came, and the handlers to give
    it to."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Handler] = {}

    @property
    def pressed(self) -> bool:
        return self.signum is not None

    def _press(self, signum: int, _frame: object) -> None:
        # A second press (or a SIGTERM after Ctrl-C) while the step runs changes nothing:
        # stopping now could leave a photo rewritten without its way back. The step is
        # short; the stop takes effect as soon as it ends, saying so (finished_first).
        _received.append(signum)
        if self.signum is None:
            self.signum = signum

    def deliver(self) -> None:
        """Let a stop that came while held take effect now. Python's Ctrl-C handler, photolm's
        own and no handler at all (``SIG_DFL``: the default is to stop) raise
        :class:`Stopped`; another program's handler is called; an ignored signal stays
        ignored."""
        signum, self.signum = self.signum, None
        if signum is None:
            return
        previous = self._previous.get(signum)
        if previous in (signal.default_int_handler, _raise_stopped, signal.SIG_DFL, None):
            raise Stopped(signum, finished_first=True)
        if callable(previous):
            previous(signum, None)


@contextlib.contextmanager
def held() -> Iterator[Held]:
    """Note Ctrl-C, SIGTERM and SIGHUP instead of raising them inside the block; call
    ``deliver()`` after it."""
    state = Held()
    if threading.current_thread() is not threading.main_thread():
        yield state
        return
    for signum in STOP_SIGNALS:
        if signal.getsignal(signum) != signal.SIG_IGN:
            state._previous[signum] = signal.signal(signum, state._press)
    try:
        yield state
    finally:
        for signum, previous in state._previous.items():
            signal.signal(signum, signal.SIG_DFL if previous is None else previous)
