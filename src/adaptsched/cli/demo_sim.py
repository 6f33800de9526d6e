"""`adaptsched demo-sim`: fit the performance model from a handful of step-time observations and
show, per allocation, the batch size each metric picks and the speedup it predicts."""

from __future__ import annotations

import argparse

import numpy as np

from adaptsched.cli.args import bounded
from adaptsched.models import (
    BatchLimits,
    GradStats,
    JobModel,
    StepObservations,
    ThroughputParams,
    fit_throughput,
    get_metric,
    iteration_time,
)

#: A ResNet-18-like job: the "true" constants the demo samples noisy step times from.
_TRUE_PARAMS = ThroughputParams(0.02, 7e-4, 0.09, 2e-3, 0.015, 1e-4, 1.3)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=bounded(int, 0, 2**32 - 1), default=0, help="noise seed")
    parser.add_argument(
        "--no-sim", action="store_true", help="skip the simulated thesis experiment (~1-2 min)"
    )


def run(args: argparse.Namespace) -> int:
    rng = np.random.default_rng(args.seed)
    nodes = np.array([1, 1, 1, 1, 1, 2, 2])
    replicas = np.array([1, 1, 2, 4, 4, 4, 8])
    local = np.array([32, 128, 64, 64, 128, 64, 128])
    truth = iteration_time(_TRUE_PARAMS, nodes, replicas, local)
    observed = truth * rng.lognormal(0.0, 0.03, size=truth.size)
    params = fit_throughput(StepObservations(nodes, replicas, local, observed))
    print("observed step times (nodes, replicas, local batch -> s):")
    for n, k, m, t in zip(nodes, replicas, local, observed, strict=True):
        print(f"  {n} node(s) {k:2d} replica(s) m={m:4d} -> {t:.4f} s")
    print(f"fitted: {params}\n")
    model = JobModel(params, GradStats(sqr=1.0, var=4.0), BatchLimits(128, 4096, 16, 512))
    alloc_nodes = np.array([1, 1, 1, 2, 4, 8])
    alloc_replicas = np.array([1, 2, 4, 8, 16, 32])
    for name in ("goodput", "speed-thesis"):
        metric = get_metric(name)
        best = model.best_config(alloc_nodes, alloc_replicas, metric)
        speedup = model.speedup(alloc_nodes, alloc_replicas, metric)
        print(f"metric {name}: best batch per allocation")
        print("  nodes replicas  local accum  total  samples/s  efficiency  speedup")
        for i in range(alloc_nodes.size):
            print(
                f"  {alloc_nodes[i]:5d} {alloc_replicas[i]:8d} {best.local_bsz[i]:6.0f}"
                f" {best.accum_steps[i]:5.0f} {best.total_batch[i]:6.0f}"
                f" {best.throughput[i]:10.0f} {best.efficiency[i]:11.3f} {speedup[i]:8.2f}"
            )
        print()
    if not args.no_sim:
        _simulated_cluster()
    return 0


def _simulated_cluster() -> None:
    """The seed thesis's experiment (5 MNIST jobs, 1-2 one-GPU nodes) under every metric, one
    seed, a shortened search: what each option does to completion time and node time."""
    from adaptsched.experiments.thesis import ThesisSetup, run_thesis

    print("simulated: the thesis's 5 MNIST jobs on 1-2 one-GPU nodes (MNIST profile measured")
    print("on this project's machine; one seed; `adaptsched experiment thesis` for the full run)")
    report = run_thesis(seeds=1, setup=ThesisSetup(generations=20))
    arms: dict[str, dict] = {}
    for body in report["scenarios"].values():
        arms.update(body["arms"])
    print("  arm            mean JCT (s)   node-seconds   accuracy")
    for name, fig in arms.items():
        print(
            f"  {name:<13} {fig['mean_jct_s']:13.0f} {fig['node_seconds']:14.0f}"
            f" {100 * fig['quality']:9.2f} %"
        )
