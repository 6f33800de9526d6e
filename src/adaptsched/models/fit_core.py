"""Shared numerics of the throughput fitters: the overlap term in log space with its partial
derivatives (so both fitters use exact gradients), and grouping of repeated observations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from adaptsched.models.observations import StepObservations


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run BLAS/LAPACK on one thread: fits are tiny (hundreds of rows, <= 9 parameters), and
    a threaded BLAS on a busy machine (training processes beside it) spins for 10-100x the
    single-threaded time."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@dataclass(frozen=True)
class LogOverlap:
    """``log T_opt = log(T_grad^g + T_sync^g) / g`` and its partials, row by row.

    ``d_grad`` and ``d_sync`` are d log T_opt / d T_grad and d log T_opt / d T_sync;
    ``d_gamma`` is d log T_opt / d g.
    """

    value: np.ndarray
    d_grad: np.ndarray
    d_sync: np.ndarray
    d_gamma: np.ndarray


def log_overlap(t_grad: np.ndarray, t_sync: np.ndarray, gamma: float) -> LogOverlap:
    """Evaluate the overlap term stably for g up to 10 and times down to 0 (no sync)."""
    hi = np.maximum(t_grad, t_sync)
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(hi > 0, t_grad / hi, 0.0) ** gamma
        v = np.where(hi > 0, t_sync / hi, 0.0) ** gamma
        total = u + v
        w_grad = u / total
        w_sync = v / total
        log_grad = np.log(t_grad)
        log_sync = np.where(t_sync > 0, np.log(np.where(t_sync > 0, t_sync, 1.0)), 0.0)
        value = np.log(hi) + np.log(total) / gamma
        d_grad = w_grad / t_grad
        d_sync = np.where(t_sync > 0, w_sync / np.where(t_sync > 0, t_sync, 1.0), 0.0)
    d_gamma = (w_grad * log_grad + w_sync * log_sync - value) / gamma
    return LogOverlap(value=value, d_grad=d_grad, d_sync=d_sync, d_gamma=d_gamma)


@dataclass(frozen=True)
class GroupedObservations:
    """Observations merged per distinct (nodes, replicas, local batch): medians of the times
    (robust to stragglers) and the row count, which weights the group in the fit."""

    nodes: np.ndarray
    replicas: np.ndarray
    local_bsz: np.ndarray
    step_time: np.ndarray
    compute_time: np.ndarray
    sync_time: np.ndarray | None
    count: np.ndarray


def group_observations(obs: StepObservations) -> GroupedObservations:
    """Merge rows that share a configuration (placements with equal N and K, repeats)."""
    keys = np.stack([obs.nodes, obs.replicas, obs.local_bsz], axis=1)
    uniq, inverse, count = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    start = np.concatenate([[0], np.cumsum(count)[:-1]])

    def median_of(values: np.ndarray) -> np.ndarray:
        ordered = values[np.lexsort((values, inverse))]  # by group, then by value
        return (ordered[start + (count - 1) // 2] + ordered[start + count // 2]) / 2

    sync = None if obs.sync_time is None else median_of(obs.sync_time)
    return GroupedObservations(
        nodes=uniq[:, 0],
        replicas=uniq[:, 1],
        local_bsz=uniq[:, 2],
        step_time=median_of(obs.step_time),
        compute_time=median_of(obs.compute_time),
        sync_time=sync,
        count=count.astype(float),
    )
