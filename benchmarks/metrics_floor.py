"""How few node-hours could any policy use at a given mean JCT? A floor for the `cost` target.

A relaxation of the simulator's scheduling problem, computed from the same hidden truth the
simulator runs on (``sim.truth.ProfileTruth``): every job runs alone, from the first round
after its submission, at whatever GPU count, local batch and accumulation is best for it epoch
by epoch. Capacity (64 GPUs), queueing, the doubling ramp of new jobs, restarts after the
first, node packing, provisioning and model error are all ignored, so any real schedule uses at
least this many GPU-hours. With the JCT budget B (a multiple of the ``goodput`` arm's total JCT)
the floor is the Lagrangian dual bound

    max over lambda of  sum_j min over schedules (GPU_s_j + lambda T_j)  -  lambda B,

valid for every lambda (weak duality), divided by the node size. Each job's inner minimum is
taken per epoch: the configuration minimising (k + lambda) / rate_e(k), lambda in GPUs.

It also runs the ``goodput`` arm of ``metrics_autoscale.py`` (same settings) for the reference.

    .venv/bin/python benchmarks/metrics_floor.py --traces ../shared/pollux-traces --json

Prints one JSON object: the goodput arm's mean JCT and node-hours, the floor's change in
node-hours relative to it at JCT budgets x1.0 / x1.15 / x1.5 / x2 / unbounded, and per
application the GPU-hours and time of one job in the relaxed schedule at the x1.15 budget.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from adaptsched.sim.autoscaler import AutoscaleConfig
from adaptsched.sim.paths import profiles_dir
from adaptsched.sim.runner import SimConfig, load_truths
from adaptsched.sim.truth import ProfileTruth
from adaptsched.sim.workload import JobSpec, load_workload
from adaptsched.stdout_guard import stdout_to_stderr

_SIM = SimConfig()  # the simulator settings metrics_autoscale.py runs with
GPUS_PER_NODE = _SIM.gpus_per_node
MAX_GPUS = AutoscaleConfig().max_nodes * GPUS_PER_NODE
BUDGETS = (1.0, 1.15, 1.5, 2.0)
LAMBDAS = np.geomspace(1e-3, 1e4, 701)  # seconds of a job valued as lambda GPU-seconds
MAX_LOCAL_CANDIDATES = 256

_HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("metrics_autoscale", _HERE / "metrics_autoscale.py")
metrics_autoscale = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
sys.modules.setdefault("metrics_autoscale", metrics_autoscale)  # so workers can unpickle it
_spec.loader.exec_module(metrics_autoscale)  # type: ignore[union-attr]


def packed(k: int) -> tuple[int, ...]:
    """k GPUs on as few nodes as possible."""
    full, rest = divmod(k, GPUS_PER_NODE)
    return (GPUS_PER_NODE,) * full + ((rest,) if rest else ())


def rate_table(truth: ProfileTruth) -> np.ndarray:
    """(MAX_GPUS, epochs): the best true progress per second on k packed GPUs in each epoch,
    over every admissible local batch (thinned to MAX_LOCAL_CANDIDATES log-spaced values) and
    accumulation count."""
    app, limits = truth.spec, truth.spec.limits()
    local = np.arange(limits.min_local, limits.local_upper + 1)
    if local.size > MAX_LOCAL_CANDIDATES:
        local = np.unique(np.geomspace(local[0], local[-1], MAX_LOCAL_CANDIDATES).astype(int))
    accum = np.arange(limits.max_accum_steps + 1)
    table = np.zeros((MAX_GPUS, app.epochs))
    for k in range(1, min(MAX_GPUS, app.max_replicas or MAX_GPUS) + 1):
        step_sync = np.array([truth.step_sync(packed(k), float(m)) for m in local])
        batch = k * local[:, None] * (accum[None, :] + 1)
        seconds = step_sync[:, :1] + (step_sync[:, :1] - step_sync[:, 1:]) * accum[None, :]
        ok = (batch >= limits.init_batch) & (batch <= limits.max_batch)
        if app.fixed_batch is not None:
            ok &= batch == app.fixed_batch
        if not ok.any():
            continue
        rates = truth.gains(batch[ok]) / seconds[ok][:, None]
        table[k - 1] = rates.max(axis=0)
    return table


def seconds_per_progress(truth: ProfileTruth) -> tuple[np.ndarray, np.ndarray]:
    """((MAX_GPUS, epochs) seconds per unit of progress on k packed GPUs, inf where k is not
    admissible; progress per epoch)."""
    rates = rate_table(truth)
    ends = np.array([truth.epoch_end(e) for e in range(truth.spec.epochs)])
    work = np.diff(np.concatenate([[0.0], ends]))
    per_progress = np.where(rates > 0, 1.0 / np.where(rates > 0, rates, 1.0), np.inf)
    return per_progress, work


def best_counts(per_progress: np.ndarray, lam: float) -> np.ndarray:
    """(epochs,) the GPU count per epoch minimising GPU-seconds + lam x seconds."""
    gpus = np.arange(1, per_progress.shape[0] + 1, dtype=float)[:, None]
    return np.argmin((gpus + lam) * per_progress, axis=0) + 1


def frontier(truth: ProfileTruth) -> tuple[np.ndarray, np.ndarray]:
    """Per lambda in LAMBDAS: (GPU-seconds, seconds) of one job of this application run
    alone, each epoch on the GPU count minimising GPU-seconds + lambda x seconds."""
    per_progress, work = seconds_per_progress(truth)
    epochs = np.arange(work.size)
    gpu_s, secs = np.zeros(LAMBDAS.size), np.zeros(LAMBDAS.size)
    for i, lam in enumerate(LAMBDAS):
        k = best_counts(per_progress, lam)
        t = per_progress[k - 1, epochs] * work
        secs[i], gpu_s[i] = t.sum(), (k * t).sum()
    return gpu_s, secs


def _frontier_task(task: tuple[str, str]) -> tuple[str, np.ndarray, np.ndarray]:
    traces, app = task
    truth = load_truths(traces, {app})[app]
    return (app, *frontier(truth))


def fixed_costs(
    jobs: list[JobSpec], interval_s: float = _SIM.interval_s, restart_s: float = _SIM.restart_s
) -> tuple[float, float]:
    """(GPU-seconds, seconds) every schedule pays: each job waits for the next round and its
    first start costs ``restart_s`` on at least one GPU."""
    waits = sum(
        math.ceil(j.submit_time_s / interval_s) * interval_s - j.submit_time_s for j in jobs
    )
    return restart_s * len(jobs), waits + restart_s * len(jobs)


def dual_floor(
    gpu_s: np.ndarray, secs: np.ndarray, fixed_gpu_s: float, fixed_s: float, budget_s: float
) -> tuple[float, int]:
    """(GPU-seconds floor, index of the best lambda) for total JCT <= ``budget_s``; ``gpu_s``
    and ``secs`` are summed over the jobs per lambda, ``fixed_*`` what every schedule pays."""
    values = gpu_s + fixed_gpu_s + LAMBDAS * (secs + fixed_s - budget_s)
    best = int(np.argmax(values))
    return float(values[best]), best


def main() -> int:
    args = metrics_autoscale.reference_parser(__doc__.splitlines()[0]).parse_args()
    files = metrics_autoscale.workload_files(args.traces)
    if not files:
        print(f"no workloads under {args.traces}", file=sys.stderr)
        return 2
    traces = str(profiles_dir(args.traces))
    workloads = [load_workload(f) for f in files]
    if len({len(w) for w in workloads}) != 1:
        # The target's mean JCT is a mean of per-workload means; the budget below is a total.
        print("workloads differ in job count; the JCT budget assumes equal counts", file=sys.stderr)
        return 2
    jobs = [job for w in workloads for job in w]
    apps = sorted({job.application for job in jobs})
    start = time.perf_counter()
    with stdout_to_stderr(), ProcessPoolExecutor(max_workers=args.workers) as pool:
        fronts = {a: (g, s) for a, g, s in pool.map(_frontier_task, [(traces, a) for a in apps])}
        goodput = metrics_autoscale.goodput_arm(pool, files, traces, args.generations)
    total_jct = goodput["mean_jct_s"] * len(jobs)  # workloads have equal job counts
    gpu_s = sum(fronts[j.application][0] for j in jobs)
    secs = sum(fronts[j.application][1] for j in jobs)
    fixed_gpu_s, fixed_s = fixed_costs(jobs)

    def change(floor_gpu_s: float) -> float:
        node_hours = floor_gpu_s / GPUS_PER_NODE / 3600.0
        return 100.0 * (node_hours / goodput["node_hours"] - 1.0)

    floors = {}
    for budget in BUDGETS:
        floors[f"x{budget:g}"] = change(
            dual_floor(gpu_s, secs, fixed_gpu_s, fixed_s, budget * total_jct)[0]
        )
    floors["unbounded"] = change(float((gpu_s + fixed_gpu_s).min()))
    _, at = dual_floor(gpu_s, secs, fixed_gpu_s, fixed_s, 1.15 * total_jct)
    report = {
        "goodput": {k: goodput[k] for k in ("mean_jct_s", "node_hours")},
        "node_hours_floor_change_pct": floors,
        "relaxed_job_at_x1.15": {
            app: {"gpu_hours": fronts[app][0][at] / 3600.0, "time_s": fronts[app][1][at]}
            for app in apps
        },
        "lambda_gpus_at_x1.15": float(LAMBDAS[at]),
        "wall_s": time.perf_counter() - start,
        "config": {"workloads": [f.stem for f in files], "generations": args.generations},
    }
    if args.json:
        print(json.dumps(report))
    else:
        jct, node_hours = goodput["mean_jct_s"], goodput["node_hours"]
        print(f"goodput: mean JCT {jct:.0f} s, {node_hours:.1f} node-hours")
        for key, value in floors.items():
            print(f"node-hours floor at JCT {key}: {value:+.1f} % vs goodput")
    return 0


if __name__ == "__main__":
    sys.exit(main())
