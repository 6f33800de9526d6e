"""Running one workload through the simulator: build the jobs and the cluster, drive the round
loop with a virtual clock, collect the results."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from adaptsched.control import (
    ControlHooks,
    Controller,
    EngineEvent,
    JobRecord,
    JobTable,
    PolicyError,
    RoundLimitError,
    RoundLoop,
    VirtualClock,
)
from adaptsched.models import GOODPUT, Metric
from adaptsched.policy.base import Policy
from adaptsched.sim.admission import load_admitted
from adaptsched.sim.autoscaler import AutoscaleConfig
from adaptsched.sim.belief import FitCache
from adaptsched.sim.cluster import Cluster
from adaptsched.sim.engine import EngineConfig, SimulatedEngine, cluster_bounds, job_spec
from adaptsched.sim.errors import SimulationError, TimeLimitError
from adaptsched.sim.job import SimJob
from adaptsched.sim.profile import Profile, load_profiles
from adaptsched.sim.results import JobResult, RoundLog, SimResult
from adaptsched.sim.truth import ProfileTruth
from adaptsched.sim.workload import JobSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SimConfig:
    """The simulated cluster (defaults: the Pollux paper's simulation)."""

    nodes: int = 16
    gpus_per_node: int = 4
    interval_s: float = 60.0
    restart_s: float = 30.0
    max_time_s: float = 30 * 24 * 3600.0  # stop (TimeLimitError) at this simulated time
    autoscale: AutoscaleConfig | None = None  # None: fixed size ``nodes``
    metric: Metric = GOODPUT  # every job's metric, and the autoscaler's
    fitter: str = "adaptsched"  # how jobs fit their throughput model (``sim.belief.FITTERS``)
    #: Give an arriving job free GPUs at once, as the runtime does (first fit), instead of
    #: waiting for the policy's next round as Pollux's simulator does.
    first_fit: bool = False
    #: The nodes are emulated on one machine and share its cores (``EngineConfig``).
    shared_host: bool = False
    #: False: the policy sees a job's steps as soon as they are measured and assumes its own
    #: restart cost (the Pollux paper's simulator). True: jobs and engine report what the
    #: runtime's would (``EngineConfig``): the trainer's model as its hints publish it (a new
    #: job is ranked on the prior for its first two epochs) and the restart cost charged.
    #: Predicting a real run needs it.
    runtime_reports: bool = False

    def __post_init__(self) -> None:
        if self.nodes < 1 or self.gpus_per_node < 1:
            raise ValueError("SimConfig: nodes and gpus_per_node must be >= 1")
        if self.interval_s <= 0 or self.restart_s < 0:
            raise ValueError("SimConfig: interval_s must be > 0 and restart_s >= 0")
        if not self.max_time_s > 0:
            raise ValueError("SimConfig: max_time_s must be > 0")


def build_jobs(
    workload: Sequence[JobSpec],
    truths: Mapping[str, ProfileTruth],
    adaptive: bool,
    metric: Metric = GOODPUT,
    fitter: str = "adaptsched",
) -> list[SimJob]:
    fits = FitCache(fitter)
    return [SimJob(spec, truths[spec.application], adaptive, fits, metric) for spec in workload]


def simulate(
    workload: Sequence[JobSpec],
    profiles: Mapping[str, Profile] | Mapping[str, ProfileTruth],
    policy: Policy,
    config: SimConfig | None = None,
    hooks: Sequence[ControlHooks] = (),
) -> SimResult:
    """Run ``workload`` under ``policy`` until every job has finished."""
    config = config or SimConfig()
    truths = {
        name: p if isinstance(p, ProfileTruth) else ProfileTruth(p) for name, p in profiles.items()
    }
    jobs = build_jobs(workload, truths, policy.adaptive_jobs, config.metric, config.fitter)
    return simulate_jobs(jobs, policy, config, hooks)


def simulate_jobs(
    jobs: Sequence[SimJob],
    policy: Policy,
    config: SimConfig,
    hooks: Sequence[ControlHooks] = (),
) -> SimResult:
    """Run already built jobs (``build_jobs``) under ``policy`` through the shared controller,
    with the simulated cluster as its engine and a virtual clock."""
    jobs = sorted(jobs, key=lambda j: j.spec.submit_time_s)
    size = config.autoscale.initial_nodes if config.autoscale else config.nodes
    cluster = Cluster.uniform(size, config.gpus_per_node)
    engine_config = EngineConfig(
        restart_s=config.restart_s,
        autoscale=config.autoscale,
        cluster_metric=config.metric,
        shared_host=config.shared_host,
        runtime_reports=config.runtime_reports,
    )
    engine = SimulatedEngine(jobs, cluster, engine_config)
    table = JobTable()
    for job in jobs:
        table.add(job_spec(job))
    bounds = cluster_bounds(engine_config, config.gpus_per_node, size)
    round_log = RoundLog()
    controller_class = _FirstFitArrivals if config.first_fit else Controller
    controller = controller_class(policy, engine, table, bounds, (round_log, _Strict(), *hooks))
    if config.first_fit:
        controller.handle([], 0.0)  # jobs submitted at the start are placed then
    loop = RoundLoop(controller, VirtualClock(), config.interval_s)
    try:
        loop.run(until=table.finished, max_rounds=int(config.max_time_s / config.interval_s) + 1)
    except RoundLimitError:
        done = [j for j in jobs if j.completion_time_s is not None]
        partial = _result(policy, config, cluster, table, done, loop.rounds, round_log)
        partial = dataclasses.replace(
            partial, node_lifetimes=tuple(cluster.lifetimes_s(config.max_time_s))
        )
        raise TimeLimitError(_unfinished(config, jobs, table), partial) from None
    log.debug(
        "%s: %d rounds, %d fits", policy.name, loop.rounds, jobs[0].fits.misses if jobs else 0
    )
    return _result(policy, config, cluster, table, jobs, loop.rounds, round_log)


def _unfinished(config: SimConfig, jobs: Sequence[SimJob], table: JobTable) -> str:
    """Why the run stopped: the limit, and each unfinished job's state and progress."""
    left = [j for j in jobs if j.completion_time_s is None]
    shown = ", ".join(
        f"{j.name} ({table[j.name].state.value}, {100 * (1 - j.remaining_fraction()):.0f} % done)"
        for j in left[:5]
    )
    more = f" and {len(left) - 5} more" if len(left) > 5 else ""
    return (
        f"stopped at the simulated time limit of {config.max_time_s / 3600:g} h with "
        f"{len(left)} of {len(jobs)} jobs unfinished: {shown}{more}"
    )


def _result(
    policy: Policy,
    config: SimConfig,
    cluster: Cluster,
    table: JobTable,
    jobs: Sequence[SimJob],
    rounds: int,
    round_log: RoundLog,
) -> SimResult:
    end_s = max((j.completion_time_s or 0.0 for j in jobs), default=0.0)
    return SimResult(
        policy=policy.name,
        node_lifetimes=tuple(cluster.lifetimes_s(end_s)),
        jobs=tuple(_job_result(j, table[j.name]) for j in jobs),
        rounds=rounds,
        timeline_s=tuple(round_log.time_s),
        gpus_in_use=tuple(round_log.gpus_in_use),
        total_gpus=config.nodes * config.gpus_per_node,
        policy_latency_s=tuple(round_log.policy_s),
    )


class _FirstFitArrivals(Controller):
    """The runtime places a job by first fit the moment it is submitted, if GPUs are free.
    The simulator's engine moves only from round to round, so an arrival gets its first fit
    when the clock next reaches it: at the start, or at the first round after it (before the
    policy decides), at most one interval late."""

    _seen_s = float("-inf")

    def handle(self, events: Iterable[EngineEvent], now_s: float) -> None:
        super().handle(events, now_s)
        for record in self.table:
            if self._seen_s < record.spec.submit_time_s <= now_s:
                self.place_first_fit(record, now_s)
        self._seen_s = now_s


class _Strict(ControlHooks):
    """In a simulation a policy error is a bug to report, not something to ride out."""

    def on_policy_error(self, error: PolicyError) -> None:
        raise SimulationError(f"t={error.time_s:g} s: {error.error}") from error.error


def _job_result(job: SimJob, record: JobRecord) -> JobResult:
    done = float(job.completion_time_s or 0.0)
    return JobResult(
        name=job.spec.name,
        application=job.spec.application,
        submit_time_s=job.spec.submit_time_s,
        completion_time_s=done,
        jct_s=done - job.spec.submit_time_s,
        gpu_hours=record.attained_gpu_s / 3600.0,
        restarts=record.restarts,
        mean_batch=job.mean_batch(),
        quality=job.quality(),
    )


def load_truths(traces_dir: Path | str, apps: set[str] | None = None) -> dict[str, ProfileTruth]:
    """The truth of every (or the named) application profiled under ``traces_dir``."""
    return {name: ProfileTruth(p) for name, p in load_profiles(traces_dir, apps).items()}


def run_workload_file(
    path: Path | str,
    truths: Mapping[str, ProfileTruth],
    policy: Policy,
    config: SimConfig | None = None,
    hooks: Sequence[ControlHooks] = (),
) -> SimResult:
    """Load one workload CSV (checking that every job has a profile and can ever run, see
    ``sim.admission``) and simulate it."""
    workload = load_admitted(path, truths, policy, config or SimConfig())
    return simulate(workload, truths, policy, config, hooks)
