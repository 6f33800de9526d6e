"""Admission: refuse, before the first round, a job that could never run.

A job that never gets GPUs keeps a simulation going until its time limit, which then fails
without naming the job. Whether a job can ever run depends on the policy (Tiresias and FIFO
start a job only on its whole fixed GPU count; Optimus and Pollux shrink it to what is free)
and on the largest cluster it can have, so the policy itself is asked: each distinct kind of
job is offered, alone, to a copy of the policy on an empty cluster, which grows while the policy
asks for more nodes (autoscaling), up to the maximum. A job left without GPUs even then can
never run. So can a job submitted after the simulation's horizon.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from adaptsched.control import JobRecord, build_snapshot
from adaptsched.policy.base import Policy
from adaptsched.sim.belief import FitCache
from adaptsched.sim.cluster import Cluster
from adaptsched.sim.engine import EngineConfig, SimulatedEngine, cluster_bounds, job_spec
from adaptsched.sim.errors import at
from adaptsched.sim.job import SimJob
from adaptsched.sim.truth import ProfileTruth
from adaptsched.sim.workload import JobSpec, check_applications, load_workload

if TYPE_CHECKING:
    from adaptsched.sim.runner import SimConfig

log = logging.getLogger(__name__)

#: What decides whether a job can run: its application and the size it insists on, if any.
_Kind = tuple[str, int | None, int | None]


def load_admitted(
    path: Path | str, truths: Mapping[str, ProfileTruth], policy: Policy, config: SimConfig
) -> tuple[JobSpec, ...]:
    """Read a workload CSV and check it can run to the end: every application has a profile
    and every job can be scheduled (``check_admission``). Errors name file and line."""
    workload = load_workload(path)
    check_applications(path, workload, set(truths))
    check_admission(path, workload, truths, policy, config)
    return workload


def check_admission(
    path: Path | str,
    workload: Sequence[JobSpec],
    truths: Mapping[str, ProfileTruth],
    policy: Policy,
    config: SimConfig,
) -> None:
    """Raise SimInputError (``file:line: job 'x' can never run: ...``) for the first job
    submitted after the horizon (``config.max_time_s``) or never placed by ``policy``."""
    horizon_s = config.max_time_s
    for spec in workload:
        if spec.submit_time_s >= horizon_s:
            raise at(
                path,
                spec.line,
                None,
                f"job {spec.name!r} can never run: it is submitted at {spec.submit_time_s:g} s, "
                f"after the simulated time limit of {horizon_s:g} s ({horizon_s / 3600:g} h, "
                "--max-time)",
            )
    fits = FitCache(config.fitter)
    verdicts: dict[_Kind, str | None] = {}
    sizes_cluster = False
    for spec in workload:
        job = SimJob(spec, truths[spec.application], policy.adaptive_jobs, fits, config.metric)
        kind = (spec.application, job.fixed_replicas, job.fixed_batch)
        if kind not in verdicts:
            verdicts[kind], asked = _probe(job, policy, config)
            sizes_cluster = sizes_cluster or asked
        if verdicts[kind] is not None:
            raise at(path, spec.line, None, f"job {spec.name!r} can never run: {verdicts[kind]}")
    if config.autoscale is not None and workload and not sizes_cluster:
        log.warning(
            "policy %s does not size the cluster: with autoscaling it stays at its initial "
            "%d node(s)",
            policy.name,
            config.autoscale.initial_nodes,
        )


def _probe(job: SimJob, policy: Policy, config: SimConfig) -> tuple[str | None, bool]:
    """Offer ``job`` alone to a copy of ``policy`` on an empty cluster, grown as the policy
    asks up to the autoscaling maximum. Returns (None if it was placed, else why it never
    will be; whether the policy asked for a cluster size)."""
    scaling = config.autoscale
    size = scaling.initial_nodes if scaling else config.nodes
    ceiling = scaling.max_nodes if scaling else config.nodes
    engine_config = EngineConfig(
        restart_s=config.restart_s, autoscale=scaling, cluster_metric=config.metric
    )
    probe = copy.deepcopy(policy)  # the real policy's state and random stream stay untouched
    record = JobRecord(job_spec(job))
    asked = False
    while True:
        engine = SimulatedEngine([job], Cluster.uniform(size, config.gpus_per_node), engine_config)
        # One round after submission: a job is first seen then (Pollux values a move of a job
        # of age 0 at nothing, and places it a round later).
        now_s = job.spec.submit_time_s + config.interval_s
        bounds = cluster_bounds(engine_config, config.gpus_per_node, size)
        views = {record.job_id: engine.view(record)}
        decision = probe.decide(build_snapshot(now_s, [record], views, engine.nodes(now_s), bounds))
        if decision.allocations.get(job.spec.name):
            return None, decision.desired_nodes is not None
        asked = asked or decision.desired_nodes is not None
        wanted = decision.desired_nodes
        if wanted is None or wanted <= size or size >= ceiling:
            return _why(job, policy.name, size, ceiling, config.gpus_per_node), asked
        size = min(wanted, ceiling)


def _why(job: SimJob, policy: str, nodes: int, ceiling: int, gpus_per_node: int) -> str:
    """What the job needs against what the cluster offers, in the workload's terms."""
    gpus = nodes * gpus_per_node
    has = f"{gpus} GPUs ({nodes} node{'s' if nodes != 1 else ''} x {gpus_per_node})"
    if nodes < ceiling:
        has += f"; policy {policy} never grows it towards its maximum of {ceiling} nodes"
    needed = job.fixed_replicas
    if needed is not None and needed > gpus:
        return (
            f"it needs {needed} GPUs at once (num_replicas) under policy {policy}, "
            f"and the cluster has at most {has}"
        )
    return f"policy {policy} gives it no GPUs even alone on {has}"
