"""Cluster utility as a function of cluster size, for the utility-band autoscaler.

The band rule (``policy.autoscale``) needs the utility ``sum_j SPEEDUP_j / GPUs`` (Pollux,
section 4.3) of the best allocation at every candidate node count. Searching each size with
the genetic algorithm would multiply a round's cost by the number of sizes, so the curve is
estimated in one greedy pass instead: every job first gets one GPU (in priority order, as
the power-mean objective would), then each further GPU goes to the job whose speedup grows
most from it. Replicas of a job are counted as packed onto as few nodes as possible. The
greedy prefix of length G is the allocation for a cluster of G GPUs, so one pass yields the
whole curve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adaptsched.models.errors import ModelInputError


def _packed_value(table: np.ndarray, replicas: int, gpus_per_node: int) -> float:
    """Speedup of ``replicas`` packed onto ceil(replicas / gpus_per_node) nodes (0 if the
    table cannot express it)."""
    if replicas <= 0:
        return 0.0
    nodes = -(-replicas // gpus_per_node)
    if nodes >= table.shape[0] or replicas >= table.shape[1]:
        return 0.0
    return float(table[nodes, replicas])


@dataclass(frozen=True)
class GreedyCurve:
    """The greedy pass: summed speedup after each GPU handed out, and how many GPUs were
    handed out before no job gained from another (the jobs' demand)."""

    cumulative: np.ndarray  # (total GPUs + 1,) summed speedup of the first g GPUs
    demand_gpus: int


def greedy_curve(
    tables: np.ndarray,
    max_replicas: np.ndarray,
    gpus_per_node: int,
    max_nodes: int,
) -> GreedyCurve:
    """One GPU to each job in priority order, then each further GPU to the job it helps most,
    until ``max_nodes`` nodes are full or no job gains from another GPU.

    ``tables`` is (jobs, nodes + 1, replicas + 1) speedups relative to one replica, jobs in
    priority order; ``max_replicas`` caps each job.
    """
    if gpus_per_node < 1 or max_nodes < 1:
        raise ModelInputError("utility_curve: gpus_per_node and max_nodes must be >= 1")
    jobs = tables.shape[0]
    total_gpus = gpus_per_node * max_nodes
    caps = np.minimum(np.asarray(max_replicas, dtype=int).reshape(-1), total_gpus)
    held = np.zeros(jobs, dtype=int)
    value = np.zeros(jobs)
    cumulative = np.zeros(total_gpus + 1)
    used = 0
    for j in range(jobs):  # one GPU each first, least attained service first
        if used == total_gpus:
            break
        if caps[j] >= 1:
            held[j], value[j] = 1, _packed_value(tables[j], 1, gpus_per_node)
            used += 1
            cumulative[used] = value.sum()
    while used < total_gpus:
        gains = np.full(jobs, -np.inf)
        for j in np.flatnonzero((held >= 1) & (held < caps)):
            gains[j] = _packed_value(tables[j], held[j] + 1, gpus_per_node) - value[j]
        if not np.isfinite(gains.max()) or gains.max() <= 0:
            break  # nobody gains from another GPU: larger clusters add idle GPUs only
        j = int(np.argmax(gains))
        held[j] += 1
        value[j] += gains[j]
        used += 1
        cumulative[used] = value.sum()
    cumulative[used + 1 :] = cumulative[used]
    return GreedyCurve(cumulative=cumulative, demand_gpus=used)


def utility_curve(
    tables: np.ndarray,
    max_replicas: np.ndarray,
    gpus_per_node: int,
    max_nodes: int,
) -> dict[int, float]:
    """Estimated best utility at 1..max_nodes nodes (``greedy_curve``'s prefix sums over the
    GPUs of each size)."""
    cumulative = greedy_curve(tables, max_replicas, gpus_per_node, max_nodes).cumulative
    return {
        n: float(cumulative[n * gpus_per_node] / (n * gpus_per_node))
        for n in range(1, max_nodes + 1)
    }
