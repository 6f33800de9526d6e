"""Every job's menu of configurations for the integer program of ``policy.milp``.

Sia (Jayaram Subramanya et al., SOSP'23) made cluster-wide allocation tractable by letting
each job choose one of a few configurations instead of searching replica matrices. Here a
job's menu is: no GPUs; its current placement unchanged (no restart); for each replica
count k it may hold, k GPUs on as few nodes as can hold them (one node while k fits on the
largest node); and, for counts up to two nodes' worth, the same GPUs spread evenly over one
node more (which fits into holes that other jobs leave). Each configuration carries what it
uses (GPUs, nodes, the sizes of its parts: ``policy.milp_packing``) and its term in
Pollux's objective.

Pollux's objective is a weighted power mean of the jobs' normalised speedups, which is a sum
over jobs once the mean's monotone outer function is set aside. Each configuration's term is
therefore a constant, and the program stays linear whatever the fairness power. A term is
written as the job's *regret*, ``w (U(best) - U(s + eps))`` with ``U(x) = x^p / p`` (``log x``
at p = 0): never negative, 0 for the job's best configuration, so the program's value is the
loss against every job getting its best, and a relative MIP gap is a gap on that loss.

Configurations that need more GPUs for no more value are dropped (they can never help), which
keeps a menu to a few dozen entries even on thousands of GPUs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adaptsched.policy.milp_packing import (
    Patterns,
    cluster_patterns,
    part_histogram,
    row_histogram,
)
from adaptsched.policy.objective import EPSILON, AllocationProblem


@dataclass(frozen=True)
class Menu:
    """All jobs' configurations as flat columns; column ``none[j]`` is job j's empty one."""

    job: np.ndarray  # (C,) job index
    gpus: np.ndarray  # (C,) replicas
    nodes: np.ndarray  # (C,) nodes spanned
    even: np.ndarray  # (C,) bool: parts near-equal (spread), else compact
    keep: np.ndarray  # (C,) bool: the job's current placement, unchanged
    value: np.ndarray  # (C,) normalised speedup, restart factor applied unless kept
    regret: np.ndarray  # (C,) >= 0: its objective term's loss against the job's best
    parts: np.ndarray  # (C, types) its parts by type (``policy.milp_packing``)
    patterns: Patterns | None  # what a node can hold (None: nodes too large to check)
    none: np.ndarray  # (J,) column of each job's empty configuration
    best: np.ndarray  # (J,) U(best s + eps) of each job (the regrets' reference)
    weights: np.ndarray  # (J,)
    power: float
    order: np.ndarray  # (C,) columns by job, then least regret, then fewest GPUs
    starts: np.ndarray  # (J + 1,) where each job's columns begin in ``order``

    @property
    def num_jobs(self) -> int:
        return len(self.none)

    def columns_of(self, job: int) -> np.ndarray:
        """Job ``job``'s columns, best (least regret) first."""
        return self.order[self.starts[job] : self.starts[job + 1]]

    def objective(self, total_regret: float) -> float:
        """Pollux's power mean when the chosen configurations' regrets add up to
        ``total_regret``."""
        return objective_from_utility(
            float((self.weights * self.best).sum()) - total_regret, self.weights, self.power
        )


def utility(x: np.ndarray, power: float) -> np.ndarray:
    """The increasing transform whose weighted sum orders allocations as the power mean
    does: ``x^p / p``, or ``log x`` at p = 0."""
    return np.log(x) if power == 0.0 else x**power / power


def objective_from_utility(total: float, weights: np.ndarray, power: float) -> float:
    """The weighted power mean whose summed ``utility`` is ``total``."""
    mean = total / float(weights.sum())
    if power == 0.0:
        return float(np.exp(mean))
    base = power * mean
    return float(base ** (1.0 / power)) if base > 0 else 0.0


def nodes_for(capacity: np.ndarray, replicas: np.ndarray) -> np.ndarray:
    """Fewest nodes that can hold each replica count (largest nodes first)."""
    held = np.cumsum(np.sort(capacity)[::-1])
    return np.searchsorted(held, replicas) + 1


def replica_limits(problem: AllocationProblem) -> tuple[np.ndarray, np.ndarray]:
    """(least, most) replicas per job when it runs: Pollux's limits (``objective.job_limits``:
    the ramp, min / max replicas, one replica for a job without a model), at least one."""
    least = np.maximum(problem.min_replicas, 1).astype(np.int64)
    return least, problem.max_replicas.astype(np.int64)


#: Regret of leaving the highest-priority job out, beyond its objective term: small enough to
#: decide only between allocations the objective values alike.
TIE_BREAK = 1e-4
#: Spread (even) configurations are offered up to this many nodes' worth of GPUs.
SPREAD_NODES = 2


def build_menu(problem: AllocationProblem, *, bound: bool = False) -> Menu:
    """Every job's configurations (see the module docstring), jobs in priority order.

    ``bound``: a relaxation for an upper bound on Pollux's objective over *any* allocation
    (what the genetic search may reach too): each replica count valued at its best node
    count, however many nodes that spans."""
    num_jobs = problem.num_jobs
    capacity = problem.capacity
    largest = int(capacity.max())
    least, most = replica_limits(problem)
    k = np.arange(1, problem.speedups.shape[2])
    fewest = nodes_for(capacity, k)
    parts = [_sized(problem, least, most, k, fewest, bound)]
    if not bound:
        spread = (k >= 2) & (k <= SPREAD_NODES * largest)
        parts.append(_sized(problem, least, most, k[spread], fewest[spread] + 1, False, True))
    parts += [_keep_columns(problem, least, most), _none_columns(num_jobs)]
    job, gpus, nodes, even, keep, val = (np.concatenate(c) for c in zip(*parts, strict=True))
    weights = np.ones(num_jobs) if problem.weights is None else np.asarray(problem.weights, float)
    util = utility(val + EPSILON, problem.power)
    best = np.full(num_jobs, -np.inf)
    np.maximum.at(best, job, util)
    regret = np.maximum(weights[job] * (best[job] - util), 0.0)
    # Ties (equal values, e.g. which of several waiting jobs gets a free GPU) go to the job
    # first in priority order, as Pollux's repair keeps its GPUs: leaving a job out costs a
    # little more the higher its priority.
    if not bound:
        empty = gpus == 0
        regret[empty] += TIE_BREAK * (num_jobs - job[empty]) / num_jobs
    patterns = cluster_patterns(capacity)
    hist = part_histogram(gpus, nodes, even, largest)
    kept = np.flatnonzero(keep)
    hist[kept] = row_histogram(problem.base[job[kept]], largest)
    none = np.flatnonzero(gpus == 0)
    none = none[np.argsort(job[none])]
    order = np.lexsort((gpus, regret, job))
    return Menu(
        job=job,
        gpus=gpus,
        nodes=nodes,
        even=even,
        keep=keep,
        value=val,
        regret=regret,
        parts=hist,
        patterns=patterns,
        none=none,
        best=best,
        weights=weights,
        power=float(problem.power),
        order=order,
        starts=np.searchsorted(job[order], np.arange(num_jobs + 1)),
    )


Columns = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _sized(
    problem: AllocationProblem,
    least: np.ndarray,
    most: np.ndarray,
    k: np.ndarray,
    n: np.ndarray,
    bound: bool,
    even: bool = False,
) -> Columns:
    """Columns of k replicas on n(k) nodes for every job that may hold them, each worth more
    than every smaller count of the same kind (the others can never help)."""
    num_jobs, table_nodes, _ = problem.speedups.shape
    allowed = (
        (k >= least.reshape(-1, 1))
        & (k <= most.reshape(-1, 1))
        & (n <= problem.max_nodes.reshape(-1, 1))
        & (n < table_nodes)
        & (n <= k)
    )
    rows = np.minimum(n, table_nodes - 1)
    value = problem.speedups[:, rows, k]
    if bound:
        counts = np.arange(table_nodes).reshape(-1, 1)
        reach = (counts >= rows) & (counts <= k)
        limit = counts.reshape(1, -1, 1) <= problem.max_nodes.reshape(-1, 1, 1)
        value = np.where(reach & limit, problem.speedups[:, :, k], 0.0).max(axis=1)
    value = np.where(allowed, value * problem.restart_factor.reshape(-1, 1), -np.inf)
    previous = np.maximum.accumulate(
        np.concatenate([np.zeros((num_jobs, 1)), value[:, :-1]], axis=1), axis=1
    )
    job, col = np.nonzero(value > previous)
    flags = np.full(len(col), even)
    return job, k[col], n[col], flags, np.zeros(len(col), bool), value[job, col]


def _none_columns(num_jobs: int) -> Columns:
    zeros = np.zeros(num_jobs, np.int64)
    flags = np.zeros(num_jobs, bool)
    return np.arange(num_jobs), zeros, zeros, flags, flags, np.zeros(num_jobs)


def _keep_columns(problem: AllocationProblem, least: np.ndarray, most: np.ndarray) -> Columns:
    """One column per job whose current placement may stay as it is: on placeable nodes,
    within its limits; its value carries no restart factor."""
    gpus = problem.base.sum(axis=1)
    nodes = np.count_nonzero(problem.base, axis=1)
    ok = (
        problem.base_valid
        & (gpus >= least)
        & (gpus <= most)
        & (nodes <= problem.max_nodes)
        & (gpus < problem.speedups.shape[2])
        & (nodes < problem.speedups.shape[1])
    )
    job = np.flatnonzero(ok)
    value = problem.speedups[job, nodes[job], gpus[job]]
    flags = np.zeros(len(job), bool)
    return job, gpus[job], nodes[job], flags, np.ones(len(job), bool), value
