"""Performance metrics: what a job maximises when it picks its batch size, how the policy
values an allocation, and which utility band the autoscaler keeps.

Every metric is an object with the same interface, registered by name, so callers never
branch on which metric they hold (``get_metric("speed")``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from adaptsched.models.errors import ModelInputError

#: Pollux's autoscaling utility band (lower, upper).
POLLUX_UTILITY_BAND = (0.35, 0.65)


@dataclass(frozen=True)
class Metric(ABC):
    """A named objective over (throughput, statistical efficiency), an autoscaling band, and
    how much a job's remaining time weighs when the policy values its allocation.

    ``remaining_exponent`` (alpha) gives the job the weight ``remaining_s ** -alpha`` in the
    policy's objective: 0 treats every job alike (Pollux); 1 weighs a job by the inverse of
    its remaining time, so the search serves nearly finished jobs first, as shortest-remaining-
    processing-time does. ``fairness_power`` is the p of the power mean the policy maximises
    when this is the cluster's metric. Design and measurements: docs/metrics.md.
    """

    name: str
    utility_band: tuple[float, float] = POLLUX_UTILITY_BAND
    remaining_exponent: float = 0.0
    #: p of the power mean over the jobs' speedups when this is the cluster's metric (Pollux:
    #: -1, which favours fairness; 1 maximises the weighted sum).
    fairness_power: float = -1.0

    def __post_init__(self) -> None:
        low, high = self.utility_band
        if not 0.0 <= low <= high:
            raise ModelInputError(f"metric {self.name!r}: utility band needs 0 <= low <= high")
        if not -2.0 <= self.remaining_exponent <= 2.0:
            raise ModelInputError(f"metric {self.name!r}: remaining_exponent must lie in [-2, 2]")
        if not -10.0 <= self.fairness_power <= 1.0:
            raise ModelInputError(f"metric {self.name!r}: fairness_power must lie in [-10, 1]")

    @abstractmethod
    def objective(self, throughput: np.ndarray, efficiency: np.ndarray) -> np.ndarray:
        """Value of a configuration; the batch optimiser maximises it per allocation."""

    def allocation_weight(self, remaining_s: float | None) -> float:
        """The job's weight in the policy's objective (1 when its remaining time is unknown
        or the metric ignores it); remaining times below a second count as one second."""
        if self.remaining_exponent == 0 or remaining_s is None or not np.isfinite(remaining_s):
            return 1.0
        return float(max(remaining_s, 1.0) ** -self.remaining_exponent)


@dataclass(frozen=True)
class GoodputMetric(Metric):
    """Pollux's goodput: samples/s times statistical efficiency (progress per second)."""

    def objective(self, throughput: np.ndarray, efficiency: np.ndarray) -> np.ndarray:
        return np.asarray(throughput) * np.asarray(efficiency)


@dataclass(frozen=True)
class ThroughputMetric(Metric):
    """The seed thesis's ``speed``: GOODPUT := THROUGHPUT, efficiency ignored."""

    def objective(self, throughput: np.ndarray, efficiency: np.ndarray) -> np.ndarray:
        return np.asarray(throughput) * np.ones_like(np.asarray(efficiency))


_REGISTRY: dict[str, Metric] = {}
_ALIASES: dict[str, str] = {"default": "goodput"}


def register_metric(metric: Metric) -> Metric:
    """Add a metric under its name (later definitions replace earlier ones)."""
    _REGISTRY[metric.name] = metric
    return metric


def metric_names() -> list[str]:
    """Registered metric names, sorted, without aliases."""
    return sorted(_REGISTRY)


def get_metric(name: str) -> Metric:
    """Look a metric up by name or alias; unknown names list the valid ones."""
    key = _ALIASES.get(name, name)
    if key.startswith("balanced:"):
        try:
            return balanced(float(key.split(":", 1)[1]))
        except ValueError as exc:
            raise ModelInputError(f"metric {name!r}: {exc}") from None
    try:
        return _REGISTRY[key]
    except KeyError:
        valid = ", ".join(metric_names() + sorted(_ALIASES))
        raise ModelInputError(f"unknown metric {name!r}; valid metrics: {valid}") from None


#: Utility bands of the metric options. ``speed`` keeps more nodes (a lower band: it scales out
#: while an added GPU still returns at least ~20-50% of a perfectly used one); ``cost`` runs the
#: cluster hotter (it scales in until GPUs return >= 50-80% on average). The thesis's cost
#: variant only raised the upper end, which widens the band where nothing moves.
SPEED_BAND = (0.20, 0.50)
COST_BAND = (0.50, 0.80)
COST_THESIS_BAND = (0.35, 0.80)


#: ``speed``'s allocation value: weights 1 / remaining time in a geometric mean (p = 0), so
#: the search maximises sum_j log(speedup_j) / remaining_j: shortest remaining time first,
#: generalised to speedups, while every job still loses much by getting nothing (docs/metrics.md
#: compares p = 1, the plain weighted sum).
SPEED_REMAINING_EXPONENT = 1.0
SPEED_FAIRNESS_POWER = 0.0
POLLUX_FAIRNESS_POWER = -1.0


def _lerp_band(knob: float) -> tuple[float, float]:
    """Band between SPEED_BAND (knob 0) and COST_BAND (knob 1)."""
    low = SPEED_BAND[0] + knob * (COST_BAND[0] - SPEED_BAND[0])
    high = SPEED_BAND[1] + knob * (COST_BAND[1] - SPEED_BAND[1])
    return (low, high)


def balanced(knob: float = 0.5) -> Metric:
    """``balanced``: one knob in [0, 1] from speed (0) to cost (1); the thesis's future work."""
    if not 0.0 <= knob <= 1.0:
        raise ModelInputError(f"balanced knob: must lie in [0, 1], got {knob}")
    name = "balanced" if knob == 0.5 else f"balanced:{knob:g}"
    power = SPEED_FAIRNESS_POWER + knob * (POLLUX_FAIRNESS_POWER - SPEED_FAIRNESS_POWER)
    return GoodputMetric(name, _lerp_band(knob), (1.0 - knob) * SPEED_REMAINING_EXPONENT, power)


GOODPUT = register_metric(GoodputMetric("goodput"))
SPEED = register_metric(
    GoodputMetric("speed", SPEED_BAND, SPEED_REMAINING_EXPONENT, SPEED_FAIRNESS_POWER)
)
COST = register_metric(GoodputMetric("cost", COST_BAND))
BALANCED = register_metric(balanced(0.5))
SPEED_THESIS = register_metric(ThroughputMetric("speed-thesis"))
COST_THESIS = register_metric(GoodputMetric("cost-thesis", COST_THESIS_BAND))
