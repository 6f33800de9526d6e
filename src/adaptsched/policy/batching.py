"""How a job with a fixed total batch splits it over its GPUs (shared by the simulator, which
runs such jobs, and by baselines that predict their step times)."""

from __future__ import annotations

import math

from adaptsched.models import BatchLimits


def split_batch(total_batch: int, replicas: int, limits: BatchLimits) -> tuple[int, int]:
    """(local batch m, accumulation steps s) for ``total_batch`` on ``replicas`` GPUs.

    Each GPU takes an even share; a share above the largest local batch is processed in
    s + 1 micro-steps; the result never exceeds the job's largest total batch. A single GPU
    asked for more than M0 always accumulates over at least two micro-steps, as in the Pollux
    paper's simulator (its NCF jobs, batch 32768 on one GPU, are timed that way).
    """
    if replicas < 1:
        raise ValueError(f"replicas: must be >= 1, got {replicas}")
    share = math.ceil(total_batch / replicas)
    accum = max(math.ceil(share / limits.local_upper) - 1, 0)
    if replicas == 1 and total_batch > limits.init_batch:
        accum = max(accum, 1)
    local = math.ceil(share / (accum + 1))
    local = min(local, limits.max_batch // (replicas * (accum + 1)))
    return max(local, 1), accum
