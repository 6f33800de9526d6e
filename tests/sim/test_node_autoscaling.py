"""Autoscaling in the simulator: provisioning delay, draining, node lifetimes."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
from synthetic import mixed_jobs, write_profile, write_workload

from adaptsched.models.metrics import GoodputMetric
from adaptsched.policy.base import ClusterSnapshot, Decision, Policy
from adaptsched.policy.pollux import PolluxPolicy
from adaptsched.sim.autoscaler import AutoscaleConfig, resize
from adaptsched.sim.cluster import Cluster
from adaptsched.sim.runner import SimConfig, load_truths, simulate
from adaptsched.sim.workload import load_workload


class WantNodes(Policy):
    """Asks for a fixed node count and puts each job on the first ready node with room."""

    name: ClassVar[str] = "want-nodes"
    adaptive_jobs: ClassVar[bool] = False

    def __init__(self, nodes: int) -> None:
        self.nodes = nodes
        self.seen: list[ClusterSnapshot] = []

    def decide(self, snapshot: ClusterSnapshot) -> Decision:
        self.seen.append(snapshot)
        free = {n.node_id: n.gpus for n in snapshot.nodes if n.ready}
        allocations = {}
        for job in snapshot.jobs:
            node = next((n for n, g in free.items() if g >= 1), None)
            if node is not None:
                free[node] -= 1
                allocations[job.job_id] = (node,)
        return Decision(allocations=allocations, desired_nodes=self.nodes)


@pytest.fixture
def truths(tmp_path: Path) -> dict:
    return load_truths(write_profile(tmp_path / "traces").parent)


def run(
    tmp_path: Path,
    truths: dict,
    policy: Policy,
    scaling: AutoscaleConfig,
    jobs: int = 4,
    interval_s: float = 20.0,
):
    workload = load_workload(write_workload(tmp_path / "w.csv", mixed_jobs(jobs)))
    config = SimConfig(gpus_per_node=4, interval_s=interval_s, restart_s=5.0, autoscale=scaling)
    return simulate(workload, truths, policy, config)


def test_new_nodes_are_unusable_until_provisioned(tmp_path: Path, truths: dict) -> None:
    policy = WantNodes(3)
    scaling = AutoscaleConfig(min_nodes=1, max_nodes=3, initial_nodes=1, provision_delay_s=9.0)
    run(tmp_path, truths, policy, scaling, jobs=1, interval_s=1.0)
    first = policy.seen[0]
    requested_at = first.time_s
    assert [n.ready for n in first.nodes] == [True]
    later = policy.seen[1:]
    assert len(later) >= 12  # the job outlives the provisioning delay
    for snap in later:
        added = snap.nodes[1:]
        assert len(added) == 2
        assert all(n.ready == (snap.time_s >= requested_at + 9.0) for n in added)


def test_lifetimes_add_up_and_idle_cluster_shrinks(tmp_path: Path, truths: dict) -> None:
    scaling = AutoscaleConfig(min_nodes=1, max_nodes=3, initial_nodes=2, provision_delay_s=0.0)
    result = run(tmp_path, truths, WantNodes(3), scaling)
    spans = result.node_lifetimes
    end = max(j.completion_time_s for j in result.jobs)
    assert all(0 <= start <= stop <= end for _, start, stop in spans)
    assert result.node_seconds() == pytest.approx(sum(stop - start for _, start, stop in spans))
    assert result.summary()["node_hours"] == pytest.approx(result.node_seconds() / 3600)
    # Two initial nodes live from 0; the third from the first round.
    assert len(spans) >= 3
    assert sorted(start for _, start, _ in spans)[:2] == [0.0, 0.0]


def test_resize_never_removes_a_busy_node() -> None:
    cluster = Cluster.uniform(3, 4)
    scaling = AutoscaleConfig(min_nodes=1, max_nodes=3, initial_nodes=3)
    resize(cluster, 1, {"n0", "n2"}, 50.0, scaling, 4)
    assert sorted(n.node_id for n in cluster.nodes) == ["n0", "n2"]
    assert [(n.node_id, t) for n, t in cluster.retired] == [("n1", 50.0)]


def test_resize_cancels_provisioning_nodes_first() -> None:
    cluster = Cluster.uniform(1, 4)
    scaling = AutoscaleConfig(min_nodes=1, max_nodes=4, initial_nodes=1, provision_delay_s=90)
    resize(cluster, 3, set(), 0.0, scaling, 4)
    assert [n.ready_at_s for n in cluster.nodes] == [0.0, 90.0, 90.0]
    resize(cluster, 2, set(), 30.0, scaling, 4)
    assert [n.ready_at_s for n in cluster.nodes] == [0.0, 90.0]


def test_bad_bounds_rejected() -> None:
    with pytest.raises(ValueError, match="min_nodes <= initial_nodes <= max_nodes"):
        AutoscaleConfig(min_nodes=2, max_nodes=4, initial_nodes=1)


def test_pollux_band_moves_cluster_size(tmp_path: Path, truths: dict) -> None:
    """A low band grows the cluster more than a high band; both stay within bounds."""
    scaling = AutoscaleConfig(min_nodes=1, max_nodes=4, initial_nodes=1, provision_delay_s=30.0)
    hours = {}
    for band in ((0.05, 0.2), (0.7, 0.95)):
        workload = load_workload(write_workload(tmp_path / "w.csv", mixed_jobs(6)))
        config = SimConfig(
            gpus_per_node=4,
            interval_s=20.0,
            restart_s=5.0,
            autoscale=scaling,
            metric=GoodputMetric("goodput", band),
        )
        policy = PolluxPolicy(seed=1, population=16, generations=5)
        result = simulate(workload, truths, policy, config)
        assert all(start <= stop for _, start, stop in result.node_lifetimes)
        peak = max(
            len([s for s in result.node_lifetimes if s[1] <= t < s[2]]) for t in result.timeline_s
        )
        assert peak <= 4
        hours[band] = result.node_seconds() / max(j.completion_time_s for j in result.jobs)
    assert hours[(0.05, 0.2)] > hours[(0.7, 0.95)]
