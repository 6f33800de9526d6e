"""The nodes the runtime schedules on, read from Ray's node table: their short names, their
slots (GPUs, or CPUs on a machine without GPUs) and their lifetimes, recorded in the state
store as they join and leave."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import ray

from adaptsched.cluster.autoscaling import AutoscalerBridge
from adaptsched.cluster.store import StateStore
from adaptsched.policy.base import NodeInfo

log = logging.getLogger(__name__)

#: Ray node label that names an emulated node (set by the embedded cluster).
NAME_LABEL = "adaptsched/name"


@dataclass(frozen=True)
class LiveNode:
    name: str
    ray_id: str
    slots: int


def node_name(ray_id: str, labels: dict[str, str]) -> str:
    """The label an emulated node was given, else a short form of Ray's node id (its end: the
    fake provider's ids differ only there)."""
    return labels.get(NAME_LABEL) or f"node-{ray_id[-8:]}"


class NodeDirectory:
    """Alive nodes with slots, refreshed from Ray at most every ``refresh_s`` seconds."""

    def __init__(
        self,
        store: StateStore,
        slot_resource: str,
        refresh_s: float = 1.0,
        autoscaler: AutoscalerBridge | None = None,
    ) -> None:
        self.store = store
        self.autoscaler = autoscaler
        self.slot_resource = slot_resource
        self.refresh_s = refresh_s
        self._alive: dict[str, LiveNode] = {}  # by name
        self._refreshed_s = float("-inf")
        self._lock = threading.Lock()

    def refresh(self, now_s: float, force: bool = False) -> None:
        with self._lock:
            if not force and now_s - self._refreshed_s < self.refresh_s:
                return
            self._refreshed_s = now_s
            alive: dict[str, LiveNode] = {}
            for node in ray.nodes():
                slots = int(node.get("Resources", {}).get(self.slot_resource, 0))
                if node.get("Alive") and slots > 0:
                    name = node_name(node["NodeID"], node.get("Labels") or {})
                    alive[name] = LiveNode(name, node["NodeID"], slots)
            self._record(alive, now_s)
            self._alive = alive

    def _record(self, alive: dict[str, LiveNode], now_s: float) -> None:
        known = set(self.store.open_nodes())
        now_ids = {n.ray_id for n in alive.values()}
        for node in alive.values():
            if node.ray_id not in known:
                log.info("node %s joined (%d %s)", node.name, node.slots, self.slot_resource)
                self.store.node_joined(node.name, node.ray_id, node.slots, now_s)
        for ray_id in known - now_ids:
            log.info("node %s left", ray_id[:8])
            self.store.node_left(ray_id, now_s)

    def infos(self, now_s: float) -> tuple[NodeInfo, ...]:
        self.refresh(now_s)
        return tuple(NodeInfo(n.name, n.slots) for n in sorted(self._alive.values(), key=_order))

    def ray_id(self, name: str) -> str:
        try:
            return self._alive[name].ray_id
        except KeyError:
            raise ValueError(f"node {name!r} is not alive") from None

    def alive(self, name: str) -> bool:
        return name in self._alive

    def lost_any(self, names: tuple[str, ...]) -> bool:
        """Whether any of ``names`` is gone (asks Ray now)."""
        import time

        self.refresh(time.time(), force=True)
        return any(name not in self._alive for name in names)

    def ray_lifetimes(self) -> dict[str, tuple[float, float | None]]:
        """Ray's own record of every node's life (GCS node table: start and end times), by
        Ray node id; empty when the GCS does not answer. (Ray's public ``ray.nodes()`` omits
        the times; its state API needs the dashboard, which the embedded runtime does not
        start.)"""
        try:
            gcs = ray._private.worker.global_worker.gcs_client
            infos = gcs.get_all_node_info(timeout=5)
        except Exception as exc:  # a private API: never let it break the controller
            log.debug("no node table from the GCS: %s", exc)
            return {}
        out: dict[str, tuple[float, float | None]] = {}
        for info in infos.values():
            end = info.end_time_ms / 1000.0 if info.end_time_ms else None
            out[info.node_id.hex()] = (info.start_time_ms / 1000.0, end)
        return out

    def why_actor_died(self, name: str, exc: Exception) -> str:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"replica actor on {name} died: {first}"

    def request(self, desired: int, busy: set[str], now_s: float) -> None:
        """Ask the autoscaler for ``desired`` nodes (without one the cluster is what it is).
        Busy nodes are safe: Ray's autoscaler removes only idle ones."""
        if self.autoscaler is not None:
            self.refresh(now_s)
            self.autoscaler.request(desired, len(self._alive), now_s)


def _order(node: LiveNode) -> tuple[int, str]:
    """Names with a number sort by it (node-2 before node-10)."""
    head, _, tail = node.name.rpartition("-")
    return (int(tail), head) if tail.isdigit() else (1 << 30, node.name)
