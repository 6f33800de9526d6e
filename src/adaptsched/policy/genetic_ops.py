"""Variation and repair operators of the allocation search, on node-major populations
(nodes x jobs x population, jobs in priority order). All of them edit in place except
crossover, which builds the children."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from adaptsched.policy.genetic import AllocationProblem, GeneticConfig


def crossover(
    pool: np.ndarray, picks: tuple[np.ndarray, np.ndarray], rng: np.random.Generator
) -> np.ndarray:
    """Uniform crossover of whole job rows: child i takes each job's row from individual
    ``picks[0][i]`` or ``picks[1][i]`` of ``pool`` with equal odds (a row is a job's whole
    allocation, so a job's placement is inherited intact). Returns a contiguous node-major
    array; one flat ``take`` is several times faster than fancy indexing here."""
    nodes, jobs, width = pool.shape
    size = len(picks[0])
    from_first = rng.random((jobs, size)) < 0.5
    source = np.where(from_first, picks[0], picks[1]) + np.arange(jobs).reshape(-1, 1) * width
    flat = np.take(pool.reshape(nodes, -1), source.reshape(-1), axis=1)
    return flat.reshape(nodes, jobs, size)


def mutate(
    problem: AllocationProblem,
    states: np.ndarray,
    rng: np.random.Generator,
    config: GeneticConfig,
) -> None:
    """At most one random edit per job row, in place; repair afterwards restores feasibility.

    Reset (back to the current allocation, undoing a restart), drop (preempt), halve (scale
    in), grow (add 1..capacity replicas on one random node: scale out, or take GPUs from
    lower-priority jobs there) and pack (move the whole row onto one random node).
    """
    nodes, jobs, size = states.shape
    rates = (
        config.reset_rate,
        config.drop_rate,
        config.halve_rate,
        config.grow_rate,
        config.pack_rate,
    )
    upper = np.cumsum(rates)
    draw = rng.random((jobs, size))
    rows, members = np.nonzero(draw < upper[-1])
    kind = np.searchsorted(upper, draw[rows, members], side="right")
    reset, drop, halve, grow, pack = (
        (rows[kind == k], members[kind == k]) for k in range(len(rates))
    )
    states[:, reset[0], reset[1]] = problem.base[reset[0]].T
    states[:, drop[0], drop[1]] = 0
    states[:, halve[0], halve[1]] //= 2
    grow_nodes = rng.integers(nodes, size=len(grow[0]))
    gained = rng.integers(1, problem.capacity[grow_nodes] + 1)
    states[grow_nodes, grow[0], grow[1]] += gained.astype(states.dtype)
    pack_nodes = rng.integers(nodes, size=len(pack[0]))
    moved = states[:, pack[0], pack[1]].sum(axis=0)
    states[:, pack[0], pack[1]] = 0
    states[pack_nodes, pack[0], pack[1]] = np.minimum(moved, problem.capacity[pack_nodes])


def repair(problem: AllocationProblem, states: np.ndarray, rng: np.random.Generator) -> None:
    """Make every individual feasible, in place, by removing replicas only.

    Each step only lowers entries, and lowering an entry never breaks a constraint that an
    earlier step established, so the result meets all of them: one multi-node job per node,
    per-job replica and node limits, node capacity, then the min_replicas floor.
    """
    _one_distributed_job_per_node(states)
    _limit_rows(problem, states, rng)
    _fit_capacity(problem, states)
    total = states.sum(axis=0, dtype=np.int32)
    short = (total > 0) & (total < problem.min_replicas.reshape(-1, 1))
    if short.any():
        states[:, short] = 0


def _one_distributed_job_per_node(states: np.ndarray) -> None:
    """Where several multi-node jobs share a node, only the first in priority order stays."""
    occupied = states > 0
    spread = occupied.sum(axis=0, dtype=np.int16) > 1
    distributed = occupied & spread
    clash = distributed.sum(axis=1, dtype=np.int16) > 1
    if not clash.any():
        return
    nodes, members = np.nonzero(clash)
    cols = distributed[nodes, :, members]  # (M, J)
    first = cols.argmax(axis=1).reshape(-1, 1)
    later = cols & (np.arange(cols.shape[1]).reshape(1, -1) != first)
    kept = states[nodes, :, members]
    kept[later] = 0
    states[nodes, :, members] = kept


def _limit_rows(problem: AllocationProblem, states: np.ndarray, rng: np.random.Generator) -> None:
    """Cap each job's replicas and node count, dropping replicas in a random node order."""
    replicas = states.sum(axis=0, dtype=np.int32)
    width = (states > 0).sum(axis=0, dtype=np.int32)
    bad = (replicas > problem.max_replicas.reshape(-1, 1)) | (
        width > problem.max_nodes.reshape(-1, 1)
    )
    if not bad.any():
        return
    jobs, members = np.nonzero(bad)
    order = rng.permutation(states.shape[0])
    rows = states[:, jobs, members].T[:, order]  # (R, N), nodes shuffled
    kept = np.minimum(np.cumsum(rows, axis=1), problem.max_replicas[jobs].reshape(-1, 1))
    rows = np.diff(kept, axis=1, prepend=0)
    rows[np.cumsum(rows > 0, axis=1) > problem.max_nodes[jobs].reshape(-1, 1)] = 0
    unshuffled = np.empty_like(rows)
    unshuffled[:, order] = rows
    states[:, jobs, members] = unshuffled.T


def _fit_capacity(problem: AllocationProblem, states: np.ndarray) -> None:
    """On over-full nodes, jobs keep replicas in priority order until the node is full."""
    usage = states.sum(axis=1, dtype=np.int32)
    over = usage > problem.capacity.reshape(-1, 1)
    if not over.any():
        return
    nodes, members = np.nonzero(over)
    cols = states[nodes, :, members].astype(np.int32)  # (M, J)
    before = np.cumsum(cols, axis=1) - cols
    room = np.maximum(problem.capacity[nodes].reshape(-1, 1) - before, 0)
    states[nodes, :, members] = np.minimum(cols, room)
