"""Fitting the throughput model to observed step times.

``fit_throughput`` is adaptsched's default fitter; ``fit_pollux`` (re-exported from
:mod:`adaptsched.models.pollux_fit`) reproduces the Pollux paper's fitter as the baseline.

Design of ``fit_throughput`` (docs/models.md has the measurements behind each choice):

- the model is the Pollux form plus two cross-node terms (see :mod:`.throughput`): a
  contention term for several replicas sharing a node's link, largest on two nodes and fading
  as ``1/N^2``, and a growth with ``log2(N/2)``. At a fixed number of replicas per node neither
  grows linearly in K, unlike Pollux's ``beta_n * (K - 2)`` (still in the model, used when the
  data identify it), which is what keeps predictions for allocations larger than any observed
  one usable;
- repeated configurations are merged (median per (N, K, m)) and weighted by their count;
- residuals are log errors of the step time (what throughput depends on) plus, with a lower
  weight, of the compute time ``step - sync`` where sync time was measured, under a soft-L1
  loss so that a straggling measurement cannot drag the fit;
- every term the observations cannot identify is frozen: a sync term is kept only if its
  column raises the rank of the design over the distinct observed (N, K), tried in order from
  the most optimistic one, so two-node data extrapolate with the shared-contention term, never
  with a linear growth in K; frozen sync terms are 0 (optimistic, as in Pollux), alpha_c is
  half the compute time when one local batch was seen, gamma is 1 without any synchronisation;
- the start comes from linear least squares (compute time on [1, m]; measured sync time on
  the sync terms), then trust-region least squares with the exact Jacobian refines it, all
  parameters bounded (>= 0, gamma in [1, 10]); the result is deterministic and always finite.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

from adaptsched.models.fit_core import (
    GroupedObservations,
    group_observations,
    log_overlap,
    single_threaded_blas,
)
from adaptsched.models.observations import StepObservations
from adaptsched.models.pollux_fit import fit_pollux
from adaptsched.models.throughput import ThroughputParams

__all__ = ["fit_pollux", "fit_throughput"]

# Index of each parameter in ThroughputParams.field_names().
A_C, B_C, A_N, B_N, A_R, B_R, GAMMA, B_PPN, B_NODES = range(9)
_N_PARAMS = 9
#: Sync terms in the order they are tried: the most optimistic first.
_CROSS_NODE_ORDER = (A_N, B_PPN, B_NODES, B_N)
_INTRA_NODE_ORDER = (A_R, B_R)
_COMPUTE_WEIGHT = 0.1  # compute-time residuals relative to step-time residuals
_GAMMA_PRIOR = 1e-3  # weight of the pull of gamma towards 1 (little overlap)
_GAMMA_START = 2.0
_SOFT_L1_SCALE = 0.03  # log-error beyond which a residual counts linearly (~3 %)
_MAX_EVALUATIONS = 100  # bounds the fit time on inconsistent data (converged fits need ~10)
_CROSS_NODE_PRIOR = 1.1  # unseen cross-node sync >= 1.1 x intra-node (Pollux's prior)


def sync_design(nodes: np.ndarray, replicas: np.ndarray) -> np.ndarray:
    """d T_sync / d params, shape (rows, 9): T_sync is linear in its seven coefficients."""
    nodes = np.asarray(nodes, dtype=float)
    replicas = np.asarray(replicas, dtype=float)
    across = (nodes > 1).astype(float)
    within = ((nodes <= 1) & (replicas > 1)).astype(float)
    many = np.maximum(nodes, 2.0)
    extra = np.maximum(replicas - 2.0, 0.0)
    design = np.zeros((nodes.size, _N_PARAMS))
    design[:, A_N] = across
    design[:, B_N] = across * extra
    design[:, B_PPN] = across * np.maximum(replicas / many - 1.0, 0.0) * (2.0 / many) ** 2
    design[:, B_NODES] = across * np.log2(many / 2.0)
    design[:, A_R] = within
    design[:, B_R] = within * extra
    return design


def _identified(design: np.ndarray, order: tuple[int, ...]) -> list[int]:
    """Columns, tried in ``order``, that each raise the rank over the distinct rows."""
    rows = np.unique(design[:, list(order)], axis=0)
    kept: list[int] = []
    for pos, col in enumerate(order):
        trial = [order.index(c) for c in kept] + [pos]
        sub = rows[:, trial]
        scale = np.linalg.norm(sub, axis=0)
        if scale[-1] == 0:
            continue
        if np.linalg.matrix_rank(sub / scale, tol=1e-8) == len(trial):
            kept.append(col)
    return kept


def free_parameters(grouped: GroupedObservations) -> np.ndarray:
    """Mask of the parameters the observations identify (the rest stay frozen)."""
    free = np.zeros(_N_PARAMS, dtype=bool)
    free[B_C] = True
    free[A_C] = np.unique(grouped.local_bsz).size > 1
    design = sync_design(grouped.nodes, grouped.replicas)
    across = grouped.nodes > 1
    within = (grouped.nodes <= 1) & (grouped.replicas > 1)
    if np.any(across):
        free[_identified(design[across], _CROSS_NODE_ORDER)] = True
    if np.any(within):
        free[_identified(design[within], _INTRA_NODE_ORDER)] = True
    free[GAMMA] = bool(np.any(grouped.replicas > 1))
    return free


def _nonneg_lstsq(design: np.ndarray, target: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Weighted least squares with coefficients >= 0 (columns scaled for conditioning)."""
    scale = np.linalg.norm(design, axis=0)
    scale[scale == 0] = 1.0
    coef, _ = optimize.nnls(design * weight[:, None] / scale, target * weight)
    return coef / scale


def _compute_rows(grouped: GroupedObservations) -> np.ndarray:
    """Rows whose compute time is measured: all with sync time, else single-replica ones."""
    if grouped.sync_time is not None:
        return np.ones(grouped.step_time.size, dtype=bool)
    return grouped.replicas <= 1


def _start(grouped: GroupedObservations, free: np.ndarray) -> np.ndarray:
    """Initial parameters from linear sub-problems (relative errors, i.e. weights 1/y)."""
    p = np.zeros(_N_PARAMS)
    p[GAMMA] = _GAMMA_START if free[GAMMA] else 1.0
    rows = _compute_rows(grouped)
    if not np.any(rows):
        rows = np.ones_like(rows)  # no clean compute time: the step time bounds it
    m, comp = grouped.local_bsz[rows], grouped.compute_time[rows]
    if free[A_C]:
        coef = _nonneg_lstsq(np.stack([np.ones_like(m), m], axis=1), comp, 1.0 / comp)
        p[A_C], p[B_C] = coef
    else:
        p[A_C] = float(np.median(comp)) / 2
        p[B_C] = max(float(np.median(comp / m)) - p[A_C] / float(np.median(m)), 0.0)
    t_grad_scale = float(np.median(comp))
    p[A_C] = max(p[A_C], 1e-6 * t_grad_scale)
    p[B_C] = max(p[B_C], 1e-6 * t_grad_scale / float(np.max(m)))
    sync_cols = np.flatnonzero(
        free & np.isin(np.arange(_N_PARAMS), [A_N, B_N, A_R, B_R, B_PPN, B_NODES])
    )
    multi = grouped.replicas > 1
    if sync_cols.size and np.any(multi):
        design = sync_design(grouped.nodes[multi], grouped.replicas[multi])[:, sync_cols]
        if grouped.sync_time is not None:
            target = grouped.sync_time[multi]
        else:
            t_grad = p[A_C] + p[B_C] * grouped.local_bsz[multi]
            target = np.maximum(grouped.step_time[multi] - t_grad, 0.0)
        coef = _nonneg_lstsq(design, target, 1.0 / grouped.step_time[multi])
        p[sync_cols] = np.maximum(coef, 1e-3 * float(np.median(target)) + 1e-9)
    return p


class _Problem:
    """Weighted log-space residuals of one fit and their exact Jacobian."""

    def __init__(self, grouped: GroupedObservations, base: np.ndarray, free: np.ndarray):
        self.g = grouped
        self.base = base
        self.free = free
        self.design = sync_design(grouped.nodes, grouped.replicas)
        weight = np.sqrt(grouped.count / grouped.count.sum())
        self.w_step = weight
        rows = _compute_rows(grouped)
        self.comp_rows = rows
        self.w_comp = _COMPUTE_WEIGHT * weight[rows]
        self.log_step = np.log(grouped.step_time)
        self.log_comp = np.log(grouped.compute_time[rows])

    def params(self, x: np.ndarray) -> np.ndarray:
        p = self.base.copy()
        p[self.free] = x
        return p

    def _parts(self, x: np.ndarray) -> tuple:
        p = self.params(x)
        t_grad = p[A_C] + p[B_C] * self.g.local_bsz
        t_sync = (self.design * p).sum(axis=1)  # elementwise: no BLAS threads for tiny work
        return p, t_grad, log_overlap(t_grad, t_sync, p[GAMMA])

    def residuals(self, x: np.ndarray) -> np.ndarray:
        p, t_grad, ov = self._parts(x)
        r_step = self.w_step * (ov.value - self.log_step)
        r_comp = self.w_comp * (np.log(t_grad[self.comp_rows]) - self.log_comp)
        prior = [_GAMMA_PRIOR * (p[GAMMA] - 1.0)] if self.free[GAMMA] else []
        return np.concatenate([r_step, r_comp, prior])

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        _, t_grad, ov = self._parts(x)
        d_tgrad = np.zeros((t_grad.size, _N_PARAMS))
        d_tgrad[:, A_C] = 1.0
        d_tgrad[:, B_C] = self.g.local_bsz
        j_step = ov.d_grad[:, None] * d_tgrad + ov.d_sync[:, None] * self.design
        j_step[:, GAMMA] = ov.d_gamma
        j_step *= self.w_step[:, None]
        rows = self.comp_rows
        j_comp = (self.w_comp / t_grad[rows])[:, None] * d_tgrad[rows]
        blocks = [j_step, j_comp]
        if self.free[GAMMA]:
            prior = np.zeros((1, _N_PARAMS))
            prior[0, GAMMA] = _GAMMA_PRIOR
            blocks.append(prior)
        return np.concatenate(blocks)[:, self.free]


def _apply_priors(p: np.ndarray, grouped: GroupedObservations) -> np.ndarray:
    """Unseen cross-node synchronisation is at least 1.1x the intra-node one (Pollux)."""
    if not np.any(grouped.nodes > 1):
        p[A_N] = max(p[A_N], p[A_R] * _CROSS_NODE_PRIOR)
        p[B_N] = max(p[B_N], p[B_R] * _CROSS_NODE_PRIOR)
    return p


def _refine(grouped: GroupedObservations, start: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Bounded trust-region least squares from ``start``; ``start`` again if it fails."""
    problem = _Problem(grouped, start, free)
    is_gamma = np.arange(_N_PARAMS) == GAMMA
    lower = np.where(is_gamma, 1.0, 0.0)[free]
    upper = np.where(is_gamma, 10.0, np.inf)[free]
    x0 = np.clip(start[free], lower + 1e-12, upper - 1e-9)
    with single_threaded_blas():
        result = optimize.least_squares(
            problem.residuals,
            x0,
            jac=problem.jacobian,
            bounds=(lower, upper),
            method="trf",
            loss="soft_l1",
            f_scale=_SOFT_L1_SCALE,
            x_scale="jac",
            max_nfev=_MAX_EVALUATIONS,
        )
    if not np.all(np.isfinite(result.x)):
        return start
    return problem.params(np.clip(result.x, lower, upper))


def fit_throughput(obs: StepObservations) -> ThroughputParams:
    """adaptsched's default fitter (see module docstring): bounded, deterministic, finite."""
    grouped = group_observations(obs)
    free = free_parameters(grouped)
    p = _start(grouped, free)
    if np.any(free):
        p = _refine(grouped, p, free)
    p = _apply_priors(np.maximum(p, 0.0), grouped)
    p[GAMMA] = min(max(p[GAMMA], 1.0), 10.0)
    return ThroughputParams.from_array(p)
