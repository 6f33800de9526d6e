"""Conversions between placements (a node id per replica) and replica matrices (jobs x nodes),
plus the fair-share matrix that seeds the allocation search."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from adaptsched.policy.base import JobInfo, Placement
from adaptsched.policy.objective import AllocationProblem, to_state

__all__ = [
    "fair_share_state",
    "node_split_state",
    "priority_fill_state",
    "state_to_placements",
    "to_state",
]


def fair_share_state(problem: AllocationProblem) -> np.ndarray:
    """An equal split: every job, in priority order, gets GPUs // jobs replicas and the first
    GPUs % jobs jobs one more (so all GPUs are handed out, and with more jobs than GPUs the
    first jobs get one each), within its limits: on the first node with room for all of
    them, else spread over the freest nodes."""
    free = problem.capacity.astype(np.int64).copy()
    state = np.zeros_like(problem.base)
    share, extra = divmod(int(free.sum()), problem.num_jobs)
    for j in range(problem.num_jobs):
        want = min(share + (j < extra), int(problem.max_replicas[j]))
        if want < max(int(problem.min_replicas[j]), 1) or free.sum() < want:
            continue
        fits = np.flatnonzero(free >= want)
        if len(fits):
            state[j, fits[0]] = want
        else:
            for n in np.argsort(-free, kind="stable")[: int(problem.max_nodes[j])]:
                state[j, n] = min(want - int(state[j].sum()), int(free[n]))
        free -= state[j]
    return state


def node_split_state(problem: AllocationProblem) -> np.ndarray:
    """Whole nodes dealt round-robin to the jobs in priority order (none left over when there
    are more jobs than nodes): no job shares a node, so none gets in another's way, the split
    the GPU-level equal share cannot reach when shares exceed a node."""
    state = np.zeros_like(problem.base)
    for n in range(problem.num_nodes):
        j = n % problem.num_jobs
        if n // problem.num_jobs >= int(problem.max_nodes[j]):
            continue
        room = int(problem.max_replicas[j]) - int(state[j].sum())
        state[j, n] = max(min(room, int(problem.capacity[n])), 0)
    return state


def priority_fill_state(problem: AllocationProblem) -> np.ndarray:
    """Jobs in priority order each take as many GPUs as they may (whole free nodes first, at
    most ``max_nodes`` of them) until the cluster is full: the allocation a
    shortest-remaining-first order wants, which the equal splits are far from."""
    free = problem.capacity.astype(np.int64).copy()
    state = np.zeros_like(problem.base)
    for j in range(problem.num_jobs):
        want = int(problem.max_replicas[j])
        if want < max(int(problem.min_replicas[j]), 1):
            continue
        for n in np.argsort(-free, kind="stable")[: int(problem.max_nodes[j])]:
            take = min(want - int(state[j].sum()), int(free[n]))
            if take <= 0:
                break
            state[j, n] = take
        if state[j].sum() < max(int(problem.min_replicas[j]), 1):
            state[j] = 0
        free -= state[j]
    return state


def state_to_placements(
    state: np.ndarray, jobs: Sequence[JobInfo], node_ids: Sequence[str]
) -> dict[str, Placement]:
    """Placements from a (J, N) matrix, keeping each job's current placement where it can:
    unchanged jobs keep their exact tuple; a changed job keeps its replicas that still fit, in
    their old order, and new replicas follow in node order."""
    return {
        job.job_id: _placement(job.allocation, state[j], node_ids) for j, job in enumerate(jobs)
    }


def _placement(current: Placement, row: np.ndarray, node_ids: Sequence[str]) -> Placement:
    if len(row) != len(node_ids):
        raise ValueError(f"placement row of {len(row)} nodes for {len(node_ids)} node ids")
    used = np.flatnonzero(row > 0)  # only the nodes in use: rows are long on large clusters
    wanted = {node_ids[i]: int(row[i]) for i in used}
    if Counter(current) == Counter(wanted):
        return current
    left = dict(wanted)
    kept: list[str] = []
    for node_id in current:
        if left.get(node_id, 0) > 0:
            kept.append(node_id)
            left[node_id] -= 1
    for i in used:
        kept.extend([node_ids[i]] * left[node_ids[i]])
    return tuple(kept)
