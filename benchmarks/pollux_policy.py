"""Time the Pollux policy per scheduling round on synthetic clusters (16 nodes x 4 GPUs).

Each case runs consecutive rounds the way the simulator does: jobs keep the allocation the
policy gave them, age by one interval, get fresh gradient statistics every round (so every
speedup table is rebuilt: the slow case for the cache), and each job finishes with
probability ``--churn`` per round, replaced by a newly submitted one (so the search keeps
having new work, as with a real workload). Half of the job shapes use the extended
cross-node sync terms that adaptsched's fitter produces.

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
from adaptsched.policy.base import ClusterSnapshot, Decision, JobInfo, NodeInfo
from adaptsched.policy.pollux import PolluxPolicy

#: Throughput constants and batch limits of a few job shapes (the order of magnitude of the
#: six Pollux applications: small/fast to large/communication-heavy).
ARCHETYPES = (
    (
        ThroughputParams(0.02, 0.0004, 0.08, 0.004, 0.01, 0.001, 1.6),
        BatchLimits(128, 4096, 32, 1024),
    ),
    (
        ThroughputParams(0.05, 0.002, 0.30, 0.02, 0.08, 0.01, 2.0, beta_ppn=0.05, beta_nodes=0.02),
        BatchLimits(200, 12800, 20, 200),
    ),
    (ThroughputParams(0.10, 0.0300, 0.50, 0.050, 0.15, 0.020, 1.2), BatchLimits(12, 384, 4, 12)),
    (
        ThroughputParams(0.01, 0.0001, 0.03, 0.0, 0.01, 0.001, 3.0, beta_ppn=0.01, beta_nodes=0.01),
        BatchLimits(256, 32768, 32, 32768),
    ),
)
INTERVAL_S = 60.0


def new_job(number: int, now_s: float, rng: np.random.Generator) -> JobInfo:
    """Job ``number``, submitted at ``now_s`` (earlier for the initial jobs), no GPUs yet."""
    params, limits = ARCHETYPES[number % len(ARCHETYPES)]
    grad = GradStats(sqr=1.0, var=float(rng.uniform(1, 200)))
    return JobInfo(
        job_id=f"job-{number}",
        submit_time_s=now_s,
        age_s=0.0,
        model=JobModel(params, grad, limits),
    )


def initial_jobs(count: int, rng: np.random.Generator) -> list[JobInfo]:
    return [
        replace(new_job(i, -float(rng.uniform(0, 3600)), rng), attained_gpu_s=1e4 * rng.random())
        for i in range(count)
    ]


def advance(
    jobs: list[JobInfo], decision: Decision, now_s: float, rng: np.random.Generator, churn: float
) -> list[JobInfo]:
    """Next round's jobs: new allocation, age, attained service, restarts, gradient
    statistics; finished jobs replaced by new ones."""
    out = []
    for job in jobs:
        if rng.random() < churn:
            number = int(job.job_id.split("-")[1]) + len(jobs)
            out.append(replace(new_job(number, now_s, rng), age_s=1.0))
            continue
        alloc = tuple(decision.allocations.get(job.job_id, ()))
        restarts = job.restarts + (alloc != job.allocation and bool(alloc))
        model = job.model
        if model is not None:
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
    jobs_count: int, rounds: int, seed: int, churn: float, patience: int | None
) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    nodes = tuple(NodeInfo(f"n{i:02d}", 4) for i in range(16))
    policy = PolluxPolicy(seed=seed, patience=patience)
    jobs = advance(initial_jobs(jobs_count, rng), Decision(allocations={}), 0.0, rng, 0.0)
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
        jobs = advance(jobs, decision, (r + 1) * INTERVAL_S, rng, churn)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--jobs", type=int, nargs="+", default=[20, 10, 40])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--churn", type=float, default=0.03, help="P(job replaced) per round")
    parser.add_argument("--patience", type=int, default=None, help="early stop (generations)")
    args = parser.parse_args(argv)
    cases = [run_case(n, args.rounds, args.seed, args.churn, args.patience) for n in args.jobs]
    result = {
        **cases[0],
        "rounds": args.rounds,
        "churn": args.churn,
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
