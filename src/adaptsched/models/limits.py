"""A job's batch-size limits: what the batch optimiser may choose from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adaptsched.models.errors import ModelInputError

DEFAULT_MAX_ACCUM_STEPS = 15


@dataclass(frozen=True)
class BatchLimits:
    """Bounds on the total batch M and the per-replica batch m (all in samples).

    ``init_batch`` is M0, the batch the job's hyper-parameters were tuned for; the total
    batch stays within [M0, max_batch]. ``max_accum_steps`` is the largest number of extra
    accumulation micro-steps s (0 forbids gradient accumulation).
    """

    init_batch: int
    max_batch: int
    min_local: int = 1
    max_local: int | None = None
    max_accum_steps: int = DEFAULT_MAX_ACCUM_STEPS

    def __post_init__(self) -> None:
        for name in ("init_batch", "max_batch", "min_local"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ModelInputError(
                    f"BatchLimits.{name}: must be a positive integer, got {value!r}"
                )
        if self.max_local is not None and (
            not isinstance(self.max_local, int) or self.max_local < self.min_local
        ):
            raise ModelInputError(
                f"BatchLimits.max_local: must be an integer >= min_local ({self.min_local}), "
                f"got {self.max_local!r}"
            )
        if self.max_batch < self.init_batch:
            raise ModelInputError(
                f"BatchLimits.max_batch: {self.max_batch} is below init_batch {self.init_batch}"
            )
        if not isinstance(self.max_accum_steps, int) or self.max_accum_steps < 0:
            raise ModelInputError("BatchLimits.max_accum_steps: must be an integer >= 0")
        if self.min_local > self.max_batch:
            raise ModelInputError(
                f"BatchLimits.min_local: {self.min_local} exceeds max_batch {self.max_batch}; "
                "no local batch is admissible"
            )
        if not self._reachable_on_one_replica():
            raise ModelInputError(
                f"BatchLimits: no local batch in [{self.min_local}, {self.local_upper}] times "
                f"at most {self.max_accum_steps + 1} micro-steps (max_accum_steps "
                f"{self.max_accum_steps}) lands in [init_batch {self.init_batch}, "
                f"max_batch {self.max_batch}]; one replica could never run this job at M0"
            )

    def _reachable_on_one_replica(self) -> bool:
        """Whether some m * (s + 1) with admissible m and s <= max_accum_steps lies in
        [M0, max_batch] (one replica, accumulating as needed): the reference point of every
        speedup, and the batch a job starts at. Below M0 a step would count a full M0 step of
        progress for fewer samples."""
        m = np.arange(self.min_local, self.local_upper + 1)
        micro = np.ceil(self.init_batch / m)
        fits = (micro <= self.max_accum_steps + 1) & (micro * m <= self.max_batch)
        return bool(np.any(fits))

    @property
    def local_upper(self) -> int:
        """Largest admissible local batch (max_local, else max_batch)."""
        return self.max_batch if self.max_local is None else min(self.max_local, self.max_batch)

    @property
    def accumulation(self) -> bool:
        return self.max_accum_steps > 0
