"""The seed thesis's experiment, in the simulator: five MNIST jobs submitted together on nodes
of one GPU, the cluster starting at one node and growing to at most two.

Jobs (thesis, chapter V): epochs 10, 15, 40, 45, 45; initial batch 64, 64, 64, 64, 128. Their
truth is the MNIST profile measured on this machine by ``adaptsched profile`` (bundled under
``adaptsched/data/profiles/mnist``); each job is that profile with its own epoch count and M0.

Arms: ``pollux`` is Pollux as published (jobs fit their throughput with the Pollux paper's
fitter, the policy weighs every job alike, Pollux's utility band); every other arm is the
metric framework with that metric for every job and for the autoscaler. Every arm runs the
same policy (``ThesisSetup.policy``, the project's default unless given). An arm that appears in
several scenarios is run once per seed and reused, as the thesis reused its default run.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from adaptsched.models.metrics import get_metric
from adaptsched.policy.registry import DEFAULT_POLICY, make_policy, policy_options
from adaptsched.sim.autoscaler import AutoscaleConfig
from adaptsched.sim.profile import load_profile, rebase_profile
from adaptsched.sim.results import SimResult
from adaptsched.sim.runner import SimConfig, simulate
from adaptsched.sim.truth import ProfileTruth
from adaptsched.sim.workload import JobSpec

#: (name, epochs, initial batch) of the thesis's five jobs.
THESIS_JOBS: tuple[tuple[str, int, int], ...] = (
    ("job1", 10, 64),
    ("job2", 15, 64),
    ("job3", 40, 64),
    ("job4", 45, 64),
    ("job5", 45, 128),
)

#: Scenario -> arms, the reference arm first (the thesis's tables V.6.1-V.6.7, plus balanced).
SCENARIOS: dict[str, tuple[str, ...]] = {
    "framework": ("pollux", "goodput"),
    "speed": ("goodput", "speed", "speed-thesis"),
    "cost": ("goodput", "cost", "cost-thesis"),
    "balanced": ("goodput", "balanced", "speed", "cost"),
}


@dataclass(frozen=True)
class ThesisSetup:
    """The cluster of the thesis's EKS runs (g4dn.xlarge: one GPU per node, 1 to 2 nodes)."""

    min_nodes: int = 1
    max_nodes: int = 2
    initial_nodes: int = 1
    gpus_per_node: int = 1
    provision_delay_s: float = 90.0
    interval_s: float = 60.0
    policy: str = DEFAULT_POLICY
    generations: int = 100  # for the genetic ``pollux``
    restart_s: float = 30.0  # a start or restart's delay (the Pollux paper's simulator: 30 s)
    first_fit: bool = False  # arrivals placed at once if GPUs are free (as the runtime does)
    shared_host: bool = False  # nodes emulated on one machine, sharing its cores
    runtime_reports: bool = False  # jobs publish their model as the runtime's trainer does


def bundled_profile_dir(name: str = "mnist") -> Path:
    """The profile shipped with the package (measured on this project's machine)."""
    return Path(str(resources.files("adaptsched") / "data" / "profiles" / name))


def job_truths(folder: Path, job_epoch_samples: int | None = None) -> dict[str, ProfileTruth]:
    """One truth per thesis job: the profile in ``folder`` with the job's epochs and M0. Epochs
    are converted to the profile's epoch units: a profile epoch may be a slice of the data set
    (``epoch_samples`` of ``dataset_samples`` in its ``profile.json``), and a job's epoch may
    be a slice too (``job_epoch_samples``, a scaled-down job; default: the whole data set).
    A job's M0 may differ from the profile's: its progress and variance are rebased to it."""
    profile = load_profile(folder)
    meta = json.loads((folder / "profile.json").read_text())
    job_samples = job_epoch_samples or float(meta.get("dataset_samples", 1))
    per_epoch = float(job_samples) / float(meta.get("epoch_samples", 1))
    truths = {}
    for name, epochs, batch in THESIS_JOBS:
        job = rebase_profile(profile, batch)
        spec = dataclasses.replace(
            job.spec, name=f"mnist-{name}", epochs=max(1, round(epochs * per_epoch))
        )
        truths[spec.name] = ProfileTruth(dataclasses.replace(job, spec=spec))
    return truths


def thesis_workload() -> tuple[JobSpec, ...]:
    return tuple(
        JobSpec(name, 0.0, f"mnist-{name}", num_replicas=1, batch_size=batch)
        for name, _, batch in THESIS_JOBS
    )


def arm_config(arm: str, setup: ThesisSetup) -> SimConfig:
    """The simulated cluster of one arm."""
    metric = get_metric("goodput" if arm == "pollux" else arm)
    return SimConfig(
        nodes=setup.max_nodes,
        gpus_per_node=setup.gpus_per_node,
        interval_s=setup.interval_s,
        restart_s=setup.restart_s,
        first_fit=setup.first_fit,
        shared_host=setup.shared_host,
        runtime_reports=setup.runtime_reports,
        autoscale=AutoscaleConfig(
            setup.min_nodes, setup.max_nodes, setup.initial_nodes, setup.provision_delay_s
        ),
        metric=metric,
        fitter="pollux" if arm == "pollux" else "adaptsched",
    )


def run_arm(arm: str, seed: int, truths: dict[str, ProfileTruth], setup: ThesisSetup) -> SimResult:
    options = (
        {"generations": setup.generations} if "generations" in policy_options(setup.policy) else {}
    )
    policy = make_policy(setup.policy, seed=seed, **options)
    return simulate(thesis_workload(), truths, policy, arm_config(arm, setup))


def _per_seed(runs: Sequence[SimResult], field: str) -> np.ndarray:
    """(seeds, jobs) matrix of one ``JobResult`` field."""
    return np.array([[getattr(j, field) for j in r.jobs] for r in runs], dtype=float)


def arm_summary(runs: Sequence[SimResult]) -> dict:
    """An arm over its seeds: per-job JCT (mean over seeds), mean and standard deviation of the
    mean JCT over seeds, the spread across jobs (the thesis's std), node time and quality."""
    names = [j.name for j in runs[0].jobs]

    def by_job(field: str) -> dict[str, float]:
        return dict(zip(names, map(float, _per_seed(runs, field).mean(axis=0)), strict=True))

    jct = _per_seed(runs, "jct_s")
    lifetimes = [{n: b - a for n, a, b in r.node_lifetimes} for r in runs]  # per seed
    node_names = sorted({n for lt in lifetimes for n in lt})
    return {
        "mean_jct_s": float(jct.mean()),
        "std_jct_s": float(jct.mean(axis=1).std()),
        "std_across_jobs_s": float(jct.std(axis=1).mean()),
        "jobs": by_job("jct_s"),
        "node_seconds": float(np.mean([r.node_seconds() for r in runs])),
        "node_lifetimes_s": {
            n: float(np.mean([lt.get(n, 0.0) for lt in lifetimes])) for n in node_names
        },
        "quality": float(_per_seed(runs, "quality").mean()),
        "quality_per_job": by_job("quality"),
        "mean_batch_per_job": by_job("mean_batch"),
        "restarts_per_job": float(_per_seed(runs, "restarts").mean()),
        "seeds": len(runs),
    }


def run_thesis(
    seeds: int = 5,
    setup: ThesisSetup | None = None,
    profile_dir: Path | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> dict:
    """Every arm of every scenario for ``seeds`` seeds; the JSON the command prints."""
    setup = setup or ThesisSetup()
    truths = job_truths(profile_dir or bundled_profile_dir())
    arms = list(dict.fromkeys(a for scenario in SCENARIOS.values() for a in scenario))
    summaries = {}
    for arm in arms:
        runs = []
        for seed in range(seeds):
            if progress is not None:
                progress(arm, seed)
            runs.append(run_arm(arm, seed, truths, setup))
        summaries[arm] = arm_summary(runs)
    return {
        "scenarios": {
            name: {"arms": {a: summaries[a] for a in scenario}}
            for name, scenario in SCENARIOS.items()
        },
        "setup": dataclasses.asdict(setup) | {"seeds": seeds, "jobs": THESIS_JOBS},
    }
