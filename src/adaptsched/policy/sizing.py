"""How many nodes the cluster should have, and which ready nodes a search may fill: shared by
every policy that values allocations by Pollux's speedups.

A metric without a GPU price keeps Pollux's utility band (``policy.autoscale``); a metric
with one (``cost:P``) sizes the cluster to the GPUs its jobs would buy at that price: the
greedy curve runs on speedups net of the price, so it hands out a GPU only while some job's
speedup grows by at least P from it. The GPUs the cluster then holds are allocated as
goodput would (docs/metrics.md: charging them again would leave paid-for GPUs idle).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from adaptsched.policy.autoscale import (
    KEEP_SHARE,
    UtilityBand,
    desired_node_count,
    priced_node_count,
)
from adaptsched.policy.base import ClusterSnapshot, JobInfo, NodeInfo
from adaptsched.policy.cluster_size import greedy_curve
from adaptsched.policy.objective import job_limits, raw_tables


def desired_nodes(snapshot: ClusterSnapshot, jobs: list[JobInfo]) -> int:
    """Cluster size for the cluster's metric, from the greedy utility curve over every size up
    to ``snapshot.max_nodes`` (jobs in priority order)."""
    per_node = max(snapshot.gpus_per_node, 1)
    capacity = np.full(snapshot.max_nodes, per_node, dtype=np.int64)
    caps = np.array([job_limits(j, int(capacity.sum()), len(capacity))[1] for j in jobs])
    metric = snapshot.cluster_metric
    if metric.gpu_price > 0:
        demand = _demand(jobs, capacity, caps, snapshot)
        keep = _demand([_cheaper(j) for j in jobs], capacity, caps, snapshot)
        return priced_node_count(
            demand,
            keep,
            len(snapshot.nodes),
            per_node,
            min_nodes=snapshot.min_nodes,
            max_nodes=snapshot.max_nodes,
        )
    greedy = greedy_curve(raw_tables(jobs, capacity), caps, per_node, snapshot.max_nodes)
    curve = {
        n: float(greedy.cumulative[n * per_node] / (n * per_node))
        for n in range(1, snapshot.max_nodes + 1)
    }
    return desired_node_count(
        curve,
        len(snapshot.nodes),
        UtilityBand(*metric.utility_band),
        min_nodes=snapshot.min_nodes,
        max_nodes=snapshot.max_nodes,
    )


def _demand(
    jobs: list[JobInfo], capacity: np.ndarray, caps: np.ndarray, snapshot: ClusterSnapshot
) -> int:
    """GPUs the jobs would buy at their metrics' prices (the greedy on net speedups)."""
    tables = raw_tables(jobs, capacity, priced=True)
    per_node = max(snapshot.gpus_per_node, 1)
    return greedy_curve(tables, caps, per_node, snapshot.max_nodes).demand_gpus


def _cheaper(job: JobInfo) -> JobInfo:
    """The job with its price lowered to ``KEEP_SHARE`` of it."""
    price = job.metric.gpu_price * KEEP_SHARE
    return dataclasses.replace(job, metric=dataclasses.replace(job.metric, gpu_price=price))


def placeable_nodes(snapshot: ClusterSnapshot, desired: int | None) -> list[NodeInfo]:
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
