"""The job lifecycle as an explicit state machine, shared by the simulator and the runtime.

A job holds GPUs from the moment the policy gives it some until its processes have exited: a
job being stopped or resized keeps its old GPUs until then (``STOPPING``, ``RESIZING``). Exit
code 75 means "stopped after writing a checkpoint" (``EX_TEMPFAIL``), not a failure. A crash
sends the job back to ``PENDING`` while its failure budget lasts (``FailurePolicy``, separate
from resizing: a resize or a lost node never spends it), then ``FAILED``. ``CANCELLED`` is
reachable from every live state once no process is left. ``transition`` is the pure table;
``JobTable.fire`` (``control.jobs``) is the one function that changes a job's state.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

#: Exit status of a replica stopped on request after its checkpoint (``adaptsched.train``
#: uses the same value, ``EX_TEMPFAIL`` of sysexits.h).
EXIT_PREEMPTED = 75


class JobState(Enum):
    PENDING = "pending"  # submitted, holds no GPUs
    STARTING = "starting"  # GPUs assigned, first generation starting (no progress yet)
    RUNNING = "running"  # training
    RESIZING = "resizing"  # old generation stopping / new one starting on a new allocation
    STOPPING = "stopping"  # giving its GPUs back once its processes have exited
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobEvent(Enum):
    ALLOCATE = "allocate"  # GPUs given to a job that held none
    REALLOCATE = "reallocate"  # a different set of GPUs for a job that holds some
    DEALLOCATE = "deallocate"  # all GPUs taken away (or a cancel while processes run)
    READY = "ready"  # the new generation runs
    STOPPED = "stopped"  # processes exited after a stop (exit 75): GPUs released
    COMPLETE = "complete"  # reached its work target (exit 0)
    RETRY = "retry"  # crashed within its failure budget, or lost its node: back to pending
    FAIL = "fail"  # crashed with its failure budget spent
    CANCEL = "cancel"  # cancelled, no process left


_S, _E = JobState, JobEvent
_HOLDING = (_S.STARTING, _S.RUNNING, _S.RESIZING, _S.STOPPING)
_TABLE: dict[tuple[JobState, JobEvent], JobState] = {
    (_S.PENDING, _E.ALLOCATE): _S.STARTING,
    (_S.STARTING, _E.READY): _S.RUNNING,
    (_S.RESIZING, _E.READY): _S.RUNNING,
    (_S.STOPPING, _E.STOPPED): _S.PENDING,
    **{(s, _E.REALLOCATE): _S.RESIZING for s in _HOLDING},
    **{(s, _E.DEALLOCATE): _S.STOPPING for s in _HOLDING},
    **{(s, _E.COMPLETE): _S.SUCCEEDED for s in _HOLDING},
    **{(s, _E.RETRY): _S.PENDING for s in _HOLDING},
}
TERMINAL = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})


class IllegalTransitionError(RuntimeError):
    """An event that the job's current state does not allow (a bug in the caller)."""


def transition(state: JobState, event: JobEvent) -> JobState:
    """Next state; any live state may fail or be cancelled."""
    if event in (JobEvent.FAIL, JobEvent.CANCEL) and state not in TERMINAL:
        return JobState.FAILED if event is JobEvent.FAIL else JobState.CANCELLED
    try:
        return _TABLE[state, event]
    except KeyError:
        raise IllegalTransitionError(
            f"event {event.value} not allowed in state {state.value}"
        ) from None


def is_active(state: JobState) -> bool:
    """Submitted and not finished."""
    return state not in TERMINAL


def holds_gpus(state: JobState) -> bool:
    """Whether the job has GPUs assigned (its processes may still be exiting)."""
    return state in _HOLDING


@dataclass(frozen=True)
class FailurePolicy:
    """How many crashes a job may have before it is FAILED (Ray Train's ``FailureConfig``
    keeps the same budget apart from resizing)."""

    max_failures: int = 3

    def __post_init__(self) -> None:
        if self.max_failures < 0:
            raise ValueError(f"max_failures: must be >= 0, got {self.max_failures}")

    def retry(self, failures: int) -> bool:
        """Whether a job that has now crashed ``failures`` times runs again."""
        return failures <= self.max_failures
