"""The policy's input, built one way for both engines: the job table, what each job knows of
itself (its hints, or the simulated job's equivalent) and the nodes.

Replica ramp (AdaptDL's allocator): a job may get at most twice the most replicas it has
measured step times at (1 before any measurement), so that its throughput model is never
extrapolated far beyond what it has seen; never more than its own limits allow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from adaptsched.control.jobs import JobRecord, JobSpec
from adaptsched.models import GOODPUT, JobModel, Metric
from adaptsched.models.hints import Hints
from adaptsched.policy.base import ClusterSnapshot, JobInfo, NodeInfo

#: The ramp's factor over the most replicas measured.
RAMP_FACTOR = 2


@dataclass(frozen=True)
class JobView:
    """What a job knows about itself at the start of a round."""

    model: JobModel | None = None
    most_replicas: int = 0  # most replicas it measured step times at (0: none yet)
    replica_cap: int | None = None  # its batch limits' own cap (max batch / min local batch)
    remaining_fraction: float = 1.0
    remaining_samples: float | None = None  # work left in samples at M0 (None: no target)
    remaining_steps: float | None = None  # simulator oracles only
    oracle: JobModel | None = None  # simulator oracles only


def view_from_hints(hints: Hints | None) -> JobView:
    """A real job's view: the model from its hints (the prior before any), its ramp and work
    left; a job that has not reported yet is scheduled by the prior (no model)."""
    if hints is None:
        return JobView()
    return JobView(
        model=hints.model(),
        most_replicas=hints.most_replicas,
        replica_cap=max(hints.max_batch // hints.min_local_bsz, 1),
        remaining_fraction=hints.remaining_fraction(),
        remaining_samples=hints.remaining_samples(),
    )


def max_replicas(spec: JobSpec, view: JobView) -> int:
    """min(max(2 x most replicas measured, 1), the job's own caps), never below the job's
    min_replicas (a job that must run on k replicas is not ramped up to them), at least 1."""
    limit = min(max(RAMP_FACTOR * view.most_replicas, 1), spec.max_replicas)
    if view.replica_cap is not None:
        limit = min(limit, view.replica_cap)
    return max(limit, spec.min_replicas, 1)


@dataclass(frozen=True)
class ClusterBounds:
    """The cluster's size rules: fixed (``autoscale`` False: the nodes that exist) or an
    autoscaled range."""

    gpus_per_node: int
    autoscale: bool = False
    min_nodes: int = 1
    max_nodes: int = 16
    cluster_metric: Metric = GOODPUT

    def __post_init__(self) -> None:
        if self.gpus_per_node < 1:
            raise ValueError(f"gpus per node: must be >= 1, got {self.gpus_per_node}")
        if self.autoscale and not 1 <= self.min_nodes <= self.max_nodes:
            raise ValueError(
                f"autoscaling: need 1 <= min nodes <= max nodes, got "
                f"{self.min_nodes}, {self.max_nodes}"
            )


def job_info(record: JobRecord, view: JobView, now_s: float, max_nodes: int) -> JobInfo:
    spec = record.spec
    return JobInfo(
        job_id=spec.job_id,
        submit_time_s=spec.submit_time_s,
        age_s=now_s - spec.submit_time_s,
        model=view.model,
        metric=spec.metric,
        allocation=record.placement,
        restarts=record.restarts,
        attained_gpu_s=record.attained_gpu_s,
        min_replicas=spec.min_replicas,
        max_replicas=max_replicas(spec, view),
        max_nodes=max_nodes,
        fixed_replicas=spec.fixed_replicas,
        fixed_batch=spec.fixed_batch,
        oracle=view.oracle,
        remaining_fraction=view.remaining_fraction,
        remaining_steps=view.remaining_steps,
        remaining_samples=view.remaining_samples,
    )


def build_snapshot(
    now_s: float,
    records: Sequence[JobRecord],
    views: Mapping[str, JobView],
    nodes: Sequence[NodeInfo],
    bounds: ClusterBounds,
    restart_s: float | None = None,
) -> ClusterSnapshot:
    """The frozen snapshot a policy decides on; ``records`` in submission order;
    ``restart_s``: what a restart costs, when the engine measures it."""
    size = len(nodes)
    low, high = (bounds.min_nodes, bounds.max_nodes) if bounds.autoscale else (size, size)
    return ClusterSnapshot(
        time_s=now_s,
        nodes=tuple(nodes),
        jobs=tuple(job_info(r, views[r.job_id], now_s, high) for r in records),
        min_nodes=low,
        max_nodes=high,
        gpus_per_node=bounds.gpus_per_node,
        autoscale=bounds.autoscale,
        cluster_metric=bounds.cluster_metric,
        restart_s=restart_s,
    )
