"""Speedup tables for the allocation search, computed once per distinct job model.

A genetic search scores thousands of (nodes, replicas) allocations per round, so each job's
``SPEEDUP(n, k)`` (Pollux, section 3.3) is tabulated up front and looked up by index. The
table equals :func:`adaptsched.models.speedup_table` on every entry an allocation can reach
(a test checks this) and is much cheaper to build:

- only reachable allocations are evaluated (k <= n x the largest node);
- with Pollux's 7-parameter throughput model the node count matters only as "one node or
  several" (``T_sync`` uses the within-node or the cross-node constants), so the batch
  optimiser runs for two node classes, not for every (n, k) pair;
- jobs refresh their gradient statistics far more often than their throughput fit, and only
  the statistical efficiency depends on them; the throughput of every candidate
  configuration is therefore cached per (throughput params, batch limits, table shape) and a
  new table costs one efficiency evaluation and one maximum;
- the cache keeps only admissible candidates (M0 <= M <= max_batch), typically a few percent
  of the (allocation x accumulation x local batch) grid.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from adaptsched.models import (
    GOODPUT,
    BatchLimits,
    JobModel,
    Metric,
    ModelInputError,
    ThroughputParams,
    efficiency,
    throughput,
)

# The optimiser's own candidate local batches (grid + exact batch edges), so that the maxima
# found here are the ones JobModel.best_config finds.
from adaptsched.models.goodput import _local_candidates
from adaptsched.policy.bounded_cache import bytes_lru

#: Bytes of (model, metric, shape) tables kept: a (16+1) x (64+1) table is ~9 KB, so this
#: holds every job of a few thousand-GPU rounds; larger shapes keep fewer.
TABLE_CACHE_BYTES = 64 << 20
#: Bytes of (throughput params, limits, shape) candidate grids kept (0.2-2 MB each at 64
#: replicas).
GRID_CACHE_BYTES = 96 << 20
#: Bytes of candidate sets (per batch limits and shape) kept.
CANDIDATE_CACHE_BYTES = 32 << 20
#: Jobs evaluated together by ``fast_speedup_tables`` (bounds its temporary arrays).
BATCH_JOBS = 32


@dataclass(frozen=True, eq=False)  # hashed by identity (cached, one object per key)
class _Candidates:
    """The admissible configurations (allocation x accumulation steps x local batch with
    M0 <= M <= max_batch), flat and grouped by allocation. They depend on the batch limits
    only, so they are shared by every throughput fit of a job."""

    nodes: np.ndarray  # (C,)
    replicas: np.ndarray  # (C,)
    local_bsz: np.ndarray  # (C,)
    accum_steps: np.ndarray  # (C,)
    total_batch: np.ndarray  # (C,) M = K * m * (s + 1)
    starts: np.ndarray  # first candidate of each allocation that has any
    present: np.ndarray  # (A,) whether the allocation has an admissible candidate


@dataclass(frozen=True)
class _Grid:
    """Candidates with their throughput under one set of throughput parameters."""

    candidates: _Candidates
    throughput: np.ndarray  # (C,) samples/s


def fast_speedup_table(
    model: JobModel,
    max_nodes: int,
    max_replicas: int,
    max_per_node: int,
    metric: Metric = GOODPUT,
) -> np.ndarray:
    """SPEEDUP(n, k) for n <= max_nodes, k <= max_replicas, shape (max_nodes+1, max_replicas+1).

    Entries an allocation can never reach are 0: k = 0, k < n, and k > n x ``max_per_node``
    (the largest node). The array is read-only (it is cached).
    """
    if max_nodes < 1 or max_replicas < 1 or max_per_node < 1:
        raise ModelInputError("speedup table: max_nodes, max_replicas, max_per_node must be >= 1")
    return _cached_table(model, metric, max_nodes, max_replicas, max_per_node)


def fast_speedup_tables(
    models: Sequence[JobModel],
    metrics: Sequence[Metric],
    max_nodes: int,
    max_replicas: int,
    max_per_node: int,
) -> list[np.ndarray]:
    """``fast_speedup_table`` of many jobs: the same tables, but jobs that share throughput
    parameters, batch limits and metric (and differ only in their gradient statistics) are
    evaluated together, a few array operations per group instead of per job. With hundreds
    of jobs whose statistics change every round, this is most of a round's table time."""
    if max_nodes < 1 or max_replicas < 1 or max_per_node < 1:
        raise ModelInputError("speedup table: max_nodes, max_replicas, max_per_node must be >= 1")
    shape = (max_nodes, max_replicas, max_per_node)
    cache = _cached_table.cache  # type: ignore[attr-defined]
    tables: list[np.ndarray | None] = []
    groups: dict[tuple, list[int]] = {}
    for i, (model, metric) in enumerate(zip(models, metrics, strict=True)):
        tables.append(cache.lookup((model, metric, *shape)))
        if tables[i] is None:
            groups.setdefault((model.params, model.limits, metric), []).append(i)
    for (params, limits, metric), members in groups.items():
        for start in range(0, len(members), BATCH_JOBS):
            chunk = members[start : start + BATCH_JOBS]
            made = _batch_tables([models[i] for i in chunk], params, limits, metric, shape)
            for i, table in zip(chunk, made, strict=True):
                tables[i] = table
                cache.put((models[i], metric, *shape), table)
    return tables  # type: ignore[return-value]


def _batch_tables(
    models: list[JobModel],
    params: ThroughputParams,
    limits: BatchLimits,
    metric: Metric,
    shape: tuple[int, int, int],
) -> list[np.ndarray]:
    """Tables of jobs that differ only in gradient statistics (``_cached_table``'s values)."""
    max_nodes, max_replicas, max_per_node = shape
    init_batch = float(limits.init_batch)
    phi = np.array([m.grad.noise_scale(init_batch) for m in models]).reshape(-1, 1)
    base = _best_many(phi, init_batch, metric, _reference_grid(params, limits))[:, 0]
    if not np.all(base > 0):
        raise ModelInputError("model: no admissible configuration on one replica")
    layout = _layout(params.is_pollux_form, max_nodes, max_replicas, max_per_node)
    value = _best_many(phi, init_batch, metric, _table_grid(params, limits, layout))
    value /= base.reshape(-1, 1)
    out = []
    for row in value:
        table = np.zeros((max_nodes + 1, max_replicas + 1))
        table[layout.table_nodes, layout.table_replicas] = row[layout.source]
        table.setflags(write=False)
        out.append(table)
    return out


def _best_many(phi: np.ndarray, init_batch: float, metric: Metric, grid: _Grid) -> np.ndarray:
    """``_best`` for a column of noise scales at once, (jobs, allocations)."""
    cand = grid.candidates
    finite = np.isfinite(phi)
    safe = np.where(finite, phi, 0.0)
    eff = np.where(finite, (safe + init_batch) / (safe + cand.total_batch), 1.0)
    value = metric.objective(grid.throughput, eff)
    best = np.zeros((len(phi), len(cand.present)))
    if len(cand.starts):
        best[:, cand.present] = np.maximum.reduceat(value, cand.starts, axis=1)
    return best


def default_speedup_table(max_nodes: int, max_replicas: int) -> np.ndarray:
    """Table for a job without a model: one replica is all it can use (speedup 1 at k >= 1 on
    one node); the policy also caps such a job at ``max(1, min_replicas)`` replicas."""
    table = np.zeros((max_nodes + 1, max_replicas + 1))
    table[1, 1:] = 1.0
    return table


@dataclass(frozen=True, eq=False)  # hashed by identity: _layout returns one object per shape
class _Layout:
    """Which allocations to evaluate, and where each value goes in the table."""

    nodes: np.ndarray  # (A,) node count evaluated
    replicas: np.ndarray  # (A,)
    table_nodes: np.ndarray  # (E,) table entries filled ...
    table_replicas: np.ndarray  # (E,)
    source: np.ndarray  # (E,) ... from this evaluated allocation


@lru_cache(maxsize=64)
def _layout(two_classes: bool, max_nodes: int, max_replicas: int, per_node: int) -> _Layout:
    """Reachable entries: n nodes hold n <= k <= n x per_node replicas. With ``two_classes``
    every multi-node entry of k replicas reuses the value of (2 nodes, k replicas)."""
    n, k = np.meshgrid(np.arange(1, max_nodes + 1), np.arange(1, max_replicas + 1), indexing="ij")
    reach = (k >= n) & (k <= n * per_node)
    n, k = n[reach], k[reach]
    key_nodes = np.minimum(n, 2) if two_classes else n
    keys, source = np.unique(key_nodes * (max_replicas + 1) + k, return_inverse=True)
    return _Layout(
        nodes=(keys // (max_replicas + 1)).astype(float),
        replicas=(keys % (max_replicas + 1)).astype(float),
        table_nodes=n,
        table_replicas=k,
        source=source.reshape(-1),
    )


@bytes_lru(TABLE_CACHE_BYTES)
def _cached_table(
    model: JobModel, metric: Metric, max_nodes: int, max_replicas: int, max_per_node: int
) -> np.ndarray:
    base = float(_best(model, metric, _reference_grid(model.params, model.limits))[0])
    if not base > 0:
        raise ModelInputError("model: no admissible configuration on one replica")
    layout = _layout(model.params.is_pollux_form, max_nodes, max_replicas, max_per_node)
    grid = _table_grid(model.params, model.limits, layout)
    value = _best(model, metric, grid) / base
    table = np.zeros((max_nodes + 1, max_replicas + 1))
    table[layout.table_nodes, layout.table_replicas] = value[layout.source]
    table.setflags(write=False)
    return table


def _best(model: JobModel, metric: Metric, grid: _Grid) -> np.ndarray:
    """Best metric value per allocation (0 where no configuration is admissible), the same
    maximum :meth:`JobModel.best_config` finds."""
    cand = grid.candidates
    eff = _efficiency(model, cand.total_batch)
    value = metric.objective(grid.throughput, eff)
    best = np.zeros(len(cand.present))
    if len(cand.starts):
        best[cand.present] = np.maximum.reduceat(value, cand.starts)
    return best


def _efficiency(model: JobModel, total_batch: np.ndarray) -> np.ndarray:
    """``models.efficiency`` without its input checks: the candidates are valid by
    construction, and on large clusters the checks cost more than the formula."""
    init_batch = float(model.limits.init_batch)
    phi = model.grad.noise_scale(init_batch)
    if np.isinf(phi):
        return efficiency(model.grad, init_batch, total_batch)
    return (phi + init_batch) / (phi + total_batch)


@bytes_lru(GRID_CACHE_BYTES)
def _table_grid(params: ThroughputParams, limits: BatchLimits, layout: _Layout) -> _Grid:
    return _with_throughput(params, _table_candidates(limits, layout))


@bytes_lru(GRID_CACHE_BYTES // 8)
def _reference_grid(params: ThroughputParams, limits: BatchLimits) -> _Grid:
    return _with_throughput(params, _reference_candidates(limits))


def _with_throughput(params: ThroughputParams, cand: _Candidates) -> _Grid:
    thr = throughput(params, cand.nodes, cand.replicas, cand.local_bsz, cand.accum_steps)
    return _frontier(cand, thr)


def _frontier(cand: _Candidates, thr: np.ndarray) -> _Grid:
    """Only the candidates no other of the same allocation beats on both counts (a smaller or
    equal total batch with at least the throughput). Efficiency falls as the total batch
    grows, whatever the gradient statistics, so the best value of a metric that grows with
    throughput and with efficiency (all of ours) is always on this frontier: the maxima are
    exactly those over every candidate, from a few percent of them."""
    group = np.repeat(np.arange(len(cand.starts)), np.diff(np.append(cand.starts, len(thr))))
    order = np.lexsort((-thr, cand.total_batch, group))
    shifted = thr[order] + group[order] * (float(thr.max(initial=0.0)) + 1.0)
    best_before = np.maximum.accumulate(np.concatenate([[-np.inf], shifted[:-1]]))
    keep = np.sort(order[shifted > best_before])
    counts = np.bincount(group[keep], minlength=len(cand.starts))
    pruned = _Candidates(
        nodes=cand.nodes[keep],
        replicas=cand.replicas[keep],
        local_bsz=cand.local_bsz[keep],
        accum_steps=cand.accum_steps[keep],
        total_batch=cand.total_batch[keep],
        starts=np.cumsum(counts) - counts,
        present=cand.present,
    )
    for arr in (*dataclasses.astuple(pruned), thr):
        arr.setflags(write=False)
    return _Grid(candidates=pruned, throughput=thr[keep])


@bytes_lru(CANDIDATE_CACHE_BYTES)
def _table_candidates(limits: BatchLimits, layout: _Layout) -> _Candidates:
    max_s = limits.max_accum_steps if limits.accumulation else 0
    return _candidates(limits, layout.nodes, layout.replicas, max_s)


@bytes_lru(CANDIDATE_CACHE_BYTES // 8)
def _reference_candidates(limits: BatchLimits) -> _Candidates:
    """One replica, accumulating as far as needed to reach M0 (the speedup's denominator)."""
    max_s = limits.max_accum_steps if limits.accumulation else 0
    max_s = max(max_s, int(np.ceil(limits.init_batch / limits.min_local)))
    return _candidates(limits, np.ones(1), np.ones(1), max_s)


def _candidates(
    limits: BatchLimits, nodes: np.ndarray, replicas: np.ndarray, max_s: int
) -> _Candidates:
    """The optimiser's grid for these allocations, admissible entries only (usually a few
    percent of it), in allocation order."""
    n = nodes.reshape(-1, 1, 1)
    k = replicas.reshape(-1, 1, 1)
    s = np.arange(max_s + 1, dtype=float).reshape(1, -1, 1)
    m = _local_candidates(limits, k, s)
    total = k * m * (s + 1)
    admissible = (total >= limits.init_batch) & (total <= limits.max_batch)
    counts = admissible.reshape(len(replicas), -1).sum(axis=1)
    present = counts > 0
    flat = [np.broadcast_to(a, total.shape)[admissible] for a in (n, k, m, s, total)]
    cand = _Candidates(*flat, starts=(np.cumsum(counts) - counts)[present], present=present)
    for arr in (*flat, cand.starts, cand.present):
        arr.setflags(write=False)
    return cand
