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

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from adaptsched.policy.base import ClusterSnapshot, Decision, JobInfo, Policy
from adaptsched.policy.genetic import (
    ROW_BUDGET,
    STATE_DTYPE,
    AllocationProblem,
    GeneticConfig,
    node_major,
    search,
)
from adaptsched.policy.objective import (
    RESTART_DELAY_S,
    allocation_weights,
    move_factor,
    priority_order,
    remaining_if_used,
    restart_factor,
    valuation,
)
from adaptsched.policy.pollux_state import (
    fair_share_state,
    node_split_state,
    priority_fill_state,
    state_to_placements,
)
from adaptsched.policy.sizing import desired_nodes, placeable_nodes

__all__ = [
    "RESTART_DELAY_S",
    "PolluxPolicy",
    "allocation_weights",
    "move_factor",
    "priority_order",
    "restart_factor",
]


@dataclass(frozen=True)
class _Carry:
    """Last round's final population and the job / node ids its axes refer to."""

    job_ids: tuple[str, ...]
    node_ids: tuple[str, ...]
    population: np.ndarray


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
        row_budget: int | None = ROW_BUDGET,
    ) -> None:
        self._config = GeneticConfig(
            population=population,
            generations=generations,
            patience=patience,
            row_budget=row_budget,
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
        remaining = remaining_if_used(snapshot)
        jobs = priority_order(snapshot.jobs, snapshot.cluster_metric, remaining)
        desired = desired_nodes(snapshot, jobs) if snapshot.autoscale and jobs else None
        nodes = placeable_nodes(snapshot, desired)
        if not jobs or not nodes:
            self._carry = None
            return Decision(
                allocations={j.job_id: () for j in jobs},
                desired_nodes=desired,
                info={"utility": 0.0},
            )
        problem, raw = valuation(snapshot, jobs, nodes, remaining)
        node_ids = tuple(n.node_id for n in nodes)
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
                "utility": float(speedup.sum() / problem.capacity.sum()),
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
