"""Efficiency, goodput, the batch optimiser and speedups (property-based where it matters)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adaptsched.models import (
    BatchLimits,
    GradStats,
    JobModel,
    ThroughputParams,
    efficiency,
    get_metric,
    speedup_table,
    throughput,
)
from adaptsched.models.errors import ModelInputError

PARAMS = ThroughputParams(0.02, 7e-4, 0.09, 2e-3, 0.015, 1e-4, 1.3, beta_ppn=0.01)


@settings(max_examples=60, deadline=None)
@given(
    sqr=st.floats(1e-6, 1e3),
    var=st.floats(0.0, 1e3),
    m0=st.integers(1, 4096),
    batches=st.lists(st.floats(1.0, 1e6), min_size=2, max_size=20),
)
def test_efficiency_in_unit_interval_and_non_increasing(sqr, var, m0, batches) -> None:
    stats = GradStats(sqr=sqr, var=var)
    total = np.sort(np.array(batches) + m0)  # M >= M0
    eff = efficiency(stats, m0, total)
    assert np.all(eff > 0) and np.all(eff <= 1 + 1e-12)
    assert np.all(np.diff(eff) <= 1e-12)


def test_efficiency_is_one_at_initial_batch_and_without_signal() -> None:
    assert efficiency(GradStats(1.0, 5.0), 128, 128) == pytest.approx(1.0)
    assert np.all(efficiency(GradStats(0.0, 5.0), 128, np.array([128, 1024])) == 1.0)


def _limits_or_none(m0: int, extra: int, min_local: int, span, accum: int) -> BatchLimits | None:
    """Limits from drawn numbers, or None where no batch is reachable (rejected by design)."""
    try:
        return BatchLimits(
            init_batch=m0,
            max_batch=m0 + extra,
            min_local=min(min_local, m0 + extra),
            max_local=None if span is None else min(min_local, m0 + extra) + span,
            max_accum_steps=accum,
        )
    except ModelInputError:
        return None


def _reachable_without_forced_accumulation(lim: BatchLimits) -> bool:
    """Brute force: some admissible m and s <= max_accum_steps with M0 <= m (s + 1) <= max."""
    return any(
        lim.init_batch <= m * (s + 1) <= lim.max_batch
        for m in range(lim.min_local, lim.local_upper + 1)
        for s in range(lim.max_accum_steps + 1)
    )


limits_strategy = st.builds(
    _limits_or_none,
    m0=st.integers(1, 2048),
    extra=st.integers(0, 8192),
    min_local=st.integers(1, 256),
    span=st.one_of(st.none(), st.integers(0, 512)),
    accum=st.integers(0, 6),
).filter(lambda lim: lim is not None)


@settings(max_examples=60, deadline=None)
@given(
    limits=limits_strategy,
    nodes=st.integers(1, 8),
    per_node=st.integers(1, 4),
    phi=st.floats(0.0, 1e5),
    metric=st.sampled_from(["goodput", "speed"]),
)
def test_batch_optimiser_never_violates_a_limit(limits, nodes, per_node, phi, metric) -> None:
    model = JobModel(PARAMS, GradStats(sqr=1.0, var=phi / limits.init_batch), limits)
    replicas = nodes * per_node
    choice = model.best_config(nodes, replicas, get_metric(metric))
    if not bool(choice.feasible):
        return
    m, s, total = float(choice.local_bsz), float(choice.accum_steps), float(choice.total_batch)
    assert limits.init_batch <= total <= limits.max_batch
    assert limits.min_local <= m <= limits.local_upper
    assert s <= limits.max_accum_steps
    if not limits.accumulation:
        assert s == 0
    assert total == pytest.approx(replicas * m * (s + 1))
    assert float(choice.goodput) <= float(choice.throughput) * (1 + 1e-12)
    assert float(choice.throughput) == pytest.approx(
        float(throughput(PARAMS, nodes, replicas, m, s))
    )


@settings(max_examples=30, deadline=None)
@given(limits=limits_strategy, phi=st.floats(0.0, 1e5))
def test_speedup_of_one_replica_is_one(limits, phi) -> None:
    """1 wherever one replica can reach M0 within the limits; a job that forbids accumulation
    and needs several replicas to reach M0 has speedup 0 there (infeasible)."""
    model = JobModel(PARAMS, GradStats(sqr=1.0, var=phi / limits.init_batch), limits)
    reachable = _reachable_without_forced_accumulation(limits)
    assert float(model.speedup(1, 1)) == pytest.approx(1.0 if reachable else 0.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(init_batch=3, max_batch=3, min_local=2, max_local=2),
        dict(init_batch=100, max_batch=110, min_local=60, max_local=70),
    ],
)
def test_limits_no_batch_reachable_on_one_replica_rejected(kwargs) -> None:
    with pytest.raises(ModelInputError, match="one replica could never run"):
        BatchLimits(**kwargs)


def test_speedup_table_shape_and_reference() -> None:
    model = JobModel(PARAMS, GradStats(1.0, 50.0), BatchLimits(128, 4096, 16, 512))
    table = speedup_table(model, 4, 16)
    assert table.shape == (5, 17)
    assert table[1, 1] == pytest.approx(1.0)
    assert table[3, 2] == 0.0  # 2 replicas cannot span 3 nodes
    assert table[1, 4] > 1.0  # more GPUs on one node help this job
    assert np.all(table >= 0)


def test_goodput_prefers_smaller_batches_when_noise_is_low() -> None:
    """With a small noise scale, large batches waste samples: goodput picks a smaller total
    batch than raw throughput does."""
    limits = BatchLimits(128, 8192, 16, 1024)
    model = JobModel(PARAMS, GradStats(sqr=1.0, var=0.01), limits)
    good = model.best_config(1, 4, get_metric("goodput"))
    fast = model.best_config(1, 4, get_metric("speed-thesis"))
    assert float(good.total_batch) < float(fast.total_batch)
