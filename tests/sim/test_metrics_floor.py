"""The node-hours floor of benchmarks/metrics_floor.py is a floor: no simulated schedule of the
same jobs uses fewer GPU-seconds at its own total JCT."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from benchmark_module import load_benchmark
from synthetic import mixed_jobs, write_workload

from adaptsched.policy.registry import make_policy
from adaptsched.sim.runner import SimConfig, simulate
from adaptsched.sim.workload import load_workload

CONFIG = SimConfig(nodes=16, gpus_per_node=4, interval_s=20.0, restart_s=5.0)


@pytest.fixture(scope="module")
def floor():
    return load_benchmark("metrics_floor")


def test_frontier_trades_gpu_seconds_for_time_monotonically(floor, toy_truth) -> None:
    gpu_s, secs = floor.frontier(toy_truth)
    assert np.all(np.diff(secs) <= 1e-9 * secs[:-1])  # a dearer hour never makes a job slower
    assert np.all(np.diff(gpu_s) >= -1e-9 * gpu_s[:-1])  # ... nor cheaper in GPU-seconds
    assert secs[-1] < 0.5 * secs[0]  # and the synthetic job does scale out when time is dear
    rates = floor.rate_table(toy_truth)
    assert rates.shape == (floor.MAX_GPUS, toy_truth.spec.epochs)
    assert np.all(rates[0] > 0)


@pytest.mark.parametrize("policy", ["pollux", "fifo"])
def test_no_simulated_schedule_beats_the_floor(floor, toy_truth, tmp_path: Path, policy) -> None:
    workload = load_workload(write_workload(tmp_path / "w.csv", mixed_jobs(6)))
    options = {"seed": 1, "population": 16, "generations": 5} if policy == "pollux" else {}
    result = simulate(workload, {"toy": toy_truth}, make_policy(policy, **options), CONFIG)
    used_gpu_s = sum(j.gpu_hours for j in result.jobs) * 3600.0
    total_jct = float(result.jcts().sum())
    gpu_s, secs = floor.frontier(toy_truth)
    n = len(workload)
    fixed_gpu_s, fixed_s = floor.fixed_costs(list(workload), CONFIG.interval_s, CONFIG.restart_s)
    bound, _ = floor.dual_floor(n * gpu_s, n * secs, fixed_gpu_s, fixed_s, total_jct)
    assert 0 < bound <= used_gpu_s
    # A budget far below what the run took puts the floor above what it used.
    tight, _ = floor.dual_floor(n * gpu_s, n * secs, fixed_gpu_s, fixed_s, 0.2 * n * secs[-1])
    assert tight > used_gpu_s
