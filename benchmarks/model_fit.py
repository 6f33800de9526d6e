"""Throughput-model fitting on the Pollux paper's measured job profiles, two fitters side by side.

For every app in ``TRACES/traces`` both ``fit_pollux`` (the paper's fitter) and
``fit_throughput`` (adaptsched's) are fitted twice:

- in sample: on every row of placements.csv and scalability.csv, error on the same rows;
- extrapolation: on rows with at most 2 nodes and at most 4 replicas, error on all others;
- scale-out (a second honest split): on placements.csv (at most 4 nodes), error on
  scalability.csv (6 to 16 nodes).

Error is the mean absolute percentage error of the step time
``iteration_time(params, nodes, replicas, local_bsz, 0)``. Fit times are wall-clock per fit.

    .venv/bin/python benchmarks/model_fit.py --traces ../shared/pollux-traces --json
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import optimize

from adaptsched.models import (
    StepObservations,
    ThroughputParams,
    fit_pollux,
    fit_throughput,
    iteration_time,
)
from adaptsched.models.fit_core import log_overlap, single_threaded_blas

DEFAULT_TRACES = os.environ.get("ADAPTSCHED_TRACES", "../shared/pollux-traces")
FITTERS: dict[str, Callable[[StepObservations], ThroughputParams]] = {
    "pollux": fit_pollux,
    "adaptsched": fit_throughput,
}
#: Held-out splits: name -> which rows a fit may see (the rest are predicted).
SPLITS: dict[str, Callable[[Profile], np.ndarray]] = {}


@dataclass(frozen=True)
class Profile:
    """All measured rows of one app as columns (nodes, replicas, local batch, times in s)."""

    nodes: np.ndarray
    replicas: np.ndarray
    local_bsz: np.ndarray
    step_time: np.ndarray
    sync_time: np.ndarray
    placement: np.ndarray  # "1124" for placements.csv rows (digits sorted), "6x24" otherwise

    def subset(self, mask: np.ndarray) -> Profile:
        return Profile(*(getattr(self, f)[mask] for f in self.__dataclass_fields__))

    def observations(self) -> StepObservations:
        return StepObservations(
            self.nodes, self.replicas, self.local_bsz, self.step_time, self.sync_time
        )


SPLITS["extrapolation_mape_pct"] = lambda prof: (prof.nodes <= 2) & (prof.replicas <= 4)
SPLITS["scale_out_mape_pct"] = lambda prof: prof.nodes <= 4  # placements.csv only


def _read_rows(path: Path) -> list[tuple[float, float, float, float, float, str]]:
    """Rows of placements.csv ("1244" = 4 nodes, 11 replicas) or scalability.csv."""
    rows = []
    with path.open(newline="") as handle:
        for line, rec in enumerate(csv.DictReader(handle), start=2):
            try:
                if "placement" in rec:
                    digits = sorted(int(c) for c in rec["placement"].strip())
                    nodes, replicas = len(digits), sum(digits)
                    where = "".join(map(str, digits))
                else:
                    nodes, replicas = int(rec["num_nodes"]), int(rec["num_replicas"])
                    where = f"{nodes}x{replicas}"
                values = (float(rec["local_bsz"]), float(rec["step_time"]))
                rows.append((nodes, replicas, *values, float(rec["sync_time"]), where))
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{path}:{line}: malformed row ({exc})") from exc
    return rows


def load_profile(app_dir: Path) -> Profile:
    """placements.csv and scalability.csv of one app, concatenated."""
    rows = _read_rows(app_dir / "placements.csv") + _read_rows(app_dir / "scalability.csv")
    cols = list(zip(*rows, strict=True))
    return Profile(*(np.array(col, dtype=float) for col in cols[:-1]), np.array(cols[-1]))


def mape_pct(params: ThroughputParams, prof: Profile) -> float:
    """Mean absolute percentage error of predicted step times (no accumulation)."""
    pred = iteration_time(params, prof.nodes, prof.replicas, prof.local_bsz, 0)
    return float(np.mean(np.abs(pred - prof.step_time) / prof.step_time) * 100)


def evaluate_app(prof: Profile, fitter: Callable, times_ms: list[float]) -> dict[str, float]:
    """In-sample and held-out errors of one fitter on one app; appends fit times."""
    cases = [("in_sample_mape_pct", prof, prof)]
    for name, split in SPLITS.items():
        train = split(prof)
        cases.append((name, prof.subset(train), prof.subset(~train)))
    out = {}
    for name, fit_on, test_on in cases:
        start = time.perf_counter()
        params = fitter(fit_on.observations())
        times_ms.append((time.perf_counter() - start) * 1000)
        out[name] = round(mape_pct(params, test_on), 2)
    return out


def separable_floor_pct(prof: Profile, by_placement: bool = False) -> float:
    """In-sample error of the most flexible model of Pollux's structure: a free compute time
    per local batch, a free sync time per (nodes, replicas) and one overlap exponent, fitted
    with a soft-L1 loss on log step times. No model of the form (T_grad(m)^g + T_sync(N, K)^g)
    ^(1/g) can fit these rows better (up to the loss/metric mismatch). ``by_placement``: a
    free sync time per placement instead ("1124" apart from "2222"), which no model of
    (N, K) alone can know."""
    m_keys, m_idx = np.unique(prof.local_bsz, return_inverse=True)
    if by_placement:
        nk_keys, nk_idx = np.unique(prof.placement, return_inverse=True)
    else:
        nk = np.stack([prof.nodes, prof.replicas], axis=1)
        nk_keys, nk_idx = np.unique(nk, axis=0, return_inverse=True)
    nk_idx = nk_idx.reshape(-1)
    multi = prof.replicas > 1
    n_m, n_s = m_keys.size, nk_keys.shape[0]
    log_step = np.log(prof.step_time)

    def parts(x: np.ndarray) -> tuple:
        t_grad = np.exp(x[1 : 1 + n_m])[m_idx]
        t_sync = np.where(multi, np.exp(x[1 + n_m :])[nk_idx], 0.0)
        return t_grad, t_sync, log_overlap(t_grad, t_sync, 1.0 + np.exp(x[0]))

    def jacobian(x: np.ndarray) -> np.ndarray:
        t_grad, t_sync, ov = parts(x)
        jac = np.zeros((prof.step_time.size, 1 + n_m + n_s))
        rows = np.arange(prof.step_time.size)
        jac[:, 0] = ov.d_gamma * np.exp(x[0])
        jac[rows, 1 + m_idx] = ov.d_grad * t_grad
        jac[rows, 1 + n_m + nk_idx] = ov.d_sync * t_sync
        return jac

    compute = prof.step_time - prof.sync_time
    x0 = np.concatenate(
        [[0.0], np.log([np.median(compute[m_idx == i]) for i in range(n_m)]), np.full(n_s, -3.0)]
    )
    with single_threaded_blas():
        result = optimize.least_squares(
            lambda x: parts(x)[2].value - log_step, x0, jac=jacobian, loss="soft_l1", f_scale=0.01
        )
    pred = np.exp(parts(result.x)[2].value)
    return float(np.mean(np.abs(pred - prof.step_time) / prof.step_time) * 100)


def row_noise_pct(prof: Profile) -> float:
    """Measurement noise no smooth model can fit, estimated from the rows themselves: within
    each placement, log step time at local batch m_i against the quadratic in log m through
    its four neighbours (m_i-2, m_i-1, m_i+1, m_i+2; evenly spaced on these profiles'
    sqrt(2) grid). For independent noise of mean absolute size d the deviation has mean
    absolute size sqrt(1 + 2 (2/3)^2 + 2 (1/6)^2) d = 1.394 d; returns d in percent."""
    devs = []
    for where in np.unique(prof.placement):
        rows = prof.placement == where
        order = np.argsort(prof.local_bsz[rows])
        x = np.log(prof.local_bsz[rows][order])
        y = np.log(prof.step_time[rows][order])
        for i in range(2, x.size - 2):
            gaps = np.diff(x[i - 2 : i + 3])
            if np.allclose(gaps, gaps[0], rtol=0.05):
                pred = (2 / 3) * (y[i - 1] + y[i + 1]) - (1 / 6) * (y[i - 2] + y[i + 2])
                devs.append(abs(y[i] - pred))
    if not devs:
        return float("nan")
    return float(np.mean(devs) / np.sqrt(1 + 2 * (2 / 3) ** 2 + 2 * (1 / 6) ** 2) * 100)


def app_dirs(traces: Path) -> list[Path]:
    root = traces / "traces"
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no traces directory (set --traces or ADAPTSCHED_TRACES)")
    return sorted(p for p in root.iterdir() if (p / "placements.csv").is_file())


def run(traces: Path, floor: bool = False) -> dict:
    """The whole benchmark: every app, every fitter (and the separable floor if asked)."""
    times: dict[str, list[float]] = {name: [] for name in FITTERS}
    apps, floors = {}, {}
    for app_dir in app_dirs(traces):
        prof = load_profile(app_dir)
        apps[app_dir.name] = {
            name: evaluate_app(prof, fitter, times[name]) for name, fitter in FITTERS.items()
        }
        if floor:
            floors[app_dir.name] = {
                "separable": round(separable_floor_pct(prof), 2),
                "separable_by_placement": round(separable_floor_pct(prof, by_placement=True), 2),
                "row_noise": round(row_noise_pct(prof), 2),
            }
    result = {
        "apps": apps,
        "fit_ms_p50": round(float(np.median(times["adaptsched"])), 2),
        "pollux_fit_ms_p50": round(float(np.median(times["pollux"])), 2),
    }
    if floor:
        result["floors_pct"] = floors
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=Path, default=Path(DEFAULT_TRACES))
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also fit the separable floor models and estimate the row noise (slower)",
    )
    args = parser.parse_args(argv)
    result = run(args.traces, floor=args.floor)
    if args.json:
        print(json.dumps(result))
        return 0
    for app, fits in result["apps"].items():
        for name, errs in fits.items():
            print(
                f"{app:12s} {name:10s} in-sample {errs['in_sample_mape_pct']:6.2f}%  "
                f"extrapolation {errs['extrapolation_mape_pct']:7.2f}%  "
                f"scale-out {errs['scale_out_mape_pct']:7.2f}%"
            )
    for app, pct in result.get("floors_pct", {}).items():
        print(
            f"{app:12s} in-sample floors: separable {pct['separable']:6.2f}%, "
            f"by placement {pct['separable_by_placement']:6.2f}%, "
            f"row noise {pct['row_noise']:6.2f}%"
        )
    print(
        f"fit_ms_p50 adaptsched {result['fit_ms_p50']} ms, pollux {result['pollux_fit_ms_p50']} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
