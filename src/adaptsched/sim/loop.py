"""The scheduling round loop, shared by the simulator and the runtime.

Each round: wait one interval on the clock, let the backend bring its jobs up to now and
describe them, ask the policy, hand the decision to the backend, tell the hooks. The simulator
injects a virtual clock and the simulated cluster; the runtime will inject the wall clock and
its Ray backend. Nothing here knows which one it drives.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from adaptsched.policy.base import ClusterSnapshot, Decision, Policy


class Clock(Protocol):
    def now_s(self) -> float: ...

    def wait_s(self, seconds: float) -> None: ...


class Backend(Protocol):
    """What the loop drives: the simulated cluster, or the real one."""

    def observe(self, now_s: float) -> ClusterSnapshot:
        """Bring every job up to ``now_s`` and describe the cluster."""
        ...

    def apply(self, decision: Decision, now_s: float) -> None:
        """Carry the decision out (start, resize, stop jobs)."""
        ...

    def finished(self) -> bool:
        """True when no job is left to run or to arrive."""
        ...

    def progress(self) -> tuple[int, int]:
        """(jobs finished, jobs known)."""
        ...


@dataclass(frozen=True)
class RoundRecord:
    """What happened in one round (for hooks: metrics, logs, progress bars)."""

    index: int
    time_s: float
    active_jobs: int
    gpus_in_use: int
    total_gpus: int
    policy_s: float | None  # wall seconds in Policy.decide (None: no job, not called)
    jobs_finished: int
    jobs_total: int


class RoundHook(Protocol):
    def on_round(self, record: RoundRecord) -> None: ...


class VirtualClock:
    """Simulated time: waiting just moves the clock."""

    def __init__(self, start_s: float = 0.0) -> None:
        self._now_s = start_s

    def now_s(self) -> float:
        return self._now_s

    def wait_s(self, seconds: float) -> None:
        self._now_s += seconds


class WallClock:
    """Real time, for the runtime."""

    def now_s(self) -> float:
        return time.monotonic()

    def wait_s(self, seconds: float) -> None:
        time.sleep(seconds)


class RoundLoop:
    """Runs rounds of ``policy`` against ``backend`` every ``interval_s`` of ``clock`` time."""

    def __init__(
        self,
        policy: Policy,
        backend: Backend,
        clock: Clock,
        interval_s: float,
        hooks: Sequence[RoundHook] = (),
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s: must be > 0, got {interval_s}")
        self.policy, self.backend, self.clock = policy, backend, clock
        self.interval_s = interval_s
        self.hooks = tuple(hooks)
        self.rounds = 0

    def step(self) -> RoundRecord:
        """One round."""
        self.clock.wait_s(self.interval_s)
        now_s = self.clock.now_s()
        snapshot = self.backend.observe(now_s)
        policy_s = None
        decision = Decision(allocations={})
        if snapshot.jobs:
            start = time.perf_counter()
            decision = self.policy.decide(snapshot)
            policy_s = time.perf_counter() - start
        self.backend.apply(decision, now_s)
        record = RoundRecord(
            index=self.rounds,
            time_s=now_s,
            active_jobs=len(snapshot.jobs),
            gpus_in_use=sum(len(p) for p in decision.allocations.values()),
            total_gpus=snapshot.total_gpus,
            policy_s=policy_s,
            jobs_finished=self.backend.progress()[0],
            jobs_total=self.backend.progress()[1],
        )
        self.rounds += 1
        for hook in self.hooks:
            hook.on_round(record)
        return record

    def run(self, max_rounds: int) -> int:
        """Run until the backend has finished; returns the number of rounds."""
        while not self.backend.finished():
            if self.rounds >= max_rounds:
                raise RuntimeError(f"round loop: not finished after {max_rounds} rounds")
            self.step()
        return self.rounds
