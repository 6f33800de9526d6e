"""``cost:P``: every GPU beyond a job's first costs P one-GPU speedups, in the allocation
(a job buys only GPUs worth their price) and in the cluster's size (a node is kept only while
the GPUs on it earn it)."""

from __future__ import annotations

import numpy as np
import pytest
from cases import CHATTY, cluster, job

from adaptsched.models import (
    BatchLimits,
    GradStats,
    JobModel,
    ThroughputParams,
    get_metric,
    speedup_table,
)
from adaptsched.policy.autoscale import priced_node_count
from adaptsched.policy.base import ClusterSnapshot
from adaptsched.policy.cluster_size import greedy_curve
from adaptsched.policy.milp import MilpPolicy
from adaptsched.policy.objective import priority_order
from adaptsched.policy.pollux import PolluxPolicy
from adaptsched.policy.sizing import desired_nodes

#: Scales well at first, then flattens (each GPU adds 0.93 down to 0.29 of the first):
#: the price decides where it stops.
BENDING = JobModel(
    ThroughputParams(0.05, 0.002, 0.2, 0.02, 0.1, 0.01, 2.0),
    GradStats(sqr=1.0, var=200.0),
    BatchLimits(init_batch=64, max_batch=4096, min_local=8, max_local=256),
)


def _packed(model: JobModel, gpus: int) -> np.ndarray:
    """Speedup of 0..gpus replicas packed on 4-GPU nodes."""
    table = speedup_table(model, -(-gpus // 4), gpus)
    k = np.arange(1, gpus + 1)
    return np.concatenate([[0.0], table[np.ceil(k / 4).astype(int), k]])


def _lone(metric_name: str, current_nodes: int) -> ClusterSnapshot:
    metric = get_metric(metric_name)
    nodes = cluster(current_nodes)
    held = tuple(n.node_id for n in nodes for _ in range(4))[:16]
    return ClusterSnapshot(
        time_s=0.0,
        nodes=nodes,
        jobs=(job("a", BENDING, metric=metric, allocation=held, age_s=1e6, max_replicas=16),),
        autoscale=True,
        min_nodes=1,
        max_nodes=4,
        cluster_metric=metric,
    )


@pytest.mark.parametrize("price", [0.4, 0.6, 0.8])
def test_the_cluster_grows_only_for_gpus_worth_the_price(price: float) -> None:
    """From one node, a lone job gets the nodes for the GPUs whose marginal speedup is worth
    the price: every GPU up to the last one bought adds at least the price."""
    snap = _lone(f"cost:{price}", 1)
    nodes = desired_nodes(snap, list(snap.jobs))
    gain = np.diff(_packed(BENDING, 16))  # gain[k - 1]: what the k-th GPU adds
    bought = int(np.argmax(np.append(gain, 0.0) < price))  # GPUs before the first cheap one
    assert nodes == -(-bought // 4), (nodes, bought)


def test_cheaper_gpus_keep_a_grown_cluster() -> None:
    """Kept while the GPUs earn KEEP_SHARE (0.6) of the price: a price a little above the last
    GPU's gain adds no node, yet does not release the nodes it already has either."""
    gain = np.diff(_packed(BENDING, 16))
    price = float(gain[10]) * 1.01  # the 11th GPU is just not worth it: 10 bought, 3 nodes
    grown, kept = _lone(f"cost:{price:.6f}", 1), _lone(f"cost:{price:.6f}", 4)
    assert desired_nodes(grown, list(grown.jobs)) == 3
    assert desired_nodes(kept, list(kept.jobs)) == 4  # its GPUs still earn 0.6 of the price


@pytest.mark.parametrize("policy", [MilpPolicy, lambda: PolluxPolicy(seed=0)])
def test_gpus_the_cluster_holds_are_allocated_as_goodput_would(policy) -> None:
    """The price sizes the cluster; the GPUs it holds are not left idle."""
    held = {}
    for name in ("goodput", "cost:0.6"):
        metric = get_metric(name)
        lone = job("a", BENDING, metric=metric, allocation=("n0",), age_s=1e6)
        snap = ClusterSnapshot(time_s=0.0, nodes=cluster(4), jobs=(lone,), cluster_metric=metric)
        held[name] = len(policy().decide(snap).allocations["a"])
    assert held["cost:0.6"] == held["goodput"] > 8


def test_priced_table_charges_every_gpu_after_the_first() -> None:
    table = speedup_table(CHATTY, 2, 8)
    priced = get_metric("cost:0.25").priced(table)
    k = np.arange(table.shape[1])
    expected = np.where(table > 0, np.maximum(table - 0.25 * np.maximum(k - 1, 0), 0), 0)
    np.testing.assert_allclose(priced, expected)
    assert priced[1, 1] == table[1, 1]
    assert get_metric("goodput").priced(table) is table


def test_demand_is_what_the_jobs_buy() -> None:
    """Two jobs whose speedup stops growing at 3 GPUs: the greedy hands out 6 GPUs of 32."""
    table = np.zeros((3, 17))
    table[1, 1:5] = [1.0, 1.8, 2.4, 2.4]
    table[2, 2:17] = 2.4
    curve = greedy_curve(np.stack([table, table]), np.array([16, 16]), 4, 8)
    assert curve.demand_gpus == 6


@pytest.mark.parametrize(
    ("demand", "keep", "current", "expected"),
    [
        (13, 13, 3, 4),  # over the cluster: grow to hold it
        (12, 12, 3, 3),  # exactly full: stay
        (10, 10, 4, 3),  # fits in 3 nodes with half a node to spare: release one
        (11, 11, 4, 4),  # 3 nodes would be nearly full: keep the 4th for now
        (6, 11, 4, 4),  # worth keeping at the lower price: keep
        (6, 9, 4, 3),  # only 3 nodes' worth even at the lower price
        (0, 0, 4, 1),  # nothing to run: the floor
        (200, 200, 4, 16),  # more than the cluster may have: the ceiling
    ],
)
def test_priced_node_count(demand: int, keep: int, current: int, expected: int) -> None:
    assert priced_node_count(demand, keep, current, 4, min_nodes=1, max_nodes=16) == expected


def test_cost_shrinks_the_tail_where_goodput_keeps_nodes() -> None:
    """Two jobs left on a 16-node cluster: goodput's band keeps more nodes than the jobs'
    last GPUs are worth; cost keeps what they buy."""
    sizes = {}
    for name in ("goodput", "cost"):
        metric = get_metric(name)
        jobs = tuple(
            job(f"j{i}", BENDING, metric=metric, allocation=(f"n{i}",) * 2) for i in range(2)
        )
        snap = ClusterSnapshot(
            time_s=0.0,
            nodes=cluster(16),
            jobs=jobs,
            autoscale=True,
            min_nodes=1,
            max_nodes=16,
            cluster_metric=metric,
        )
        sizes[name] = desired_nodes(snap, priority_order(jobs, metric))
    assert sizes["cost"] < sizes["goodput"], sizes
