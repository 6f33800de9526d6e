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

#: Added to every speedup before the power mean so that zero speedups stay finite.
EPSILON = 1e-3
STATE_DTYPE = np.int16


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


@dataclass(frozen=True)
class AllocationProblem:
    """One round's search space. Arrays are indexed by job (priority order) and node."""

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


class Evaluator:
    """Fitness of whole populations by table lookup (flat index into all speedup tables)."""

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
        self._total_weight = float(weights.sum())
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
        p = self._power
        value = self.speedups(states) + EPSILON
        if p == -1.0:
            return self._total_weight / (self._weights / value).sum(axis=0)
        if p == 0.0:
            return np.exp((self._weights * np.log(value)).sum(axis=0) / self._total_weight)
        mean = (self._weights * value**p).sum(axis=0) / self._total_weight
        return mean ** (1.0 / p)


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
