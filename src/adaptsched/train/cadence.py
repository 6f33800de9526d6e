"""How often the replicas measure and exchange gradient statistics.

Measuring norms and the small all-reduce that exchanges them (with the stop and checkpoint
flags) cost a fixed ~1 ms per exchange. On a 50 ms step that is 2%; on a 2 s step nothing.
So the exchange runs about every ``period_s`` seconds of training but never less often than
every ``max_stride`` steps nor more often than every step. The stride must be the same on
every replica, so rank 0 proposes it inside an exchange and every replica adopts it when that
exchange is collected (which all do at the same step).
"""

from __future__ import annotations

import math
import statistics
from collections import deque

MAX_STRIDE = 8  # bounds the SIGTERM-to-checkpoint delay at 2 x 8 steps


class StatsCadence:
    """The steps on which statistics are measured and exchanged."""

    def __init__(self, period_s: float = 0.2, max_stride: int = MAX_STRIDE, step: int = 0) -> None:
        if not (period_s >= 0 and math.isfinite(period_s)):
            raise ValueError(f"stats_period_s: must be a finite number >= 0, got {period_s}")
        if max_stride < 1:
            raise ValueError(f"max_stride: must be >= 1, got {max_stride}")
        self.period_s = period_s
        self.max_stride = max_stride
        self.stride = 1  # until rank 0's first proposal arrives
        self.next_step = step + 1
        self._recent_s: deque[float] = deque(maxlen=15)  # step times; rank 0 proposes from them

    def due(self, step: int) -> bool:
        """Whether optimizer step number ``step`` measures and exchanges."""
        return step >= self.next_step

    def observe(self, step_s: float) -> None:
        """One step's wall time (the median of recent ones counts: one slow step must not)."""
        if step_s > 0 and math.isfinite(step_s):
            self._recent_s.append(step_s)

    def proposal(self) -> int:
        """The stride rank 0 asks for: enough steps to fill ``period_s``."""
        if not self._recent_s or self.period_s == 0:
            return 1
        step_s = statistics.median(self._recent_s)
        return max(1, min(self.max_stride, math.ceil(self.period_s / step_s)))

    def exchanged(self, step: int, proposed: float) -> None:
        """An exchange was collected at ``step`` carrying rank 0's ``proposed`` stride (0 when
        it carried none) and a new one starts now: schedule the one after it."""
        if proposed >= 1:
            self.stride = min(self.max_stride, round(proposed))
        self.next_step = step + self.stride
