"""The one exception type for bad model input, and the checks that raise it."""

from __future__ import annotations

import numpy as np


class ModelInputError(ValueError):
    """Input to a model function is malformed; the message names the offending field."""


def as_finite_array(name: str, value: object, *, positive: bool = False) -> np.ndarray:
    """Convert to a float array, rejecting NaN, inf and (optionally) non-positive entries."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ModelInputError(f"{name}: not numeric ({exc})") from exc
    if not np.all(np.isfinite(arr)):
        raise ModelInputError(f"{name}: contains NaN or infinite values")
    if positive and np.any(arr <= 0):
        raise ModelInputError(f"{name}: must be > 0, got min {arr.min():g}")
    return arr


def check_non_negative(name: str, value: object) -> np.ndarray:
    """Finite and >= 0 (times, variances)."""
    arr = as_finite_array(name, value)
    if np.any(arr < 0):
        raise ModelInputError(f"{name}: must be >= 0, got min {arr.min():g}")
    return arr


def check_finite_scalar(name: str, value: object, *, positive: bool = False) -> float:
    """A single finite float (optionally > 0)."""
    arr = as_finite_array(name, value, positive=positive)
    if arr.ndim != 0:
        raise ModelInputError(f"{name}: expected a scalar, got shape {arr.shape}")
    return float(arr)
