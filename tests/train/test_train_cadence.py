"""The statistics cadence: stride from the step time, agreed through rank 0's proposal."""

from __future__ import annotations

import math

import pytest

from adaptsched.train.cadence import MAX_STRIDE, StatsCadence


def test_every_step_until_a_proposal_arrives() -> None:
    cadence = StatsCadence(period_s=0.2, step=10)
    assert not cadence.due(10)
    assert cadence.due(11)
    assert cadence.proposal() == 1  # no step time seen yet
    cadence.exchanged(11, 0.0)  # nothing was in flight
    assert cadence.due(12)


@pytest.mark.parametrize(
    ("step_s", "stride"), [(0.05, 4), (0.07, 3), (0.2, 1), (3.0, 1), (0.001, MAX_STRIDE)]
)
def test_proposal_fills_the_period(step_s: float, stride: int) -> None:
    cadence = StatsCadence(period_s=0.2)
    for _ in range(5):
        cadence.observe(step_s)
    assert cadence.proposal() == stride


def test_adopted_stride_schedules_the_next_exchange() -> None:
    cadence = StatsCadence(period_s=0.2)
    cadence.exchanged(1, 4.0)
    assert cadence.stride == 4
    assert [s for s in range(2, 14) if cadence.due(s)][:1] == [5]
    cadence.exchanged(5, 0.0)  # no proposal: keep the stride
    assert cadence.next_step == 9
    cadence.exchanged(9, 50.0)  # capped
    assert cadence.stride == MAX_STRIDE


def test_one_slow_step_does_not_collapse_the_stride() -> None:
    cadence = StatsCadence(period_s=0.2)
    for _ in range(20):
        cadence.observe(0.05)
    cadence.observe(2.0)  # a checkpoint or a hiccup
    assert cadence.proposal() >= 2
    cadence.observe(math.nan)
    cadence.observe(-1.0)
    assert cadence.proposal() >= 2


def test_period_zero_is_every_step_and_bad_periods_are_named() -> None:
    cadence = StatsCadence(period_s=0.0)
    cadence.observe(0.001)
    assert cadence.proposal() == 1
    for bad in (-0.1, math.nan, math.inf):
        with pytest.raises(ValueError, match="stats_period_s"):
            StatsCadence(period_s=bad)
