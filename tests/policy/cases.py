"""Jobs, clusters and checks shared by the policy tests."""

from __future__ import annotations

from collections import Counter

from hypothesis import strategies as st

from adaptsched.models import BatchLimits, GradStats, JobModel, ThroughputParams
from adaptsched.policy.base import ClusterSnapshot, JobInfo, NodeInfo

#: Scales almost linearly (small sync cost, large batches allowed).
SCALABLE = JobModel(
    ThroughputParams(0.05, 0.002, 0.02, 0.001, 0.01, 0.0005, 3.0),
    GradStats(sqr=1.0, var=2000.0),
    BatchLimits(init_batch=64, max_batch=8192, min_local=8, max_local=256),
)
#: Communication-heavy: a second GPU gains little.
CHATTY = JobModel(
    ThroughputParams(0.05, 0.001, 2.0, 0.2, 0.2, 0.05, 1.0),
    GradStats(sqr=1.0, var=20.0),
    BatchLimits(init_batch=64, max_batch=1024, min_local=8, max_local=128),
)
#: adaptsched's extended sync model: the node count matters beyond "one or several".
EXTENDED = JobModel(
    ThroughputParams(0.05, 0.002, 0.1, 0.01, 0.01, 0.0005, 2.0, beta_ppn=0.05, beta_nodes=0.03),
    GradStats(sqr=1.0, var=500.0),
    BatchLimits(init_batch=64, max_batch=4096, min_local=8, max_local=256),
)
MODELS = (SCALABLE, CHATTY, EXTENDED, None)


def cluster(nodes: int, gpus: int = 4, not_ready: tuple[int, ...] = ()) -> tuple[NodeInfo, ...]:
    return tuple(NodeInfo(f"n{i}", gpus, ready=i not in not_ready) for i in range(nodes))


def job(job_id: str, model: JobModel | None = SCALABLE, **kw: object) -> JobInfo:
    fields = {"submit_time_s": 0.0, "age_s": 3600.0, "model": model}
    fields.update(kw)
    return JobInfo(job_id=job_id, **fields)  # type: ignore[arg-type]


def assert_feasible(snap: ClusterSnapshot, allocations: dict[str, tuple]) -> None:
    ready = {n.node_id: n.gpus for n in snap.nodes if n.ready}
    assert set(allocations) == {j.job_id for j in snap.jobs}
    used: Counter[str] = Counter()
    multi_node_jobs_on: Counter[str] = Counter()
    for info in snap.jobs:
        placement = allocations[info.job_id]
        spread = set(placement)
        assert spread <= set(ready), (info.job_id, placement)
        assert len(placement) <= info.max_replicas
        assert not placement or len(placement) >= info.min_replicas
        assert len(spread) <= min(info.max_nodes, 16)
        if info.model is None:
            assert len(placement) <= max(1, info.min_replicas) and len(spread) <= 1
        used.update(placement)
        if len(spread) > 1:
            multi_node_jobs_on.update(spread)
    assert all(used[n] <= ready[n] for n in used), used
    assert all(count == 1 for count in multi_node_jobs_on.values()), multi_node_jobs_on


@st.composite
def snapshots(draw: st.DrawFn) -> ClusterSnapshot:
    num_nodes = draw(st.integers(1, 6))
    gpus = draw(st.lists(st.integers(1, 8), min_size=num_nodes, max_size=num_nodes))
    ready = draw(st.lists(st.booleans(), min_size=num_nodes, max_size=num_nodes))
    nodes = tuple(
        NodeInfo(f"n{i}", g, ready=r) for i, (g, r) in enumerate(zip(gpus, ready, strict=True))
    )
    ids = [n.node_id for n in nodes] + ["gone"]
    jobs = []
    for j in range(draw(st.integers(0, 10))):
        min_r = draw(st.integers(0, 3))
        jobs.append(
            JobInfo(
                job_id=f"j{j}",
                submit_time_s=float(j),
                age_s=draw(st.floats(0, 1e4)),
                model=draw(st.sampled_from(MODELS)),
                allocation=tuple(draw(st.lists(st.sampled_from(ids), max_size=6))),
                restarts=draw(st.integers(0, 5)),
                attained_gpu_s=draw(st.floats(0, 1e5)),
                min_replicas=min_r,
                max_replicas=draw(st.integers(max(min_r, 1), 20)),
                max_nodes=draw(st.integers(1, 4)),
            )
        )
    return ClusterSnapshot(time_s=0.0, nodes=nodes, jobs=tuple(jobs))
