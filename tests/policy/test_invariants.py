"""Every registered policy (Pollux included once importable), on random clusters: never more
GPUs than a node has, only ready nodes, at most one multi-node job per node, and the same
decision for the same seed."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from adaptsched.models import BatchLimits, GradStats, JobModel, ThroughputParams
from adaptsched.policy.base import ClusterSnapshot, JobInfo, NodeInfo
from adaptsched.policy.packing import FreeGpus
from adaptsched.policy.registry import policy_class, policy_names

FAST = {"seed": 5, "population": 16, "generations": 4}


def _importable() -> list:
    out = []
    for name in policy_names():
        try:
            policy_class(name)
        except ValueError:
            out.append(pytest.param(name, marks=pytest.mark.skip(reason=f"{name} not importable")))
        else:
            out.append(name)
    return out


def _model(rng: np.random.Generator) -> JobModel:
    params = ThroughputParams(
        *rng.uniform(0.001, 0.05, size=2), *rng.uniform(0.001, 0.2, size=4), rng.uniform(1, 3)
    )
    grad = GradStats(sqr=float(rng.uniform(0.1, 1)), var=float(rng.uniform(0.1, 10)))
    return JobModel(params, grad, BatchLimits(64, 4096, 16, 256))


def random_snapshot(seed: int) -> ClusterSnapshot:
    rng = np.random.default_rng(seed)
    nodes = tuple(
        NodeInfo(f"n{i}", int(rng.integers(1, 9)), ready=bool(rng.random() > 0.1))
        for i in range(int(rng.integers(1, 9)))
    )
    snap = ClusterSnapshot(time_s=0.0, nodes=nodes, jobs=())
    free = FreeGpus(snap, {})
    jobs = []
    for j in range(int(rng.integers(1, 16))):
        k = int(rng.integers(1, 9))
        placement = free.pack(k) if rng.random() < 0.5 else None
        model = _model(rng)
        jobs.append(
            JobInfo(
                job_id=f"j{j}",
                submit_time_s=float(j),
                age_s=float(rng.uniform(0, 5000)),
                model=model,
                allocation=placement or (),
                restarts=int(rng.integers(0, 4)),
                attained_gpu_s=float(rng.uniform(0, 1e5)),
                max_replicas=int(rng.integers(1, 33)),
                fixed_replicas=k,
                fixed_batch=int(rng.choice([64, 256, 1024])),
                oracle=model,
                remaining_steps=float(rng.uniform(1, 1e5)),
            )
        )
    return ClusterSnapshot(time_s=1e4, nodes=nodes, jobs=tuple(jobs))


@pytest.mark.parametrize("name", _importable())
@pytest.mark.parametrize("seed", range(12))
def test_decisions_fit_the_cluster(name: str, seed: int, quick_policy) -> None:
    snap = random_snapshot(seed)
    decision = quick_policy(name, **FAST).decide(snap)
    gpus = {n.node_id: n.gpus for n in snap.nodes if n.ready}
    known = {j.job_id for j in snap.jobs}
    used: Counter[str] = Counter()
    spanning: Counter[str] = Counter()
    for job_id, placement in decision.allocations.items():
        assert job_id in known
        assert set(placement) <= set(gpus), "only ready nodes"
        used.update(placement)
        if len(set(placement)) > 1:
            spanning.update(set(placement))
    assert all(used[n] <= gpus[n] for n in used), "capacity exceeded"
    assert all(c <= 1 for c in spanning.values()), "two multi-node jobs share a node"
    again = quick_policy(name, **FAST).decide(snap)
    assert {k: tuple(sorted(v)) for k, v in again.allocations.items() if v} == {
        k: tuple(sorted(v)) for k, v in decision.allocations.items() if v
    }
