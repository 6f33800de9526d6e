"""What would the `cost` target take with perfect knowledge? Jobs sized by the hidden truth.

``metrics_floor.py`` prices node-hours against JCT for a relaxation with no capacity and no
queueing. This benchmark keeps everything the simulator models (64 GPUs at most, queueing,
the doubling ramp of new jobs, restarts, node packing, provisioning) and replaces only the
policy. ``TruthSizedPolicy`` gives every job, epoch by epoch, the GPU count that minimises
``(k + lambda) / rate_e(k)`` by the simulator's own truth: the relaxation's choice, made with
knowledge no real policy has. Jobs take GPUs shortest relaxed remaining time first, and the
autoscaler asks for the nodes the sizes add up to. Sweeping lambda (seconds of a job valued as
lambda GPU-seconds) traces the node-hours / mean-JCT trade such sizes can buy.

    .venv/bin/python benchmarks/metrics_oracle_sizes.py --traces ../shared/pollux-traces --json

Prints one JSON object: the ``goodput`` arm of ``metrics_autoscale.py`` (same settings) and,
per lambda, mean JCT and node-hours with their change relative to goodput in percent.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import ClassVar

import numpy as np

from adaptsched.policy.base import ClusterSnapshot, Decision, JobInfo, Placement, Policy
from adaptsched.sim.paths import profiles_dir
from adaptsched.sim.runner import run_workload_file
from adaptsched.sim.truth import ProfileTruth
from adaptsched.sim.workload import load_workload
from adaptsched.stdout_guard import stdout_to_stderr

LAMBDAS = (1.0, 2.0, 3.0, 8.0)

_HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("metrics_floor", _HERE / "metrics_floor.py")
metrics_floor = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
sys.modules.setdefault("metrics_floor", metrics_floor)  # so workers can unpickle it
_spec.loader.exec_module(metrics_floor)  # type: ignore[union-attr]
metrics_autoscale = metrics_floor.metrics_autoscale


class _Sizes:
    """One application's relaxed plan: GPU count per epoch, epoch ends, relaxed seconds left
    from each epoch on."""

    def __init__(self, truth: ProfileTruth, lam: float) -> None:
        per_progress, work = metrics_floor.seconds_per_progress(truth)
        self.counts = metrics_floor.best_counts(per_progress, lam)
        self.ends = np.cumsum(work)
        seconds = per_progress[self.counts - 1, np.arange(work.size)] * work
        self.left_s = np.cumsum(seconds[::-1])[::-1]
        self.total = float(truth.total_progress)

    def at(self, remaining_fraction: float) -> tuple[int, float]:
        """(GPU count, relaxed seconds left) in the epoch the job has reached."""
        done = (1.0 - remaining_fraction) * self.total
        epoch = min(int(np.searchsorted(self.ends, done, side="right")), self.ends.size - 1)
        return int(self.counts[epoch]), float(self.left_s[epoch])


class TruthSizedPolicy(Policy):
    """Every job on its relaxed GPU count (by the truth), shortest relaxed remaining time
    first; a job keeps its placement while its count is unchanged. A job larger than a node
    takes whole free nodes, so no node hosts two multi-node jobs (Pollux's rule)."""

    name: ClassVar[str] = "truth-sized"

    def __init__(self, sizes: dict[str, _Sizes], app_of: dict[str, str]) -> None:
        self._sizes, self._app_of = sizes, app_of

    def _want(self, job: JobInfo, per_node: int) -> tuple[int, float]:
        count, left_s = self._sizes[self._app_of[job.job_id]].at(job.remaining_fraction)
        count = min(count, job.max_replicas)
        if count > per_node:  # whole nodes, at least two, within the ramp's limit
            whole = min(max(2, round(count / per_node)), job.max_replicas // per_node)
            count = whole * per_node if whole >= 2 else per_node
        return max(count, 1), left_s

    def decide(self, snapshot: ClusterSnapshot) -> Decision:
        per_node = snapshot.gpus_per_node
        wants = {j.job_id: self._want(j, per_node) for j in snapshot.jobs}
        demand = sum(count for count, _ in wants.values())
        desired = min(max(math.ceil(demand / per_node), snapshot.min_nodes), snapshot.max_nodes)
        free = {n.node_id: n.gpus for n in snapshot.nodes if n.ready}
        order = sorted(snapshot.jobs, key=lambda j: (wants[j.job_id][1], j.submit_time_s))
        placed: dict[str, Placement] = {}
        for job in order:  # unchanged counts keep their placement
            current = job.allocation
            if len(current) == wants[job.job_id][0] and all(
                free.get(n, 0) >= current.count(n) for n in set(current)
            ):
                for node_id in current:
                    free[node_id] -= 1
                placed[job.job_id] = current
        for job in order:
            if job.job_id not in placed:
                placed[job.job_id] = _place(wants[job.job_id][0], free, per_node)
        return Decision(allocations=placed, desired_nodes=desired)


def _place(count: int, free: dict[str, int], per_node: int) -> Placement:
    """Take ``count`` GPUs from ``free`` (updated): whole free nodes for a multi-node job
    (falling back to one node), else the fullest node that fits, else what the emptiest
    node has left."""
    if count > per_node:
        whole = [n for n, f in free.items() if f == per_node][: count // per_node]
        if len(whole) >= 2:
            for node_id in whole:
                free[node_id] = 0
            return tuple(n for n in whole for _ in range(per_node))
        count = per_node
    fits = sorted((n for n, f in free.items() if f >= count), key=lambda n: free[n])
    if not fits:
        fits = sorted((n for n, f in free.items() if f > 0), key=lambda n: -free[n])
        if not fits:
            return ()
        count = free[fits[0]]
    free[fits[0]] -= count
    return (fits[0],) * count


def _run_sized(task: tuple[str, str, float]) -> tuple[float, str, dict[str, float]]:
    workload, traces, lam = task
    profiles = metrics_autoscale.truths(traces)
    app_of = {job.name: job.application for job in load_workload(workload)}
    sizes = {app: _Sizes(profiles[app], lam) for app in set(app_of.values())}
    policy = TruthSizedPolicy(sizes, app_of)
    result = run_workload_file(workload, profiles, policy, metrics_autoscale.sim_config())
    return lam, Path(workload).stem, result.summary()


def main() -> int:
    parser = metrics_autoscale.reference_parser(__doc__.splitlines()[0])
    parser.add_argument("--lambdas", type=float, nargs="+", default=list(LAMBDAS))
    args = parser.parse_args()
    files = metrics_autoscale.workload_files(args.traces)
    if not files:
        print(f"no workloads under {args.traces}", file=sys.stderr)
        return 2
    traces = str(profiles_dir(args.traces))
    start = time.perf_counter()
    with stdout_to_stderr(), ProcessPoolExecutor(max_workers=args.workers) as pool:
        goodput = metrics_autoscale.goodput_arm(pool, files, traces, args.generations)
        tasks = [(str(f), traces, lam) for lam in args.lambdas for f in files]
        sized = list(pool.map(_run_sized, tasks))
    report: dict = {"goodput": {k: goodput[k] for k in ("mean_jct_s", "node_hours")}}
    report["lambdas"] = {}
    for lam in args.lambdas:
        runs = [summary for at, _, summary in sized if at == lam]
        jct = float(np.mean([s["mean_jct_s"] for s in runs]))
        node_hours = float(np.sum([s["node_hours"] for s in runs]))
        report["lambdas"][f"{lam:g}"] = {
            "mean_jct_s": jct,
            "node_hours": node_hours,
            "jct_change_pct": 100.0 * (jct / goodput["mean_jct_s"] - 1.0),
            "node_hours_change_pct": 100.0 * (node_hours / goodput["node_hours"] - 1.0),
        }
    report["wall_s"] = time.perf_counter() - start
    report["config"] = {"workloads": [f.stem for f in files], "generations": args.generations}
    if args.json:
        print(json.dumps(report))
    else:
        print(f"goodput: {goodput['mean_jct_s']:.0f} s, {goodput['node_hours']:.1f} node-hours")
        for lam, fig in report["lambdas"].items():
            print(
                f"lambda {lam}: JCT {fig['jct_change_pct']:+.1f} %, "
                f"node-hours {fig['node_hours_change_pct']:+.1f} %"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
