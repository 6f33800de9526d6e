"""Allocation policies side by side from 64 to 4096 GPUs: time per round, peak memory, and
Pollux's objective against an upper bound.

For each size (4 GPUs per node; 10 / 40 / 160 / 640 jobs at 64 / 256 / 1024 / 4096 GPUs) the
benchmark first records a sequence of rounds the way ``pollux_policy.py`` builds them (jobs
keep the allocation they were given, age, get fresh gradient statistics every round, and are
replaced with probability ``--churn``), driven by ``pollux-milp``'s decisions. Every policy
then decides on the *same* snapshots, each in a subprocess of its own so that its peak
resident memory is its own. One shared scorer (``policy.objective.decision_objective``) gives
Pollux's objective of every decision, and the LP relaxation of ``policy.milp.objective_bound``
an upper bound that holds for any search. A policy stops after ``--max-policy-s`` seconds of
deciding (at least one round), which limits the genetic search at 4096 GPUs; the JSON says how
many rounds each ran (``rounds``), and ``milp_over_genetic`` compares the two searches'
objectives on the rounds both ran. Round times are wall-clock (``round_ms_*``; every round's
in ``round_ms``) and the process's CPU (``round_cpu_ms_*``): on a shared machine the CPU
figures are the steadier. ``solves_per_round`` says which rounds a search solved again after
placement (``pollux-milp``'s ``attempts``; 1 for a policy that does not say).

    .venv/bin/python benchmarks/policy_scale.py --json
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from pollux_policy import INTERVAL_S, advance, initial_jobs

from adaptsched.policy.base import ClusterSnapshot, Decision, NodeInfo
from adaptsched.policy.milp import MilpPolicy, objective_bound
from adaptsched.policy.objective import decision_objective
from adaptsched.policy.registry import make_policy
from adaptsched.stdout_guard import stdout_to_stderr

#: GPUs -> jobs (about one job per 6.4 GPUs, as in the issue's measurements).
SIZES = {64: 10, 256: 40, 1024: 160, 4096: 640}
GPUS_PER_NODE = 4


def record_rounds(gpus: int, jobs: int, rounds: int, seed: int, churn: float) -> list:
    """The snapshots of ``rounds`` rounds on ``gpus`` GPUs, driven by ``pollux-milp``."""
    rng = np.random.default_rng(seed)
    nodes = tuple(NodeInfo(f"n{i:04d}", GPUS_PER_NODE) for i in range(gpus // GPUS_PER_NODE))
    current = advance(initial_jobs(jobs, rng), Decision(allocations={}), 0.0, rng, 0.0)
    driver = MilpPolicy()
    snapshots = []
    for r in range(rounds):
        snap = ClusterSnapshot(time_s=r * INTERVAL_S, nodes=nodes, jobs=tuple(current))
        snapshots.append(snap)
        current = advance(current, driver.decide(snap), (r + 1) * INTERVAL_S, rng, churn)
    return snapshots


def run_child(args: argparse.Namespace) -> int:
    """In a subprocess: decide on every recorded snapshot, print timings, decisions and the
    process's peak resident memory."""
    snapshots = pickle.loads(Path(args.child).read_bytes())
    policy = make_policy(args.policy, **json.loads(args.options))
    wall_ms, cpu_ms, decisions, solves = [], [], [], []
    spent_s = 0.0
    with stdout_to_stderr():  # the parent reads this process's stdout as JSON
        for snap in snapshots:
            start, start_cpu = time.perf_counter(), time.process_time()
            decision = policy.decide(snap)
            wall_ms.append((time.perf_counter() - start) * 1e3)
            cpu_ms.append((time.process_time() - start_cpu) * 1e3)
            decisions.append({k: list(v) for k, v in decision.allocations.items()})
            solves.append(int(decision.info.get("attempts", 1)))
            spent_s += wall_ms[-1] / 1e3
            if spent_s >= args.max_policy_s:
                break
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    json.dump(
        {
            "wall_ms": wall_ms,
            "cpu_ms": cpu_ms,
            "decisions": decisions,
            "solves": solves,
            "peak_rss_mb": peak_mb,
        },
        sys.stdout,
    )
    return 0


def _pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 1)


def measure(snapshots: list, policy: str, options: dict, max_policy_s: float, folder: Path) -> dict:
    """One policy over the recorded snapshots, in a subprocess."""
    path = folder / "snapshots.pkl"
    if not path.exists():
        path.write_bytes(pickle.dumps(snapshots))
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            str(path),
            "--policy",
            policy,
            "--options",
            json.dumps(options),
            "--max-policy-s",
            str(max_policy_s),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def score(snapshots: list, runs: dict[str, dict], bounds: list[float]) -> dict:
    """Per policy: round times, memory, objective and bound over the rounds it ran."""
    report = {}
    for name, run in runs.items():
        count = len(run["decisions"])
        objective = [
            decision_objective(snap, Decision(allocations={k: tuple(v) for k, v in d.items()}))
            for snap, d in zip(snapshots[:count], run["decisions"], strict=True)
        ]
        ratio = [o / b if b > 0 else 1.0 for o, b in zip(objective, bounds, strict=False)]
        report[name] = {
            "round_ms_p50": _pct(run["wall_ms"], 50),
            "round_ms_p95": _pct(run["wall_ms"], 95),
            "round_cpu_ms_p50": _pct(run["cpu_ms"], 50),
            "round_cpu_ms_p95": _pct(run["cpu_ms"], 95),
            "peak_rss_mb": round(run["peak_rss_mb"], 1),
            "objective": round(float(np.mean(objective)), 4),
            "lp_bound": round(float(np.mean(bounds[:count])), 4),
            "objective_to_bound": round(float(np.mean(ratio)), 4),
            "worst_round_to_bound": round(float(np.min(ratio)), 4),
            "rounds": count,
            "round_ms": [round(ms, 1) for ms in run["wall_ms"]],
            "solves_per_round": run["solves"],
            "_objectives": objective,
        }
    return report


def compare(report: dict, first: str, second: str) -> float | None:
    """Mean objective of ``first`` over that of ``second`` on the rounds both ran."""
    if first not in report or second not in report:
        return None
    a, b = report[first]["_objectives"], report[second]["_objectives"]
    both = min(len(a), len(b))
    return round(float(np.mean(a[:both]) / np.mean(b[:both])), 4)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--policies", nargs="+", default=["pollux", "pollux-milp"])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--churn", type=float, default=0.03, help="P(job replaced) per round")
    parser.add_argument(
        "--options", default="{}", help='JSON: policy -> options, e.g. {"pollux": {"seed": 1}}'
    )
    parser.add_argument("--max-policy-s", type=float, default=300.0)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--policy", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return run_child(args)
    options = json.loads(args.options)
    result: dict = {"sizes": {}, "jobs": {}, "milp_over_genetic": {}}
    for gpus in args.sizes:
        jobs = SIZES.get(gpus, max(1, round(gpus / 6.4)))
        snapshots = record_rounds(gpus, jobs, args.rounds, args.seed, args.churn)
        bounds = [objective_bound(s) for s in snapshots]
        with tempfile.TemporaryDirectory() as tmp:
            runs = {
                p: measure(snapshots, p, options.get(p, {}), args.max_policy_s, Path(tmp))
                for p in args.policies
            }
        report = score(snapshots, runs, bounds)
        result["milp_over_genetic"][str(gpus)] = compare(report, "pollux-milp", "pollux")
        for entry in report.values():
            del entry["_objectives"]
        result["sizes"][str(gpus)] = report
        result["jobs"][str(gpus)] = jobs
        if not args.json:
            print(gpus, json.dumps(report), flush=True)
    result["config"] = {
        "gpus_per_node": GPUS_PER_NODE,
        "rounds": args.rounds,
        "churn": args.churn,
        "seed": args.seed,
        "options": options,
        "max_policy_s": args.max_policy_s,
        "driver": "pollux-milp",
    }
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
