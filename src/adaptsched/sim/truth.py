"""The hidden truth of one application, looked up in its measured profile.

Step times: a placement measured in ``placements.csv`` (GPU counts per node, in any order)
is interpolated linearly in the local batch; any other placement is interpolated linearly in
(nodes, replicas, local batch) over the per-(nodes, replicas, local batch) means of
``placements.csv`` together with the rows of ``scalability.csv``, as the Pollux paper's
simulator does. Gradient statistics: the row of the current epoch, interpolated linearly
between the two measured total batches around the job's batch.
"""

from __future__ import annotations

import logging
from functools import cached_property

import numpy as np
from scipy.interpolate import LinearNDInterpolator, NearestNDInterpolator
from scipy.spatial import QhullError

from adaptsched.models import StepObservations, ThroughputParams, fit_throughput
from adaptsched.sim.profile import Profile, StepTable

log = logging.getLogger(__name__)

Counts = tuple[int, ...]


def _by_placement(table: StepTable) -> dict[Counts, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Sorted-counts placement -> (local batches, step times, sync times), duplicates averaged."""
    groups: dict[Counts, dict[float, list[tuple[float, float]]]] = {}
    for counts, m, step, sync in zip(
        table.counts, table.local_bsz, table.step_time, table.sync_time, strict=True
    ):
        key = tuple(sorted(counts))
        groups.setdefault(key, {}).setdefault(float(m), []).append((step, sync))
    out = {}
    for key, rows in groups.items():
        local = np.array(sorted(rows))
        means = np.array([np.mean(rows[m], axis=0) for m in local])
        out[key] = (local, means[:, 0], means[:, 1])
    return out


def _grouped_points(table: StepTable) -> tuple[np.ndarray, np.ndarray]:
    """Mean (step, sync) per (nodes, replicas, local batch)."""
    keys = np.stack([table.nodes, table.replicas, table.local_bsz], axis=1)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    values = np.zeros((len(uniq), 2))
    np.add.at(values, inverse.reshape(-1), np.stack([table.step_time, table.sync_time], axis=1))
    values /= np.bincount(inverse.reshape(-1))[:, None]
    return uniq, values


def progress_gain(
    sqr: np.ndarray | float, var: np.ndarray | float, scale: np.ndarray | float
) -> np.ndarray | float:
    """Progress per step at ``scale`` = M / M0 with gradient statistics (sqr, var):
    (var + sqr) / (var / scale + sqr), i.e. scale x efficiency; ``scale`` when both are 0.
    Plain floats take a scalar path: the simulator calls this at every step of its clock."""
    if isinstance(sqr, float) and isinstance(var, float) and isinstance(scale, float):
        return (var + sqr) / (var / scale + sqr) if var + sqr > 0 else scale
    sqr, var = np.asarray(sqr, dtype=float), np.asarray(var, dtype=float)
    total = var + sqr
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = total / (var / scale + sqr)
    return np.where(total > 0, gain, scale * np.ones_like(total))


class ProfileTruth:
    """True step times, gradient statistics and epoch lengths of one application."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.spec = profile.spec
        self._placements = _by_placement(profile.placements)
        self._step_cache: dict[tuple[Counts, float], tuple[float, float]] = {}
        batches = sorted(profile.validation)
        self._batches = np.array(batches, dtype=float)
        self._sqr = self._per_epoch([profile.validation[b].grad_sqr for b in batches])
        self._var = self._per_epoch([profile.validation[b].grad_var for b in batches])
        self._iters = self._per_epoch([profile.validation[b].iteration for b in batches])
        self._epoch_progress = self._progress_ends()

    def _per_epoch(self, columns: list[np.ndarray]) -> np.ndarray:
        """(batches, epochs) matrix; files shorter than the epoch count repeat their last row."""
        epochs = self.spec.epochs
        padded = [np.concatenate([c, np.repeat(c[-1], max(0, epochs - c.size))]) for c in columns]
        return np.stack([c[:epochs] for c in padded])

    def _progress_ends(self) -> np.ndarray:
        """Progress at the end of epochs 1..E, from the M0 file (else the smallest batch)."""
        table = self.profile.validation.get(self.spec.init_batch)
        if table is None:
            table = self.profile.validation[int(self._batches[0])]
        prog = table.progress
        epochs = self.spec.epochs
        if prog.size >= epochs:
            return prog[:epochs].copy()
        step = prog[-1] / prog.size
        return np.concatenate([prog, prog[-1] + step * np.arange(1, epochs - prog.size + 1)])

    @property
    def total_progress(self) -> float:
        return float(self._epoch_progress[-1])

    def epoch_end(self, epoch: int) -> float:
        """Progress (iterations at M0) at which 0-based ``epoch`` ends."""
        return float(self._epoch_progress[epoch])

    def step_sync(self, counts: Counts, local_bsz: float) -> tuple[float, float]:
        """(seconds per iteration, of which synchronisation) at a placement and local batch."""
        key = (tuple(sorted(counts)), float(local_bsz))
        hit = self._step_cache.get(key)
        if hit is None:
            hit = self._lookup(key[0], key[1])
            self._step_cache[key] = hit
        return hit

    def shared_step_sync(
        self, counts: Counts, local_bsz: float, host_busy: int
    ) -> tuple[float, float]:
        """``step_sync`` when ``host_busy`` replicas (this job's among them) compute on one
        machine's cores, as on a cluster emulated on one machine: the compute part of a step
        is at least what one replica took in the profile's ``host.csv`` with that many
        unsynchronised copies of the job side by side; without that table, what the
        profile's one-node placement of that many replicas computed (which also carries the
        synchronising job's overlapped communication). The synchronisation is the job's own."""
        step, sync = self.step_sync(counts, local_bsz)
        if host_busy <= sum(counts):
            return step, sync
        host = self.profile.host.get(host_busy)
        if host is not None:
            shared = float(np.interp(local_bsz, host[0], host[1]))
        else:
            host_step, host_sync = self.step_sync((host_busy,), local_bsz)
            shared = host_step - host_sync
        return max(step - sync, shared) + sync, sync

    def _lookup(self, counts: Counts, local_bsz: float) -> tuple[float, float]:
        measured = self._placements.get(counts)
        if measured is not None:
            local, step, sync = measured
            return float(np.interp(local_bsz, local, step)), float(
                np.interp(local_bsz, local, sync)
            )
        point = np.array([[min(len(counts), 16), sum(counts), local_bsz]], dtype=float)
        value = self._interpolator(point)[0]
        if not np.all(np.isfinite(value)):
            log.debug("%s: %s outside the profiled hull, nearest row used", self.spec.name, point)
            value = self._nearest(point)[0]
        step, sync = float(value[0]), float(value[1])
        return step, min(sync, 0.999 * step)

    @cached_property
    def _points(self) -> tuple[np.ndarray, np.ndarray]:
        points, values = _grouped_points(self.profile.placements)
        scal = self.profile.scalability
        if scal is not None:
            points = np.vstack([points, np.stack([scal.nodes, scal.replicas, scal.local_bsz], 1)])
            values = np.vstack([values, np.stack([scal.step_time, scal.sync_time], 1)])
        return points, values

    @cached_property
    def _nearest(self) -> NearestNDInterpolator:
        points, values = self._points
        scale = points.max(axis=0)
        inner = NearestNDInterpolator(points / scale, values)
        return lambda x: inner(x / scale)  # type: ignore[return-value]

    @cached_property
    def _interpolator(self) -> LinearNDInterpolator:
        points, values = self._points
        try:
            return LinearNDInterpolator(points, values)
        except (QhullError, ValueError):
            log.debug("%s: profile too flat for linear interpolation", self.spec.name)
            return lambda x: np.full((len(x), 2), np.nan)  # type: ignore[return-value]

    def _batch_weights(self, total_batch: float) -> tuple[int, int, float]:
        b = self._batches
        hi = int(np.clip(np.searchsorted(b, total_batch), 0, b.size - 1))
        lo = max(hi - 1, 0)
        if hi == lo or total_batch >= b[hi]:
            return hi, hi, 0.0
        if total_batch <= b[lo]:
            return lo, lo, 0.0
        return lo, hi, float((total_batch - b[lo]) / (b[hi] - b[lo]))

    def grad_stats(self, total_batch: float, epoch: int) -> tuple[float, float]:
        """(grad_sqr, grad_var) during 0-based ``epoch`` when training at ``total_batch``."""
        e = min(epoch, self.spec.epochs - 1)
        lo, hi, w = self._batch_weights(total_batch)
        sqr, var = self._blend(lo, hi, w, e)
        return float(sqr), float(var)

    def _blend(
        self,
        lo: int | np.ndarray,
        hi: int | np.ndarray,
        w: float | np.ndarray,
        epochs: int | slice,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(sqr, var) between the measured batches ``lo`` and ``hi`` at weight ``w`` on
        ``hi``, for ``epochs`` (an index or a slice); scalars or row arrays alike."""
        sqr = (1 - w) * self._sqr[lo, epochs] + w * self._sqr[hi, epochs]
        var = (1 - w) * self._var[lo, epochs] + w * self._var[hi, epochs]
        return sqr, var

    def gains(self, total_batches: np.ndarray) -> np.ndarray:
        """Progress per optimizer step (``progress_gain``) at every total batch (rows) in every
        epoch (columns), as ``grad_stats`` interpolates the statistics."""
        batches = np.asarray(total_batches, dtype=float).reshape(-1)
        weights = [self._batch_weights(float(b)) for b in batches]
        lo, hi, w = (np.array(c) for c in zip(*weights, strict=True))
        sqr, var = self._blend(lo, hi, w.reshape(-1, 1), slice(None))
        return progress_gain(sqr, var, (batches / self.spec.init_batch).reshape(-1, 1))

    def quality(self, total_batch: float, progress: float) -> float:
        """The validation metric after training to ``progress`` (iterations at M0) at
        ``total_batch``: interpolated along progress in each measured batch's file (held at its
        last row beyond it), then between the two nearest measured batches."""
        lo, hi, w = self._batch_weights(total_batch)
        values = []
        for i in (lo, hi):
            table = self.profile.validation[int(self._batches[i])]
            values.append(float(np.interp(progress, table.progress, table.metric)))
        return (1 - w) * values[0] + w * values[1]

    def steps_left(self, total_batch: float, epoch: int, epoch_fraction: float) -> float:
        """Optimizer steps still needed at ``total_batch`` from a point inside ``epoch``
        (log-log interpolation of the measured step counts between batch sizes)."""
        logb = np.log(self._batches)
        ends = np.concatenate([np.zeros((self._iters.shape[0], 1)), self._iters], axis=1)
        e = min(epoch, self.spec.epochs - 1)
        now = ends[:, e] + epoch_fraction * (ends[:, e + 1] - ends[:, e])
        left = np.maximum(ends[:, -1] - now, 1e-9)
        return float(np.exp(np.interp(np.log(total_batch), logb, np.log(left))))

    @cached_property
    def oracle_params(self) -> ThroughputParams:
        """The throughput model fitted on the whole profile (what an oracle would know)."""
        points, values = self._points
        obs = StepObservations(points[:, 0], points[:, 1], points[:, 2], values[:, 0], values[:, 1])
        return fit_throughput(obs)
