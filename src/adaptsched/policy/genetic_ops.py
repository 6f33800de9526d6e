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
    """Random edits of job rows, in place; repair afterwards restores feasibility.

    Reset (back to the current allocation, undoing a restart), drop (preempt), halve (scale
    in), fill (add replicas on a node with free GPUs), grow (add replicas on any node, taking
    GPUs from lower-priority jobs there) and pack (move the whole row onto one random node).
    Each kind edits about ``rate x rows`` rows drawn with replacement (one multinomial draw
    instead of a Bernoulli trial per row: a few array calls whatever the population size),
    the rates scaled down beyond ``config.row_budget`` jobs.
    """
    nodes, jobs, size = states.shape
    rates = [
        config.reset_rate,
        config.drop_rate,
        config.halve_rate,
        config.fill_rate,
        config.grow_rate,
        config.pack_rate,
    ]
    scale = config.rate_scale(jobs)
    if scale != 1.0:
        rates = [r * scale for r in rates]
    counts = rng.multinomial(jobs * size, [*rates, max(1.0 - sum(rates), 0.0)])[:-1]
    rows, members = np.divmod(rng.integers(jobs * size, size=int(counts.sum())), size)
    ends = np.cumsum(counts)
    reset, drop, halve, fill, grow, pack = (
        (rows[end - count : end], members[end - count : end])
        for end, count in zip(ends, counts, strict=True)
    )
    states[:, reset[0], reset[1]] = problem.base[reset[0]].T
    states[:, drop[0], drop[1]] = 0
    states[:, halve[0], halve[1]] //= 2
    _add_replicas(problem, states, fill, _free_nodes(problem, states, fill[1], rng), rng)
    _add_replicas(problem, states, grow, rng.integers(nodes, size=len(grow[0])), rng)
    pack_nodes = rng.integers(nodes, size=len(pack[0]))
    moved = states[:, pack[0], pack[1]].sum(axis=0)
    states[:, pack[0], pack[1]] = 0
    states[pack_nodes, pack[0], pack[1]] = np.minimum(moved, problem.capacity[pack_nodes])


def _free_nodes(
    problem: AllocationProblem, states: np.ndarray, members: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """For each listed individual, a random node with free GPUs in it (any node if none)."""
    free = problem.capacity.reshape(-1, 1) - states.sum(axis=1, dtype=np.int32)  # (N, P)
    keys = rng.random((free.shape[0], len(members))) + (free[:, members] > 0)
    return keys.argmax(axis=0)


def _add_replicas(
    problem: AllocationProblem,
    states: np.ndarray,
    where: tuple[np.ndarray, np.ndarray],
    nodes: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Add 1..capacity replicas of job ``where[0]`` on ``nodes`` in individual ``where[1]``."""
    gained = rng.integers(1, problem.capacity[nodes] + 1).astype(states.dtype)
    states[nodes, where[0], where[1]] += gained


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
