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
    """A named objective over (throughput, statistical efficiency) plus an autoscaling band."""

    name: str
    utility_band: tuple[float, float] = POLLUX_UTILITY_BAND

    @abstractmethod
    def objective(self, throughput: np.ndarray, efficiency: np.ndarray) -> np.ndarray:
        """Value of a configuration; the batch optimiser maximises it per allocation."""


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
    try:
        return _REGISTRY[key]
    except KeyError:
        valid = ", ".join(metric_names() + sorted(_ALIASES))
        raise ModelInputError(f"unknown metric {name!r}; valid metrics: {valid}") from None


GOODPUT = register_metric(GoodputMetric("goodput"))
SPEED_THESIS = register_metric(ThroughputMetric("speed-thesis"))
# Until a better-founded `speed` exists, the name means the thesis definition.
SPEED = register_metric(ThroughputMetric("speed"))
