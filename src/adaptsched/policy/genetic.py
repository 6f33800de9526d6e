"""A vectorised genetic search over replica matrices (Pollux, Qiao et al. OSDI'21, section 4.2).

An individual is a (jobs x nodes) matrix of replica counts. A population is stored
node-major, shape (nodes, jobs, population): the reductions the search needs (over nodes per
job, over jobs per node) then add whole contiguous slices, several times faster in numpy
than reducing a short last axis. Every operator works on the whole array at once; no Python
loop runs over individuals.

Jobs are in priority order (least attained service first): when repair has to cut replicas
from an over-full node, the later jobs lose them, which is how Pollux guarantees service to
the jobs that have had the least.

Fitness is the power mean (p = -1) of the jobs' speedups normalised to their fair share,
each multiplied by the restart factor when its row differs from the current allocation:
``F = sum_j w_j / sum_j w_j / (s_j + eps)``, with the job weights ``w_j`` of their metrics
(all 1 in Pollux, where this is ``J / sum_j 1 / (s_j + eps)``). ``eps`` keeps a job with
no GPUs (speedup 0) from making the mean 0 or undefined; it then costs w/eps, so the search
gives GPUs to as many jobs as capacity allows before it scales any of them out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adaptsched.policy.genetic_ops import crossover, mutate, repair
from adaptsched.policy.objective import (
    EPSILON,
    STATE_DTYPE,
    AllocationProblem,
    Evaluator,
    node_major,
)

__all__ = [
    "EPSILON",
    "STATE_DTYPE",
    "AllocationProblem",
    "Evaluator",
    "GeneticConfig",
    "SearchResult",
    "node_major",
    "search",
]


#: Default ``GeneticConfig.row_budget``.
ROW_BUDGET = 10


@dataclass(frozen=True)
class GeneticConfig:
    """Search sizes and operator rates (probabilities per job row and generation)."""

    population: int = 100
    generations: int = 100
    #: Stop once the best fitness has not improved for this many generations (None: never).
    patience: int | None = None
    reset_rate: float = 0.05  # row back to the current allocation
    drop_rate: float = 0.05  # row emptied (job preempted)
    halve_rate: float = 0.05  # every entry of the row halved (job shrinks)
    fill_rate: float = 0.10  # replicas added on a node with free GPUs
    grow_rate: float = 0.05  # replicas added on any node (taking from lower-priority jobs)
    pack_rate: float = 0.05  # row moved onto one random node (consolidation)
    #: The rates hold per row up to this many jobs; with more they shrink in proportion, so a
    #: child keeps about as many edits as with this many jobs (None: per row at any size).
    #: Per-row rates on hundreds of jobs edit so many rows that nearly every child drops some
    #: job and loses to its parent (docs/pollux-policy.md).
    row_budget: int | None = ROW_BUDGET

    def __post_init__(self) -> None:
        if self.population < 2 or self.generations < 0:
            raise ValueError("GeneticConfig: population must be >= 2 and generations >= 0")
        if self.patience is not None and self.patience < 1:
            raise ValueError("GeneticConfig.patience: must be >= 1 (or None: never stop early)")
        rates = (
            self.reset_rate,
            self.drop_rate,
            self.halve_rate,
            self.fill_rate,
            self.grow_rate,
            self.pack_rate,
        )
        if min(rates) < 0 or sum(rates) > 1:
            raise ValueError("GeneticConfig: mutation rates must be >= 0 and sum to <= 1")
        if self.row_budget is not None and self.row_budget < 1:
            raise ValueError("GeneticConfig.row_budget: must be >= 1 (or None: no budget)")

    def rate_scale(self, jobs: int) -> float:
        """What the per-row rates are multiplied by with ``jobs`` jobs."""
        if self.row_budget is None or jobs <= self.row_budget:
            return 1.0
        return self.row_budget / jobs


def tournament(fitness: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Binary tournament: indices of ``count`` parents, each the fitter of two random picks."""
    first, second = rng.integers(len(fitness), size=(2, count))
    return np.where(fitness[first] >= fitness[second], first, second)


@dataclass(frozen=True)
class SearchResult:
    """Final population (node-major, best first) with its fitness."""

    population: np.ndarray  # (N, J, P)
    fitness: np.ndarray  # (P,)
    generations: int  # generations actually run

    @property
    def best(self) -> np.ndarray:
        """The best (J, N) matrix."""
        return self.population[:, :, 0].T


def initial_population(
    problem: AllocationProblem,
    seeds: np.ndarray,
    rng: np.random.Generator,
    config: GeneticConfig,
) -> np.ndarray:
    """Repaired seeds (node-major), topped up with mutated copies to the population size."""
    pop = np.array(seeds[:, :, : config.population], dtype=STATE_DTYPE)
    repair(problem, pop, rng)
    missing = config.population - pop.shape[2]
    if missing <= 0:
        return pop
    extra = pop[:, :, rng.integers(pop.shape[2], size=missing)]
    mutate(problem, extra, rng, config)
    repair(problem, extra, rng)
    return np.concatenate([pop, extra], axis=2)


def _survive(pop: np.ndarray, fit: np.ndarray, children: np.ndarray, child_fit: np.ndarray) -> None:
    """Keep the best ``len(fit)`` of parents and children in ``pop`` / ``fit``, in place and in
    no particular order: surviving children overwrite the slots of discarded parents, so only
    they are copied (ties keep the parent)."""
    size = len(fit)
    keep = np.argsort(-np.concatenate([fit, child_fit]), kind="stable")[:size]
    newcomers = keep[keep >= size] - size
    if len(newcomers):
        kept = np.zeros(size, dtype=bool)
        kept[keep[keep < size]] = True
        freed = np.flatnonzero(~kept)
        pop[:, :, freed] = children[:, :, newcomers]
        fit[freed] = child_fit[newcomers]


def search(
    problem: AllocationProblem,
    seeds: np.ndarray,
    rng: np.random.Generator,
    config: GeneticConfig,
) -> SearchResult:
    """(mu + lambda) genetic search from node-major ``seeds`` (N, J, S).

    Each generation breeds ``population`` children by tournament, row crossover, mutation and
    repair; the best ``population`` of parents and children survive, so the best matrix found
    is never lost.
    """
    evaluate = Evaluator(problem)
    size = config.population
    pop = initial_population(problem, seeds, rng, config)
    fit = evaluate(pop)
    stale = done = 0
    while done < config.generations:
        done += 1
        best = fit.max()
        parents = (tournament(fit, size, rng), tournament(fit, size, rng))
        children = crossover(pop, parents, rng)
        mutate(problem, children, rng, config)
        repair(problem, children, rng)
        _survive(pop, fit, children, evaluate(children))
        stale = stale + 1 if fit.max() <= best * (1 + 1e-9) else 0
        if config.patience is not None and stale >= config.patience:
            break
    order = np.argsort(-fit, kind="stable")
    return SearchResult(population=pop[:, :, order], fitness=fit[order], generations=done)
