"""The nodes of a simulated cluster.

A ``Cluster`` is a growable list of nodes, each with a time from which it can be used, so that
autoscaling (nodes with a provisioning delay and a lifetime) can be added without reshaping it.
"""

from __future__ import annotations

from dataclasses import dataclass

from adaptsched.policy.base import NodeInfo


@dataclass(frozen=True)
class Node:
    node_id: str
    gpus: int
    ready_at_s: float = 0.0  # provisioning finishes at this time
    created_s: float = 0.0  # requested at this time: billed from here

    def info(self, now_s: float) -> NodeInfo:
        return NodeInfo(node_id=self.node_id, gpus=self.gpus, ready=now_s >= self.ready_at_s)


class Cluster:
    """The current set of nodes (may grow and shrink)."""

    def __init__(self, nodes: list[Node] | None = None) -> None:
        self.nodes: list[Node] = list(nodes or [])
        self.retired: list[tuple[Node, float]] = []  # (node, removal time)

    @classmethod
    def uniform(cls, num_nodes: int, gpus_per_node: int) -> Cluster:
        if num_nodes < 1 or gpus_per_node < 1:
            raise ValueError("cluster: need at least one node with at least one GPU")
        return cls([Node(f"n{i}", gpus_per_node) for i in range(num_nodes)])

    def add_node(self, gpus: int, ready_at_s: float = 0.0, created_s: float = 0.0) -> Node:
        taken = {n.node_id for n in self.nodes}
        index = next(i for i in range(len(self.nodes) + 1) if f"n{i}" not in taken)
        node = Node(f"n{index}", gpus, ready_at_s, created_s)
        self.nodes.append(node)
        return node

    def remove_node(self, node_id: str, now_s: float = 0.0) -> None:
        self.retired.extend((n, now_s) for n in self.nodes if n.node_id == node_id)
        self.nodes = [n for n in self.nodes if n.node_id != node_id]

    def lifetimes_s(self, end_s: float) -> list[tuple[str, float, float]]:
        """(node id, created, removed) of every node that ever existed, by creation; nodes are
        counted until ``end_s`` at most (the run's end)."""
        spans = [(n.node_id, n.created_s, removed) for n, removed in self.retired]
        spans += [(n.node_id, n.created_s, end_s) for n in self.nodes]
        clipped = [(node, min(a, end_s), min(b, end_s)) for node, a, b in spans]
        return sorted(clipped, key=lambda span: (span[1], span[0]))

    def infos(self, now_s: float) -> tuple[NodeInfo, ...]:
        return tuple(n.info(now_s) for n in self.nodes)

    def total_gpus(self, now_s: float) -> int:
        return sum(n.gpus for n in self.nodes if now_s >= n.ready_at_s)
