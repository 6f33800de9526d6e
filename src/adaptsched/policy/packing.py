"""Packing a job's replicas onto nodes for the baseline policies: freest nodes first, one node
when it fits, and never a node that already hosts another multi-node job (interference
avoidance, Pollux section 4.2)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from adaptsched.policy.base import ClusterSnapshot, Placement


class FreeGpus:
    """Free GPUs per ready node, and which nodes host a multi-node job, updated as jobs are
    placed in one round."""

    def __init__(self, snapshot: ClusterSnapshot, kept: Mapping[str, Placement]) -> None:
        self.order = [n.node_id for n in snapshot.nodes if n.ready]
        self.free = {n.node_id: n.gpus for n in snapshot.nodes if n.ready}
        self.spanned: set[str] = set()
        for placement in kept.values():
            self.take(placement)

    @property
    def total(self) -> int:
        return sum(self.free.values())

    def take(self, placement: Placement) -> None:
        for node_id, count in Counter(placement).items():
            self.free[node_id] -= count
        if len(set(placement)) > 1:
            self.spanned.update(placement)

    def pack(self, replicas: int) -> Placement | None:
        """Place ``replicas`` GPUs (and reserve them), or None if they cannot be placed."""
        if replicas < 1 or replicas > self.total:
            return None
        by_free = sorted(self.order, key=lambda n: (-self.free[n], self.order.index(n)))
        if self.free[by_free[0]] >= replicas:
            placement: Placement = (by_free[0],) * replicas
        else:
            placement = self._spread(replicas, by_free)
            if not placement:
                return None
        self.take(placement)
        return placement

    def _spread(self, replicas: int, by_free: list[str]) -> Placement:
        chosen: list[str] = []
        for node_id in by_free:
            if node_id in self.spanned or self.free[node_id] <= 0:
                continue
            chosen.extend([node_id] * min(self.free[node_id], replicas - len(chosen)))
            if len(chosen) == replicas:
                return tuple(chosen)
        return ()


def keep_valid(snapshot: ClusterSnapshot, job_ids: set[str]) -> dict[str, Placement]:
    """Current allocations of ``job_ids`` whose nodes are all still ready."""
    ready = {n.node_id for n in snapshot.nodes if n.ready}
    return {
        j.job_id: j.allocation
        for j in snapshot.jobs
        if j.job_id in job_ids and j.allocation and set(j.allocation) <= ready
    }
