"""The metric options: names, bands, the balanced knob, and their effect on batch choice."""

import numpy as np
import pytest

from adaptsched.models import (
    BatchLimits,
    GradStats,
    JobModel,
    ModelInputError,
    ThroughputParams,
    get_metric,
    metric_names,
)


def test_every_option_and_thesis_variant_is_registered() -> None:
    assert {"goodput", "speed", "cost", "balanced", "speed-thesis", "cost-thesis"} <= set(
        metric_names()
    )
    assert get_metric("default") is get_metric("goodput")


def test_unknown_metric_lists_valid_names() -> None:
    with pytest.raises(ModelInputError, match=r"unknown metric 'fastest'.*cost.*speed"):
        get_metric("fastest")


def test_thesis_bands() -> None:
    assert get_metric("goodput").utility_band == (0.35, 0.65)
    assert get_metric("cost-thesis").utility_band == (0.35, 0.80)
    assert get_metric("speed-thesis").utility_band == (0.35, 0.65)


def test_balanced_lies_between_speed_and_cost() -> None:
    speed, cost = get_metric("speed").utility_band, get_metric("cost").utility_band
    for knob in (0.0, 0.25, 0.5, 1.0):
        low, high = get_metric(f"balanced:{knob}").utility_band
        assert speed[0] <= low <= cost[0] and speed[1] <= high <= cost[1]
    assert get_metric("balanced:0").utility_band == pytest.approx(speed)
    assert get_metric("balanced:1").utility_band == pytest.approx(cost)
    with pytest.raises(ModelInputError, match="knob"):
        get_metric("balanced:1.5")


def test_thesis_speed_picks_larger_batches_than_goodput() -> None:
    """Dropping efficiency makes the thesis's speed chase throughput with huge batches."""
    model = JobModel(
        ThroughputParams(0.02, 7e-4, 0.09, 2e-3, 0.015, 1e-4, 1.3),
        GradStats(sqr=1.0, var=2.0),
        BatchLimits(128, 4096, 16, 512),
    )
    k = np.array([1, 4, 8])
    n = np.array([1, 1, 2])
    good = model.best_config(n, k, get_metric("goodput"))
    thesis = model.best_config(n, k, get_metric("speed-thesis"))
    assert np.all(thesis.total_batch >= good.total_batch)
    assert np.all(thesis.goodput <= good.goodput + 1e-9)
    assert np.any(thesis.total_batch > good.total_batch)


def test_allocation_weight_follows_remaining_time() -> None:
    """speed weighs a job by 1 / remaining time; goodput and cost weigh every job alike;
    balanced (knob 0.5) sits between; unknown remaining time weighs 1."""
    speed, goodput, cost = get_metric("speed"), get_metric("goodput"), get_metric("cost")
    assert speed.allocation_weight(100.0) == pytest.approx(10 * speed.allocation_weight(1000.0))
    assert goodput.allocation_weight(100.0) == goodput.allocation_weight(1e6) == 1.0
    assert cost.allocation_weight(100.0) == 1.0
    half = get_metric("balanced")
    ratio = half.allocation_weight(100.0) / half.allocation_weight(1000.0)
    assert 1.0 < ratio < 10.0
    assert speed.allocation_weight(None) == 1.0
    assert speed.allocation_weight(0.0) == speed.allocation_weight(1.0)  # floored at 1 s


def test_metric_rejects_bad_parameters() -> None:
    from adaptsched.models.metrics import GoodputMetric

    with pytest.raises(ModelInputError, match="remaining_exponent"):
        GoodputMetric("x", (0.3, 0.6), -3.0)
    with pytest.raises(ModelInputError, match="utility band"):
        GoodputMetric("x", (0.7, 0.6))
