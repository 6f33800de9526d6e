"""Statistical efficiency from the gradient noise scale (Pollux, section 3.1; McCandlish et al.).

With ``phi = M0 * var / sqr`` (var: gradient variance at batch M0, sqr: squared norm of the
true gradient) the progress made per sample at total batch M relative to batch M0 is
``E(M) = (phi + M0) / (phi + M)``, which lies in (0, 1] for M >= M0 and falls with M.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adaptsched.models.errors import ModelInputError, as_finite_array, check_finite_scalar


@dataclass(frozen=True)
class GradStats:
    """Gradient statistics, the variance taken at the job's initial batch size M0."""

    sqr: float  # |E[g]|^2, squared norm of the true gradient
    var: float  # tr(Cov[g]) of the gradient estimate at batch M0

    def __post_init__(self) -> None:
        sqr = check_finite_scalar("grad_sqr", self.sqr)
        var = check_finite_scalar("grad_var", self.var)
        if sqr < 0:
            raise ModelInputError("grad_sqr: must be >= 0")
        if var < 0:
            raise ModelInputError("grad_var: must be >= 0")

    def noise_scale(self, init_batch: float) -> float:
        """phi = M0 * var / sqr; infinite when the true gradient vanishes (pure noise)."""
        if self.sqr <= 0:
            return float("inf")
        return float(init_batch) * self.var / self.sqr


def efficiency(stats: GradStats, init_batch: float, total_batch: np.ndarray | float) -> np.ndarray:
    """E(M) = (phi + M0) / (phi + M); 1 at M = M0, and 1 everywhere when phi is infinite."""
    m0 = check_finite_scalar("init_batch", init_batch, positive=True)
    batch = as_finite_array("total_batch", total_batch, positive=True)
    phi = stats.noise_scale(m0)
    if np.isinf(phi):
        return np.ones_like(batch)
    return (phi + m0) / (phi + batch)
