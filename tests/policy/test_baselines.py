"""Behaviour of the baseline policies (fifo, tiresias, optimus) and their packing helper."""

from __future__ import annotations

import pytest

from adaptsched.models import BatchLimits, GradStats, JobModel, ThroughputParams
from adaptsched.policy.base import ClusterSnapshot, JobInfo, NodeInfo
from adaptsched.policy.batching import split_batch
from adaptsched.policy.fifo import FifoPolicy
from adaptsched.policy.optimus import OptimusPolicy
from adaptsched.policy.packing import FreeGpus
from adaptsched.policy.registry import make_policy, policy_names
from adaptsched.policy.tiresias import QUEUE_THRESHOLD_GPU_S, TiresiasPolicy

LIMITS = BatchLimits(init_batch=64, max_batch=4096, min_local=16, max_local=256)


def _nodes(count: int = 4, gpus: int = 4) -> tuple[NodeInfo, ...]:
    return tuple(NodeInfo(f"n{i}", gpus) for i in range(count))


def _job(name: str, t: float, k: int = 1, **kw: object) -> JobInfo:
    return JobInfo(job_id=name, submit_time_s=t, age_s=100.0, fixed_replicas=k, **kw)


def _snap(*jobs: JobInfo, nodes: tuple[NodeInfo, ...] | None = None) -> ClusterSnapshot:
    return ClusterSnapshot(time_s=1000.0, nodes=nodes or _nodes(), jobs=jobs)


def test_registry_names_and_errors() -> None:
    assert {"fifo", "optimus", "pollux", "tiresias"} <= set(policy_names())
    assert isinstance(make_policy("tiresias", seed=1), TiresiasPolicy)
    with pytest.raises(ValueError, match="unknown policy 'las'; valid policies: fifo"):
        make_policy("las")


def test_split_batch() -> None:
    assert split_batch(512, 4, LIMITS) == (128, 0)
    assert split_batch(2048, 4, LIMITS) == (256, 1)  # share 512 > max local 256: accumulate
    assert split_batch(256, 1, LIMITS) == (128, 1)  # one GPU above M0 accumulates
    assert split_batch(64, 1, LIMITS) == (64, 0)


def test_packing_prefers_one_node_and_respects_multi_node_jobs() -> None:
    snap = _snap(nodes=_nodes(3))
    free = FreeGpus(snap, {"a": ("n0", "n0", "n0", "n1")})
    assert free.pack(3) == ("n2", "n2", "n2")
    assert free.pack(2) == ("n1", "n1")  # one node when it fits
    # One GPU is free on each node, but n0 and n1 host a multi-node job: no second one.
    assert free.pack(2) is None
    assert free.pack(1) == ("n0",)


def test_fifo_blocks_behind_the_head() -> None:
    snap = _snap(_job("a", 0, 12), _job("b", 1, 8), _job("c", 2, 1))
    out = FifoPolicy().decide(snap).allocations
    assert len(out["a"]) == 12 and "b" not in out and "c" not in out


def test_tiresias_demotes_after_threshold_and_backfills() -> None:
    hog = _job("hog", 0, 16, attained_gpu_s=QUEUE_THRESHOLD_GPU_S + 1)
    fresh = _job("fresh", 50, 12)
    small = _job("small", 60, 4)
    out = TiresiasPolicy().decide(_snap(hog, fresh, small)).allocations
    assert set(out) == {"fresh", "small"}  # the demoted job waits; the small one fits behind
    assert len(out["fresh"]) == 12 and len(out["small"]) == 4
    kept = TiresiasPolicy().decide(_snap(_job("x", 0, 2, allocation=("n3", "n3")))).allocations
    assert kept["x"] == ("n3", "n3")  # a running job keeps its placement


def _oracle(alpha_n: float) -> JobModel:
    params = ThroughputParams(0.01, 0.001, alpha_n, 0.001, 0.002, 0.0005, 1.0)
    return JobModel(params, GradStats(1.0, 1.0), LIMITS)


def test_optimus_gives_gpus_where_remaining_time_falls_most() -> None:
    scalable = _job(
        "scalable", 0, oracle=_oracle(0.003), fixed_batch=1024, remaining_steps=1e4, max_replicas=64
    )
    chatty = _job(
        "chatty", 1, oracle=_oracle(0.5), fixed_batch=1024, remaining_steps=1e4, max_replicas=64
    )
    out = OptimusPolicy().decide(_snap(scalable, chatty)).allocations
    assert len(out["scalable"]) > len(out["chatty"]) >= 1
    assert sum(len(p) for p in out.values()) <= 16
    nearly_done = _job(
        "done", 0, oracle=_oracle(0.003), fixed_batch=1024, remaining_steps=1.0, max_replicas=64
    )
    out = OptimusPolicy().decide(_snap(nearly_done, scalable)).allocations
    assert len(out["scalable"]) > len(out["done"])


def test_optimus_respects_max_replicas() -> None:
    job = _job("a", 0, oracle=_oracle(0.003), fixed_batch=1024, remaining_steps=1e4, max_replicas=2)
    assert len(OptimusPolicy().decide(_snap(job)).allocations["a"]) == 2
