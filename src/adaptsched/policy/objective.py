"""Pollux's objective (Qiao et al., OSDI'21, section 4.2), shared by every search that
optimises it: the speedup tables, the jobs' limits and weights, the restart factor, the
fair-share normalisation, and the weighted power mean that scores a replica matrix.

Keeping this in one place is what lets two different searches (``policy.genetic`` and
``policy.milp``) and the benchmarks that compare them score a decision the same way.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from adaptsched.models import GOODPUT, Metric, ModelInputError
from adaptsched.models.hints import PRIOR_PARAMS
from adaptsched.policy.base import ClusterSnapshot, Decision, JobInfo, NodeInfo
from adaptsched.policy.speedup_cache import (
    default_speedup_table,
    fast_speedup_table,
    fast_speedup_tables,
)

#: Seconds a (re)start costs in the restart factor (Pollux's simulator: 30 s per restart).
RESTART_DELAY_S = 30.0
#: Pollux's limit on the nodes one job may span.
MAX_NODES_PER_JOB = 16
#: Added to every speedup before the power mean so that zero speedups stay finite.
EPSILON = 1e-3
STATE_DTYPE = np.int16


@dataclass(frozen=True)
class AllocationProblem:
    """One round's valuation. Arrays are indexed by job (priority order) and node."""

    capacity: np.ndarray  # (N,) GPUs per node
    min_replicas: np.ndarray  # (J,) a job holds 0 or at least this many replicas
    max_replicas: np.ndarray  # (J,)
    max_nodes: np.ndarray  # (J,) nodes one job may span
    base: np.ndarray  # (J, N) current allocation
    base_valid: np.ndarray  # (J,) False when the current allocation cannot be kept as is
    restart_factor: np.ndarray  # (J,) multiplies the speedup of a job whose row changes
    speedups: np.ndarray  # (J, max_nodes + 1, max_replicas + 1) normalised speedup tables
    weights: np.ndarray | None = None  # (J,) > 0, the jobs' weights in the mean (None: all 1)
    power: float = -1.0  # p of the power mean (Pollux: -1; 0: geometric; 1: arithmetic)

    @property
    def num_jobs(self) -> int:
        return int(self.base.shape[0])

    @property
    def num_nodes(self) -> int:
        return int(self.base.shape[1])


def node_major(matrices: np.ndarray) -> np.ndarray:
    """(S, J, N) stack of matrices -> (N, J, S) population layout."""
    return np.ascontiguousarray(np.asarray(matrices).transpose(2, 1, 0), dtype=STATE_DTYPE)


def power_mean(values: np.ndarray, weights: np.ndarray, power: float) -> np.ndarray:
    """Weighted power mean over axis 0 of ``values`` (already > 0), weights shaped to
    broadcast against it."""
    total = float(weights.sum())
    if power == -1.0:
        return total / (weights / values).sum(axis=0)
    if power == 0.0:
        return np.exp((weights * np.log(values)).sum(axis=0) / total)
    return ((weights * values**power).sum(axis=0) / total) ** (1.0 / power)


class Evaluator:
    """Fitness of node-major populations (N, J, P) by table lookup: the weighted power mean
    of the jobs' normalised speedups, each multiplied by the restart factor when its row
    differs from the current allocation."""

    def __init__(self, problem: AllocationProblem) -> None:
        jobs, rows, cols = problem.speedups.shape
        self._flat = np.ascontiguousarray(problem.speedups, dtype=float).reshape(-1)
        self._offsets = (np.arange(jobs) * rows * cols).reshape(-1, 1)
        self._stride = cols
        self._base = problem.base.T.astype(STATE_DTYPE)[:, :, None]
        self._always_changed = ~problem.base_valid.reshape(-1, 1)
        self._factor = problem.restart_factor.reshape(-1, 1)
        weights = np.ones(jobs) if problem.weights is None else np.asarray(problem.weights, float)
        self._weights = weights.reshape(-1, 1)
        self._power = float(problem.power)

    def speedups(self, states: np.ndarray) -> np.ndarray:
        """(J, P) normalised speedups, restart factor applied to changed rows."""
        replicas = states.sum(axis=0, dtype=np.int32)
        nodes = (states > 0).sum(axis=0, dtype=np.int32)
        value = self._flat[self._offsets + nodes * self._stride + replicas]
        changed = (states != self._base).any(axis=0) | self._always_changed
        return np.where(changed, value * self._factor, value)

    def __call__(self, states: np.ndarray) -> np.ndarray:
        """(P,) weighted power mean of the job speedups."""
        return power_mean(self.speedups(states) + EPSILON, self._weights, self._power)


def restart_factor(age_s: float, restarts: int, delay_s: float = RESTART_DELAY_S) -> float:
    """Share of a job's speedup kept when it restarts: max(age - d r, 0) / (age + d), with d
    the seconds a restart costs (Pollux: 30)."""
    age_s = max(age_s, 0.0)
    return max(age_s - delay_s * restarts, 0.0) / (age_s + delay_s)


def move_factor(job: JobInfo, delay_s: float = RESTART_DELAY_S) -> float:
    """What a job keeps of its speedup if its allocation changes: Pollux's restart factor,
    capped by its metric's least move cost."""
    return min(restart_factor(job.age_s, job.restarts, delay_s), 1.0 - job.metric.min_move_cost)


def priority_order(
    jobs: tuple[JobInfo, ...],
    cluster_metric: Metric = GOODPUT,
    remaining: Mapping[str, float | None] | None = None,
) -> list[JobInfo]:
    """Least attained service first (Pollux), or, when the cluster's metric weighs remaining
    time, shortest predicted remaining time first; jobs without a prediction yet (new jobs,
    which run on one GPU until they have measured something) go first, by attained service, as
    in Pollux's order; submission time, then id, break ties. Repair cuts replicas from the end
    of this order, so it must agree with what the objective favours. ``remaining``: the
    jobs' ``remaining_seconds`` when the caller has them already."""
    if cluster_metric.uses_remaining:
        remaining = remaining if remaining is not None else remaining_times(jobs)

        def key(j: JobInfo) -> tuple:
            left = remaining[j.job_id]
            return (left is not None, left or 0.0, j.attained_gpu_s, j.submit_time_s, j.job_id)

        return sorted(jobs, key=key)
    return sorted(jobs, key=lambda j: (j.attained_gpu_s, j.submit_time_s, j.job_id))


def remaining_seconds(job: JobInfo) -> float | None:
    """The job's remaining time on one replica by its own model (work left / best metric value
    there); None when it declared no work target, has no model, or its throughput is still the
    prior's (a placeholder for linear scaling, not a speed: ranking by it made every job that
    had not measured yet look like the shortest one)."""
    if job.remaining_samples is None or job.model is None or job.model.params == PRIOR_PARAMS:
        return None
    base = float(job.model.best_config(1, 1, job.metric, force_accumulation=True).objective)
    return job.remaining_samples / base if base > 0 else None


def remaining_times(jobs: Iterable[JobInfo]) -> dict[str, float | None]:
    """``remaining_seconds`` of every job, by id (one batch optimisation per job)."""
    return {j.job_id: remaining_seconds(j) for j in jobs}


def remaining_if_used(snapshot: ClusterSnapshot) -> dict[str, float | None] | None:
    """The jobs' remaining times, computed once per round, when the cluster's metric or a
    job's metric uses them; None otherwise (Pollux never needs them).

    A job that holds no GPUs is charged the seconds a start costs (``snapshot.restart_s``),
    as SRPT with setup times ranks jobs: a waiting job must be shorter than a running one by
    more than that before it takes the running one's rank. Without it, two jobs whose
    predictions are close swap ranks whenever a refit moves one of them, and every swap
    restarts both (docs/fidelity.md)."""
    metrics = [snapshot.cluster_metric, *(j.metric for j in snapshot.jobs)]
    if not any(m.uses_remaining for m in metrics):
        return None
    delay_s = snapshot.restart_s if snapshot.restart_s is not None else RESTART_DELAY_S
    times = remaining_times(snapshot.jobs)
    for job in snapshot.jobs:
        left = times[job.job_id]
        if left is not None and not job.allocation:
            times[job.job_id] = left + delay_s
    return times


def allocation_weights(
    jobs: list[JobInfo], remaining: Mapping[str, float | None] | None = None
) -> np.ndarray | None:
    """Each job's weight in the objective (``Metric.allocation_weight``) from its rank by
    predicted remaining time among the jobs whose metric uses it and whose remaining time is
    known (rank 1 = most remaining). A job whose remaining time is not known yet (no model)
    weighs the geometric mean of the known weights. The weights of jobs whose metric uses
    remaining time are divided by their geometric mean, so that they weigh 1 on average next to
    jobs that ignore it; None when every weight is 1 (Pollux's unweighted mean)."""
    weighted = np.array([j.metric.uses_remaining for j in jobs])
    if not weighted.any():
        return None
    remaining = remaining if remaining is not None else remaining_times(jobs)
    left: dict[int, float] = {}
    for i, job in enumerate(jobs):
        value = remaining[job.job_id]
        if weighted[i] and value is not None and math.isfinite(value):
            left[i] = value
    # Most remaining first; ties by id, so that the weights do not depend on the jobs' order.
    known = sorted(left, key=lambda i: (-left[i], jobs[i].job_id))
    weights = np.ones(len(jobs))
    for rank, i in enumerate(known, start=1):
        weights[i] = jobs[i].metric.allocation_weight(rank, len(known))
    if known:
        unknown = weighted.copy()
        unknown[known] = False
        weights[unknown] = np.exp(np.log(weights[known]).mean())
    weights[weighted] /= np.exp(np.log(weights[weighted]).mean())
    return weights


def job_limits(job: JobInfo, total_gpus: int, num_nodes: int) -> tuple[int, int, int]:
    """(min replicas, max replicas, max nodes) after the cluster's and Pollux's bounds."""
    max_nodes = min(job.max_nodes, MAX_NODES_PER_JOB, num_nodes)
    max_replicas = min(job.max_replicas, total_gpus)
    if job.model is None:
        max_replicas, max_nodes = min(max(1, job.min_replicas), total_gpus), 1
    return max(job.min_replicas, 0), max(max_replicas, 0), max(max_nodes, 0)


def table_shape(jobs: list[JobInfo], capacity: np.ndarray) -> tuple[int, int, int]:
    """(max nodes per job, max replicas, largest node) of the speedup tables: only as many
    replicas as some job may reach (its ramp and limits), not the cluster's GPU count."""
    total, nodes = int(capacity.sum()), len(capacity)
    reach = max((job_limits(j, total, nodes)[1] for j in jobs), default=1)
    return min(nodes, MAX_NODES_PER_JOB), max(reach, 1), int(capacity.max())


def raw_tables(jobs: list[JobInfo], capacity: np.ndarray, priced: bool = False) -> np.ndarray:
    """(J, nodes + 1, replicas + 1) speedups relative to one replica; ``priced``: each net of
    its metric's GPU price (``Metric.priced``), as the cluster's size is decided."""
    max_nodes, max_replicas, per_node = table_shape(jobs, capacity)
    modelled = [j for j in jobs if j.model is not None]
    try:
        made = fast_speedup_tables(
            [j.model for j in modelled],  # type: ignore[misc]
            [j.metric for j in modelled],
            max_nodes,
            max_replicas,
            per_node,
        )
    except ModelInputError:
        made = [_named_table(j, max_nodes, max_replicas, per_node) for j in modelled]
    by_id = {
        j.job_id: j.metric.priced(t) if priced else t for j, t in zip(modelled, made, strict=True)
    }
    default = default_speedup_table(max_nodes, max_replicas)
    return np.stack([by_id.get(j.job_id, default) for j in jobs])


def _named_table(job: JobInfo, max_nodes: int, max_replicas: int, per_node: int) -> np.ndarray:
    """One job's table, its id in the error when its model admits no configuration."""
    try:
        return fast_speedup_table(job.model, max_nodes, max_replicas, per_node, job.metric)
    except ModelInputError as exc:
        raise ModelInputError(f"job {job.job_id!r}: {exc}") from exc


def reference_speedup(raw: np.ndarray, max_nodes: int, fair_replicas: int) -> float:
    """A job's best speedup within its fair share (Pollux normalises by the speedup at an
    equal share); falls back to its best anywhere, then 1, so it is never 0."""
    within = float(raw[: max_nodes + 1, : fair_replicas + 1].max())
    if within > 0:
        return within
    anywhere = float(raw.max())
    return anywhere if anywhere > 0 else 1.0


def to_state(jobs: Sequence[JobInfo], node_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Current allocations as a (J, N) matrix, and per job whether the matrix holds all of
    it (False when a replica sits on a node that is gone or not ready: it must move)."""
    index = {nid: i for i, nid in enumerate(node_ids)}
    state = np.zeros((len(jobs), len(node_ids)), dtype=np.int64)
    valid = np.ones(len(jobs), dtype=bool)
    for j, job in enumerate(jobs):
        for node_id in job.allocation:
            if node_id in index:
                state[j, index[node_id]] += 1
            else:
                valid[j] = False
    return state, valid


def build_problem(
    jobs: list[JobInfo],
    node_ids: tuple[str, ...],
    capacity: np.ndarray,
    raw: np.ndarray,
    cluster_metric: Metric = GOODPUT,
    remaining: Mapping[str, float | None] | None = None,
    restart_delay_s: float = RESTART_DELAY_S,
) -> AllocationProblem:
    """The round's valuation over ``node_ids`` from the jobs' raw tables."""
    total = int(capacity.sum())
    limits = np.array([job_limits(j, total, len(node_ids)) for j in jobs], dtype=np.int64)
    min_r, max_r, max_n = limits.T
    fair = max(1, math.ceil(total / len(jobs)))
    reference = np.array(
        [
            reference_speedup(raw[i], int(max_n[i]), min(fair, int(max_r[i])))
            for i in range(len(jobs))
        ]
    )
    base, valid = to_state(jobs, node_ids)
    return AllocationProblem(
        capacity=capacity,
        min_replicas=min_r.reshape(-1),
        max_replicas=max_r.reshape(-1),
        max_nodes=max_n.reshape(-1),
        base=base,
        base_valid=valid,
        restart_factor=np.array([move_factor(j, restart_delay_s) for j in jobs]),
        speedups=raw / reference.reshape(-1, 1, 1),
        weights=allocation_weights(jobs, remaining),
        power=cluster_metric.fairness_power,
    )


def valuation(
    snapshot: ClusterSnapshot,
    jobs: list[JobInfo],
    nodes: Sequence[NodeInfo],
    remaining: Mapping[str, float | None] | None = None,
) -> tuple[AllocationProblem, np.ndarray]:
    """The round's valuation of ``jobs`` (priority order) over ``nodes``, and the raw tables it
    normalises."""
    node_ids = tuple(n.node_id for n in nodes)
    capacity = np.array([n.gpus for n in nodes], dtype=np.int64)
    raw = raw_tables(jobs, capacity)
    delay_s = snapshot.restart_s if snapshot.restart_s is not None else RESTART_DELAY_S
    problem = build_problem(
        jobs, node_ids, capacity, raw, snapshot.cluster_metric, remaining, delay_s
    )
    return problem, raw


def ready_nodes(snapshot: ClusterSnapshot) -> list[NodeInfo]:
    """The nodes a policy may place replicas on (ready, with GPUs)."""
    return [n for n in snapshot.nodes if n.ready and n.gpus > 0]


def snapshot_problem(snapshot: ClusterSnapshot) -> tuple[list[JobInfo], AllocationProblem]:
    """The jobs in priority order and their valuation over the ready nodes."""
    remaining = remaining_if_used(snapshot)
    jobs = priority_order(snapshot.jobs, snapshot.cluster_metric, remaining)
    return jobs, valuation(snapshot, jobs, ready_nodes(snapshot), remaining)[0]


def decision_objective(snapshot: ClusterSnapshot, decision: Decision) -> float:
    """Pollux's objective of ``decision`` on ``snapshot`` (over the ready nodes): one scorer
    for every policy, so that their decisions compare on the same scale (0 without jobs or
    ready nodes)."""
    if not snapshot.jobs or not ready_nodes(snapshot):
        return 0.0
    jobs, problem = snapshot_problem(snapshot)
    node_ids = tuple(n.node_id for n in ready_nodes(snapshot))
    index = {nid: i for i, nid in enumerate(node_ids)}
    state = np.zeros((len(node_ids), len(jobs), 1), dtype=STATE_DTYPE)
    for j, job in enumerate(jobs):
        for node_id in decision.allocations.get(job.job_id, ()):
            if node_id not in index:
                raise ValueError(f"job {job.job_id!r} placed on {node_id!r}, not a ready node")
            state[index[node_id], j, 0] += 1
    return float(Evaluator(problem)(state)[0])
