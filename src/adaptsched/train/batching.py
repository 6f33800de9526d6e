"""Choosing the batch configuration (local batch m, accumulation steps s) for an allocation.

The choice is ``JobModel.best_config`` for the job's metric (Pollux, section 3.3); it is made
at epoch boundaries and after restarts, and a running configuration is replaced only when the
model predicts at least ``min_gain`` (5%) more of the metric, so that noise in the fitted
model does not make the batch size oscillate. Before the model is known (no step times, no
gradient statistics yet) the job runs at its initial batch M0, split over the replicas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from adaptsched.models import BatchLimits, JobModel, Metric, efficiency, throughput

MIN_GAIN = 0.05


@dataclass(frozen=True)
class BatchConfig:
    """Per-replica batch and extra accumulation micro-steps."""

    local_bsz: int  # m
    accum_steps: int  # s

    def total(self, replicas: int) -> int:
        """M = K * m * (s + 1)."""
        return replicas * self.local_bsz * (self.accum_steps + 1)


def initial_config(limits: BatchLimits, replicas: int) -> BatchConfig:
    """M0 split over the replicas, accumulating when the local batch would exceed its bound."""
    upper = limits.local_upper
    micro = max(1, math.ceil(limits.init_batch / (replicas * upper)))
    if micro - 1 > limits.max_accum_steps:
        micro = limits.max_accum_steps + 1
    local = math.ceil(limits.init_batch / (replicas * micro))
    local = min(max(local, limits.min_local), upper)
    return BatchConfig(local_bsz=local, accum_steps=micro - 1)


def predicted_value(
    model: JobModel, metric: Metric, nodes: int, replicas: int, config: BatchConfig
) -> float:
    """The metric's value of ``config`` under ``model`` (0 when outside the limits)."""
    total = config.total(replicas)
    if not model.limits.init_batch <= total <= model.limits.max_batch:
        return 0.0
    thr = throughput(model.params, nodes, replicas, config.local_bsz, config.accum_steps)
    eff = efficiency(model.grad, model.limits.init_batch, total)
    return float(np.asarray(metric.objective(thr, eff)))


def choose_config(
    limits: BatchLimits,
    model: JobModel | None,
    metric: Metric,
    nodes: int,
    replicas: int,
    current: BatchConfig | None,
    min_gain: float = MIN_GAIN,
) -> BatchConfig:
    """Best configuration for (nodes, replicas); keeps ``current`` unless the best one is
    predicted to be at least ``min_gain`` better. ``current`` must be a configuration for
    the same number of replicas (None after a restart or resize)."""
    fallback = current or initial_config(limits, replicas)
    if model is None:
        return fallback
    choice = model.best_config(nodes, replicas, metric)
    if not bool(choice.feasible):
        return fallback
    best = BatchConfig(int(choice.local_bsz), int(choice.accum_steps))
    if current is None:
        return best
    now = predicted_value(model, metric, nodes, replicas, current)
    if now <= 0 or float(choice.objective) >= (1.0 + min_gain) * now:
        return best
    return current
