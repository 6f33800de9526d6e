"""Lookups of the hidden truth, and the job lifecycle table."""

from __future__ import annotations

from pathlib import Path

import pytest
from synthetic import step_sync, write_profile

from adaptsched.sim.lifecycle import IllegalTransitionError, JobEvent, JobState, transition
from adaptsched.sim.profile import load_profile
from adaptsched.sim.truth import ProfileTruth


@pytest.fixture
def truth(tmp_path: Path) -> ProfileTruth:
    return ProfileTruth(load_profile(write_profile(tmp_path)))


def test_measured_placement_interpolates_in_local_batch(truth: ProfileTruth) -> None:
    lo, hi = step_sync("22", 16), step_sync("22", 32)
    step, sync = truth.step_sync((2, 2), 24)
    assert step == pytest.approx((lo[0] + hi[0]) / 2)
    assert sync == pytest.approx((lo[1] + hi[1]) / 2)


def test_placement_order_does_not_matter(truth: ProfileTruth) -> None:
    assert truth.step_sync((4, 4, 4), 16) == truth.step_sync((4, 4, 4), 16.0)
    assert truth.step_sync((1, 1), 8) == pytest.approx(step_sync("11", 8))


def test_unmeasured_placement_interpolates_across_sizes(truth: ProfileTruth) -> None:
    # 5 nodes x 4 GPUs lies between the measured 4-node and the 6-node scalability rows.
    step, sync = truth.step_sync((4, 4, 4, 4, 4), 16)
    assert step_sync("4444", 16)[0] < step < step_sync("444444", 16)[0]
    assert 0 < sync < step


def test_grad_stats_interpolate_between_batches(truth: ProfileTruth) -> None:
    assert truth.grad_stats(8, 0) == (1.0, 4.0)
    assert truth.grad_stats(64, 1) == (1.0, 12.0)
    sqr, var = truth.grad_stats(36, 0)
    assert sqr == 1.0 and var == pytest.approx(5.0)
    assert truth.grad_stats(1000, 9) == (1.0, 24.0)  # clamped to the last batch and epoch


def test_epochs_and_steps_left(truth: ProfileTruth) -> None:
    assert truth.epoch_end(0) == 200.0 and truth.total_progress == 800.0
    assert truth.steps_left(8, 0, 0.0) == pytest.approx(800.0)
    assert truth.steps_left(64, 2, 0.5) == pytest.approx(100.0 - 62.5)


def test_lifecycle_table() -> None:
    s = JobState.PENDING
    for event in (JobEvent.ALLOCATE, JobEvent.READY, JobEvent.REALLOCATE, JobEvent.READY):
        s = transition(s, event)
    assert s is JobState.RUNNING
    assert transition(s, JobEvent.DEALLOCATE) is JobState.STOPPING
    assert transition(JobState.STOPPING, JobEvent.STOPPED) is JobState.PENDING
    assert transition(s, JobEvent.COMPLETE) is JobState.SUCCEEDED
    assert transition(JobState.STARTING, JobEvent.FAIL) is JobState.FAILED
    with pytest.raises(IllegalTransitionError):
        transition(JobState.PENDING, JobEvent.COMPLETE)
    with pytest.raises(IllegalTransitionError):
        transition(JobState.SUCCEEDED, JobEvent.FAIL)
