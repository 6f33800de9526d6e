"""The scheduling round loop, shared by the simulator and the runtime.

Every ``interval_s`` of clock time the controller runs one round. The simulator injects a
virtual clock (waiting moves it); the runtime injects the wall clock, which can be woken early
(a job was submitted or exited) and runs until told to stop. Nothing here knows which engine
it drives.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from adaptsched.control.controller import Controller
from adaptsched.control.hooks import RoundRecord


class Clock(Protocol):
    def now_s(self) -> float: ...

    def wait_s(self, seconds: float) -> None:
        """Wait up to ``seconds`` (less if woken)."""
        ...

    def wake(self) -> None:
        """End the current (or next) wait early."""
        ...


class VirtualClock:
    """Simulated time: waiting just moves the clock; nothing wakes it early."""

    def __init__(self, start_s: float = 0.0) -> None:
        self._now_s = start_s

    def now_s(self) -> float:
        return self._now_s

    def wait_s(self, seconds: float) -> None:
        self._now_s += seconds

    def wake(self) -> None:
        return None


class WallClock:
    """Real time (seconds since the epoch, so persisted times survive a restart)."""

    def __init__(self) -> None:
        self._woken = threading.Event()

    def now_s(self) -> float:
        return time.time()

    def wait_s(self, seconds: float) -> None:
        self._woken.wait(max(seconds, 0.0))
        self._woken.clear()

    def wake(self) -> None:
        self._woken.set()


class RoundLimitError(RuntimeError):
    """The loop ran its round limit without the stop condition becoming true."""


class RoundLoop:
    """Runs a round of ``controller`` every ``interval_s`` of ``clock`` time."""

    def __init__(self, controller: Controller, clock: Clock, interval_s: float) -> None:
        if not interval_s > 0:
            raise ValueError(f"interval_s: must be > 0, got {interval_s}")
        self.controller, self.clock, self.interval_s = controller, clock, interval_s
        self._stopped = False

    @property
    def rounds(self) -> int:
        return self.controller.rounds

    def step(self) -> RoundRecord:
        """Wait one interval (or until woken), then run one round."""
        self.clock.wait_s(self.interval_s)
        return self.controller.run_round(self.clock.now_s())

    def run(self, until: Callable[[], bool] | None = None, max_rounds: int | None = None) -> int:
        """Run rounds until ``until()`` is true or ``stop()`` is called; returns the number of
        rounds. Raises ``RoundLimitError`` after ``max_rounds`` rounds."""
        while not self._stopped and not (until is not None and until()):
            if max_rounds is not None and self.rounds >= max_rounds:
                raise RoundLimitError(f"round loop: not finished after {max_rounds} rounds")
            self.step()
        return self.rounds

    def stop(self) -> None:
        """Make ``run`` return after the round in progress (wakes a waiting clock)."""
        self._stopped = True
        self.clock.wake()

    def wake(self) -> None:
        """Run the next round now instead of at the end of the interval."""
        self.clock.wake()
