"""What a simulated job knows about itself: the throughput model it fitted on the step times it
has actually measured, the gradient statistics it measured last, and its prior before that.

Prior (no step measured yet): ``adaptsched.models.hints.PRIOR_PARAMS`` / ``PRIOR_GRAD``, linear
speedup and efficiency 1, as in the Pollux paper's simulator; the job starts at the smallest
admissible batch, max(M0, k x min local batch).
"""

from __future__ import annotations

from collections.abc import Callable

from adaptsched.models import StepObservations, ThroughputParams, fit_throughput
from adaptsched.models.pollux_fit import fit_pollux

Fitter = Callable[[StepObservations], ThroughputParams]
#: The fitters a simulated job may use: the project's default and the Pollux paper's.
FITTERS: dict[str, Fitter] = {"adaptsched": fit_throughput, "pollux": fit_pollux}


ObsKey = tuple[int, int, int]  # (nodes, replicas, local batch)


class FitCache:
    """Fitted parameters keyed by the exact set of observations.

    The simulated truth is deterministic, so two jobs of one application that measured the same
    configurations fit the same model; sharing the fit saves most of the optimiser calls.
    """

    def __init__(self, fitter: str = "adaptsched") -> None:
        if fitter not in FITTERS:
            raise ValueError(f"unknown fitter {fitter!r}; valid fitters: {', '.join(FITTERS)}")
        self._fit = FITTERS[fitter]
        self._fits: dict[tuple[str, tuple[ObsKey, ...]], ThroughputParams] = {}
        self.misses = 0

    def params(self, app: str, observed: dict[ObsKey, tuple[float, float]]) -> ThroughputParams:
        keys = tuple(sorted(observed))
        hit = self._fits.get((app, keys))
        if hit is None:
            rows = [(*key, *observed[key]) for key in keys]
            cols = list(zip(*rows, strict=True))
            obs = StepObservations(*(list(c) for c in cols))
            hit = self._fit(obs)
            self._fits[app, keys] = hit
            self.misses += 1
        return hit
