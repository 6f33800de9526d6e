"""Calibration of the simulator against the Pollux paper's own simulator results.

Runs the eight workloads of ``../shared/pollux-traces/workloads`` under one policy (two worker
processes) and prints one JSON object: mean JCT over the workloads, per-workload figures, the
policy's time per round and the wall time, next to the paper's numbers (``reference``) where
the reference file for the policy exists.

    .venv/bin/python benchmarks/sim_pollux.py --traces ../shared/pollux-traces \
        --policy tiresias --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

import numpy as np

from adaptsched.policy.registry import make_policy, policy_names
from adaptsched.sim.paths import profiles_dir, traces_root
from adaptsched.sim.runner import SimConfig, load_truths, run_workload_file
from adaptsched.stdout_guard import stdout_to_stderr

_TRUTHS: dict = {}


def _run_one(task: tuple[str, str, str, int]) -> tuple[str, dict, list[float], dict[str, float]]:
    workload, traces, policy_name, seed = task
    if traces not in _TRUTHS:
        _TRUTHS[traces] = load_truths(traces)
    result = run_workload_file(workload, _TRUTHS[traces], make_policy(policy_name, seed=seed))
    jcts = {j.name: j.jct_s for j in result.jobs}
    return Path(workload).stem, result.summary(), list(result.policy_latency_s), jcts


#: Policies compared with another's published results (the MILP optimises Pollux's objective).
REFERENCE_OF = {"pollux-milp": "pollux"}


def _reference(root: Path, policy: str) -> dict | None:
    path = root / "reference-results" / f"{REFERENCE_OF.get(policy, policy)}-1.0.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    return {"mean_jct_s": data["mean"], "workloads": data["avgs"], "jcts": data["jcts"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=Path, default=traces_root(), help="reference data root")
    parser.add_argument("--policy", default="pollux", choices=policy_names())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    root = args.traces if (args.traces / "workloads").is_dir() else args.traces.parent
    workloads = sorted((root / "workloads").glob("workload-*.csv"))
    if not workloads:
        print(f"no workloads under {root / 'workloads'}", file=sys.stderr)
        return 2
    traces = str(profiles_dir(args.traces))
    tasks = [(str(w), traces, args.policy, args.seed) for w in workloads]
    start = time.perf_counter()
    with stdout_to_stderr(), ProcessPoolExecutor(max_workers=args.workers) as pool:
        outcomes = list(pool.map(_run_one, tasks))
    wall_s = time.perf_counter() - start
    latency_ms = np.array([x for _, _, lat, _ in outcomes for x in lat] or [0.0]) * 1e3
    keys = ("mean_jct_s", "p99_jct_s", "makespan_s", "gpu_hours", "restarts_per_job")
    report = {
        "policy": args.policy,
        "mean_jct_s": float(np.mean([s["mean_jct_s"] for _, s, _, _ in outcomes])),
        "workloads": {name: {k: s[k] for k in keys} for name, s, _, _ in outcomes},
        "policy_latency_ms": {
            "p50": float(np.percentile(latency_ms, 50)),
            "p95": float(np.percentile(latency_ms, 95)),
        },
        "wall_s": wall_s,
        "config": asdict(SimConfig()),
    }
    ref = _reference(root, args.policy)
    if ref is not None:
        report["reference"] = {"mean_jct_s": ref["mean_jct_s"], "workloads": ref["workloads"]}
        report["vs_reference"] = {
            "mean_jct_ratio": report["mean_jct_s"] / ref["mean_jct_s"],
            "per_app_mean_jct_ratio": _per_app_ratio(outcomes, ref["jcts"]),
        }
    if args.json:
        print(json.dumps(report))
    else:
        print(json.dumps(report, indent=1))
    return 0


def _per_app_ratio(outcomes: list, ref_jcts: dict) -> dict[str, float]:
    """Mean JCT per application, ours over the paper's (which jobs drive a difference)."""
    ours: dict[str, list[float]] = {}
    theirs: dict[str, list[float]] = {}
    for name, _, _, jcts in outcomes:
        for job, jct in jcts.items():
            app = job.rsplit("-", 1)[0]
            if job in ref_jcts.get(name, {}):
                ours.setdefault(app, []).append(jct)
                theirs.setdefault(app, []).append(ref_jcts[name][job])
    return {app: float(np.mean(ours[app]) / np.mean(theirs[app])) for app in sorted(ours)}


if __name__ == "__main__":
    raise SystemExit(main())
