"""Gradient noise scale from gradients measured at two batch sizes.

McCandlish et al., "An Empirical Model of Large-Batch Training" (2018), appendix A.1: with
``|g_B|^2`` the squared norm of a gradient averaged over B samples,
``E|g_B|^2 = |G|^2 + tr(Sigma) / B``. Two batch sizes b < B give unbiased estimates

    |G|^2     = (B |g_B|^2 - b |g_b|^2) / (B - b)
    tr(Sigma) = (|g_b|^2 - |g_B|^2) / (1/b - 1/B)

Each is noisy, so both are smoothed separately (an exponential moving average with bias
correction, as Pollux does, OSDI'21 appendix) before their ratio is taken. The statistics
published follow Pollux's convention: ``sqr = |G|^2`` and ``var = tr(Sigma) / M0``, the
gradient variance at the initial batch M0, so that ``phi = M0 * var / sqr``.
"""

from __future__ import annotations

from dataclasses import dataclass

from adaptsched.models import GradStats


@dataclass(frozen=True)
class NormSample:
    """Squared gradient norms at a small batch b and a large batch B (samples)."""

    small_sqr: float  # |g_b|^2, averaged over the small-batch gradients seen
    large_sqr: float  # |g_B|^2
    small_batch: float  # b
    large_batch: float  # B

    def estimates(self) -> tuple[float, float]:
        """Unbiased (|G|^2, tr(Sigma)) from this pair (either may come out negative)."""
        b, big = self.small_batch, self.large_batch
        if not 0 < b < big:
            raise ValueError(f"batch sizes: need 0 < small < large, got {b} and {big}")
        sqr = (big * self.large_sqr - b * self.small_sqr) / (big - b)
        trace = (self.small_sqr - self.large_sqr) / (1.0 / b - 1.0 / big)
        return sqr, trace


class NoiseScaleEstimator:
    """Smoothed |G|^2 and tr(Sigma); ``stats(M0)`` gives the GradStats the models use."""

    def __init__(self, smoothing: float = 0.99) -> None:
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"smoothing: must lie in [0, 1), got {smoothing}")
        self.smoothing = smoothing
        self._sqr = 0.0
        self._trace = 0.0
        self._weight = 0.0  # sum of EMA weights, for bias correction
        self.count = 0

    def update(self, sample: NormSample) -> None:
        sqr, trace = sample.estimates()
        a = self.smoothing
        self._sqr = a * self._sqr + (1 - a) * sqr
        self._trace = a * self._trace + (1 - a) * trace
        self._weight = a * self._weight + (1 - a)
        self.count += 1

    @property
    def ready(self) -> bool:
        return self.count > 0

    def sqr(self) -> float:
        """Smoothed |G|^2 (clipped at a tiny positive value: negative is noise)."""
        return max(self._sqr / self._weight, 1e-30) if self._weight else 0.0

    def trace(self) -> float:
        """Smoothed tr(Sigma), the per-sample gradient variance (clipped at 0)."""
        return max(self._trace / self._weight, 0.0) if self._weight else 0.0

    def noise_scale(self) -> float:
        """B_simple = tr(Sigma) / |G|^2 (= Pollux's phi)."""
        sqr = self.sqr()
        return self.trace() / sqr if sqr > 0 else float("inf")

    def stats(self, init_batch: int) -> GradStats | None:
        """GradStats with the variance at batch M0; None before the first sample."""
        if not self.ready:
            return None
        return GradStats(sqr=self.sqr(), var=self.trace() / init_batch)

    def state_dict(self) -> dict[str, float]:
        return {
            "smoothing": self.smoothing,
            "sqr": self._sqr,
            "trace": self._trace,
            "weight": self._weight,
            "count": self.count,
        }

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.smoothing = float(state["smoothing"])
        self._sqr = float(state["sqr"])
        self._trace = float(state["trace"])
        self._weight = float(state["weight"])
        self.count = int(state["count"])
