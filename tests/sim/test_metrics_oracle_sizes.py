"""benchmarks/metrics_oracle_sizes.py: jobs sized by the truth run to completion in the real
simulator (which rejects any infeasible placement), and valuing time more buys speed with
GPUs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from benchmark_module import load_benchmark
from synthetic import mixed_jobs, write_workload

from adaptsched.sim.autoscaler import AutoscaleConfig
from adaptsched.sim.runner import SimConfig, simulate
from adaptsched.sim.workload import load_workload

CONFIG = SimConfig(
    gpus_per_node=4,
    interval_s=2.0,  # the toy jobs last seconds: short rounds let the ramp reach larger sizes
    restart_s=0.5,
    autoscale=AutoscaleConfig(min_nodes=1, max_nodes=4, initial_nodes=1, provision_delay_s=2.0),
)


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("metrics_oracle_sizes")


def test_sizes_follow_the_epoch_reached(bench, toy_truth) -> None:
    sizes = bench._Sizes(toy_truth, 1e4)
    first, left_first = sizes.at(1.0)
    last, left_last = sizes.at(1e-9)
    assert (first, last) == (int(sizes.counts[0]), int(sizes.counts[-1]))
    assert left_first > left_last > 0
    cheap = bench._Sizes(toy_truth, 1e-3)
    assert np.all(sizes.counts >= cheap.counts) and sizes.counts.sum() > cheap.counts.sum()


def test_truth_sized_jobs_finish_and_dear_time_buys_speed(bench, toy_truth, tmp_path: Path) -> None:
    workload = load_workload(write_workload(tmp_path / "w.csv", mixed_jobs(6)))
    app_of = {job.name: job.application for job in workload}
    runs = {}
    for lam in (1e-3, 1e4):
        policy = bench.TruthSizedPolicy({"toy": bench._Sizes(toy_truth, lam)}, app_of)
        runs[lam] = simulate(workload, {"toy": toy_truth}, policy, CONFIG)
    for result in runs.values():
        assert len(result.jobs) == len(workload)
        assert all(j.completion_time_s > j.submit_time_s for j in result.jobs)
    slow, fast = runs[1e-3], runs[1e4]
    assert fast.jcts().mean() < slow.jcts().mean()
    assert fast.summary()["gpu_hours"] > slow.summary()["gpu_hours"]
