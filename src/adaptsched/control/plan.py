"""From a policy's decision to what the engine must do: a pure function.

``plan`` checks the decision against the nodes (unknown job, unknown or unready node, more GPUs
than a node has, two multi-node jobs on one node: Pollux's interference rule, section 4.2) and
diffs it against the jobs' current placements into frozen actions, in job order. Placements
are compared as multisets: the same GPUs in another order are no change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from adaptsched.control.jobs import JobRecord
from adaptsched.policy.base import Decision, NodeInfo, Placement


class PlanError(ValueError):
    """A decision the cluster cannot carry out."""


@dataclass(frozen=True)
class Start:
    """A job that holds no GPUs gets ``placement``."""

    job_id: str
    placement: Placement


@dataclass(frozen=True)
class Resize:
    """A job moves from ``old`` to ``new`` (a generation restart)."""

    job_id: str
    old: Placement
    new: Placement


@dataclass(frozen=True)
class Stop:
    """A job gives back all of ``old``."""

    job_id: str
    old: Placement


Action = Start | Resize | Stop


@dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...]
    desired_nodes: int | None  # the node count to ask for (None: keep the cluster as it is)


def check_allocations(allocations: Mapping[str, Placement], nodes: Sequence[NodeInfo]) -> None:
    """Raise ``PlanError`` if the allocations do not fit the ready nodes."""
    by_id = {n.node_id: n for n in nodes}
    used: Counter[str] = Counter()
    spanning: Counter[str] = Counter()
    for job_id, placement in allocations.items():
        distinct = set(placement)
        for node_id in distinct:
            node = by_id.get(node_id)
            if node is None or not node.ready:
                raise PlanError(f"job {job_id}: node {node_id!r} unknown or not ready")
            if len(distinct) > 1:
                spanning[node_id] += 1
        used.update(placement)
    for node_id, count in used.items():
        if count > by_id[node_id].gpus:
            raise PlanError(
                f"node {node_id}: {count} GPUs allocated, only {by_id[node_id].gpus} exist"
            )
    shared = [n for n, c in spanning.items() if c > 1]
    if shared:
        raise PlanError(f"node {shared[0]}: hosts more than one multi-node job")


def same_gpus(a: Placement, b: Placement) -> bool:
    return sorted(a) == sorted(b)


def plan(decision: Decision, records: Sequence[JobRecord], nodes: Sequence[NodeInfo]) -> Plan:
    """The actions that move ``records`` (the jobs the policy decided for, in order) to the
    decision's placements."""
    live = {r.job_id for r in records}
    allocations = {k: tuple(v) for k, v in decision.allocations.items() if v}
    unknown = [k for k in allocations if k not in live]
    if unknown:
        raise PlanError(f"decision: allocation for unknown or finished job {unknown[0]}")
    check_allocations(allocations, nodes)
    actions: list[Action] = []
    for record in records:
        new = allocations.get(record.job_id, ())
        old = record.placement
        if same_gpus(new, old):
            continue
        if not old:
            actions.append(Start(record.job_id, new))
        elif not new:
            actions.append(Stop(record.job_id, old))
        else:
            actions.append(Resize(record.job_id, old, new))
    return Plan(tuple(actions), decision.desired_nodes)
