"""A scripted engine and policy for controller tests: the test decides what the policy answers
and which events the engine reports, and reads back what the controller asked for."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from adaptsched.control import EngineEvent, JobRecord, JobView
from adaptsched.policy.base import ClusterSnapshot, Decision, NodeInfo, Placement, Policy


class ScriptedPolicy(Policy):
    """Answers ``allocations`` (and ``desired``); raises ``error`` when set."""

    name: ClassVar[str] = "scripted"

    def __init__(self) -> None:
        self.allocations: dict[str, Placement] = {}
        self.desired: int | None = None
        self.error: Exception | None = None
        self.seen: list[ClusterSnapshot] = []

    def decide(self, snapshot: ClusterSnapshot) -> Decision:
        self.seen.append(snapshot)
        if self.error is not None:
            raise self.error
        return Decision(allocations=dict(self.allocations), desired_nodes=self.desired)


class FakeEngine:
    """Processes that stop only when the test says so (``exit``), like real ones."""

    def __init__(self, nodes: Sequence[NodeInfo]) -> None:
        self.node_list = list(nodes)
        self.pending: list[EngineEvent] = []
        self.launched: list[tuple[str, int, Placement]] = []
        self.stopped: list[tuple[str, int]] = []
        self.requested: list[tuple[int, set[str]]] = []
        self.views: dict[str, JobView] = {}

    def advance(self, now_s: float) -> list[EngineEvent]:
        events, self.pending = self.pending, []
        return events

    def nodes(self, now_s: float) -> tuple[NodeInfo, ...]:
        return tuple(self.node_list)

    def view(self, record: JobRecord) -> JobView:
        return self.views.get(record.job_id, JobView())

    def launch(self, record: JobRecord, placement: Placement, now_s: float) -> list[EngineEvent]:
        self.launched.append((record.job_id, record.generation, placement))
        return []

    def stop(self, record: JobRecord, now_s: float) -> list[EngineEvent]:
        self.stopped.append((record.job_id, record.generation))
        return []

    def restart_cost_s(self) -> float | None:
        return None

    def request_nodes(self, desired: int, busy: set[str], now_s: float) -> None:
        self.requested.append((desired, set(busy)))
