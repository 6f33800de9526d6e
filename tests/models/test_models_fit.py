"""Fitters: recovery of known parameters, few observations, determinism, bounds, and the
Pollux reproduction's rules."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize

from adaptsched.models import (
    StepObservations,
    ThroughputParams,
    fit_pollux,
    fit_throughput,
    iteration_time,
    sync_time,
)
from adaptsched.models.pollux_fit import _loss_and_grad, _sync_basis

TRUE = ThroughputParams(0.05, 0.002, 0.3, 0.01, 0.05, 0.005, 1.8, beta_ppn=0.08, beta_nodes=0.04)
FITTERS = [fit_throughput, fit_pollux]


def _design(params: ThroughputParams, with_sync: bool) -> StepObservations:
    """Noiseless observations that identify every parameter: one and several nodes, 1-4
    replicas per node, three local batches."""
    nodes, replicas, local = [], [], []
    for n in (1, 2, 3, 4, 8, 16):
        for per_node in (1, 2, 3, 4):
            for m in (16, 64, 256):
                nodes.append(n)
                replicas.append(n * per_node)
                local.append(m)
    nodes, replicas, local = (np.array(v, dtype=float) for v in (nodes, replicas, local))
    step = iteration_time(params, nodes, replicas, local)
    sync = None
    if with_sync:  # measured sync: the part of the step beyond compute
        sync = step - (params.alpha_c + params.beta_c * local)
    return StepObservations(nodes, replicas, local, step, sync)


@pytest.mark.parametrize("with_sync", [False, True])
def test_recovers_known_parameters_within_one_percent(with_sync: bool) -> None:
    fitted = fit_throughput(_design(TRUE, with_sync))
    np.testing.assert_allclose(fitted.as_array(), TRUE.as_array(), rtol=0.01)


def test_recovers_the_pollux_form_as_such() -> None:
    pollux = ThroughputParams(0.05, 0.002, 0.3, 0.02, 0.05, 0.005, 1.5)
    fitted = fit_throughput(_design(pollux, with_sync=True))
    np.testing.assert_allclose(fitted.as_array()[:7], pollux.as_array()[:7], rtol=0.01)
    # The extension terms stay negligible, even far beyond the observed allocations.
    assert sync_time(fitted, 32, 128) == pytest.approx(float(sync_time(pollux, 32, 128)), rel=0.01)


@pytest.mark.parametrize("fitter", FITTERS)
@pytest.mark.parametrize(
    ("nodes", "replicas", "sync"),
    [(1, 1, None), (1, 1, 0.0), (2, 4, None), (2, 4, 0.05), (1, 3, 0.02)],
)
def test_one_observation_gives_a_finite_bounded_fit(fitter, nodes, replicas, sync) -> None:
    obs = StepObservations([nodes], [replicas], [32], [0.2], None if sync is None else [sync])
    fitted = fitter(obs)
    values = fitted.as_array()
    assert np.all(np.isfinite(values)) and np.all(values >= 0)
    assert 1.0 <= fitted.gamma <= 10.0
    predicted = iteration_time(fitted, nodes, replicas, 32)
    assert predicted == pytest.approx(0.2, rel=0.02)


def test_one_placement_one_batch_freezes_what_it_cannot_see() -> None:
    """One single-node placement: no cross-node term may be invented beyond Pollux's prior."""
    obs = StepObservations([1, 1], [2, 2], [32, 32], [0.2, 0.21], [0.05, 0.06])
    fitted = fit_throughput(obs)
    assert fitted.beta_r == 0.0 and fitted.beta_ppn == 0.0 and fitted.beta_nodes == 0.0
    assert fitted.alpha_c == pytest.approx(np.median([0.15, 0.15]) / 2)
    assert fitted.alpha_n >= 1.1 * fitted.alpha_r > 0


def test_two_node_data_extrapolate_with_the_shared_contention_term() -> None:
    """On two nodes (K - 2) and the contention term are collinear; the fitter keeps the
    contention term, so predictions stay bounded for many replicas per node on many nodes."""
    nodes = np.array([2, 2, 2, 2, 2, 2], dtype=float)
    replicas = np.array([2, 3, 4, 2, 3, 4], dtype=float)
    local = np.array([32, 32, 32, 128, 128, 128], dtype=float)
    truth = ThroughputParams(0.05, 0.002, 0.3, 0.0, 0.05, 0.005, 1.5, beta_ppn=0.2)
    step = iteration_time(truth, nodes, replicas, local)
    fitted = fit_throughput(StepObservations(nodes, replicas, local, step))
    assert fitted.beta_n == 0.0 and fitted.beta_nodes == 0.0
    assert fitted.beta_ppn > 0
    assert sync_time(fitted, 16, 64) < sync_time(fitted, 2, 8)


@pytest.mark.parametrize("fitter", FITTERS)
def test_fits_are_deterministic(fitter) -> None:
    obs = _design(TRUE, with_sync=True)
    assert fitter(obs) == fitter(obs)


@settings(max_examples=20, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(1, 8),  # nodes
            st.integers(0, 3),  # extra replicas per node
            st.integers(1, 512),  # local batch
            st.floats(1e-4, 10.0),  # step time
            st.floats(0.0, 0.99),  # sync share of the step
        ),
        min_size=1,
        max_size=12,
    ),
    with_sync=st.booleans(),
)
def test_fit_never_returns_nan_on_arbitrary_valid_observations(rows, with_sync) -> None:
    n, extra, m, step, share = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    replicas = n * (1 + extra)
    obs = StepObservations(n, replicas, m, step, step * share if with_sync else None)
    for fitter in FITTERS:
        fitted = fitter(obs)
        values = fitted.as_array()
        assert np.all(np.isfinite(values)) and np.all(values >= 0)
        assert np.all(np.isfinite(iteration_time(fitted, n, replicas, m)))


def test_pollux_gradient_is_exact() -> None:
    obs = _design(TRUE, with_sync=True)
    basis = _sync_basis(obs)
    point = np.array([0.04, 0.003, 0.2, 0.02, 0.06, 0.004, 2.2])
    _, grad = _loss_and_grad(point, obs, basis)
    numeric = optimize.approx_fprime(point, lambda p: _loss_and_grad(p, obs, basis)[0], 1e-8)
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-6)


def test_pollux_pins_unidentified_parameters_at_the_lower_bound() -> None:
    """AdaptDL fixes unseen terms at 1e-8 (not at their start values), then applies the
    cross-node >= 1.1 x intra-node prior."""
    obs = StepObservations([1, 1], [1, 1], [16, 64], [0.1, 0.2], [0.0, 0.0])
    fitted = fit_pollux(obs)
    assert fitted.alpha_r == pytest.approx(1e-8) and fitted.beta_r == pytest.approx(1e-8)
    assert fitted.alpha_n == pytest.approx(1.1e-8) and fitted.beta_n == pytest.approx(1.1e-8)
    single = fit_pollux(StepObservations([1], [1], [32], [0.3]))
    assert single.alpha_c == pytest.approx(0.15)
