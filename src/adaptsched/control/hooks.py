"""Typed callbacks on the controller, where persistence, metrics, logs and progress bars hang
(none of them inside the loop body or a policy). Subclass ``ControlHooks`` and override what
you need."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from adaptsched.control.jobs import Transition
from adaptsched.policy.base import ClusterSnapshot, Decision


@dataclass(frozen=True)
class RoundRecord:
    """What happened in one round."""

    index: int
    time_s: float
    active_jobs: int
    gpus_in_use: int
    total_gpus: int
    policy_s: float | None  # wall seconds in Policy.decide (None: no job, not called)
    jobs_finished: int
    jobs_total: int
    snapshot: ClusterSnapshot | None = None
    decision: Decision | None = None
    desired_nodes: int | None = None  # what the controller asked the engine for


@dataclass(frozen=True)
class GenerationEvent:
    """A generation of a job was launched on ``placement``, or its processes exited (the
    allocation timeline: which job held which GPUs when)."""

    job_id: str
    generation: int
    kind: str  # "launch" or "exit"
    placement: tuple[str, ...]
    time_s: float
    exit_code: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class PolicyError:
    """The policy raised, or decided something the cluster cannot carry out; the controller
    kept every job's allocation."""

    time_s: float
    error: Exception

    @property
    def message(self) -> str:
        return f"{type(self.error).__name__}: {self.error}"


class ControlHooks:
    """No-op base: override the callbacks you need."""

    def on_round(self, record: RoundRecord) -> None:
        return None

    def on_transition(self, change: Transition) -> None:
        return None

    def on_policy_error(self, error: PolicyError) -> None:
        return None

    def on_generation(self, event: GenerationEvent) -> None:
        return None


class HookList(ControlHooks):
    """Fans every callback out to several hooks, in order."""

    def __init__(self, hooks: Sequence[ControlHooks] = ()) -> None:
        self.hooks = list(hooks)

    def on_round(self, record: RoundRecord) -> None:
        for hook in self.hooks:
            hook.on_round(record)

    def on_transition(self, change: Transition) -> None:
        for hook in self.hooks:
            hook.on_transition(change)

    def on_policy_error(self, error: PolicyError) -> None:
        for hook in self.hooks:
            hook.on_policy_error(error)

    def on_generation(self, event: GenerationEvent) -> None:
        for hook in self.hooks:
            hook.on_generation(event)
