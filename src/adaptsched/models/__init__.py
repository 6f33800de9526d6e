"""Pure performance models (numpy/scipy only): throughput, statistical efficiency, goodput,
batch-size optimisation, speedups and metrics. Never imports torch or ray."""

from adaptsched.models.efficiency import GradStats, efficiency
from adaptsched.models.errors import ModelInputError
from adaptsched.models.fit import fit_pollux, fit_throughput
from adaptsched.models.goodput import BatchChoice, JobModel, speedup_table
from adaptsched.models.limits import BatchLimits
from adaptsched.models.metrics import GOODPUT, Metric, get_metric, metric_names, register_metric
from adaptsched.models.observations import StepObservations
from adaptsched.models.throughput import (
    ThroughputParams,
    compute_time,
    iteration_time,
    optimizer_step_time,
    sync_time,
    throughput,
)

__all__ = [
    "GOODPUT",
    "BatchChoice",
    "BatchLimits",
    "GradStats",
    "JobModel",
    "Metric",
    "ModelInputError",
    "StepObservations",
    "ThroughputParams",
    "compute_time",
    "efficiency",
    "fit_pollux",
    "fit_throughput",
    "get_metric",
    "iteration_time",
    "metric_names",
    "optimizer_step_time",
    "register_metric",
    "speedup_table",
    "sync_time",
    "throughput",
]
