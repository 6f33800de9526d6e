"""The state table, the failure policy, the loop's clocks and its stop/wake, and policies that
carry state across a restart of the controller."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from fakes import FakeEngine, ScriptedPolicy

from adaptsched.control import (
    ClusterBounds,
    Controller,
    FailurePolicy,
    IllegalTransitionError,
    JobEvent,
    JobSpec,
    JobState,
    JobTable,
    RoundLimitError,
    RoundLoop,
    VirtualClock,
    WallClock,
    transition,
)
from adaptsched.models import BatchLimits, GradStats, JobModel, ThroughputParams
from adaptsched.policy.base import ClusterSnapshot, JobInfo, NodeInfo
from adaptsched.policy.pollux import PolluxPolicy
from adaptsched.policy.registry import make_policy

S, E = JobState, JobEvent


def test_lifecycle_table() -> None:
    s = S.PENDING
    for event in (E.ALLOCATE, E.READY, E.REALLOCATE, E.READY):
        s = transition(s, event)
    assert s is S.RUNNING
    assert transition(s, E.DEALLOCATE) is S.STOPPING
    assert transition(S.STOPPING, E.STOPPED) is S.PENDING
    assert transition(S.STOPPING, E.REALLOCATE) is S.RESIZING
    assert transition(s, E.COMPLETE) is S.SUCCEEDED
    assert transition(S.RESIZING, E.RETRY) is S.PENDING
    assert transition(S.STARTING, E.FAIL) is S.FAILED
    for live in (S.PENDING, S.STARTING, S.RUNNING, S.RESIZING, S.STOPPING):
        assert transition(live, E.CANCEL) is S.CANCELLED
    with pytest.raises(IllegalTransitionError):
        transition(S.PENDING, E.COMPLETE)
    for done in (S.SUCCEEDED, S.FAILED, S.CANCELLED):
        with pytest.raises(IllegalTransitionError):
            transition(done, E.FAIL)


def test_failure_policy_budget() -> None:
    policy = FailurePolicy(max_failures=2)
    assert policy.retry(1) and policy.retry(2) and not policy.retry(3)
    assert not FailurePolicy(0).retry(1)
    with pytest.raises(ValueError, match="max_failures"):
        FailurePolicy(-1)


def _loop(clock, interval_s: float = 1.0) -> tuple[RoundLoop, JobTable]:
    table = JobTable()
    engine = FakeEngine([NodeInfo("n0", 1)])
    controller = Controller(ScriptedPolicy(), engine, table, ClusterBounds(gpus_per_node=1))
    return RoundLoop(controller, clock, interval_s), table


def test_run_until_and_round_limit() -> None:
    loop, _ = _loop(VirtualClock())
    assert loop.run(until=lambda: loop.rounds >= 3) == 3
    assert loop.clock.now_s() == 3.0
    with pytest.raises(RoundLimitError, match="not finished after 5 rounds"):
        loop.run(until=lambda: False, max_rounds=5)
    with pytest.raises(ValueError, match="interval_s"):
        RoundLoop(loop.controller, VirtualClock(), 0.0)


def test_wall_clock_loop_wakes_early_and_stops_when_told() -> None:
    loop, _ = _loop(WallClock(), interval_s=30.0)
    thread = threading.Thread(target=loop.run, daemon=True)
    start = time.monotonic()
    thread.start()
    loop.wake()  # the first round runs now, not in 30 s
    deadline = time.monotonic() + 5.0
    while loop.rounds < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert loop.rounds >= 1
    loop.stop()
    thread.join(timeout=5.0)
    assert not thread.is_alive() and time.monotonic() - start < 5.0


def _snapshot(time_s: float, allocation: dict[str, tuple[str, ...]]) -> ClusterSnapshot:
    params = ThroughputParams(0.02, 0.001, 0.1, 0.01, 0.02, 0.002, 1.5)
    model = JobModel(params, GradStats(sqr=1.0, var=20.0), BatchLimits(64, 2048, 16, 256))
    jobs = tuple(
        JobInfo(
            job_id=f"j{i}",
            submit_time_s=0.0,
            age_s=time_s + 100.0 * i,
            model=model,
            allocation=allocation.get(f"j{i}", ()),
            max_replicas=8,
        )
        for i in range(5)
    )
    nodes = tuple(NodeInfo(f"n{i}", 4) for i in range(4))
    return ClusterSnapshot(time_s=time_s, nodes=nodes, jobs=jobs, gpus_per_node=4)


def test_pollux_restored_from_its_state_decides_like_the_running_one() -> None:
    running = PolluxPolicy(seed=7, population=16, generations=6)
    allocation: dict[str, tuple[str, ...]] = {}
    for round_index in range(3):
        allocation = dict(running.decide(_snapshot(60.0 * round_index, allocation)).allocations)
    saved = running.state_dict()
    restored = PolluxPolicy(seed=999, population=16, generations=6)
    restored.load_state_dict(saved)
    for round_index in range(3, 6):
        snap = _snapshot(60.0 * round_index, allocation)
        a, b = running.decide(snap), restored.decide(snap)
        assert a.allocations == b.allocations
        allocation = dict(a.allocations)
    fresh = PolluxPolicy(seed=999, population=16, generations=6)
    assert fresh.state_dict()["rng"] != running.state_dict()["rng"]
    assert np.asarray(saved["carry"]["population"]).ndim == 3


def test_make_policy_refuses_options_it_would_drop() -> None:
    with pytest.raises(ValueError, match="policy 'pollux': unknown option 'generation'"):
        make_policy("pollux", generation=5)
    with pytest.raises(ValueError, match="policy 'tiresias': unknown option 'generations'"):
        make_policy("tiresias", generations=5)
    assert make_policy("tiresias", seed=1).name == "tiresias"  # every policy takes a seed
    with pytest.raises(ValueError, match="carries no state"):
        make_policy("fifo").load_state_dict({"rng": 1})


def test_specs_are_checked() -> None:
    with pytest.raises(ValueError, match="min_replicas <= max_replicas"):
        JobSpec("a", min_replicas=4, max_replicas=2)
    with pytest.raises(ValueError, match="max_failures"):
        JobSpec("a", max_failures=-1)
