"""The simulated cluster as a round-loop backend: jobs progress on virtual time from their
measured profiles, and decisions are checked and applied as a real cluster would."""

from __future__ import annotations

from dataclasses import dataclass

from adaptsched.models import GOODPUT, GradStats, JobModel, Metric
from adaptsched.policy.base import ClusterSnapshot, Decision, JobInfo
from adaptsched.sim.autoscaler import AutoscaleConfig, resize
from adaptsched.sim.cluster import Cluster
from adaptsched.sim.errors import SimulationError
from adaptsched.sim.job import SimJob
from adaptsched.sim.lifecycle import holds_gpus, is_active

#: Largest allocation the profiles cover (the Pollux simulator's cap).
MAX_REPLICAS = 64


@dataclass(frozen=True)
class BackendConfig:
    restart_s: float = 30.0  # no progress for this long after every start or reallocation
    oracle: bool = True  # give policies the truth-based model (for oracle baselines)
    autoscale: AutoscaleConfig | None = None  # None: the cluster keeps its nodes
    cluster_metric: Metric = GOODPUT  # drives the autoscaler's utility band


class SimulatedBackend:
    """Implements the round loop's Backend protocol on a virtual clock."""

    def __init__(self, jobs: list[SimJob], cluster: Cluster, config: BackendConfig) -> None:
        self.jobs = sorted(jobs, key=lambda j: j.spec.submit_time_s)
        self.cluster = cluster
        self.config = config
        self.time_s = 0.0
        self._by_id = {j.spec.name: j for j in self.jobs}
        self._gpus_per_node = max((n.gpus for n in cluster.nodes), default=1)
        if len(self._by_id) != len(self.jobs):
            raise ValueError("workload: duplicate job names")

    def _active(self) -> list[SimJob]:
        return [j for j in self.jobs if j.spec.submit_time_s <= self.time_s and is_active(j.state)]

    def observe(self, now_s: float) -> ClusterSnapshot:
        start_s, seconds = self.time_s, now_s - self.time_s
        for job in self.jobs:
            if holds_gpus(job.state):
                job.advance(start_s, seconds)
        self.time_s = now_s
        scaling = self.config.autoscale
        size = len(self.cluster.nodes)
        return ClusterSnapshot(
            time_s=now_s,
            nodes=self.cluster.infos(now_s),
            jobs=tuple(self._info(j, now_s) for j in self._active()),
            min_nodes=scaling.min_nodes if scaling else size,
            max_nodes=scaling.max_nodes if scaling else size,
            gpus_per_node=self._gpus_per_node,
            autoscale=scaling is not None,
            cluster_metric=self.config.cluster_metric,
        )

    def _max_replicas(self, job: SimJob) -> int:
        """min(max(2 x most replicas measured, 1), 64, max batch / min local batch)."""
        profiled = max((key[1] for key in job.observed), default=0)
        batch = job.fixed_batch or job.app.max_batch
        limit = min(max(2 * profiled, 1), MAX_REPLICAS, batch // job.app.min_local)
        if job.app.max_replicas is not None:
            limit = min(limit, job.app.max_replicas)
        return max(limit, 1)

    def _oracle(self, job: SimJob) -> JobModel | None:
        if not self.config.oracle:
            return None
        batch = job.fixed_batch or max(job.total_batch, job.app.init_batch)
        sqr, var = job.truth.grad_stats(batch, job.epoch)
        return JobModel(job.truth.oracle_params, GradStats(sqr=sqr, var=var), job.limits)

    def _info(self, job: SimJob, now_s: float) -> JobInfo:
        size = len(self.cluster.nodes)
        steps_left = None
        if job.fixed_batch is not None:
            steps_left = job.truth.steps_left(job.fixed_batch, job.epoch, job.epoch_fraction())
        return JobInfo(
            job_id=job.spec.name,
            submit_time_s=job.spec.submit_time_s,
            age_s=now_s - job.spec.submit_time_s,
            model=job.model(),
            metric=job.metric,
            allocation=job.node_ids,
            restarts=job.restarts,
            attained_gpu_s=job.attained_gpu_s,
            min_replicas=0,
            max_replicas=self._max_replicas(job),
            max_nodes=self.config.autoscale.max_nodes if self.config.autoscale else size,
            fixed_replicas=job.fixed_replicas,
            fixed_batch=job.fixed_batch,
            oracle=self._oracle(job),
            remaining_fraction=job.remaining_fraction(),
            remaining_steps=steps_left,
            remaining_samples=job.remaining_samples(),
        )

    def apply(self, decision: Decision, now_s: float) -> None:
        active = {j.spec.name: j for j in self._active()}
        unknown = [k for k, v in decision.allocations.items() if v and k not in active]
        if unknown:
            raise SimulationError(f"decision: allocation for unknown or finished job {unknown[0]}")
        allocations = {k: tuple(v) for k, v in decision.allocations.items() if v}
        self.cluster.check(allocations, now_s)
        for name, job in active.items():
            new = allocations.get(name, ())
            if sorted(new) != sorted(job.node_ids):
                job.place(new, self.config.restart_s)
        if self.config.autoscale is not None:
            # With no job to schedule the policy is not asked; an idle group shrinks to its floor.
            desired = decision.desired_nodes if active else self.config.autoscale.min_nodes
            if desired is not None:
                resize(
                    self.cluster,
                    desired,
                    allocations,
                    now_s,
                    self.config.autoscale,
                    self._gpus_per_node,
                )

    def finished(self) -> bool:
        return not any(is_active(j.state) for j in self.jobs)

    def progress(self) -> tuple[int, int]:
        return sum(not is_active(j.state) for j in self.jobs), len(self.jobs)
