"""The bridge from the policy's desired node count to Ray's own autoscaler: one
``request_resources`` bundle per wanted node of the node type, renewed every round (it is a
standing request that replaces the previous one) and cleared when the cluster should be at its
minimum. Nodes join when Ray reports them alive; a node leaves when Ray's autoscaler finds it
idle, which it is only once no replica runs on it (the policy drains it first). When the
autoscaler does not deliver, jobs run on the nodes that exist and ``status`` says why."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ray.autoscaler.sdk import request_resources

log = logging.getLogger(__name__)

#: Seconds the cluster may stay smaller than desired before the controller reports it.
PROVISION_WARNING_S = 120.0


@dataclass
class ScalingStatus:
    desired: int | None = None
    alive: int = 0
    short_since_s: float | None = None  # when the cluster became smaller than desired
    reason: str = ""


class AutoscalerBridge:
    def __init__(self, bundle: dict[str, float], min_nodes: int, max_nodes: int) -> None:
        self.bundle, self.min_nodes, self.max_nodes = bundle, min_nodes, max_nodes
        self.status = ScalingStatus()

    def request(self, desired: int, alive: int, now_s: float) -> None:
        """Ask Ray's autoscaler for ``desired`` nodes (within bounds)."""
        target = min(max(desired, self.min_nodes), self.max_nodes)
        if target <= self.min_nodes:
            request_resources(bundles=[])  # the autoscaler's own min_workers remain
        else:
            request_resources(bundles=[dict(self.bundle) for _ in range(target)])
        if target != self.status.desired:
            log.info("autoscaler: asking for %d nodes (%d alive)", target, alive)
        self._update(target, alive, now_s)

    def _update(self, target: int, alive: int, now_s: float) -> None:
        status = self.status
        status.desired, status.alive = target, alive
        if alive >= target:
            status.short_since_s, status.reason = None, ""
            return
        if status.short_since_s is None:
            status.short_since_s = now_s
        waited = now_s - status.short_since_s
        status.reason = (
            f"{alive} of {target} nodes: the autoscaler is adding nodes ({waited:.0f} s)"
        )
        if waited >= PROVISION_WARNING_S:
            status.reason = (
                f"{alive} of {target} nodes: the autoscaler has not delivered in {waited:.0f} s "
                "(no capacity, or a quota); jobs run on the nodes there are"
            )

    def clear(self) -> None:
        request_resources(bundles=[])
