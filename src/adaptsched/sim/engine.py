"""The simulated cluster as an engine under the shared controller (``adaptsched.control``):
jobs progress on virtual time from their measured profiles and report what real jobs' processes
would (ready, exited, GPU-seconds used); stops are instant and cost nothing, every (re)start
costs ``restart_s`` of no progress; the node group grows and shrinks by ``sim.autoscaler``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from adaptsched.control import ClusterBounds, EngineEvent, JobRecord, JobSpec, JobView, Ready
from adaptsched.models import GOODPUT, GradStats, JobModel, Metric
from adaptsched.policy.base import NodeInfo, Placement
from adaptsched.sim.autoscaler import AutoscaleConfig, resize
from adaptsched.sim.cluster import Cluster
from adaptsched.sim.job import SimJob

#: Largest allocation the profiles cover (the Pollux simulator's cap).
MAX_REPLICAS = 64


@dataclass(frozen=True)
class EngineConfig:
    restart_s: float = 30.0  # no progress for this long after every start or reallocation
    oracle: bool = True  # give policies the truth-based model (for oracle baselines)
    autoscale: AutoscaleConfig | None = None  # None: the cluster keeps its nodes
    cluster_metric: Metric = GOODPUT  # drives the autoscaler's utility band
    #: Every node is emulated on one machine, whose cores the replicas of all jobs share (the
    #: runtime's ``--emulate-nodes``): step times follow how many replicas compute at once.
    shared_host: bool = False
    #: Report what the runtime would (``SimConfig.runtime_reports``): jobs publish their model
    #: as the runtime's trainer does (``SimJob``), and the engine its restart cost once a job
    #: has started (the runtime's measured median; policies assume their own before that).
    runtime_reports: bool = False


#: With ``shared_host``, how often the engine recounts the replicas computing (seconds).
HOST_RECOUNT_S = 1.0


def job_spec(job: SimJob) -> JobSpec:
    """The controller's record of a simulated job: its replica caps and fixed configuration."""
    cap = MAX_REPLICAS if job.app.max_replicas is None else min(job.app.max_replicas, MAX_REPLICAS)
    return JobSpec(
        job_id=job.name,
        submit_time_s=job.spec.submit_time_s,
        name=job.name,
        metric=job.metric,
        min_replicas=0,
        max_replicas=max(cap, 1),
        fixed_replicas=job.fixed_replicas,
        fixed_batch=job.fixed_batch,
    )


def cluster_bounds(config: EngineConfig, gpus_per_node: int, size: int) -> ClusterBounds:
    """The controller's size rules for a simulated cluster of ``size`` nodes."""
    scaling = config.autoscale
    return ClusterBounds(
        gpus_per_node=gpus_per_node,
        autoscale=scaling is not None,
        min_nodes=scaling.min_nodes if scaling else size,
        max_nodes=scaling.max_nodes if scaling else size,
        cluster_metric=config.cluster_metric,
    )


def _computing(job: SimJob) -> bool:
    """Its replicas train (past the restart delay, not finished)."""
    return job.running and job.completion_time_s is None


class SimulatedEngine:
    """Implements ``adaptsched.control.Engine`` on a virtual clock."""

    def __init__(self, jobs: Sequence[SimJob], cluster: Cluster, config: EngineConfig) -> None:
        self.jobs = {j.name: j for j in jobs}
        if len(self.jobs) != len(jobs):
            raise ValueError("workload: duplicate job names")
        self.cluster = cluster
        self.config = config
        self.time_s = 0.0
        self.gpus_per_node = max((n.gpus for n in cluster.nodes), default=1)
        for job in jobs:
            job.runtime_reports = config.runtime_reports
        self._started = False  # a job has become ready (a restart cost was measured)

    def advance(self, now_s: float) -> list[EngineEvent]:
        events: list[EngineEvent] = []
        start_s = self.time_s
        while True:  # at least once: a zero-length advance still reports ready and finished jobs
            end_s = now_s
            if self.config.shared_host:
                end_s = min(now_s, start_s + HOST_RECOUNT_S)
                busy = sum(j.replicas for j in self.jobs.values() if _computing(j))
                for job in self.jobs.values():
                    job.host_busy = busy
            for job in self.jobs.values():
                events.extend(job.advance(start_s, end_s - start_s))
            start_s = end_s
            if start_s >= now_s:
                break
        if not self._started:
            self._started = any(isinstance(e, Ready) for e in events)
        self.time_s = now_s
        return events

    def nodes(self, now_s: float) -> tuple[NodeInfo, ...]:
        return self.cluster.infos(now_s)

    def view(self, record: JobRecord) -> JobView:
        job = self.jobs[record.job_id]
        steps_left = None
        if job.fixed_batch is not None:
            steps_left = job.truth.steps_left(job.fixed_batch, job.epoch, job.epoch_fraction())
        batch = job.fixed_batch or job.app.max_batch
        return JobView(
            model=job.model(),
            most_replicas=max((key[1] for key in job.observed), default=0),
            replica_cap=batch // job.app.min_local,
            remaining_fraction=job.remaining_fraction(),
            remaining_samples=job.remaining_samples(),
            remaining_steps=steps_left,
            oracle=self._oracle(job),
        )

    def _oracle(self, job: SimJob) -> JobModel | None:
        if not self.config.oracle:
            return None
        batch = job.fixed_batch or max(job.total_batch, job.app.init_batch)
        sqr, var = job.truth.grad_stats(batch, job.epoch)
        return JobModel(job.truth.oracle_params, GradStats(sqr=sqr, var=var), job.limits)

    def launch(self, record: JobRecord, placement: Placement, now_s: float) -> list[EngineEvent]:
        self.jobs[record.job_id].launch(placement, record.generation, self.config.restart_s)
        return []

    def stop(self, record: JobRecord, now_s: float) -> list[EngineEvent]:
        return [self.jobs[record.job_id].stop(now_s)]

    def restart_cost_s(self) -> float | None:
        """None: policies keep their own assumption (the Pollux paper's 30 s, which is also
        what the simulator charges by default). With ``runtime_reports``, the delay it charges
        once a job has started, as the runtime reports the median it measured."""
        return self.config.restart_s if self.config.runtime_reports and self._started else None

    def request_nodes(self, desired: int, busy: set[str], now_s: float) -> None:
        if self.config.autoscale is not None:
            resize(self.cluster, desired, busy, now_s, self.config.autoscale, self.gpus_per_node)
