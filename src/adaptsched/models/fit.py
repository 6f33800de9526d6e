"""Fitting the throughput model to observed step times.

``fit_pollux`` reproduces the fitter of the Pollux paper (Qiao et al., OSDI'21; AdaptDL's
``fit_perf_params``): root-mean-square log error of compute and optimizer-step times, a small
L2 pull of gamma towards 1, a penalty on the retrogression slopes, parameters the data cannot
identify frozen at their initial values, and the prior that cross-node synchronisation is at
least 1.1x the intra-node one when no multi-node run was seen.

``fit_throughput`` is adaptsched's default fitter (see its docstring).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

from adaptsched.models.observations import StepObservations
from adaptsched.models.throughput import ThroughputParams

# Parameter order: alpha_c, beta_c, alpha_n, beta_n, alpha_r, beta_r, gamma.
_POLLUX_INIT = np.array([1e-1, 1e-2, 1e-1, 1e-2, 1e-1, 1e-2, 1.0 + 1e-3])
_POLLUX_LOWER = np.array([1e-8] * 6 + [1.0])
_POLLUX_UPPER = np.array([np.inf] * 6 + [10.0])
_TINY = 1e-8


def _frozen_mask(obs: StepObservations) -> np.ndarray:
    """Which parameters the observations cannot identify (Pollux's rules)."""
    frozen = np.zeros(7, dtype=bool)
    if np.unique(obs.local_bsz).size == 1:
        frozen[0] = True  # alpha_c: one local batch cannot split intercept from slope
    if not np.any(obs.nodes > 1):
        frozen[[2, 3]] = True  # no multi-node run
    if not np.any((obs.nodes == 1) & (obs.replicas > 1)):
        frozen[[4, 5]] = True  # no single-node multi-replica run
    if not np.any(obs.replicas > 2):
        frozen[[3, 5]] = True  # slopes beyond 2 replicas unseen
    return frozen


def _pollux_network_time(p: np.ndarray, nodes: np.ndarray, replicas: np.ndarray) -> np.ndarray:
    alpha = np.select([nodes > 1, replicas > 1], [p[2], p[4]], _TINY)
    beta = np.select([nodes > 1, replicas > 1], [p[3], p[5]], _TINY)
    return alpha + beta * np.maximum(replicas - 2, _TINY)


def _pollux_loss(p: np.ndarray, obs: StepObservations) -> float:
    t_grad = p[0] + p[1] * obs.local_bsz
    t_sync = _pollux_network_time(p, obs.nodes, obs.replicas)
    g = p[6]
    log_opt = np.logaddexp(g * np.log(t_grad), g * np.log(t_sync)) / g
    err_grad = np.sqrt(np.mean((np.log(t_grad) - np.log(obs.compute_time)) ** 2))
    err_opt = np.sqrt(np.mean((log_opt - np.log(obs.step_time)) ** 2))
    reg_gamma = 1e-3 * (g - 1.0) ** 2
    reg_retro = 1e-2 * ((p[3] / p[2]) ** 2 + (p[5] / p[4]) ** 2)
    return float(err_grad + err_opt + reg_gamma + reg_retro)


def fit_pollux(obs: StepObservations) -> ThroughputParams:
    """The Pollux paper's fitter, reproduced (see module docstring)."""
    init = _POLLUX_INIT.copy()
    lower = _POLLUX_LOWER.copy()
    upper = _POLLUX_UPPER.copy()
    if np.unique(obs.local_bsz).size == 1:
        init[0] = np.mean(obs.compute_time) / 2
    frozen = _frozen_mask(obs)
    lower[frozen] = upper[frozen] = init[frozen]
    free = ~frozen

    def loss(x: np.ndarray) -> float:
        p = init.copy()
        p[free] = x
        return _pollux_loss(p, obs)

    result = optimize.minimize(
        loss, init[free], method="L-BFGS-B", bounds=list(zip(lower[free], upper[free], strict=True))
    )
    p = init.copy()
    if np.all(np.isfinite(result.x)):
        p[free] = result.x
    if not np.any(obs.nodes > 1):
        p[2] = max(p[2], p[4] * 1.1)
        p[3] = max(p[3], p[5] * 1.1)
    return ThroughputParams.from_array(p)


def fit_throughput(obs: StepObservations) -> ThroughputParams:
    """adaptsched's default fitter (currently the Pollux fitter)."""
    return fit_pollux(obs)
