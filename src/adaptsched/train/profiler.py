"""Step-time profile of a job: compute and synchronisation time per configuration.

Every optimizer step's time (from one ``step()`` call to the next) is split into compute and
the synchronisation tail that did not overlap with it: the time between the last gradient
bucket being handed to the all-reduce and the end of the backward pass. Means are kept per
(nodes, replicas, local batch), the rows of Pollux's ``placements.csv``, and the throughput
model is refitted from them (``fit_throughput``) every ``refit_interval_s``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from adaptsched.models import ModelInputError, StepObservations, ThroughputParams, fit_throughput
from adaptsched.models.hints import REFIT_INTERVAL_S

log = logging.getLogger(__name__)


@dataclass
class _Sums:
    count: int = 0
    step_s: float = 0.0
    sync_s: float = 0.0


class StepProfiler:
    """Mean step and sync times per configuration; periodic model refits."""

    def __init__(self, refit_interval_s: float = REFIT_INTERVAL_S, warmup_steps: int = 2) -> None:
        self.refit_interval_s = refit_interval_s
        self.warmup_steps = warmup_steps
        self._sums: dict[tuple[int, int, int], _Sums] = {}
        self._warm: dict[tuple[int, int, int], int] = {}  # steps seen in this process
        self._last_fit_s = time.monotonic()
        self.params: ThroughputParams | None = None

    def record(
        self, nodes: int, replicas: int, local_bsz: int, step_s: float, sync_s: float
    ) -> None:
        """One synchronising step; the first ``warmup_steps`` per configuration (per process)
        are dropped (allocator and thread-pool warm-up)."""
        key = (nodes, replicas, local_bsz)
        seen = self._warm.get(key, 0)
        self._warm[key] = seen + 1
        if seen < self.warmup_steps or step_s <= 0:
            return
        sums = self._sums.setdefault(key, _Sums())
        sums.count += 1
        sums.step_s += step_s
        sums.sync_s += min(max(sync_s, 0.0), 0.95 * step_s) if replicas > 1 else 0.0

    def count(self, nodes: int, replicas: int, local_bsz: int) -> int:
        """Timed steps kept for one configuration (warm-up excluded)."""
        sums = self._sums.get((nodes, replicas, local_bsz))
        return sums.count if sums else 0

    def rows(self) -> list[dict[str, float]]:
        """Mean times per configuration, as placements.csv-like rows."""
        return [
            {
                "nodes": n,
                "replicas": k,
                "local_bsz": m,
                "step_time": s.step_s / s.count,
                "sync_time": s.sync_s / s.count,
                "count": s.count,
            }
            for (n, k, m), s in sorted(self._sums.items())
        ]

    def observations(self) -> StepObservations | None:
        rows = self.rows()
        if not rows:
            return None
        col = {key: np.array([r[key] for r in rows], dtype=float) for key in rows[0]}
        return StepObservations(
            col["nodes"], col["replicas"], col["local_bsz"], col["step_time"], col["sync_time"]
        )

    def refit(self) -> ThroughputParams | None:
        """Fit the throughput model to everything seen so far (keeps the old fit on failure)."""
        self._last_fit_s = time.monotonic()
        obs = self.observations()
        if obs is None:
            return self.params
        try:
            self.params = fit_throughput(obs)
        except ModelInputError as exc:
            log.warning("throughput fit failed, keeping the previous one: %s", exc)
        return self.params

    def due(self) -> bool:
        return time.monotonic() - self._last_fit_s >= self.refit_interval_s

    def state_dict(self) -> dict[str, object]:
        return {"rows": self.rows()}

    def load_state_dict(self, state: dict[str, object]) -> None:
        self._sums = {}
        for row in state.get("rows", []):  # type: ignore[union-attr]
            key = (int(row["nodes"]), int(row["replicas"]), int(row["local_bsz"]))
            count = int(row["count"])
            self._sums[key] = _Sums(count, row["step_time"] * count, row["sync_time"] * count)
        self.refit()
