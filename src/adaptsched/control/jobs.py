"""Job records and the table of them: what a state store persists about every job.

A record carries the job's specification, its state, the placement the policy gave it
(``placement``), the GPUs its processes hold right now (``held``, which lags ``placement``
while a generation stops), its generation (number of starts), failures, attained service,
latest hints and timestamps. No simulator physics and no engine handles live here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from adaptsched.control.lifecycle import (
    FailurePolicy,
    JobEvent,
    JobState,
    is_active,
    transition,
)
from adaptsched.models import GOODPUT, Metric
from adaptsched.models.hints import Hints
from adaptsched.policy.base import Placement


@dataclass(frozen=True)
class JobSpec:
    """What was submitted (immutable). ``command`` is the runtime's entry point (a script and
    its arguments); the simulator leaves it empty."""

    job_id: str
    submit_time_s: float = 0.0
    name: str = ""
    metric: Metric = GOODPUT
    min_replicas: int = 0
    max_replicas: int = 64
    fixed_replicas: int | None = None  # non-adaptive jobs: the workload's configuration
    fixed_batch: int | None = None
    max_failures: int = 3
    preemptible: bool = True
    command: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not self.job_id:
            raise ValueError("job id: must not be empty")
        if self.min_replicas < 0 or self.max_replicas < max(self.min_replicas, 1):
            raise ValueError(
                f"job {self.job_id}: need 0 <= min_replicas <= max_replicas and "
                f"max_replicas >= 1, got {self.min_replicas}, {self.max_replicas}"
            )
        FailurePolicy(self.max_failures)  # validates

    @property
    def label(self) -> str:
        return self.name or self.job_id


@dataclass(frozen=True)
class Transition:
    """One state change, for hooks (logs, persistence, metrics)."""

    job_id: str
    old: JobState
    new: JobState
    event: JobEvent
    time_s: float
    reason: str = ""


@dataclass
class JobRecord:
    """The controller's mutable view of one job."""

    spec: JobSpec
    state: JobState = JobState.PENDING
    placement: Placement = ()  # what the policy gave it
    held: Placement = ()  # what its running processes occupy
    generation: int = 0  # number of starts
    failures: int = 0  # crashes (spend the failure budget)
    interruptions: int = 0  # lost nodes, external stops (do not)
    attained_gpu_s: float = 0.0
    hints: Hints | None = None
    hints_time_s: float | None = None
    started_s: float | None = None  # first start
    finished_s: float | None = None
    reason: str = ""  # why it is pending, failed or cancelled
    cancel_requested: bool = False
    stop_sent: bool = False  # the current generation was asked to stop
    launched_s: float | None = None  # when the current generation was launched

    @property
    def job_id(self) -> str:
        return self.spec.job_id

    @property
    def restarts(self) -> int:
        return max(self.generation - 1, 0)

    @property
    def active(self) -> bool:
        return is_active(self.state)


TransitionListener = Callable[[Transition], None]


class JobTable:
    """Every job the controller knows, in submission order."""

    def __init__(self, listener: TransitionListener | None = None) -> None:
        self._records: dict[str, JobRecord] = {}
        self.listener = listener

    def add(self, spec: JobSpec) -> JobRecord:
        if spec.job_id in self._records:
            raise ValueError(f"job {spec.job_id}: already exists")
        record = JobRecord(spec)
        self._records[spec.job_id] = record
        return record

    def restore(self, record: JobRecord) -> None:
        """Put back a record read from a state store."""
        self._records[record.job_id] = record

    def __getitem__(self, job_id: str) -> JobRecord:
        try:
            return self._records[job_id]
        except KeyError:
            raise KeyError(f"unknown job {job_id!r}") from None

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._records

    def __iter__(self) -> Iterator[JobRecord]:
        return iter(self._records.values())

    def __len__(self) -> int:
        return len(self._records)

    def fire(self, job_id: str, event: JobEvent, time_s: float, reason: str = "") -> JobState:
        """The one function that changes a job's state; tells the listener."""
        record = self[job_id]
        old = record.state
        record.state = transition(old, event)
        record.reason = reason
        if not is_active(record.state) and record.finished_s is None:
            record.finished_s = time_s
        if self.listener is not None:
            self.listener(Transition(job_id, old, record.state, event, time_s, reason))
        return record.state

    def schedulable(self, now_s: float) -> list[JobRecord]:
        """Submitted, live and not being cancelled: the jobs the policy decides for."""
        return [
            r
            for r in self._records.values()
            if r.active and not r.cancel_requested and r.spec.submit_time_s <= now_s
        ]

    def finished(self) -> bool:
        """True when every job has reached a terminal state."""
        return not any(r.active for r in self._records.values())

    def counts(self) -> tuple[int, int]:
        """(jobs finished, jobs known)."""
        return sum(not r.active for r in self._records.values()), len(self._records)
