"""Summary figures of one simulated run: JCTs, makespan, GPU-hours, restarts, policy latency,
and the GPUs-in-use timeline, as plain values ready for JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from adaptsched.control import ControlHooks, RoundRecord


@dataclass
class RoundLog(ControlHooks):
    """Round-loop hook that keeps the timeline and the policy's latency."""

    time_s: list[float] = field(default_factory=list)
    gpus_in_use: list[int] = field(default_factory=list)
    policy_s: list[float] = field(default_factory=list)

    def on_round(self, record: RoundRecord) -> None:
        self.time_s.append(record.time_s)
        self.gpus_in_use.append(record.gpus_in_use)
        if record.policy_s is not None:
            self.policy_s.append(record.policy_s)


@dataclass(frozen=True)
class JobResult:
    name: str
    application: str
    submit_time_s: float
    completion_time_s: float
    jct_s: float
    gpu_hours: float
    restarts: int
    mean_batch: float = 0.0  # total batch averaged over the progress made
    quality: float = float("nan")  # the profile's validation metric where the job ended


@dataclass(frozen=True)
class SimResult:
    policy: str
    jobs: tuple[JobResult, ...]
    rounds: int
    timeline_s: tuple[float, ...]
    gpus_in_use: tuple[int, ...]
    total_gpus: int
    policy_latency_s: tuple[float, ...]
    node_lifetimes: tuple[tuple[str, float, float], ...] = ()  # (node id, created, removed)

    def node_seconds(self) -> float:
        """Node time billed: every node from its request to its removal (or the last job's
        completion)."""
        return float(sum(end - start for _, start, end in self.node_lifetimes))

    def jcts(self) -> np.ndarray:
        return np.array([j.jct_s for j in self.jobs], dtype=float)

    def summary(self) -> dict[str, float]:
        """The headline figures (seconds, GPU-hours, milliseconds)."""
        jct = self.jcts()
        latency_ms = np.array(self.policy_latency_s or [0.0]) * 1e3
        first_submit = min((j.submit_time_s for j in self.jobs), default=0.0)
        last_done = max((j.completion_time_s for j in self.jobs), default=0.0)
        return {
            "jobs": len(self.jobs),
            "mean_jct_s": float(jct.mean()) if jct.size else 0.0,
            "p50_jct_s": float(np.percentile(jct, 50)) if jct.size else 0.0,
            "p99_jct_s": float(np.percentile(jct, 99)) if jct.size else 0.0,
            "makespan_s": float(last_done - first_submit),
            "gpu_hours": float(sum(j.gpu_hours for j in self.jobs)),
            "restarts_per_job": float(np.mean([j.restarts for j in self.jobs])) if self.jobs else 0,
            "policy_p50_ms": float(np.percentile(latency_ms, 50)),
            "policy_p95_ms": float(np.percentile(latency_ms, 95)),
            "rounds": self.rounds,
            "node_hours": self.node_seconds() / 3600.0,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "summary": self.summary(),
            "jobs": [asdict(j) for j in self.jobs],
            "timeline": {"time_s": list(self.timeline_s), "gpus_in_use": list(self.gpus_in_use)},
            "total_gpus": self.total_gpus,
            "node_lifetimes": [
                {"node": n, "created_s": a, "removed_s": b} for n, a, b in self.node_lifetimes
            ],
        }
