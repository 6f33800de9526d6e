"""What the controller drives: an engine (the simulated cluster, or Ray), and the events it
reports. The controller tells it to launch or stop a job's generation and to resize the
cluster; the engine tells the controller what happened, as plain events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from adaptsched.control.jobs import JobRecord
from adaptsched.control.snapshot import JobView
from adaptsched.policy.base import NodeInfo, Placement


@dataclass(frozen=True)
class Ready:
    """A generation's processes are training."""

    job_id: str
    generation: int


@dataclass(frozen=True)
class Exited:
    """A generation's processes have all exited: ``exit_code`` 0 = the job finished, 75 =
    stopped after a checkpoint, anything else a crash. ``interrupted``: not the job's fault
    (its node was lost, or something outside stopped it): retried without spending its
    failure budget."""

    job_id: str
    generation: int
    exit_code: int
    time_s: float
    reason: str = ""
    interrupted: bool = False


@dataclass(frozen=True)
class Usage:
    """GPU-seconds a job used (attained service), added to its record."""

    job_id: str
    gpu_s: float


EngineEvent = Ready | Exited | Usage


class Engine(Protocol):
    """The simulated cluster or the real one."""

    def advance(self, now_s: float) -> Sequence[EngineEvent]:
        """Bring every job up to ``now_s``; what happened since the last call."""
        ...

    def nodes(self, now_s: float) -> tuple[NodeInfo, ...]:
        """The nodes as they are now (not ready while provisioning)."""
        ...

    def view(self, record: JobRecord) -> JobView:
        """What the job knows about itself (from its hints, or the simulated job)."""
        ...

    def launch(
        self, record: JobRecord, placement: Placement, now_s: float
    ) -> Sequence[EngineEvent]:
        """Start generation ``record.generation`` of the job on ``placement``."""
        ...

    def stop(self, record: JobRecord, now_s: float) -> Sequence[EngineEvent]:
        """Ask the job's running generation to checkpoint and exit (SIGTERM); an engine whose
        processes stop at once returns their ``Exited`` event."""
        ...

    def restart_cost_s(self) -> float | None:
        """Seconds a (re)start takes as measured on this engine; None: not measured."""
        ...

    def request_nodes(self, desired: int, busy: set[str], now_s: float) -> None:
        """Move the cluster towards ``desired`` nodes; never remove a node in ``busy``."""
        ...
