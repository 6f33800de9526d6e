"""Throughput model: the Pollux form, the adaptsched extension and vectorised evaluation."""

import numpy as np
import pytest

from adaptsched.models import (
    ModelInputError,
    ThroughputParams,
    compute_time,
    iteration_time,
    sync_time,
    throughput,
)

POLLUX = ThroughputParams(0.05, 0.002, 0.3, 0.01, 0.05, 0.005, 1.8)
EXTENDED = ThroughputParams(
    0.05, 0.002, 0.3, 0.01, 0.05, 0.005, 1.8, beta_ppn=0.08, beta_nodes=0.04
)


def _pollux_sync(p: ThroughputParams, n: int, k: int) -> float:
    """DESIGN.md's formula, written out case by case."""
    if k == 1:
        return 0.0
    if n == 1:
        return p.alpha_r + p.beta_r * (k - 2)
    return p.alpha_n + p.beta_n * (k - 2)


@pytest.mark.parametrize(("n", "k"), [(1, 1), (1, 2), (1, 4), (2, 2), (2, 8), (4, 16), (16, 64)])
def test_pollux_form_matches_the_formula(n: int, k: int) -> None:
    m, s = 32.0, 3
    t_grad = 0.05 + 0.002 * m
    t_sync = _pollux_sync(POLLUX, n, k)
    t_opt = (t_grad**1.8 + t_sync**1.8) ** (1 / 1.8)
    assert iteration_time(POLLUX, n, k, m, s) == pytest.approx(s * t_grad + t_opt, rel=1e-12)
    assert throughput(POLLUX, n, k, m, s) == pytest.approx(k * m * (s + 1) / (s * t_grad + t_opt))


def test_extension_terms_vanish_on_two_nodes_with_one_replica_each() -> None:
    assert sync_time(EXTENDED, 2, 2) == pytest.approx(sync_time(POLLUX, 2, 2))
    assert sync_time(EXTENDED, 1, 4) == pytest.approx(sync_time(POLLUX, 1, 4))


def test_extension_terms_add_contention_and_node_growth() -> None:
    # 4 nodes x 4 replicas: contention (16/4 - 1) * (2/4)^2 = 0.75, nodes log2(4/2) = 1.
    expected = 0.3 + 0.01 * 14 + 0.08 * 0.75 + 0.04 * 1.0
    assert sync_time(EXTENDED, 4, 16) == pytest.approx(expected)


def test_contention_cost_is_shared_by_more_nodes() -> None:
    """Same replicas per node: the contention term shrinks as nodes are added."""
    only_ppn = ThroughputParams(0.05, 0.002, 0.3, 0.0, 0.05, 0.0, 1.0, beta_ppn=0.1)
    times = sync_time(only_ppn, np.array([2, 4, 8, 16]), np.array([8, 16, 32, 64]))
    assert np.all(np.diff(times) < 0)


def test_broadcasts_over_allocations_and_batches() -> None:
    nodes = np.array([1, 2, 4])[:, None, None]
    replicas = np.array([4, 8, 16])[:, None, None]
    local = np.array([16.0, 64.0])[None, :, None]
    accum = np.array([0, 1, 2])[None, None, :]
    out = throughput(EXTENDED, nodes, replicas, local, accum)
    assert out.shape == (3, 2, 3)
    single = throughput(EXTENDED, 2, 8, 64.0, 2)
    assert out[1, 1, 2] == pytest.approx(float(single))
    assert np.all(np.isfinite(out)) and np.all(out > 0)


def test_compute_time_is_linear_in_local_batch() -> None:
    assert compute_time(POLLUX, 100) == pytest.approx(0.05 + 0.2)


def test_from_array_accepts_pollux_and_extended_vectors() -> None:
    assert ThroughputParams.from_array(POLLUX.as_array()[:7]) == POLLUX
    assert ThroughputParams.from_array(EXTENDED.as_array()) == EXTENDED
    assert POLLUX.is_pollux_form and not EXTENDED.is_pollux_form
    with pytest.raises(ModelInputError, match="ThroughputParams"):
        ThroughputParams.from_array(np.ones(5))


@pytest.mark.parametrize(
    ("field", "value"),
    [("alpha_c", float("nan")), ("beta_r", -1.0), ("gamma", 0.5), ("beta_ppn", float("inf"))],
)
def test_bad_params_name_the_field(field: str, value: float) -> None:
    values = dict(zip(EXTENDED.field_names(), EXTENDED.as_array(), strict=True))
    values[field] = value
    with pytest.raises(ModelInputError, match=field):
        ThroughputParams(**values)


def test_throughput_rejects_negative_accumulation() -> None:
    with pytest.raises(ModelInputError, match="accum_steps"):
        throughput(POLLUX, 1, 1, 32, -1)
