"""The shared controller driven through ``RoundLoop.step()`` by a scripted engine: first start,
resize, stop with exit 75, crash and retry, failure budget, cancel, node lost, policy errors."""

from __future__ import annotations

import pytest
from fakes import FakeEngine, ScriptedPolicy

from adaptsched.control import (
    ClusterBounds,
    ControlHooks,
    Controller,
    Exited,
    JobSpec,
    JobState,
    JobTable,
    PolicyError,
    Ready,
    RoundLoop,
    Transition,
    Usage,
    VirtualClock,
)
from adaptsched.policy.base import NodeInfo

S = JobState


class Recorder(ControlHooks):
    def __init__(self) -> None:
        self.changes: list[Transition] = []
        self.errors: list[PolicyError] = []

    def on_transition(self, change: Transition) -> None:
        self.changes.append(change)

    def on_policy_error(self, error: PolicyError) -> None:
        self.errors.append(error)


class Rig:
    """A controller over two 2-GPU nodes, stepped once per test line."""

    def __init__(self, *specs: JobSpec, first_fit: bool = False, autoscale: bool = False) -> None:
        self.policy = ScriptedPolicy()
        self.engine = FakeEngine([NodeInfo("n0", 2), NodeInfo("n1", 2)])
        self.table = JobTable()
        self.hooks = Recorder()
        bounds = ClusterBounds(gpus_per_node=2, autoscale=autoscale, min_nodes=1, max_nodes=3)
        self.controller = Controller(
            self.policy, self.engine, self.table, bounds, [self.hooks], first_fit=first_fit
        )
        self.loop = RoundLoop(self.controller, VirtualClock(), 10.0)
        for spec in specs:
            self.controller.submit(spec, 0.0)

    def step(self, **allocations: tuple[str, ...]) -> None:
        self.policy.allocations = dict(allocations)
        self.loop.step()

    def state(self, job_id: str) -> JobState:
        return self.table[job_id].state

    def exit(self, job_id: str, code: int, **kw: object) -> None:
        gen = self.table[job_id].generation
        self.engine.pending.append(Exited(job_id, gen, code, self.loop.clock.now_s(), **kw))

    def ready(self, job_id: str) -> None:
        self.engine.pending.append(Ready(job_id, self.table[job_id].generation))


def test_first_start_ready_and_completion() -> None:
    rig = Rig(JobSpec("a"))
    rig.step(a=("n0", "n0"))
    assert rig.state("a") is S.STARTING
    assert rig.engine.launched == [("a", 1, ("n0", "n0"))]
    rig.ready("a")
    rig.engine.pending.append(Usage("a", 20.0))
    rig.step(a=("n0", "n0"))
    assert rig.state("a") is S.RUNNING and rig.table["a"].attained_gpu_s == 20.0
    rig.exit("a", 0)
    rig.step(a=("n0", "n0"))
    record = rig.table["a"]
    assert record.state is S.SUCCEEDED and record.finished_s == 20.0 and record.restarts == 0
    assert rig.table.finished()


def test_resize_keeps_old_gpus_until_exit_75_then_restarts() -> None:
    rig = Rig(JobSpec("a"), JobSpec("b"))
    rig.step(a=("n0", "n0", "n1", "n1"))
    rig.ready("a")
    rig.step(a=("n0", "n0", "n1", "n1"))
    rig.step(a=("n0", "n0"), b=("n1", "n1"))  # b's GPUs are a's until a has exited
    assert rig.state("a") is S.RESIZING and rig.state("b") is S.STARTING
    assert rig.engine.stopped == [("a", 1)]
    assert [x[0] for x in rig.engine.launched] == ["a"]  # b waits for n1
    rig.step(a=("n0", "n0"), b=("n1", "n1"))
    assert rig.engine.stopped == [("a", 1)]  # asked once
    rig.exit("a", 75)
    rig.step(a=("n0", "n0"), b=("n1", "n1"))
    assert rig.engine.launched[1:] == [("a", 2, ("n0", "n0")), ("b", 1, ("n1", "n1"))]
    record = rig.table["a"]
    assert record.restarts == 1 and record.failures == 0 and record.state is S.RESIZING
    rig.ready("a")
    rig.step(a=("n0", "n0"), b=("n1", "n1"))
    assert rig.state("a") is S.RUNNING


def test_stop_with_exit_75_returns_to_pending_without_failure() -> None:
    rig = Rig(JobSpec("a"))
    rig.step(a=("n0",))
    rig.ready("a")
    rig.step(a=("n0",))
    rig.step()
    assert rig.state("a") is S.STOPPING and rig.table["a"].held == ("n0",)
    rig.exit("a", 75)
    rig.step()
    record = rig.table["a"]
    assert record.state is S.PENDING and record.held == () and record.failures == 0


def test_crash_retries_then_fails_when_budget_is_spent() -> None:
    rig = Rig(JobSpec("a", max_failures=1))
    rig.step(a=("n0",))
    rig.exit("a", 1)
    rig.step()
    record = rig.table["a"]
    assert record.state is S.PENDING and record.failures == 1
    assert "crashed (exit code 1), retry 1/1" in record.reason
    rig.step(a=("n1",))
    assert rig.engine.launched[-1] == ("a", 2, ("n1",))
    rig.exit("a", 1, reason="exit code 1: out of memory")
    rig.step(a=("n1",))
    assert record.state is S.FAILED and record.failures == 2
    assert "out of memory" in record.reason
    assert rig.table.schedulable(100.0) == []


def test_resizes_never_spend_the_failure_budget() -> None:
    rig = Rig(JobSpec("a", max_failures=0))
    rig.step(a=("n0",))
    placements = [("n1",), ("n0", "n0"), ("n1",), ("n0", "n1")]
    for placement in placements:
        rig.step(a=placement)  # asks the running generation to stop
        rig.exit("a", 75)
        rig.step(a=placement)  # it has exited: the next one starts
        assert rig.engine.launched[-1][2] == placement
    assert rig.table["a"].failures == 0 and rig.state("a") is S.RESIZING
    assert rig.table["a"].generation == len(placements) + 1


def test_an_unasked_exit_75_is_an_interruption_not_a_failure() -> None:
    rig = Rig(JobSpec("a", max_failures=0))
    rig.step(a=("n0",))
    rig.exit("a", 75)
    rig.step()
    record = rig.table["a"]
    assert record.state is S.PENDING and record.failures == 0 and record.interruptions == 1


def test_cancel_from_every_live_state() -> None:
    rig = Rig(JobSpec("p"), JobSpec("r"))
    rig.controller.cancel("p", 0.0)
    assert rig.state("p") is S.CANCELLED
    rig.step(r=("n0",))
    rig.controller.cancel("r", 10.0)
    assert rig.state("r") is S.STOPPING and rig.engine.stopped == [("r", 1)]
    asked = len(rig.policy.seen)
    rig.step(r=("n0",))  # a job being cancelled is no longer the policy's
    assert len(rig.policy.seen) == asked and rig.table["r"].placement == ()
    rig.exit("r", 75)
    rig.step()
    assert rig.state("r") is S.CANCELLED and rig.table.finished()


def test_lost_node_restarts_the_job_without_spending_its_budget() -> None:
    rig = Rig(JobSpec("a", max_failures=0))
    rig.step(a=("n0", "n1"))
    rig.ready("a")
    rig.step(a=("n0", "n1"))
    rig.engine.node_list = [NodeInfo("n0", 2)]
    rig.exit("a", 1, reason="node n1 lost", interrupted=True)
    rig.step(a=("n0",))
    record = rig.table["a"]
    assert record.failures == 0 and record.interruptions == 1
    assert rig.engine.launched[-1] == ("a", 2, ("n0",))


def test_policy_exception_keeps_allocations_and_is_reported() -> None:
    rig = Rig(JobSpec("a"))
    rig.step(a=("n0",))
    rig.policy.error = RuntimeError("boom")
    rig.step(a=("n1", "n1"))
    assert rig.table["a"].placement == ("n0",) and len(rig.engine.launched) == 1
    assert rig.hooks.errors and "boom" in rig.hooks.errors[0].message
    rig.policy.error = None
    rig.step(a=("n0", "n0", "n0"))  # more GPUs than n0 has: refused, kept, reported
    assert rig.table["a"].placement == ("n0",)
    assert "only 2 exist" in rig.hooks.errors[-1].message
    rig.step(zzz=("n0",))
    assert "unknown or finished job zzz" in rig.hooks.errors[-1].message


def test_first_fit_places_a_new_job_at_once_on_free_gpus() -> None:
    rig = Rig(JobSpec("a", min_replicas=2), first_fit=True)
    assert rig.table["a"].placement == ("n0", "n0") and rig.state("a") is S.STARTING
    rig.controller.submit(JobSpec("b", min_replicas=2), 0.0)
    assert rig.table["b"].placement == ("n1", "n1")
    rig.controller.submit(JobSpec("c"), 0.0)
    assert rig.table["c"].placement == () and rig.state("c") is S.PENDING


def test_snapshot_ramp_and_idle_cluster_shrinks_to_its_floor() -> None:
    from adaptsched.control import JobView

    rig = Rig(JobSpec("a", max_replicas=8), autoscale=True)
    rig.engine.views["a"] = JobView(most_replicas=3, replica_cap=5)
    rig.policy.desired = 2
    rig.step(a=("n0",))
    info = rig.policy.seen[-1].jobs[0]
    assert info.max_replicas == 5  # min(2 x 3, 8, 5)
    assert rig.engine.requested[-1] == (2, {"n0"})
    rig.exit("a", 0)
    rig.step()
    assert rig.engine.requested[-1] == (1, set())


def test_transitions_are_reported_in_order() -> None:
    rig = Rig(JobSpec("a"))
    rig.step(a=("n0",))
    rig.ready("a")
    rig.step(a=("n0",))
    rig.exit("a", 0)
    rig.step(a=("n0",))
    assert [(c.old, c.new) for c in rig.hooks.changes] == [
        (S.PENDING, S.STARTING),
        (S.STARTING, S.RUNNING),
        (S.RUNNING, S.SUCCEEDED),
    ]


def test_submitting_a_duplicate_id_is_refused() -> None:
    rig = Rig(JobSpec("a"))
    with pytest.raises(ValueError, match="job a: already exists"):
        rig.controller.submit(JobSpec("a"), 0.0)


def test_recover_after_losing_every_process() -> None:
    rig = Rig(JobSpec("run", max_failures=0), JobSpec("gone"), JobSpec("wait"))
    rig.step(run=("n0",), gone=("n1",))
    rig.ready("run")
    rig.step(run=("n0",), gone=("n1",))
    rig.controller.cancel("gone", 20.0)
    touched = rig.controller.recover(30.0, "controller restarted")
    assert sorted(touched) == ["gone", "run"]
    run = rig.table["run"]
    assert run.state is S.PENDING and run.held == () and run.failures == 0
    assert run.reason == "interrupted (controller restarted)" and run.generation == 1
    assert rig.state("gone") is S.CANCELLED and rig.state("wait") is S.PENDING
    rig.step(run=("n1",))
    assert rig.engine.launched[-1] == ("run", 2, ("n1",))


def test_the_ramp_never_caps_a_job_below_its_min_replicas() -> None:
    from adaptsched.control import JobView

    rig = Rig(JobSpec("a", min_replicas=2, max_replicas=2))
    rig.engine.views["a"] = JobView(most_replicas=0)
    rig.step(a=("n0", "n0"))
    assert rig.policy.seen[-1].jobs[0].max_replicas == 2


def test_a_non_preemptible_job_keeps_its_gpus_out_of_the_policys_sight() -> None:
    rig = Rig(JobSpec("fixed", preemptible=False), JobSpec("other"))
    rig.step(fixed=("n0",))
    rig.step(other=("n0", "n1", "n1"))  # n0 has one GPU left for the others
    assert rig.table["fixed"].placement == ("n0",)
    snap = rig.policy.seen[-1]
    assert [j.job_id for j in snap.jobs] == ["other"]
    assert {n.node_id: n.gpus for n in snap.nodes} == {"n0": 1, "n1": 2}
    rig.step(other=("n0", "n0"))  # would take fixed's GPU: refused, nothing moves
    assert "only 1 exist" in rig.hooks.errors[-1].message
    assert rig.table["fixed"].placement == ("n0",)
