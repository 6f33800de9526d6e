"""Time the Pollux policy per scheduling round on synthetic clusters (16 nodes x 4 GPUs).

Each case runs consecutive rounds the way the simulator does: jobs keep the allocation the
policy gave them, age by one interval and, by default, get fresh gradient statistics every
round, so every job's speedup table is recomputed every round (the slow case for the cache).

    .venv/bin/python benchmarks/pollux_policy.py --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace

import numpy as np

from adaptsched.models import BatchLimits, GradStats, JobModel, ThroughputParams
from adaptsched.policy.base import ClusterSnapshot, JobInfo, NodeInfo
from adaptsched.policy.pollux import PolluxPolicy

#: Throughput constants and batch limits of a few job shapes (the order of magnitude of the
#: six Pollux applications: small/fast to large/communication-heavy).
ARCHETYPES = (
    (
        ThroughputParams(0.02, 0.0004, 0.08, 0.004, 0.01, 0.001, 1.6),
        BatchLimits(128, 4096, 32, 1024),
    ),
    (
        ThroughputParams(0.05, 0.0020, 0.30, 0.020, 0.08, 0.010, 2.0),
        BatchLimits(200, 12800, 20, 200),
    ),
    (ThroughputParams(0.10, 0.0300, 0.50, 0.050, 0.15, 0.020, 1.2), BatchLimits(12, 384, 4, 12)),
    (
        ThroughputParams(0.01, 0.0001, 0.03, 0.002, 0.01, 0.001, 3.0),
        BatchLimits(256, 32768, 32, 32768),
    ),
)
INTERVAL_S = 60.0


def make_jobs(count: int, rng: np.random.Generator) -> list[JobInfo]:
    jobs = []
    for i in range(count):
        params, limits = ARCHETYPES[i % len(ARCHETYPES)]
        grad = GradStats(sqr=1.0, var=float(rng.uniform(1, 200)))
        jobs.append(
            JobInfo(
                job_id=f"job-{i}",
                submit_time_s=-float(rng.uniform(0, 3600)),
                age_s=0.0,
                model=JobModel(params, grad, limits),
                attained_gpu_s=float(rng.uniform(0, 10000)),
            )
        )
    return jobs


def advance(jobs: list[JobInfo], decision, now_s: float, rng, fresh: bool) -> list[JobInfo]:
    """Next round's jobs: new allocation, age, attained service, restarts, grad stats."""
    out = []
    for job in jobs:
        alloc = tuple(decision.allocations.get(job.job_id, ()))
        restarts = job.restarts + (alloc != job.allocation and bool(alloc))
        model = job.model
        if fresh and model is not None:
            var = model.grad.var * float(rng.uniform(0.97, 1.05))
            model = replace(model, grad=GradStats(model.grad.sqr, var))
        out.append(
            replace(
                job,
                allocation=alloc,
                age_s=now_s - job.submit_time_s,
                restarts=restarts,
                attained_gpu_s=job.attained_gpu_s + len(alloc) * INTERVAL_S,
                model=model,
            )
        )
    return out


def run_case(
    jobs_count: int, rounds: int, seed: int, fresh: bool, patience: int | None
) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    nodes = tuple(NodeInfo(f"n{i:02d}", 4) for i in range(16))
    policy = PolluxPolicy(seed=seed, patience=patience)
    jobs = advance(make_jobs(jobs_count, rng), _empty(), 0.0, rng, fresh)
    times_ms, cpu_ms, utilities, objectives, generations = [], [], [], [], []
    for r in range(rounds):
        snap = ClusterSnapshot(time_s=r * INTERVAL_S, nodes=nodes, jobs=tuple(jobs))
        start, start_cpu = time.perf_counter(), time.process_time()
        decision = policy.decide(snap)
        times_ms.append((time.perf_counter() - start) * 1e3)
        cpu_ms.append((time.process_time() - start_cpu) * 1e3)
        utilities.append(decision.info["utility"])
        objectives.append(decision.info["objective"])
        generations.append(decision.info["generations"])
        jobs = advance(jobs, decision, (r + 1) * INTERVAL_S, rng, fresh)
    return {
        "jobs": jobs_count,
        "gpus": 64,
        "round_ms_p50": round(float(np.percentile(times_ms, 50)), 2),
        "round_ms_p95": round(float(np.percentile(times_ms, 95)), 2),
        "round_ms_mean": round(float(np.mean(times_ms)), 2),
        "round_cpu_ms_p50": round(float(np.percentile(cpu_ms, 50)), 2),
        "round_cpu_ms_mean": round(float(np.mean(cpu_ms)), 2),
        "generations_mean": round(float(np.mean(generations)), 1),
        "utility_mean": round(float(np.mean(utilities)), 4),
        "objective_mean": round(float(np.mean(objectives)), 4),
    }


def _empty():
    from adaptsched.policy.base import Decision

    return Decision(allocations={})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--jobs", type=int, nargs="+", default=[20, 10, 40])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cached", action="store_true", help="models fixed: tables cached")
    parser.add_argument("--patience", type=int, default=None, help="early stop (generations)")
    args = parser.parse_args(argv)
    cases = [run_case(n, args.rounds, args.seed, not args.cached, args.patience) for n in args.jobs]
    result = {
        **cases[0],
        "rounds": args.rounds,
        "fresh_models": not args.cached,
        "patience": args.patience,
        "cases": cases,
    }
    if args.json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        for case in cases:
            sys.stdout.write(" ".join(f"{k}={v}" for k, v in case.items()) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
