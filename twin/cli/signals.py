"""Stopping a command from outside: Ctrl-C, and the SIGTERM a batch scheduler (Slurm,
Kubernetes, systemd) sends before it kills.

Both end a command the same way: :class:`Stopped` (a ``KeyboardInterrupt``) is raised in
the main thread, ``twin run`` keeps and writes its completed steps (status
``"interrupted"``, resumable with ``--resume``), the lock of the output folder is
released, and the process exits with ``128 + signal number`` (130 for Ctrl-C, 143 for
SIGTERM, the shell's convention). A second signal while the results are being written is
reported and ignored, so that the write completes; a third one stops at once (``kill -9``
always does).
"""
from __future__ import annotations

import signal
import sys

__all__ = ["Stopped", "install_handlers", "exit_status"]

#: Signals handled like Ctrl-C.
HANDLED = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None),
                            signal.SIGINT) if s is not None)


class Stopped(KeyboardInterrupt):
    """A command stopped by signal ``signum``."""

    def __init__(self, signum: int = signal.SIGINT):
        self.signum = int(signum)
        super().__init__(self.signal_name)

    @property
    def signal_name(self) -> str:
        return "Ctrl-C" if self.signum == signal.SIGINT else signal.Signals(self.signum).name


def exit_status(exc: BaseException) -> int:
    """``128 + signal`` for a stopped command (130 for a bare ``KeyboardInterrupt``)."""
    return 128 + int(getattr(exc, "signum", signal.SIGINT))


_count = 0


def _handler(signum, frame):
    global _count
    _count += 1
    if _count == 2:
        print(f"{signal.Signals(signum).name}: still finishing; the results are being written "
              "(send it once more to stop at once)", file=sys.stderr, flush=True)
        return
    raise Stopped(signum)


def install_handlers() -> None:
    """Handle SIGTERM, SIGHUP and SIGINT as :class:`Stopped` (main thread only)."""
    global _count
    _count = 0
    import threading
    if threading.current_thread() is not threading.main_thread():
        return
    for s in HANDLED:
        try:
            signal.signal(s, _handler)
        except (OSError, ValueError):
            pass
