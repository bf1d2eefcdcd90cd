# SPDX-License-Identifier: GPL-3.0-or-later
"""Ctrl-C held back while a step that must not be cut in two runs, then let through.

Python raises ``KeyboardInterrupt`` at whatever line runs when Ctrl-C arrives. Some steps
must not stop half-way: a photo rewritten but not yet known as rewritten (its way back
forgotten), or onnxruntime's import, whose native part turns an interrupt into
``ImportError``. Inside :func:`held` a Ctrl-C is only noted; :meth:`Held.deliver` raises it
where the caller chooses. Signals reach the main thread only, so elsewhere (the desktop's
job threads, which stop by asking) nothing is held.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any


class Held:
    """What :func:`held` noted: whether Ctrl-C was pressed, and the handler to give it to."""

    def __init__(self) -> None:
        self.pressed = False
        self._previous: Callable[[int, Any], Any] | int | None = None

    def _press(self, _signum: int, _frame: object) -> None:
        self.pressed = True

    def deliver(self) -> None:
        """Let a Ctrl-C pressed while held take effect now: Python's own handler raises
        ``KeyboardInterrupt`` (one that ignored Ctrl-C before ignores it still)."""
        if self.pressed and callable(self._previous):
            self.pressed = False
            self._previous(signal.SIGINT, None)


@contextlib.contextmanager
def held() -> Iterator[Held]:
    """Note Ctrl-C instead of raising it inside the block; call ``deliver()`` after it."""
    state = Held()
    if threading.current_thread() is not threading.main_thread():
        yield state
        return
    state._previous = signal.signal(signal.SIGINT, state._press)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, state._previous)
