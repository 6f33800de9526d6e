"""The shared controller (no torch, no ray, no simulator): the round loop, the job state
machine, the job table, the snapshot builder, the planner and the hooks. The simulator and the
runtime are two engines under it (``adaptsched.sim``, ``adaptsched.cluster``)."""

from adaptsched.control.controller import Controller
from adaptsched.control.engine import Engine, EngineEvent, Exited, Ready, Usage
from adaptsched.control.hooks import (
    ControlHooks,
    GenerationEvent,
    HookList,
    PolicyError,
    RoundRecord,
)
from adaptsched.control.jobs import JobRecord, JobSpec, JobTable, Transition
from adaptsched.control.lifecycle import (
    EXIT_PREEMPTED,
    FailurePolicy,
    IllegalTransitionError,
    JobEvent,
    JobState,
    transition,
)
from adaptsched.control.loop import Clock, RoundLimitError, RoundLoop, VirtualClock, WallClock
from adaptsched.control.plan import Plan, PlanError, Resize, Start, Stop, plan
from adaptsched.control.snapshot import ClusterBounds, JobView, build_snapshot, view_from_hints

__all__ = [
    "EXIT_PREEMPTED",
    "Clock",
    "ClusterBounds",
    "ControlHooks",
    "Controller",
    "Engine",
    "EngineEvent",
    "Exited",
    "FailurePolicy",
    "GenerationEvent",
    "HookList",
    "IllegalTransitionError",
    "JobEvent",
    "JobRecord",
    "JobSpec",
    "JobState",
    "JobTable",
    "JobView",
    "Plan",
    "PlanError",
    "PolicyError",
    "Ready",
    "Resize",
    "RoundLimitError",
    "RoundLoop",
    "RoundRecord",
    "Start",
    "Stop",
    "Transition",
    "Usage",
    "VirtualClock",
    "WallClock",
    "build_snapshot",
    "plan",
    "transition",
    "view_from_hints",
]
