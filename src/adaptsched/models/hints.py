"""Hints: what a running job tells the scheduler about itself, and the model built from them.

The scheduler needs a job's fitted throughput parameters, gradient statistics, initial batch,
batch limits, progress, work target and metric to predict its speedup under other allocations
(Pollux, section 4; AdaptDL's jobs PUT the same kind of record to their supervisor). The job
publishes them (``adaptsched.train``); the controller and the API read them here, without
importing torch. Before a job has measured anything the scheduler assumes the prior below.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from adaptsched.models.efficiency import GradStats
from adaptsched.models.errors import ModelInputError
from adaptsched.models.goodput import JobModel
from adaptsched.models.limits import BatchLimits
from adaptsched.models.throughput import ThroughputParams

#: Prior before any fit: perfectly linear scaling (no synchronisation cost, compute time
#: proportional to the local batch), so the speedup of k GPUs is k, as in the Pollux paper's
#: simulator.
PRIOR_PARAMS = ThroughputParams(
    alpha_c=0.0, beta_c=1e-3, alpha_n=0.0, beta_n=0.0, alpha_r=0.0, beta_r=0.0, gamma=1.0
)
#: No measured gradient: sqr = 0 gives an infinite noise scale, i.e. efficiency 1.
PRIOR_GRAD = GradStats(sqr=0.0, var=1.0)

#: How often a running job refits its throughput model from the step times it measured (and so
#: how long a new job's hints carry no fitted throughput): the trainer's default, which the
#: simulator mirrors when it predicts the runtime (``SimConfig.runtime_reports``).
REFIT_INTERVAL_S = 30.0

#: Columns of one observation row (mean times of one configuration, as in placements.csv).
OBSERVATION_FIELDS = ("nodes", "replicas", "local_bsz", "step_time", "sync_time", "count")


class HintsError(ModelInputError):
    """Hints that are malformed (unknown field, wrong type, non-finite value)."""


@dataclass(frozen=True)
class Hints:
    """One snapshot of the job's self-description (plain values, JSON-ready)."""

    metric: str
    init_batch: int
    max_batch: int
    min_local_bsz: int
    max_local_bsz: int | None
    max_accum_steps: int
    progress: float  # scale-invariant iterations at M0 done so far
    epoch: int
    nodes: int
    replicas: int
    local_bsz: int
    accum_steps: int
    throughput_params: dict[str, float] | None  # fitted ThroughputParams, None before a fit
    grad_sqr: float | None  # |G|^2
    grad_var: float | None  # gradient variance at batch M0
    observations: list[dict[str, float]] = field(default_factory=list)
    #: The job's work target in iterations at M0 (its epoch target x iterations per epoch);
    #: None when the script set none. Remaining work = target - progress.
    target_progress: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Hints:
        """Validated hints from a decoded JSON object: only known fields, finite numbers."""
        if not isinstance(data, dict):
            raise HintsError(f"hints: expected a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise HintsError(f"hints: unknown field {unknown[0]!r}")
        missing = sorted(f.name for f in fields(cls) if f.name not in data and _required(f))
        if missing:
            raise HintsError(f"hints: missing field {missing[0]!r}")
        for name in ("init_batch", "max_batch", "min_local_bsz", "max_accum_steps", "epoch"):
            _integer(data, name, low=0)
        for name in ("nodes", "replicas", "local_bsz", "accum_steps"):
            _integer(data, name, low=0)
        if data.get("max_local_bsz") is not None:
            _integer(data, "max_local_bsz", low=1)
        for name in ("progress", "grad_sqr", "grad_var", "target_progress"):
            if data.get(name) is not None:
                _number(data[name], name)
        if not isinstance(data["metric"], str) or not data["metric"]:
            raise HintsError("hints: 'metric' must be a non-empty string")
        params = data.get("throughput_params")
        if params is not None:
            if not isinstance(params, dict) or set(params) - set(ThroughputParams.field_names()):
                raise HintsError("hints: 'throughput_params' must map ThroughputParams fields")
            for key, value in params.items():
                _number(value, f"throughput_params.{key}")
        rows = data.get("observations", [])
        if not isinstance(rows, list):
            raise HintsError("hints: 'observations' must be a list")
        for i, row in enumerate(rows):
            if not isinstance(row, dict) or set(row) != set(OBSERVATION_FIELDS):
                raise HintsError(f"hints: observations[{i}] needs {', '.join(OBSERVATION_FIELDS)}")
            for key, value in row.items():
                _number(value, f"observations[{i}].{key}")
        return cls(**data)

    def limits(self) -> BatchLimits:
        return BatchLimits(
            self.init_batch,
            self.max_batch,
            self.min_local_bsz,
            self.max_local_bsz,
            self.max_accum_steps,
        )

    def model(self) -> JobModel:
        """The job's performance model: its fitted throughput and gradient statistics, the
        prior for whichever half it has not measured yet."""
        params = PRIOR_PARAMS
        if self.throughput_params is not None:
            params = ThroughputParams(**self.throughput_params)
        grad = PRIOR_GRAD
        if self.grad_sqr is not None and self.grad_var is not None:
            grad = GradStats(sqr=self.grad_sqr, var=self.grad_var)
        return JobModel(params, grad, self.limits())

    @property
    def most_replicas(self) -> int:
        """Most replicas the job has measured step times at (0: none yet)."""
        return max((int(row["replicas"]) for row in self.observations), default=0)

    def remaining_samples(self) -> float | None:
        """Statistical work left, in samples at M0; None without a target."""
        if self.target_progress is None:
            return None
        return max(self.target_progress - self.progress, 0.0) * self.init_batch

    def remaining_fraction(self) -> float:
        """Share of the work target still to do, in (0, 1]; 1 without a target."""
        if not self.target_progress:
            return 1.0
        return max(1.0 - self.progress / self.target_progress, 1e-9)


def _required(f: Any) -> bool:
    return f.name not in ("observations", "target_progress")


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise HintsError(f"hints: {name!r} must be a finite number, got {value!r}")
    if value < 0:
        raise HintsError(f"hints: {name!r} must be >= 0, got {value!r}")
    return float(value)


def _integer(data: dict[str, Any], name: str, low: int) -> None:
    value = data[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise HintsError(f"hints: {name!r} must be an integer >= {low}, got {value!r}")
