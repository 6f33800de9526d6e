"""Throughput model of a data-parallel job (Pollux, Qiao et al. OSDI'21, section 3.2).

Per micro-step compute time ``T_grad = alpha_c + beta_c * m``; gradient synchronisation
``T_sync`` is 0 for one replica, ``alpha_r + beta_r * (K - 2)`` within one node and
``alpha_n + beta_n * (K - 2)`` across nodes; compute and communication overlap as
``T_opt = (T_grad^gamma + T_sync^gamma)^(1/gamma)``; one optimizer step with ``s``
accumulation micro-steps takes ``T_iter = s * T_grad + T_opt``.

adaptsched extends the cross-node term with two optional fields (both 0 gives Pollux's form):
``beta_ppn * (K/N - 1) * (2/N)^2`` for replicas contending for their node's network link, a
cost that is largest on two nodes and fades as more nodes share the traffic, and
``beta_nodes * log2(N / 2)`` for slow growth with the number of nodes. Both vanish for one
replica per node on two nodes. docs/models.md gives the measurements behind this form.

All functions broadcast over arrays of (nodes, replicas, local batch, accumulation steps).
"""

from __future__ import annotations

from dataclasses import astuple, dataclass

import numpy as np

from adaptsched.models.errors import ModelInputError, as_finite_array

ArrayLike = np.ndarray | float | int


@dataclass(frozen=True)
class ThroughputParams:
    """Fitted constants of the throughput model (seconds; gamma dimensionless)."""

    alpha_c: float  # T_grad intercept
    beta_c: float  # T_grad slope per sample of local batch
    alpha_n: float  # T_sync intercept, replicas on several nodes
    beta_n: float  # T_sync slope per replica beyond 2, several nodes
    alpha_r: float  # T_sync intercept, replicas on one node
    beta_r: float  # T_sync slope per replica beyond 2, one node
    gamma: float  # overlap exponent in [1, 10]: 1 = no overlap, large = full overlap
    beta_ppn: float = 0.0  # T_sync across nodes per extra replica per node, x (2/N)^2
    beta_nodes: float = 0.0  # T_sync across nodes per doubling of nodes beyond 2

    def __post_init__(self) -> None:
        for name, value in zip(self.field_names(), astuple(self), strict=True):
            if not np.isfinite(value) or value < 0:
                raise ModelInputError(f"ThroughputParams.{name}: must be finite and >= 0")
        if not 1.0 <= self.gamma <= 10.0:
            raise ModelInputError("ThroughputParams.gamma: must lie in [1, 10]")

    @staticmethod
    def field_names() -> tuple[str, ...]:
        return (
            "alpha_c",
            "beta_c",
            "alpha_n",
            "beta_n",
            "alpha_r",
            "beta_r",
            "gamma",
            "beta_ppn",
            "beta_nodes",
        )

    @property
    def is_pollux_form(self) -> bool:
        """True when the extension terms are zero (the 7-parameter model of Pollux)."""
        return self.beta_ppn == 0.0 and self.beta_nodes == 0.0

    def as_array(self) -> np.ndarray:
        """All fields in :meth:`field_names` order (9 values)."""
        return np.array(astuple(self), dtype=float)

    @classmethod
    def from_array(cls, values: np.ndarray) -> ThroughputParams:
        """From 7 (Pollux form) or 9 values in :meth:`field_names` order."""
        flat = [float(v) for v in np.asarray(values, dtype=float).reshape(-1)]
        if len(flat) not in (7, len(cls.field_names())):
            raise ModelInputError(f"ThroughputParams: expected 7 or 9 values, got {len(flat)}")
        return cls(*flat)


def compute_time(params: ThroughputParams, local_bsz: ArrayLike) -> np.ndarray:
    """T_grad: one forward/backward micro-step at local batch ``local_bsz``."""
    return params.alpha_c + params.beta_c * np.asarray(local_bsz, dtype=float)


def sync_time(params: ThroughputParams, nodes: ArrayLike, replicas: ArrayLike) -> np.ndarray:
    """T_sync: gradient all-reduce time for ``replicas`` GPUs spread over ``nodes`` nodes."""
    nodes = np.asarray(nodes, dtype=float)
    replicas = np.asarray(replicas, dtype=float)
    extra = np.maximum(replicas - 2.0, 0.0)
    within = params.alpha_r + params.beta_r * extra
    across = params.alpha_n + params.beta_n * extra
    if not params.is_pollux_form:
        many = np.maximum(nodes, 2.0)  # only used where nodes > 1
        across = (
            across
            + params.beta_ppn * np.maximum(replicas / many - 1.0, 0.0) * (2.0 / many) ** 2
            + params.beta_nodes * np.log2(many / 2.0)
        )
    t = np.where(nodes > 1, across, within)
    return np.where(replicas > 1, t, 0.0)


def optimizer_step_time(
    params: ThroughputParams, nodes: ArrayLike, replicas: ArrayLike, local_bsz: ArrayLike
) -> np.ndarray:
    """T_opt: the micro-step that also synchronises, with compute/communication overlap."""
    t_grad = compute_time(params, local_bsz)
    t_sync = sync_time(params, nodes, replicas)
    g = params.gamma
    # (a^g + b^g)^(1/g) computed as max * (1 + (min/max)^g)^(1/g) so that g up to 10 never
    # overflows or underflows for tiny times.
    hi = np.maximum(t_grad, t_sync)
    lo = np.minimum(t_grad, t_sync)
    ratio = np.divide(lo, hi, out=np.zeros_like(hi), where=hi > 0)
    return hi * (1.0 + ratio**g) ** (1.0 / g)


def iteration_time(
    params: ThroughputParams,
    nodes: ArrayLike,
    replicas: ArrayLike,
    local_bsz: ArrayLike,
    accum_steps: ArrayLike = 0,
) -> np.ndarray:
    """T_iter = s * T_grad + T_opt: seconds per optimizer step with ``s`` extra micro-steps."""
    s = np.asarray(accum_steps, dtype=float)
    return s * compute_time(params, local_bsz) + optimizer_step_time(
        params, nodes, replicas, local_bsz
    )


def throughput(
    params: ThroughputParams,
    nodes: ArrayLike,
    replicas: ArrayLike,
    local_bsz: ArrayLike,
    accum_steps: ArrayLike = 0,
) -> np.ndarray:
    """Samples per second: ``M / T_iter`` with ``M = K * m * (s + 1)``."""
    replicas_arr = as_finite_array("replicas", replicas, positive=True)
    local_arr = as_finite_array("local_bsz", local_bsz, positive=True)
    s = as_finite_array("accum_steps", accum_steps)
    if np.any(s < 0):
        raise ModelInputError("accum_steps: must be >= 0")
    total = replicas_arr * local_arr * (s + 1.0)
    return total / iteration_time(params, nodes, replicas_arr, local_arr, s)
