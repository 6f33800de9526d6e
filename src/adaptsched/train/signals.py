"""Graceful preemption: SIGTERM asks the job to checkpoint at the next step boundary and exit.

The exit status is ``EXIT_PREEMPTED`` = 75 (``EX_TEMPFAIL`` in sysexits.h: "try again later"),
distinct from 0 (finished), 1 (crashed) and 143 (killed by SIGTERM's default action), so a
supervisor knows the job stopped cleanly with a checkpoint and should be restarted.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

EXIT_PREEMPTED = 75


class PreemptionFlag:
    """Set by SIGTERM (or by hand); read at step boundaries."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._previous: object = None

    def install(self) -> None:
        """Handle SIGTERM in this process (main thread only; elsewhere a no-op)."""
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self._event.set()

    def set(self) -> None:
        self._event.set()

    @property
    def requested(self) -> bool:
        return self._event.is_set()


class Preempted(SystemExit):
    """Raised after the preemption checkpoint is written; exits with EXIT_PREEMPTED."""

    def __init__(self) -> None:
        super().__init__(EXIT_PREEMPTED)
