"""A job's performance model: goodput of any configuration, the best batch configuration for
every allocation, and speedups relative to one replica (Pollux, sections 3.1-3.3)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from adaptsched.models.efficiency import GradStats, efficiency
from adaptsched.models.errors import ModelInputError, as_finite_array
from adaptsched.models.limits import BatchLimits
from adaptsched.models.metrics import GOODPUT, Metric
from adaptsched.models.throughput import ThroughputParams, throughput

#: Number of candidate local batch sizes tried per allocation (log-spaced integers).
LOCAL_BATCH_CANDIDATES = 48


@dataclass(frozen=True)
class BatchChoice:
    """Best configuration per allocation; arrays share the allocation arrays' shape.

    Infeasible allocations (no admissible batch) have ``feasible`` False, zero throughput,
    zero objective and local batch / accumulation 0.
    """

    local_bsz: np.ndarray  # m
    accum_steps: np.ndarray  # s
    total_batch: np.ndarray  # M = K * m * (s + 1)
    throughput: np.ndarray  # samples/s
    efficiency: np.ndarray  # E(M)
    objective: np.ndarray  # metric value (goodput for the default metric)
    feasible: np.ndarray  # bool

    @property
    def goodput(self) -> np.ndarray:
        return self.throughput * self.efficiency


def local_batch_grid(limits: BatchLimits, size: int = LOCAL_BATCH_CANDIDATES) -> np.ndarray:
    """Distinct integer local batches, log-spaced over [min_local, local_upper]."""
    lo, hi = limits.min_local, limits.local_upper
    grid = np.unique(np.round(np.geomspace(lo, hi, num=size)).astype(int))
    return grid.astype(float)


def _local_candidates(limits: BatchLimits, replicas: np.ndarray, accum: np.ndarray) -> np.ndarray:
    """The log-spaced grid plus, per (allocation, s), the smallest local batch that reaches M0
    and the largest that stays within max_batch, so that the exact batch edges (often the
    optimum) are never missed; shape (allocations, s values, candidates)."""
    grid = local_batch_grid(limits).reshape(1, 1, -1)
    per_step = replicas * (accum + 1)
    edges = np.concatenate(
        [np.ceil(limits.init_batch / per_step), np.floor(limits.max_batch / per_step)], axis=2
    )
    edges = np.clip(edges, limits.min_local, limits.local_upper)
    shape = (per_step.shape[0], per_step.shape[1], grid.shape[2])
    return np.concatenate([np.broadcast_to(grid, shape), edges], axis=2)


@dataclass(frozen=True)
class JobModel:
    """Throughput parameters + gradient statistics + batch limits of one job."""

    params: ThroughputParams
    grad: GradStats
    limits: BatchLimits

    def to_json(self) -> dict[str, Any]:
        """Plain values (a simulation's output keeps each job's last model)."""
        grad = {"sqr": self.grad.sqr, "var": self.grad.var}
        return {"params": asdict(self.params), "grad": grad, "limits": asdict(self.limits)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobModel:
        """The model ``to_json`` wrote (validated by the parts' own checks)."""
        return cls(
            ThroughputParams(**data["params"]),
            GradStats(**data["grad"]),
            BatchLimits(**data["limits"]),
        )

    def goodput(
        self,
        nodes: np.ndarray | int,
        replicas: np.ndarray | int,
        local_bsz: np.ndarray | float,
        accum_steps: np.ndarray | int = 0,
    ) -> np.ndarray:
        """GOODPUT = THROUGHPUT x EFFICIENCY of explicit configurations."""
        thr = throughput(self.params, nodes, replicas, local_bsz, accum_steps)
        total = (
            np.asarray(replicas, float)
            * np.asarray(local_bsz, float)
            * (np.asarray(accum_steps, float) + 1)
        )
        return thr * efficiency(self.grad, self.limits.init_batch, total)

    def best_config(
        self,
        nodes: np.ndarray | int,
        replicas: np.ndarray | int,
        metric: Metric = GOODPUT,
        *,
        force_accumulation: bool = False,
    ) -> BatchChoice:
        """Maximise ``metric`` over (m, s) for every (nodes, replicas), within the limits.

        ``force_accumulation`` lets the optimiser accumulate even when the job forbids it
        (used only for the one-replica reference of :meth:`speedup`).
        """
        nodes_arr, replicas_arr = np.broadcast_arrays(
            as_finite_array("nodes", nodes, positive=True),
            as_finite_array("replicas", replicas, positive=True),
        )
        if np.any(nodes_arr > replicas_arr):
            raise ModelInputError("nodes: cannot exceed replicas")
        lim = self.limits
        max_s = lim.max_accum_steps if lim.accumulation else 0
        if force_accumulation:
            max_s = max(max_s, int(np.ceil(lim.init_batch / lim.min_local)))
        shape = nodes_arr.shape
        n = nodes_arr.reshape(-1, 1, 1)
        k = replicas_arr.reshape(-1, 1, 1)
        s = np.arange(max_s + 1, dtype=float).reshape(1, -1, 1)
        m = _local_candidates(lim, k, s)
        total = k * m * (s + 1)
        ok = (total >= lim.init_batch) & (total <= lim.max_batch)
        thr = throughput(self.params, n, k, m, s)
        eff = efficiency(self.grad, lim.init_batch, total)
        value = np.where(ok, metric.objective(thr, eff), -np.inf)
        flat = value.reshape(value.shape[0], -1)
        best = np.argmax(flat, axis=1)
        rows = np.arange(flat.shape[0])
        feasible = np.isfinite(flat[rows, best])

        def pick(arr: np.ndarray) -> np.ndarray:
            full = np.broadcast_to(arr, value.shape).reshape(value.shape[0], -1)
            return np.where(feasible, full[rows, best], 0.0).reshape(shape)

        return BatchChoice(
            local_bsz=pick(m),
            accum_steps=pick(s),
            total_batch=pick(total),
            throughput=pick(thr),
            efficiency=pick(eff),
            objective=np.where(feasible, flat[rows, best], 0.0).reshape(shape),
            feasible=feasible.reshape(shape),
        )

    def speedup(
        self, nodes: np.ndarray | int, replicas: np.ndarray | int, metric: Metric = GOODPUT
    ) -> np.ndarray:
        """SPEEDUP(a) = best metric value at a / best value on one replica (accumulating as
        needed to reach M0 there). Infeasible allocations have speedup 0."""
        base = self.best_config(1, 1, metric, force_accumulation=True).objective
        if not float(base) > 0:
            raise ModelInputError("model: no admissible configuration on one replica")
        return self.best_config(nodes, replicas, metric).objective / float(base)


def speedup_table(
    model: JobModel, max_nodes: int, max_replicas: int, metric: Metric = GOODPUT
) -> np.ndarray:
    """Speedups for every (nodes n, replicas k), shape (max_nodes + 1, max_replicas + 1);
    entries with k < n or k = 0 are 0, entry [1, 1] is 1."""
    n, k = np.meshgrid(np.arange(1, max_nodes + 1), np.arange(1, max_replicas + 1), indexing="ij")
    valid = k >= n
    table = np.zeros((max_nodes + 1, max_replicas + 1))
    table[1:, 1:][valid] = model.speedup(n[valid], k[valid], metric)
    return table
