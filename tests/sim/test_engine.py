"""The simulator end to end on a synthetic application: capacity, completion, restart cost,
determinism, online learning of adaptive jobs."""

from __future__ import annotations

import math
from pathlib import Path
from typing import ClassVar

import pytest
from synthetic import mixed_jobs, write_profile, write_workload

from adaptsched.control import ControlHooks, PlanError, RoundRecord
from adaptsched.control.plan import check_allocations
from adaptsched.models.hints import PRIOR_PARAMS
from adaptsched.policy.base import ClusterSnapshot, Decision, Policy
from adaptsched.policy.packing import FreeGpus
from adaptsched.policy.registry import available_policies, make_policy
from adaptsched.sim.cluster import Cluster
from adaptsched.sim.errors import SimulationError
from adaptsched.sim.runner import SimConfig, build_jobs, load_truths, simulate, simulate_jobs
from adaptsched.sim.workload import load_workload

SMALL = SimConfig(nodes=3, gpus_per_node=4, interval_s=20.0, restart_s=5.0)
#: Options that keep a randomised policy quick in tests (ignored by the others).
FAST = {"seed": 3, "population": 16, "generations": 5}


@pytest.fixture
def truths(tmp_path: Path) -> dict:
    return load_truths(write_profile(tmp_path / "traces").parent)


class CapacityCheck(ControlHooks):
    def __init__(self) -> None:
        self.rounds = 0

    def on_round(self, record: RoundRecord) -> None:
        assert record.gpus_in_use <= record.total_gpus
        self.rounds += 1


class Mover(Policy):
    """Moves its one job to another node every round (to count restarts)."""

    name: ClassVar[str] = "mover"
    adaptive_jobs: ClassVar[bool] = False

    def decide(self, snapshot: ClusterSnapshot) -> Decision:
        job = snapshot.jobs[0]
        nodes = [n.node_id for n in snapshot.nodes]
        current = job.allocation[0] if job.allocation else nodes[-1]
        target = nodes[(nodes.index(current) + 1) % len(nodes)]
        return Decision(allocations={job.job_id: (target,)})


class Greedy(Policy):
    """Adaptive placeholder: every job gets as many GPUs as it may, first come first served."""

    name: ClassVar[str] = "greedy-test"

    def decide(self, snapshot: ClusterSnapshot) -> Decision:
        free = FreeGpus(snapshot, {})
        out = {}
        for job in snapshot.jobs:
            for k in range(min(job.max_replicas, free.total), 0, -1):
                placement = free.pack(k)
                if placement:
                    out[job.job_id] = placement
                    break
        return Decision(allocations=out)


class Hog(Policy):
    name: ClassVar[str] = "hog"

    def decide(self, snapshot: ClusterSnapshot) -> Decision:
        return Decision(allocations={j.job_id: ("n0",) * 5 for j in snapshot.jobs})


def _workload(tmp_path: Path, jobs: list) -> tuple:
    return load_workload(write_workload(tmp_path / "w.csv", jobs))


@pytest.mark.parametrize("name", available_policies())
def test_every_job_completes_within_capacity(
    tmp_path: Path, truths: dict, name: str, quick_policy
) -> None:
    workload = _workload(tmp_path, mixed_jobs(10))
    check = CapacityCheck()
    result = simulate(workload, truths, quick_policy(name, **FAST), SMALL, hooks=[check])
    assert len(result.jobs) == 10
    assert all(j.completion_time_s > j.submit_time_s for j in result.jobs)
    assert check.rounds == result.rounds > 0
    assert max(result.gpus_in_use) <= 12
    summary = result.summary()
    assert summary["gpu_hours"] > 0 and summary["mean_jct_s"] > 0


@pytest.mark.parametrize("name", available_policies())
def test_same_seed_same_result(tmp_path: Path, truths: dict, name: str, quick_policy) -> None:
    workload = _workload(tmp_path, mixed_jobs(8))
    runs = [simulate(workload, truths, quick_policy(name, **FAST), SMALL) for _ in range(2)]
    assert runs[0].jobs == runs[1].jobs
    assert runs[0].gpus_in_use == runs[1].gpus_in_use


def test_restart_cost_is_charged(tmp_path: Path, truths: dict) -> None:
    workload = _workload(tmp_path, [("solo", 0, 1, 32)])
    interval_s, restart_s = 5.0, 2.0
    config = SimConfig(nodes=3, gpus_per_node=4, interval_s=interval_s, restart_s=restart_s)
    still = simulate(workload, truths, make_policy("fifo"), config).jobs[0]
    compute_s = still.jct_s - interval_s - restart_s  # first round at 5 s, then one start
    assert still.restarts == 0 and compute_s > 10
    moved = simulate(workload, truths, Mover(), config).jobs[0]
    chunk_s = interval_s - restart_s  # training per round when restarting every round
    rounds = math.ceil(compute_s / chunk_s)
    assert moved.restarts == rounds - 1
    expected_s = interval_s * rounds + restart_s + compute_s - chunk_s * (rounds - 1)
    assert moved.jct_s == pytest.approx(expected_s)
    assert moved.gpu_hours == pytest.approx(still.gpu_hours + restart_s * (rounds - 1) / 3600)


def test_adaptive_jobs_learn_online(tmp_path: Path, truths: dict) -> None:
    workload = _workload(tmp_path, mixed_jobs(4))
    jobs = build_jobs(workload, truths, adaptive=True)
    simulate_jobs(
        jobs, Greedy(), SimConfig(nodes=3, gpus_per_node=4, interval_s=2.0, restart_s=1.0)
    )
    for job in jobs:
        assert job.observed, "a job that ran measured its step times"
        assert job.model().params != PRIOR_PARAMS
        assert job.model().grad.sqr > 0
    assert any(len(j.observed) > 1 for j in jobs)  # batch size or allocation changed
    assert max(j.local_bsz * j.replicas * (j.accum_steps + 1) for j in jobs) >= 8


def test_impossible_decision_is_refused(tmp_path: Path, truths: dict) -> None:
    workload = _workload(tmp_path, mixed_jobs(2))
    with pytest.raises(SimulationError, match="node n0: 5 GPUs allocated, only 4 exist"):
        simulate(workload, truths, Hog(), SMALL)


def test_cluster_grows_and_shrinks() -> None:
    cluster = Cluster.uniform(2, 4)
    node = cluster.add_node(8, ready_at_s=100.0)
    assert node.node_id == "n2"
    assert cluster.total_gpus(50.0) == 8 and cluster.total_gpus(100.0) == 16
    assert [n.ready for n in cluster.infos(50.0)] == [True, True, False]
    with pytest.raises(PlanError, match="not ready"):
        check_allocations({"a": ("n2",)}, cluster.infos(50.0))
    with pytest.raises(PlanError, match="more than one multi-node job"):
        check_allocations({"a": ("n0", "n1"), "b": ("n1", "n0")}, cluster.infos(50.0))
    cluster.remove_node("n0")
    assert [n.node_id for n in cluster.nodes] == ["n1", "n2"]


def test_quality_is_the_profile_metric_where_the_job_ended(truths: dict) -> None:
    truth = truths["toy"]
    end = truth.total_progress
    epochs = truth.spec.epochs
    assert truth.quality(8, end) == pytest.approx(0.4 + 0.05 * epochs)
    assert truth.quality(64, end) == pytest.approx(0.3 + 0.05 * epochs)
    assert truth.quality(36, end) == pytest.approx(0.35 + 0.05 * epochs)  # between batches
    assert truth.quality(8, 100.0) == pytest.approx(0.45)  # held at the first row before it


def test_results_carry_quality_and_mean_batch(tmp_path: Path, truths: dict) -> None:
    workload = _workload(tmp_path, mixed_jobs(4))
    result = simulate(workload, truths, make_policy("pollux", **FAST), SMALL)
    epochs = truths["toy"].spec.epochs
    for j in result.jobs:
        assert j.mean_batch >= truths["toy"].spec.init_batch  # never below M0
        assert 0.3 + 0.05 * epochs - 1e-9 <= j.quality <= 0.4 + 0.05 * epochs + 1e-9


def test_pollux_fitter_is_selectable_and_unknown_fitters_are_named(
    tmp_path: Path, truths: dict
) -> None:
    workload = _workload(tmp_path, mixed_jobs(3))
    config = SimConfig(nodes=2, gpus_per_node=4, interval_s=20.0, fitter="pollux")
    result = simulate(workload, truths, make_policy("pollux", **FAST), config)
    assert all(j.jct_s > 0 for j in result.jobs)
    with pytest.raises(
        ValueError, match="unknown fitter 'magic'; valid fitters: adaptsched, pollux"
    ):
        simulate(workload, truths, make_policy("pollux", **FAST), SimConfig(fitter="magic"))


def _with_finish(truths: dict, finish_s: float) -> dict:
    import dataclasses

    from adaptsched.sim.truth import ProfileTruth

    truth = truths["toy"]
    profile = dataclasses.replace(
        truth.profile, spec=dataclasses.replace(truth.profile.spec, finish_s=finish_s)
    )
    return {"toy": ProfileTruth(profile)}


def test_finishing_work_after_the_last_epoch_delays_the_exit(truths: dict) -> None:
    """``finish_s`` (the final evaluation) runs after training, shared by the replicas: a
    fixed-size job of k replicas ends exactly finish_s / k later, having used those GPUs."""
    from adaptsched.sim.workload import JobSpec

    workload = (JobSpec("a", 0.0, "toy", num_replicas=2, batch_size=16),)
    config = SimConfig(nodes=1, gpus_per_node=4, interval_s=20.0, restart_s=5.0)
    plain = simulate(workload, truths, make_policy("fifo"), config).jobs[0]
    slow = simulate(workload, _with_finish(truths, 30.0), make_policy("fifo"), config).jobs[0]
    assert slow.completion_time_s == pytest.approx(plain.completion_time_s + 15.0)
    assert slow.gpu_hours == pytest.approx(plain.gpu_hours + 30.0 / 3600.0)


def test_first_fit_places_arrivals_at_once(truths: dict) -> None:
    """With ``first_fit`` (the runtime's rule) a job arriving at the start runs from time 0,
    not from the first round; without it (Pollux's simulator) it waits for that round."""
    from adaptsched.sim.workload import JobSpec

    workload = (JobSpec("a", 0.0, "toy", num_replicas=1, batch_size=16),)
    late = simulate(workload, truths, make_policy("fifo"), SMALL).jobs[0]
    config = SimConfig(nodes=3, gpus_per_node=4, interval_s=20.0, restart_s=5.0, first_fit=True)
    early = simulate(workload, truths, make_policy("fifo"), config).jobs[0]
    assert early.completion_time_s == pytest.approx(late.completion_time_s - SMALL.interval_s)


def test_nodes_on_one_machine_share_its_cores() -> None:
    """``shared_host`` (a cluster emulated on one machine): two one-replica jobs on two
    one-GPU nodes compute as slowly as the profile's two replicas on one node did, where
    they competed for the same cores; a job alone runs as fast as it did alone."""
    from adaptsched.experiments.thesis import bundled_profile_dir, job_truths
    from adaptsched.sim.workload import JobSpec

    truths = job_truths(bundled_profile_dir(), job_epoch_samples=768)
    truth = truths["mnist-job1"]
    alone, _ = truth.step_sync((1,), 64)
    (two, two_sync), (shared, shared_sync) = (
        truth.step_sync((2,), 64),
        truth.shared_step_sync((1,), 64, 2),
    )
    assert shared_sync == 0.0 and shared == pytest.approx(two - two_sync) and shared > alone * 1.1
    assert truth.shared_step_sync((1,), 64, 1) == truth.step_sync((1,), 64)

    def run(names: tuple[str, ...], shared_host: bool) -> list[float]:
        workload = tuple(
            JobSpec(n, 0.0, f"mnist-{n}", num_replicas=1, batch_size=64) for n in names
        )
        config = SimConfig(
            nodes=2,
            gpus_per_node=1,
            interval_s=10.0,
            restart_s=0.0,
            first_fit=True,
            shared_host=shared_host,
        )
        result = simulate(workload, truths, make_policy("fifo"), config)
        return [j.completion_time_s for j in result.jobs]

    apart, together = run(("job1", "job2"), False), run(("job1", "job2"), True)
    for a, b in zip(apart, together, strict=True):
        assert b / a == pytest.approx(shared / alone, rel=0.05)
    assert run(("job1",), True) == pytest.approx(run(("job1",), False))


def test_side_by_side_copies_measured_in_host_csv_set_the_shared_step() -> None:
    """With ``host.csv`` (unsynchronised copies of the job side by side), a one-replica job
    sharing the machine computes as fast as those copies did, not as slowly as a
    synchronising two-replica job, whose compute part carries overlapped communication;
    never faster than it ran alone."""
    import dataclasses

    import numpy as np

    from adaptsched.experiments.thesis import bundled_profile_dir
    from adaptsched.sim.profile import load_profile
    from adaptsched.sim.truth import ProfileTruth

    profile = load_profile(bundled_profile_dir())
    alone, _ = ProfileTruth(profile).step_sync((1,), 64)
    two, two_sync = ProfileTruth(profile).step_sync((2,), 64)
    side = 1.05 * alone
    host = {2: (np.array([32.0, 64.0, 128.0]), np.array([side / 2, side, 2 * side]))}
    truth = ProfileTruth(dataclasses.replace(profile, host=host))
    assert side < two - two_sync
    assert truth.shared_step_sync((1,), 64, 2) == (pytest.approx(side), 0.0)
    assert truth.shared_step_sync((1,), 48, 2)[0] == pytest.approx(0.75 * side)
    faster = {2: (np.array([64.0]), np.array([0.5 * alone]))}
    quick = ProfileTruth(dataclasses.replace(profile, host=faster))
    assert quick.shared_step_sync((1,), 64, 2) == (pytest.approx(alone), 0.0)
    # three replicas busy: no host row for 3, so the one-node placement's compute part
    three, three_sync = truth.step_sync((3,), 64)
    assert truth.shared_step_sync((1,), 64, 3)[0] == pytest.approx(max(three - three_sync, alone))


def _first_fit_epoch(job, step_s: float = 0.05, limit_s: float = 600.0) -> tuple[int, float]:
    """Advance a launched job until the model the scheduler sees is fitted: the job's epoch
    then, and the time."""
    now = 0.0
    while job.model().params == PRIOR_PARAMS:
        assert now < limit_s and job.completion_time_s is None, "the model never arrived"
        job.advance(now, step_s)
        now += step_s
        job.model()  # the engine's view refits once per round; here, every step
    return job.epoch, now


@pytest.mark.parametrize("runtime_reports", [False, True])
def test_runtime_reports_publish_the_fit_as_the_trainer_does(
    tmp_path: Path, truths: dict, runtime_reports: bool
) -> None:
    """Without ``runtime_reports`` the scheduler sees a job's first step at once (the Pollux
    simulator); with it, the fit of what the job measured in its first epoch arrives with the
    hints at the end of its second, as on the runtime (the trainer refits at each epoch's
    start, its hints leave at the epoch's end). A restarted job publishes its restored fit
    as soon as it starts."""
    workload = _workload(tmp_path, [("solo", 0, 1, 32)])
    (job,) = build_jobs(workload, truths, adaptive=True)
    job.runtime_reports = runtime_reports
    job.launch(("n0",), 1, restart_s=1.0)
    epoch, _ = _first_fit_epoch(job)
    assert epoch == (2 if runtime_reports else 0)
    measured = dict(job.observed)
    job.stop(100.0)
    job.launch(("n0", "n0"), 2, restart_s=1.0)
    job.advance(100.0, 1.0)  # just started: nothing measured on two replicas yet
    assert job.model().params == job.fits.params(job.app.name, measured)


@pytest.mark.parametrize("runtime_reports", [False, True])
def test_runtime_reports_the_restart_cost_once_a_job_started(
    tmp_path: Path, truths: dict, runtime_reports: bool
) -> None:
    """The runtime reports the restart cost it measured once a generation has started (its
    policies assume their own before); the Pollux simulator never reports one."""
    from adaptsched.sim.engine import EngineConfig, SimulatedEngine

    workload = _workload(tmp_path, [("solo", 0, 1, 32)])
    jobs = build_jobs(workload, truths, adaptive=True)
    config = EngineConfig(restart_s=7.0, runtime_reports=runtime_reports)
    engine = SimulatedEngine(jobs, Cluster.uniform(1, 4), config)
    assert engine.restart_cost_s() is None
    jobs[0].launch(("n0",), 1, restart_s=config.restart_s)
    engine.advance(5.0)
    assert engine.restart_cost_s() is None  # still starting
    engine.advance(10.0)
    assert engine.restart_cost_s() == (7.0 if runtime_reports else None)
