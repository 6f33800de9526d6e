"""Greedy utility curve: exact on small hand-made speedup tables."""

import itertools

import numpy as np
import pytest

from adaptsched.policy.cluster_size import utility_curve


def linear_table(max_nodes: int, max_replicas: int, slope: float) -> np.ndarray:
    """speedup(k) = 1 + slope * (k - 1) wherever k >= n."""
    table = np.zeros((max_nodes + 1, max_replicas + 1))
    for n in range(1, max_nodes + 1):
        for k in range(n, max_replicas + 1):
            table[n, k] = 1 + slope * (k - 1)
    return table


def test_perfectly_scaling_job_keeps_utility_one() -> None:
    tables = linear_table(4, 8, 1.0)[None]
    curve = utility_curve(tables, np.array([8]), gpus_per_node=2, max_nodes=4)
    assert curve == pytest.approx({1: 1.0, 2: 1.0, 3: 1.0, 4: 1.0})


def test_job_that_cannot_use_more_gpus_dilutes_utility() -> None:
    tables = linear_table(4, 8, 1.0)[None]
    curve = utility_curve(tables, np.array([2]), gpus_per_node=2, max_nodes=4)
    # Two GPUs used at speedup 2: utility 2 / (2 n).
    assert curve == pytest.approx({1: 1.0, 2: 0.5, 3: 2 / 6, 4: 0.25})


def test_every_job_gets_a_gpu_before_anyone_scales() -> None:
    good = linear_table(2, 4, 1.0)
    poor = linear_table(2, 4, 0.1)
    curve = utility_curve(np.stack([poor, good]), np.array([4, 4]), gpus_per_node=2, max_nodes=2)
    # 1 node: one GPU each (utility (1 + 1) / 2); 2 nodes: the good job takes the extra two
    # GPUs (speedup 3) -> (1 + 3) / 4.
    assert curve[1] == pytest.approx(1.0)
    assert curve[2] == pytest.approx(1.0)


def test_utility_falls_as_cluster_outgrows_jobs() -> None:
    tables = np.stack([linear_table(4, 16, 0.5)] * 3)
    curve = utility_curve(tables, np.array([16] * 3), gpus_per_node=4, max_nodes=4)
    values = [curve[n] for n in range(1, 5)]
    assert all(a >= b for a, b in itertools.pairwise(values))
    assert values[0] > values[-1]
