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


def _net_best(metric_name: str, nodes: int = 4) -> int:
    """The replica count a lone job should buy: most speedup net of the price (packed)."""
    price = get_metric(metric_name).gpu_price
    table = speedup_table(BENDING, nodes, 4 * nodes)
    k = np.arange(1, 4 * nodes + 1)
    packed = table[np.ceil(k / 4).astype(int), k]
    return int(k[np.argmax(packed - price * (k - 1))])


@pytest.mark.parametrize("policy", [MilpPolicy, lambda: PolluxPolicy(seed=0)])
@pytest.mark.parametrize("metric_name", ["cost:0.4", "cost:0.6"])
def test_a_lone_job_buys_only_gpus_worth_the_price(policy, metric_name: str) -> None:
    metric = get_metric(metric_name)
    lone = job("a", BENDING, metric=metric, allocation=("n0",), age_s=1e6)
    snap = ClusterSnapshot(time_s=0.0, nodes=cluster(4), jobs=(lone,), cluster_metric=metric)
    held = len(policy().decide(snap).allocations["a"])
    free = len(
        policy()
        .decide(
            ClusterSnapshot(
                time_s=0.0,
                nodes=cluster(4),
                jobs=(job("a", BENDING, allocation=("n0",), age_s=1e6),),
            )
        )
        .allocations["a"]
    )
    assert held == pytest.approx(_net_best(metric_name), abs=1)
    assert held < free


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
    ("demand", "current", "expected"),
    [
        (13, 3, 4),  # over the cluster: grow to hold it
        (12, 3, 3),  # exactly full: stay
        (10, 4, 3),  # fits in 3 nodes with half a node to spare: release one
        (11, 4, 4),  # 3 nodes would be nearly full: keep the 4th for now
        (0, 4, 1),  # nothing to run: the floor
        (200, 4, 16),  # more than the cluster may have: the ceiling
    ],
)
def test_priced_node_count(demand: int, current: int, expected: int) -> None:
    assert priced_node_count(demand, current, 4, min_nodes=1, max_nodes=16) == expected


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
