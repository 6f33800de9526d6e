"""What keeps the genetic search usable on large clusters: speedup tables sized by the
replicas jobs may reach, caches bounded in bytes, and mutation rates that do not grow with
the number of jobs."""

from __future__ import annotations

import numpy as np
import pytest
from cases import CHATTY, SCALABLE, cluster, job

from adaptsched.policy.base import ClusterSnapshot
from adaptsched.policy.bounded_cache import BytesLRU, bytes_lru
from adaptsched.policy.genetic import GeneticConfig
from adaptsched.policy.genetic_ops import mutate
from adaptsched.policy.objective import snapshot_problem, table_shape


def test_tables_are_sized_by_reachable_replicas_not_cluster_gpus() -> None:
    jobs = [job("a", max_replicas=8), job("b", max_replicas=32), job("c", model=None)]
    capacity = np.full(1024, 4)
    assert table_shape(jobs, capacity) == (16, 32, 4)
    snap = ClusterSnapshot(time_s=0.0, nodes=cluster(1024), jobs=tuple(jobs))
    _, problem = snapshot_problem(snap)
    assert problem.speedups.shape == (3, 17, 33)


def test_bytes_lru_evicts_the_oldest_beyond_its_budget() -> None:
    cache = BytesLRU(max_bytes=3 * 800)
    for key in range(3):
        cache.get(key, lambda: np.zeros(100))  # 800 bytes each
    cache.get(0, lambda: pytest.fail("0 is cached"))  # 0 becomes the most recent
    cache.get(3, lambda: np.zeros(100))  # evicts 1, the least recent
    assert len(cache) == 3 and cache.bytes == 2400
    made = []
    cache.get(1, lambda: made.append(1) or np.zeros(100))
    assert made == [1]
    assert cache.hits == 1 and cache.misses == 5
    big = cache.get("big", lambda: np.zeros(1000))  # larger than the budget: not kept
    assert big.shape == (1000,) and cache.bytes <= 2400


def test_bytes_lru_decorator_memoises() -> None:
    calls = []

    @bytes_lru(1 << 20)
    def square(x: int) -> np.ndarray:
        calls.append(x)
        return np.full(4, x * x)

    assert square(3)[0] == 9 and square(3)[0] == 9 and calls == [3]
    assert square.cache.hits == 1  # type: ignore[attr-defined]


def _edited_rows(jobs: int, config: GeneticConfig) -> float:
    """Mean job rows a mutation changes per child."""
    rng = np.random.default_rng(0)
    snap = ClusterSnapshot(
        time_s=0.0,
        nodes=cluster(jobs // 4 + 1),
        jobs=tuple(job(f"j{i}", SCALABLE, allocation=(f"n{i // 4}",)) for i in range(jobs)),
    )
    _, problem = snapshot_problem(snap)
    states = np.repeat(problem.base.T[:, :, None], 50, axis=2).astype(np.int16)
    before = states.copy()
    mutate(problem, states, rng, config)
    return float((states != before).any(axis=0).sum(axis=0).mean())


def test_mutation_edits_about_as_many_rows_at_any_size() -> None:
    config = GeneticConfig()
    small, large = _edited_rows(10, config), _edited_rows(200, config)
    assert large < 2 * small  # without the budget: 20 times as many
    unbounded = _edited_rows(200, GeneticConfig(row_budget=None))
    assert unbounded > 10 * small


def test_rates_unchanged_up_to_the_row_budget() -> None:
    config = GeneticConfig(row_budget=10)
    assert config.rate_scale(8) == 1.0 and config.rate_scale(10) == 1.0
    assert config.rate_scale(40) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="row_budget"):
        GeneticConfig(row_budget=0)


def test_batched_tables_equal_one_by_one() -> None:
    from dataclasses import replace

    from adaptsched.models import GradStats, get_metric
    from adaptsched.policy.speedup_cache import (
        _cached_table,
        fast_speedup_table,
        fast_speedup_tables,
    )

    grads = [GradStats(1.0, v) for v in (0.5, 20.0, 700.0)] + [GradStats(0.0, 3.0)]
    models = [replace(SCALABLE, grad=g) for g in grads] + [CHATTY]
    metrics = [get_metric("goodput"), get_metric("speed-thesis")] * 2 + [get_metric("cost")]
    _cached_table.cache.clear()  # type: ignore[attr-defined]
    batched = fast_speedup_tables(models, metrics, 3, 12, 4)
    _cached_table.cache.clear()  # type: ignore[attr-defined]
    for model, metric, table in zip(models, metrics, batched, strict=True):
        np.testing.assert_array_equal(table, fast_speedup_table(model, 3, 12, 4, metric))
