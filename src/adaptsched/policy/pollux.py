"""Pollux's scheduling policy (Qiao et al., OSDI'21, section 4.2): a genetic search over
job x node replica matrices that maximises the power mean (p = -1) of the jobs' speedups,
each normalised to the speedup the job would get from an equal share of the cluster.

Facts taken from the paper and its public simulator (AdaptDL, ``osdi21-artifact``):
population 100, 100 generations; jobs in order of attained service (so the jobs that have
had the least keep their GPUs when capacity runs out); a job whose allocation changes has its
speedup multiplied by ``max(age - 30 * restarts, 0) / (age + 30)``; at most 16 nodes per job;
at most one multi-node job per node (interference avoidance).

Choices of this implementation (not in the paper):

- every job is treated as adaptive; a job without a model (no profile yet) is limited to
  ``max(1, min_replicas)`` replicas on one node and values any allocation as speedup 1;
- jobs may weigh differently in the power mean (``Metric.allocation_weight``: the ``speed``
  metric weighs a job by its heSRPT share, from its rank by remaining time) and may charge a
  least cost for any move (``Metric.min_move_cost``); Pollux's metric weighs all alike;
- the fair share is ``ceil(GPUs / jobs)`` replicas, and a job's reference speedup is its best
  speedup using at most that many (falling back to its best anywhere, so it is never 0);
- a single-objective elitist search (the artifact's NSGA-II also tracked cluster utility as a
  second objective; the chosen solution there is the best power mean, as here), with an
  optional early stop (``patience``), off by default;
- the final population is kept and, remapped onto the next round's jobs and nodes, seeds the
  next search (as the artifact does), next to the current allocation, two equal splits and a
  priority fill (each job in priority order takes all it may).

Operators and speed figures: docs/pollux-policy.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from adaptsched.models import GOODPUT, Metric, ModelInputError
from adaptsched.policy.autoscale import UtilityBand, desired_node_count
from adaptsched.policy.base import ClusterSnapshot, Decision, JobInfo, NodeInfo, Policy
from adaptsched.policy.cluster_size import utility_curve
from adaptsched.policy.genetic import (
    STATE_DTYPE,
    AllocationProblem,
    GeneticConfig,
    node_major,
    search,
)
from adaptsched.policy.pollux_state import (
    fair_share_state,
    node_split_state,
    priority_fill_state,
    state_to_placements,
    to_state,
)
from adaptsched.policy.speedup_cache import default_speedup_table, fast_speedup_table

#: Seconds a (re)start costs in the restart factor (Pollux's simulator: 30 s per restart).
RESTART_DELAY_S = 30.0
#: Pollux's limit on the nodes one job may span.
MAX_NODES_PER_JOB = 16


@dataclass(frozen=True)
class _Carry:
    """Last round's final population and the job / node ids its axes refer to."""

    job_ids: tuple[str, ...]
    node_ids: tuple[str, ...]
    population: np.ndarray


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


class PolluxPolicy(Policy):
    """Goodput-optimising co-adaptive allocation (Pollux's PolluxSched)."""

    name: ClassVar[str] = "pollux"

    def __init__(
        self,
        *,
        seed: int = 0,
        population: int = 100,
        generations: int = 100,
        patience: int | None = None,
    ) -> None:
        self._config = GeneticConfig(
            population=population, generations=generations, patience=patience
        )
        self._rng = np.random.default_rng(seed)
        self._carry: _Carry | None = None

    def state_dict(self) -> dict[str, Any]:
        """The random stream's position and the last population (the next search's seeds):
        all a restored policy needs to decide as this one would."""
        carry = self._carry
        return {
            "rng": self._rng.bit_generator.state,
            "carry": None
            if carry is None
            else {
                "job_ids": list(carry.job_ids),
                "node_ids": list(carry.node_ids),
                "population": carry.population.tolist(),
            },
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self._rng.bit_generator.state = state["rng"]
        carry = state.get("carry")
        self._carry = (
            None
            if carry is None
            else _Carry(
                tuple(carry["job_ids"]),
                tuple(carry["node_ids"]),
                np.asarray(carry["population"], dtype=STATE_DTYPE),
            )
        )

    def decide(self, snapshot: ClusterSnapshot) -> Decision:
        remaining = _remaining_if_used(snapshot)
        jobs = priority_order(snapshot.jobs, snapshot.cluster_metric, remaining)
        desired = _desired_nodes(snapshot, jobs) if snapshot.autoscale and jobs else None
        nodes = _placeable_nodes(snapshot, desired)
        if not jobs or not nodes:
            self._carry = None
            return Decision(
                allocations={j.job_id: () for j in jobs},
                desired_nodes=desired,
                info={"utility": 0.0},
            )
        node_ids = tuple(n.node_id for n in nodes)
        capacity = np.array([n.gpus for n in nodes], dtype=np.int64)
        raw = _raw_tables(jobs, capacity)
        delay_s = snapshot.restart_s if snapshot.restart_s is not None else RESTART_DELAY_S
        problem = _build_problem(
            jobs, node_ids, capacity, raw, snapshot.cluster_metric, remaining, delay_s
        )
        seeds = self._seeds(problem, jobs, node_ids)
        result = search(problem, seeds, self._rng, self._config)
        job_ids = tuple(j.job_id for j in jobs)
        self._carry = _Carry(job_ids, node_ids, result.population)
        best = result.best
        allocations = state_to_placements(best, jobs, node_ids)
        replicas = best.sum(axis=1)
        spans = np.count_nonzero(best, axis=1)
        speedup = raw[np.arange(len(jobs)), spans, replicas]
        return Decision(
            allocations=allocations,
            desired_nodes=desired,
            info={
                "utility": float(speedup.sum() / capacity.sum()),
                "objective": float(result.fitness[0]),
                "generations": float(result.generations),
            },
        )

    def _seeds(
        self, problem: AllocationProblem, jobs: list[JobInfo], node_ids: tuple[str, ...]
    ) -> np.ndarray:
        """Node-major seeds: current allocation, equal splits, priority fill, last round's
        population."""
        splits = [
            problem.base,
            fair_share_state(problem),
            node_split_state(problem),
            priority_fill_state(problem),
        ]
        own = node_major(np.stack(splits))
        carried = self._remap_carry([j.job_id for j in jobs], node_ids)
        if carried is None:
            return own
        return np.concatenate([own, carried], axis=2)

    def _remap_carry(self, job_ids: list[str], node_ids: tuple[str, ...]) -> np.ndarray | None:
        """Last population on this round's axes: departed jobs and nodes dropped, new ones
        empty."""
        carry = self._carry
        if carry is None:
            return None
        old_jobs = {jid: i for i, jid in enumerate(carry.job_ids)}
        old_nodes = {nid: i for i, nid in enumerate(carry.node_ids)}
        size = carry.population.shape[2]
        out = np.zeros((len(node_ids), len(job_ids), size), STATE_DTYPE)
        dst_j = [i for i, jid in enumerate(job_ids) if jid in old_jobs]
        dst_n = [i for i, nid in enumerate(node_ids) if nid in old_nodes]
        src_j = [old_jobs[job_ids[i]] for i in dst_j]
        src_n = [old_nodes[node_ids[i]] for i in dst_n]
        out[np.ix_(dst_n, dst_j, range(size))] = carry.population[np.ix_(src_n, src_j, range(size))]
        return out


def _desired_nodes(snapshot: ClusterSnapshot, jobs: list[JobInfo]) -> int:
    """Cluster size by the utility-band rule of the cluster's metric (``policy.autoscale``),
    from the greedy utility curve over every size up to ``snapshot.max_nodes``."""
    per_node = max(snapshot.gpus_per_node, 1)
    capacity = np.full(snapshot.max_nodes, per_node, dtype=np.int64)
    tables = _raw_tables(jobs, capacity)
    caps = np.array([_job_limits(j, int(capacity.sum()), len(capacity))[1] for j in jobs])
    curve = utility_curve(tables, caps, per_node, snapshot.max_nodes)
    return desired_node_count(
        curve,
        len(snapshot.nodes),
        UtilityBand(*snapshot.cluster_metric.utility_band),
        min_nodes=snapshot.min_nodes,
        max_nodes=snapshot.max_nodes,
    )


def _placeable_nodes(snapshot: ClusterSnapshot, desired: int | None) -> list[NodeInfo]:
    """Ready nodes the search may use. When the cluster should shrink by more than its
    still-provisioning nodes, the least-used ready nodes are left empty (drained) so that
    they can be released."""
    ready = [n for n in snapshot.nodes if n.ready and n.gpus > 0]
    if desired is None:
        return ready
    provisioning = len(snapshot.nodes) - len([n for n in snapshot.nodes if n.ready])
    drain = len(snapshot.nodes) - desired - provisioning
    if drain <= 0:
        return ready
    used: dict[str, int] = {}
    for job in snapshot.jobs:
        for node_id in job.allocation:
            used[node_id] = used.get(node_id, 0) + 1
    keep = sorted(ready, key=lambda n: (-used.get(n.node_id, 0), n.node_id))
    return keep[: max(len(ready) - drain, 1)]


def _table_shape(capacity: np.ndarray) -> tuple[int, int, int]:
    """(max nodes per job, max replicas, largest node) over the ready nodes."""
    return min(len(capacity), MAX_NODES_PER_JOB), int(capacity.sum()), int(capacity.max())


def _raw_tables(jobs: list[JobInfo], capacity: np.ndarray) -> np.ndarray:
    """(J, nodes + 1, replicas + 1) speedups relative to one replica."""
    max_nodes, max_replicas, per_node = _table_shape(capacity)
    tables = []
    for job in jobs:
        if job.model is None:
            tables.append(default_speedup_table(max_nodes, max_replicas))
            continue
        try:
            table = fast_speedup_table(job.model, max_nodes, max_replicas, per_node, job.metric)
        except ModelInputError as exc:
            raise ModelInputError(f"job {job.job_id!r}: {exc}") from exc
        tables.append(table)
    return np.stack(tables)


def _job_limits(job: JobInfo, total_gpus: int, num_nodes: int) -> tuple[int, int, int]:
    """(min replicas, max replicas, max nodes) after the cluster's and Pollux's bounds."""
    max_nodes = min(job.max_nodes, MAX_NODES_PER_JOB, num_nodes)
    max_replicas = min(job.max_replicas, total_gpus)
    if job.model is None:
        max_replicas, max_nodes = min(max(1, job.min_replicas), total_gpus), 1
    return max(job.min_replicas, 0), max(max_replicas, 0), max(max_nodes, 0)


def _build_problem(
    jobs: list[JobInfo],
    node_ids: tuple[str, ...],
    capacity: np.ndarray,
    raw: np.ndarray,
    cluster_metric: Metric = GOODPUT,
    remaining: Mapping[str, float | None] | None = None,
    restart_delay_s: float = RESTART_DELAY_S,
) -> AllocationProblem:
    total = int(capacity.sum())
    limits = np.array([_job_limits(j, total, len(node_ids)) for j in jobs], dtype=np.int64)
    min_r, max_r, max_n = limits.T
    fair = max(1, math.ceil(total / len(jobs)))
    reference = np.array(
        [_reference(raw[i], int(max_n[i]), min(fair, int(max_r[i]))) for i in range(len(jobs))]
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


def remaining_seconds(job: JobInfo) -> float | None:
    """The job's remaining time on one replica by its own model (work left / best metric value
    there); None when it declared no work target or has no model."""
    if job.remaining_samples is None or job.model is None:
        return None
    base = float(job.model.best_config(1, 1, job.metric, force_accumulation=True).objective)
    return job.remaining_samples / base if base > 0 else None


def remaining_times(jobs: Iterable[JobInfo]) -> dict[str, float | None]:
    """``remaining_seconds`` of every job, by id (one batch optimisation per job)."""
    return {j.job_id: remaining_seconds(j) for j in jobs}


def _remaining_if_used(snapshot: ClusterSnapshot) -> dict[str, float | None] | None:
    """The jobs' remaining times, computed once per round, when the cluster's metric or a
    job's metric uses them; None otherwise (Pollux never needs them)."""
    metrics = [snapshot.cluster_metric, *(j.metric for j in snapshot.jobs)]
    if not any(m.uses_remaining for m in metrics):
        return None
    return remaining_times(snapshot.jobs)


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


def _reference(raw: np.ndarray, max_nodes: int, fair_replicas: int) -> float:
    """A job's best speedup within its fair share (Pollux normalises by the speedup at an
    equal share); falls back to its best anywhere, then 1, so it is never 0."""
    within = float(raw[: max_nodes + 1, : fair_replicas + 1].max())
    if within > 0:
        return within
    anywhere = float(raw.max())
    return anywhere if anywhere > 0 else 1.0
