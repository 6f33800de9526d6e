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
    """Set by SIGTERM (or by hand); read at step boundaries. Installed only while training:
    afterwards (evaluation, saving results) SIGTERM must act as it normally would."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._previous: object = None
        self._installed = False
        self._served = False  # a stop was carried out: later signals find the job exiting

    def install(self) -> None:
        """Handle SIGTERM in this process (main thread only; elsewhere a no-op)."""
        if self._installed or threading.current_thread() is not threading.main_thread():
            return
        self._previous = signal.signal(signal.SIGTERM, self._handle)
        self._installed = True

    def uninstall(self) -> None:
        """Give SIGTERM back to the handler it had before; a SIGTERM that arrived and was
        not acted on is delivered to it now, so that it is never swallowed."""
        if not self._installed:
            return
        previous = self._previous if self._previous is not None else signal.SIG_DFL
        signal.signal(signal.SIGTERM, previous)  # type: ignore[arg-type]
        self._installed = False
        if self._event.is_set() and not self._served:
            self._event.clear()
            signal.raise_signal(signal.SIGTERM)

    def acted_on(self) -> None:
        """The stop was carried out (checkpoint written, the job exits with 75): nothing is
        left to deliver, not even a second SIGTERM arriving while it exits."""
        self._served = True

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
