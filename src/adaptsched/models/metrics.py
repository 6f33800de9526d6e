"""Performance metrics: what a job maximises when it picks its batch size, how the policy
values an allocation, and which utility band the autoscaler keeps.

Every metric is an object with the same interface, registered by name, so callers never
branch on which metric they hold (``get_metric("speed")``).
"""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from adaptsched.models.errors import ModelInputError

#: Pollux's autoscaling utility band (lower, upper).
POLLUX_UTILITY_BAND = (0.35, 0.65)
#: The highest GPU price: a GPU that adds less than one GPU's worth is never bought above it.
MAX_GPU_PRICE = 1.0


@dataclass(frozen=True)
class Metric(ABC):
    """A named objective over (throughput, statistical efficiency), an autoscaling band, and
    how much a job's remaining time weighs when the policy values its allocation.

    ``share_exponent`` (c >= 1) ranks the jobs by remaining time and gives each the weight of
    its heSRPT share (``allocation_weight``): 1 treats every job alike (Pollux); larger values
    give more of the cluster to the jobs nearest completion, and c -> infinity is shortest-
    remaining-processing-time. ``min_move_cost`` is the least share of a job's value that any
    change of its allocation costs in the search (Pollux's restart factor can cost almost
    nothing for an old job). ``fairness_power`` is the p of the power mean the policy
    maximises when this is the cluster's metric. Design and measurements: docs/metrics.md.
    """

    name: str
    utility_band: tuple[float, float] = POLLUX_UTILITY_BAND
    share_exponent: float = 1.0
    #: p of the power mean over the jobs' speedups when this is the cluster's metric (Pollux:
    #: -1, which favours fairness; 1 maximises the weighted sum).
    fairness_power: float = -1.0
    min_move_cost: float = 0.0
    #: What each GPU costs, in one-GPU speedups (``priced``): 0 charges nothing (Pollux).
    gpu_price: float = 0.0

    def __post_init__(self) -> None:
        low, high = self.utility_band
        if not 0.0 <= low <= high:
            raise ModelInputError(f"metric {self.name!r}: utility band needs 0 <= low <= high")
        if not 1.0 <= self.share_exponent <= 100.0:
            raise ModelInputError(f"metric {self.name!r}: share_exponent must lie in [1, 100]")
        if not -10.0 <= self.fairness_power <= 1.0:
            raise ModelInputError(f"metric {self.name!r}: fairness_power must lie in [-10, 1]")
        if not 0.0 <= self.min_move_cost < 1.0:
            raise ModelInputError(f"metric {self.name!r}: min_move_cost must lie in [0, 1)")
        if not 0.0 <= self.gpu_price <= MAX_GPU_PRICE:
            raise ModelInputError(
                f"metric {self.name!r}: gpu_price must lie in [0, {MAX_GPU_PRICE:g}]"
            )

    @abstractmethod
    def objective(self, throughput: np.ndarray, efficiency: np.ndarray) -> np.ndarray:
        """Value of a configuration; the batch optimiser maximises it per allocation."""

    def priced(self, speedups: np.ndarray) -> np.ndarray:
        """A speedup table (axis -1: replicas k) net of the GPU price: ``max(SPEEDUP - price x
        (k - 1), 0)`` where the allocation is reachable. The first GPU is not charged, so a
        job's value on one GPU stays 1 and the fair-share normalisation is unchanged; every
        further GPU is worth having only if it adds at least the price to the speedup. With
        no price the table itself is returned."""
        if self.gpu_price == 0.0:
            return speedups
        table = np.asarray(speedups, dtype=float)
        extra = np.maximum(np.arange(table.shape[-1]) - 1, 0)
        return np.where(table > 0, np.maximum(table - self.gpu_price * extra, 0.0), 0.0)

    @property
    def uses_remaining(self) -> bool:
        """True when the job's remaining time changes its weight in the policy."""
        return self.share_exponent != 1.0

    def allocation_weight(self, rank: int, count: int) -> float:
        """The job's weight in the policy's objective when it has the ``rank``-th most
        remaining time (1 = most) of ``count`` jobs: its heSRPT share
        ``(rank / count) ** c - ((rank - 1) / count) ** c`` (Berg, Vesilo and Harchol-Balter,
        "heSRPT: Optimal Parallel Scheduling of Jobs With Known Sizes", 2019). For speedups
        k ** q and c = 1 / (1 - q) these are the GPU shares that minimise the mean completion
        time of jobs present together; a geometric mean weighted by them (p = 0) allocates in
        the same proportions. 1 when the metric ignores remaining time; never 0 (an underflow
        is raised to the smallest positive float, so that the weight keeps a logarithm)."""
        if not self.uses_remaining:
            return 1.0
        if not 1 <= rank <= count:
            raise ModelInputError(f"metric {self.name!r}: rank {rank} outside 1..{count}")
        c = self.share_exponent
        return max(float((rank / count) ** c - ((rank - 1) / count) ** c), sys.float_info.min)


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
    family, sep, knob = key.partition(":")
    if sep and family in _FAMILIES:
        return _FAMILIES[family](name, knob)
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


#: ``speed``'s allocation value: heSRPT shares with c = 3 (the shares that are optimal for
#: speedups k ** (2/3)) as weights of a geometric mean (p = 0), and every move of a job costs
#: at least 20 % of its value, because the ranks, and so the shares, shift whenever a job
#: arrives or ends. docs/metrics.md compares c = 2 to 5: c = 3 has the best mean JCT with the
#: exact search (pollux-milp), c = 4 had it with the genetic search.
SPEED_SHARE_EXPONENT = 3.0
SPEED_FAIRNESS_POWER = 0.0
SPEED_MIN_MOVE_COST = 0.2
POLLUX_FAIRNESS_POWER = -1.0


def _lerp(speed_value: float, cost_value: float, knob: float) -> float:
    return speed_value + knob * (cost_value - speed_value)


def _lerp_band(knob: float) -> tuple[float, float]:
    """Band between SPEED_BAND (knob 0) and COST_BAND (knob 1)."""
    return (_lerp(SPEED_BAND[0], COST_BAND[0], knob), _lerp(SPEED_BAND[1], COST_BAND[1], knob))


def balanced(knob: float = 0.5) -> Metric:
    """``balanced``: one knob in [0, 1] from speed (0) to cost (1); the thesis's future work.
    Band, share exponent, power, least move cost and GPU price all move linearly (cost keeps
    Pollux's c = 1, p = -1 and no least move cost; speed charges no price)."""
    if not 0.0 <= knob <= 1.0:
        raise ModelInputError(f"balanced knob: must lie in [0, 1], got {knob}")
    name = "balanced" if knob == 0.5 else f"balanced:{knob:g}"
    return GoodputMetric(
        name,
        _lerp_band(knob),
        share_exponent=_lerp(SPEED_SHARE_EXPONENT, 1.0, knob),
        fairness_power=_lerp(SPEED_FAIRNESS_POWER, POLLUX_FAIRNESS_POWER, knob),
        min_move_cost=_lerp(SPEED_MIN_MOVE_COST, 0.0, knob),
        gpu_price=_lerp(0.0, DEFAULT_GPU_PRICE, knob),
    )


#: ``cost``'s GPU price in one-GPU speedups: a GPU is bought (and its node kept) only while it
#: adds at least this share of what the job's first GPU does (docs/metrics.md: the sweep).
DEFAULT_GPU_PRICE = 0.75


def cost(price: float = DEFAULT_GPU_PRICE) -> Metric:
    """``cost``: goodput's batch choice and fairness, every GPU beyond a job's first charged
    ``price`` (``Metric.priced``), and a cluster sized to the GPUs bought at that price."""
    if not 0.0 <= price <= MAX_GPU_PRICE:
        raise ModelInputError(f"cost price: must lie in [0, {MAX_GPU_PRICE:g}], got {price:g}")
    name = "cost" if price == DEFAULT_GPU_PRICE else f"cost:{price:g}"
    return GoodputMetric(name, COST_BAND, gpu_price=price)


def _knob(name: str, text: str, meaning: str) -> float:
    """The number after ``family:`` in a metric name, or a one-line error that says what it
    is."""
    try:
        value = float(text)
    except ValueError:
        raise ModelInputError(f"metric {name!r}: {meaning}, got {text!r}") from None
    if not np.isfinite(value):
        raise ModelInputError(f"metric {name!r}: {meaning}, got {text!r}")
    return value


def _balanced_named(name: str, text: str) -> Metric:
    meaning = "the knob after 'balanced:' must be a number in [0, 1] (0 speed, 1 cost)"
    knob = _knob(name, text, meaning)
    if not 0.0 <= knob <= 1.0:
        raise ModelInputError(f"metric {name!r}: {meaning}, got {text!r}")
    return balanced(knob)


def _cost_named(name: str, text: str) -> Metric:
    meaning = (
        f"the price after 'cost:' must be a number in [0, {MAX_GPU_PRICE:g}] "
        f"(one-GPU speedups per GPU; default {DEFAULT_GPU_PRICE:g})"
    )
    price = _knob(name, text, meaning)
    if not 0.0 <= price <= MAX_GPU_PRICE:
        raise ModelInputError(f"metric {name!r}: {meaning}, got {text!r}")
    return cost(price)


#: Metric names with a knob, ``family:value``.
_FAMILIES: dict[str, Callable[[str, str], Metric]] = {
    "balanced": _balanced_named,
    "cost": _cost_named,
}

GOODPUT = register_metric(GoodputMetric("goodput"))
SPEED = register_metric(
    GoodputMetric(
        "speed",
        SPEED_BAND,
        share_exponent=SPEED_SHARE_EXPONENT,
        fairness_power=SPEED_FAIRNESS_POWER,
        min_move_cost=SPEED_MIN_MOVE_COST,
    )
)
COST = register_metric(cost())
BALANCED = register_metric(balanced(0.5))
SPEED_THESIS = register_metric(ThroughputMetric("speed-thesis"))
COST_THESIS = register_metric(GoodputMetric("cost-thesis", COST_THESIS_BAND))
