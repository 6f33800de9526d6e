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
    fast, slow, mid = get_metric("speed"), get_metric("cost"), get_metric("balanced")
    assert slow.share_exponent < mid.share_exponent < fast.share_exponent
    assert slow.min_move_cost < mid.min_move_cost < fast.min_move_cost
    assert fast.fairness_power > mid.fairness_power > slow.fairness_power
    assert get_metric("balanced:0").share_exponent == fast.share_exponent
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


def test_allocation_weight_is_the_hesrpt_share_of_the_rank() -> None:
    """speed weighs a job by its heSRPT share: the fewer the jobs with less remaining time, the
    more it gets; the shares of all ranks add up to 1; goodput and cost weigh every job alike;
    balanced (knob 0.5) skews less than speed."""
    speed, goodput, cost = get_metric("speed"), get_metric("goodput"), get_metric("cost")
    shares = [speed.allocation_weight(rank, 5) for rank in range(1, 6)]
    assert sum(shares) == pytest.approx(1.0)
    assert shares == sorted(shares) and shares[0] < shares[-1] / 10  # rank 1: most remaining
    assert goodput.allocation_weight(1, 5) == goodput.allocation_weight(5, 5) == 1.0
    assert cost.allocation_weight(2, 3) == 1.0
    half = get_metric("balanced")
    assert (
        1.0 < half.allocation_weight(5, 5) / half.allocation_weight(1, 5) < shares[-1] / shares[0]
    )
    assert speed.allocation_weight(1, 10_000) > 0.0  # an underflow still has a logarithm
    with pytest.raises(ModelInputError, match="rank"):
        speed.allocation_weight(0, 3)


def _total_completion(share_long: float, q: float) -> float:
    """Two jobs of sizes 2 and 1, one server shared in proportions (share_long, 1 -
    share_long) until the short one ends, speedup k ** q; sum of completion times."""
    short_done = 1.0 / (1.0 - share_long) ** q
    long_left = 2.0 - share_long**q * short_done
    return short_done + short_done + long_left


def test_hesrpt_shares_minimise_the_total_completion_time() -> None:
    """The formula's shares are the optimum of the two-job problem (Berg et al.) for the
    speedup exponent q = 1 - 1 / c, and the short job gets the larger share."""
    from adaptsched.models.metrics import GoodputMetric

    for c in (2.0, 4.0):
        metric = GoodputMetric("x", share_exponent=c)
        share_long = metric.allocation_weight(1, 2)
        assert share_long == pytest.approx(1.0 - metric.allocation_weight(2, 2))
        assert share_long < 0.5
        grid = np.linspace(0.01, 0.99, 981)
        totals = [_total_completion(s, 1.0 - 1.0 / c) for s in grid]
        assert grid[int(np.argmin(totals))] == pytest.approx(share_long, abs=1e-3)


def test_metric_rejects_bad_parameters() -> None:
    from adaptsched.models.metrics import GoodputMetric

    with pytest.raises(ModelInputError, match="share_exponent"):
        GoodputMetric("x", (0.3, 0.6), share_exponent=0.5)
    with pytest.raises(ModelInputError, match="min_move_cost"):
        GoodputMetric("x", min_move_cost=1.0)
    with pytest.raises(ModelInputError, match="utility band"):
        GoodputMetric("x", (0.7, 0.6))
    with pytest.raises(ModelInputError, match="gpu_price"):
        GoodputMetric("x", gpu_price=1.5)


def test_cost_carries_a_price_with_a_default() -> None:
    from adaptsched.models.metrics import DEFAULT_GPU_PRICE

    assert get_metric("cost").gpu_price == DEFAULT_GPU_PRICE > 0
    assert get_metric("cost:0.5").gpu_price == 0.5
    assert get_metric("cost:0").gpu_price == 0.0
    assert get_metric("goodput").gpu_price == get_metric("speed").gpu_price == 0.0
    assert get_metric("cost-thesis").gpu_price == 0.0
    assert 0 < get_metric("balanced").gpu_price < get_metric("cost").gpu_price


@pytest.mark.parametrize("name", ["cost", "cost:0.5", "cost:0", "balanced", "balanced:0.25"])
def test_metric_names_round_trip(name: str) -> None:
    metric = get_metric(name)
    assert get_metric(metric.name) == metric


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("cost:abc", r"metric 'cost:abc': the price after 'cost:' must be a number in \[0, 1\]"),
        ("cost:1.5", r"got '1.5'"),
        ("cost:-0.1", r"got '-0.1'"),
        ("cost:nan", r"got 'nan'"),
        ("cost:", r"got ''"),
        ("balanced:fast", r"metric 'balanced:fast': the knob after 'balanced:'"),
    ],
)
def test_bad_knobs_give_one_line_errors(name: str, message: str) -> None:
    with pytest.raises(ModelInputError, match=message) as error:
        get_metric(name)
    assert "\n" not in str(error.value)
