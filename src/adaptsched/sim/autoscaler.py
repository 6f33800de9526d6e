"""Cluster size under autoscaling: the simulator's stand-in for a cloud node group.

The policy says how many nodes it wants (``Decision.desired_nodes``); here that wish meets the
physical rules: new nodes are billed from the request and usable only after a provisioning
delay, and a node leaves only when no replica runs on it (the policy drains a node by
allocating nothing there). Still-provisioning nodes are cancelled first when shrinking.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass

from adaptsched.sim.cluster import Cluster


@dataclass(frozen=True)
class AutoscaleConfig:
    """Bounds and timing of the node group (defaults: the metric experiments' 1..16 nodes)."""

    min_nodes: int = 1
    max_nodes: int = 16
    initial_nodes: int = 1
    provision_delay_s: float = 90.0

    def __post_init__(self) -> None:
        if not 1 <= self.min_nodes <= self.initial_nodes <= self.max_nodes:
            raise ValueError(
                "AutoscaleConfig: need 1 <= min_nodes <= initial_nodes <= max_nodes, got "
                f"{self.min_nodes}, {self.initial_nodes}, {self.max_nodes}"
            )
        if self.provision_delay_s < 0:
            raise ValueError("AutoscaleConfig: provision_delay_s must be >= 0")


def resize(
    cluster: Cluster,
    desired: int,
    busy: Set[str],
    now_s: float,
    config: AutoscaleConfig,
    gpus_per_node: int,
) -> None:
    """Move ``cluster`` towards ``desired`` nodes within the bounds, as far as rules allow;
    nodes in ``busy`` (running or about to run a replica) stay."""
    target = min(max(desired, config.min_nodes), config.max_nodes)
    count = len(cluster.nodes)
    for _ in range(target - count):
        cluster.add_node(gpus_per_node, now_s + config.provision_delay_s, created_s=now_s)
    if target >= count:
        return
    idle = [n for n in cluster.nodes if n.node_id not in busy]
    # Cancel the latest-requested provisioning nodes first, then release idle ready ones.
    idle.sort(key=lambda n: (now_s >= n.ready_at_s, -n.ready_at_s, n.node_id))
    for node in idle[: count - target]:
        cluster.remove_node(node.node_id, now_s)
