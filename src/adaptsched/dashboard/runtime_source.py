"""The dashboard's data from a running controller: its job table and its state store (hints,
generations, rounds, node lifetimes), read under the service's lock where the table is."""

from __future__ import annotations

from typing import Any

from adaptsched.cluster.service import NotFoundError, RuntimeService
from adaptsched.dashboard import shapes
from adaptsched.dashboard.source import UnknownJobError
from adaptsched.models import GOODPUT, metric_names


class RuntimeSource:
    def __init__(self, service: RuntimeService) -> None:
        self.service = service

    def _now(self) -> float:
        return self.service.clock.now_s()

    def _bounds(self) -> tuple[int, tuple[float, float], bool]:
        """(GPUs per node, the cluster metric's utility band, autoscaling)."""
        controller = self.service.controller
        if controller is None:
            return 1, GOODPUT.utility_band, False
        bounds = controller.bounds
        return bounds.gpus_per_node, bounds.cluster_metric.utility_band, bounds.autoscale

    def info(self) -> dict[str, Any]:
        every = f"rounds every {self.service.config.interval_s:g} s"
        return {
            "source": "runtime",
            "title": f"controller ({self.service.policy.name}, {every})",
            "live": True,
            "read_only": False,
            "clock": "wall",
            "metrics": [*metric_names(), "balanced:0.5"],
            "now_s": self._now(),
        }

    def jobs(self) -> list[dict[str, Any]]:
        return self.service.jobs()

    def job(self, job_id: str) -> dict[str, Any]:
        try:
            return self.service.job(job_id)
        except NotFoundError as exc:
            raise UnknownJobError(job_id) from exc

    def cluster(self) -> dict[str, Any]:
        return self.service.cluster()

    def job_history(self, job_id: str) -> dict[str, Any]:
        service = self.service
        with service.lock:
            try:
                record = service.record(job_id)
            except NotFoundError as exc:
                raise UnknownJobError(job_id) from exc
            hints, spec = record.hints, record.spec
            slots = sum(n.gpus for n in service.engine.nodes(self._now())) if service.engine else 1
        rows = service.store.hints_history(job_id)
        samples = [s for s in (shapes.hint_sample(*row) for row in rows) if s is not None]
        shapes.measured_goodput(samples)
        per_node, _, _ = self._bounds()
        curve = None
        if hints is not None:
            top = min(spec.max_replicas, max(slots, 1))
            curve = shapes.speedup_curve(hints.model(), spec.metric, per_node, top)
            curve["fitted"] = hints.throughput_params is not None and hints.grad_sqr is not None
        events = service.store.events(job_id)
        return {
            "job_id": job_id,
            "samples": shapes.thin(samples),
            "speedup": curve,
            "generations": shapes.restart_causes(service.store.generations(job_id), events),
            "events": events,
        }

    def _lifetimes(self) -> list[dict[str, Any]]:
        rows = self.service.store.nodes()
        keys = ("joined_s", "left_s")
        return [{"id": n["node_id"], "slots": n["gpus"], **{k: n[k] for k in keys}} for n in rows]

    def timeline(self) -> dict[str, Any]:
        return shapes.timeline(self.service.store.generations(), self._lifetimes(), self._now())

    def cluster_history(self, since_s: float | None = None) -> dict[str, Any]:
        store, now = self.service.store, self._now()
        rounds = [
            {
                "time_s": r["time_s"],
                "policy_s": r["policy_s"],
                "active_jobs": r["active_jobs"],
                "gpus_in_use": r["gpus_in_use"],
                "total_gpus": r["total_gpus"],
                "desired_nodes": r["desired_nodes"],
                "utility": r["info"].get("utility"),
            }
            for r in store.rounds(since_s or 0.0)
        ]
        per_node, band, autoscale = self._bounds()
        return {
            "now_s": now,
            "rounds": shapes.thin(rounds),
            "node_counts": shapes.node_counts(self._lifetimes(), now),
            "band": list(band),
            "autoscale": autoscale,
            "gpus_per_node": per_node,
            "nodes": self.service.nodes(),
        }
