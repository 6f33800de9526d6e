"""The Pollux paper's throughput fitter, reproduced as the baseline (Qiao et al., OSDI'21,
section 4.1; AdaptDL ``goodput.fit_perf_params``, written anew here).

Loss: root-mean-square log error of the compute (accumulation) step times plus that of the
optimizer step times, an L2 pull ``1e-3 (gamma - 1)^2`` towards little overlap and a penalty
``1e-2 ((beta_n / alpha_n)^2 + (beta_r / alpha_r)^2)`` on the retrogression slopes (an
optimistic prior). Bounds: every alpha/beta in [1e-8, inf), gamma in [1, 10]. Parameters the
observations cannot identify are pinned at their lower bound 1e-8, except alpha_c which is
pinned at half the mean compute time when only one local batch was seen. After the fit, when
no multi-node run was seen, cross-node synchronisation is raised to at least 1.1x the
intra-node one. Optimised with L-BFGS-B from the fixed start (0.1, 0.01) x 3, gamma 1.001,
with the exact gradient, as AdaptDL does with autograd.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

from adaptsched.models.fit_core import log_overlap, single_threaded_blas
from adaptsched.models.observations import StepObservations
from adaptsched.models.throughput import ThroughputParams

# Parameter order: alpha_c, beta_c, alpha_n, beta_n, alpha_r, beta_r, gamma.
_INIT = np.array([1e-1, 1e-2, 1e-1, 1e-2, 1e-1, 1e-2, 1.0 + 1e-3])
_LOWER = np.array([1e-8] * 6 + [1.0])
_UPPER = np.array([np.inf] * 6 + [10.0])
_TINY = 1e-8  # Pollux's sync time for one replica and its floor on (K - 2)
_REG_GAMMA = 1e-3
_REG_RETRO = 1e-2
_CROSS_NODE_PRIOR = 1.1


def pollux_frozen_mask(obs: StepObservations) -> np.ndarray:
    """Which of the 7 parameters the observations cannot identify (Pollux's rules)."""
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


def _sync_basis(obs: StepObservations) -> np.ndarray:
    """d T_sync / d (alpha_n, beta_n, alpha_r, beta_r) per row (Pollux's network model)."""
    across = obs.nodes > 1
    within = ~across & (obs.replicas > 1)
    slope = np.maximum(obs.replicas - 2.0, _TINY)
    return np.stack([across, across * slope, within, within * slope], axis=1).astype(float)


def _loss_and_grad(p: np.ndarray, obs: StepObservations, basis: np.ndarray) -> tuple:
    """Pollux's objective and its exact gradient with respect to all 7 parameters."""
    t_grad = p[0] + p[1] * obs.local_bsz
    lone = obs.replicas <= 1
    t_sync = np.where(lone, _TINY + _TINY * _TINY, (basis * p[2:6]).sum(axis=1))
    ov = log_overlap(t_grad, t_sync, p[6])
    e_grad = np.log(t_grad) - np.log(obs.compute_time)
    e_opt = ov.value - np.log(obs.step_time)
    rmse_grad = max(np.sqrt(np.mean(e_grad**2)), 1e-300)
    rmse_opt = max(np.sqrt(np.mean(e_opt**2)), 1e-300)
    ratio_n, ratio_r = p[3] / p[2], p[5] / p[4]
    loss = (
        rmse_grad
        + rmse_opt
        + _REG_GAMMA * (p[6] - 1.0) ** 2
        + _REG_RETRO * (ratio_n**2 + ratio_r**2)
    )
    n = e_grad.size
    c_grad = e_grad / (t_grad * n * rmse_grad) + e_opt * ov.d_grad / (n * rmse_opt)
    c_sync = np.where(lone, 0.0, e_opt * ov.d_sync / (n * rmse_opt))
    grad = np.zeros(7)
    grad[0] = c_grad.sum()
    grad[1] = (c_grad * obs.local_bsz).sum()
    grad[2:6] = (c_sync[:, None] * basis).sum(axis=0)
    grad[6] = (e_opt * ov.d_gamma).sum() / (n * rmse_opt) + 2 * _REG_GAMMA * (p[6] - 1.0)
    grad[2] -= 2 * _REG_RETRO * ratio_n**2 / p[2]
    grad[3] += 2 * _REG_RETRO * ratio_n / p[2]
    grad[4] -= 2 * _REG_RETRO * ratio_r**2 / p[4]
    grad[5] += 2 * _REG_RETRO * ratio_r / p[4]
    return float(loss), grad


def fit_pollux(obs: StepObservations) -> ThroughputParams:
    """The Pollux paper's fitter, reproduced (see module docstring)."""
    init = _INIT.copy()
    frozen = pollux_frozen_mask(obs)
    init[frozen] = _LOWER[frozen]
    if frozen[0]:
        init[0] = float(np.mean(obs.compute_time)) / 2
    free = ~frozen
    basis = _sync_basis(obs)

    def objective(x: np.ndarray) -> tuple:
        p = init.copy()
        p[free] = x
        loss, grad = _loss_and_grad(p, obs, basis)
        return loss, grad[free]

    bounds = list(zip(_LOWER[free], _UPPER[free], strict=True))
    with single_threaded_blas():
        result = optimize.minimize(
            objective, init[free], jac=True, method="L-BFGS-B", bounds=bounds
        )
    p = init.copy()
    if np.all(np.isfinite(result.x)):
        p[free] = result.x
    if not np.any(obs.nodes > 1):
        p[2] = max(p[2], p[4] * _CROSS_NODE_PRIOR)
        p[3] = max(p[3], p[5] * _CROSS_NODE_PRIOR)
    return ThroughputParams.from_array(p)
