"""The job lifecycle as an explicit state machine; ``transition`` is the only place a job's
state changes (the simulated cluster here, the runtime controller later)."""

from __future__ import annotations

from enum import Enum


class JobState(Enum):
    PENDING = "pending"  # submitted, holds no GPUs
    STARTING = "starting"  # GPUs assigned, first start under way (no progress yet)
    RUNNING = "running"  # training
    RESIZING = "resizing"  # restarting on a new allocation (no progress yet)
    STOPPING = "stopping"  # giving its GPUs back, will be pending
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class JobEvent(Enum):
    ALLOCATE = "allocate"  # GPUs given to a job that held none
    REALLOCATE = "reallocate"  # a different set of GPUs for a job that held some
    DEALLOCATE = "deallocate"  # all GPUs taken away
    READY = "ready"  # (re)start finished
    STOPPED = "stopped"  # GPUs released
    COMPLETE = "complete"  # reached its last epoch
    FAIL = "fail"


_S, _E = JobState, JobEvent
_TABLE: dict[tuple[JobState, JobEvent], JobState] = {
    (_S.PENDING, _E.ALLOCATE): _S.STARTING,
    (_S.STARTING, _E.READY): _S.RUNNING,
    (_S.STARTING, _E.REALLOCATE): _S.RESIZING,
    (_S.STARTING, _E.DEALLOCATE): _S.STOPPING,
    (_S.RUNNING, _E.REALLOCATE): _S.RESIZING,
    (_S.RUNNING, _E.DEALLOCATE): _S.STOPPING,
    (_S.RUNNING, _E.COMPLETE): _S.SUCCEEDED,
    (_S.RESIZING, _E.READY): _S.RUNNING,
    (_S.RESIZING, _E.REALLOCATE): _S.RESIZING,
    (_S.RESIZING, _E.DEALLOCATE): _S.STOPPING,
    (_S.STOPPING, _E.STOPPED): _S.PENDING,
}
_TERMINAL = frozenset({JobState.SUCCEEDED, JobState.FAILED})


class IllegalTransitionError(RuntimeError):
    """An event that the job's current state does not allow (a bug in the caller)."""


def transition(state: JobState, event: JobEvent) -> JobState:
    """Next state; any non-terminal state may fail."""
    if event is JobEvent.FAIL and state not in _TERMINAL:
        return JobState.FAILED
    try:
        return _TABLE[state, event]
    except KeyError:
        raise IllegalTransitionError(
            f"event {event.value} not allowed in state {state.value}"
        ) from None


def is_active(state: JobState) -> bool:
    """Submitted and not finished: the policy sees it."""
    return state not in _TERMINAL


def holds_gpus(state: JobState) -> bool:
    return state in (JobState.STARTING, JobState.RUNNING, JobState.RESIZING)
