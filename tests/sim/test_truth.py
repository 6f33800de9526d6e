"""Lookups of the hidden truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from synthetic import step_sync, write_profile

from adaptsched.experiments.thesis import bundled_profile_dir
from adaptsched.sim.errors import SimInputError
from adaptsched.sim.profile import load_profile, rebase_profile
from adaptsched.sim.truth import ProfileTruth, progress_gain


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


def test_gains_table_matches_the_statistics_of_each_batch_and_epoch(truth: ProfileTruth) -> None:
    batches = [8.0, 20.0, 64.0, 200.0]
    table = truth.gains(batches)
    assert table.shape == (len(batches), truth.spec.epochs)
    for i, batch in enumerate(batches):
        for epoch in range(truth.spec.epochs):
            sqr, var = truth.grad_stats(batch, epoch)
            scale = batch / truth.spec.init_batch
            assert table[i, epoch] == pytest.approx((var + sqr) / (var / scale + sqr))
    assert table[0, 0] == pytest.approx(1.0)  # at M0 one step is one iteration of progress
    assert progress_gain(0.0, 0.0, 3.0) == 3.0  # no noise measured: perfect scaling
    assert float(progress_gain(np.zeros(1), np.zeros(1), 3.0)[0]) == 3.0
    sqr, var = truth.grad_stats(20.0, 0)  # the scalar path agrees with the table
    assert progress_gain(sqr, var, 20.0 / truth.spec.init_batch) == pytest.approx(table[1, 0])


def test_epochs_and_steps_left(truth: ProfileTruth) -> None:
    assert truth.epoch_end(0) == 200.0 and truth.total_progress == 800.0
    assert truth.steps_left(8, 0, 0.0) == pytest.approx(800.0)
    assert truth.steps_left(64, 2, 0.5) == pytest.approx(100.0 - 62.5)


@pytest.mark.parametrize("job_m0", [32, 128, 256])
def test_a_job_with_another_m0_passes_over_the_data_once_per_epoch_at_its_m0(job_m0: int) -> None:
    """A profile measured at M0 = 64 reused for a job whose M0 differs (the thesis's job5 has
    128). A job's epoch is a pass over the data at its own M0, as the trainer counts it
    (progress in iterations at M0, gain 1 at M0): so at its M0 it needs the same samples per
    epoch as the profile's own job at 64, and its variance at its M0 is tr(Sigma) / M0. Before
    rebasing, a job with M0 = 128 needed twice the samples per epoch."""
    profile = load_profile(bundled_profile_dir())
    base, rebased = ProfileTruth(profile), ProfileTruth(rebase_profile(profile, job_m0))
    assert rebased.spec.init_batch == job_m0 != base.spec.init_batch == 64
    for truth in (base, rebased):
        m0 = truth.spec.init_batch
        assert truth.gains(np.array([float(m0)]))[0] == pytest.approx(1.0)
    for epoch in (0, 3, 9):
        samples = [t.epoch_end(epoch) * t.spec.init_batch for t in (base, rebased)]
        assert samples[1] == pytest.approx(samples[0], rel=0.01)  # rows end a step late
    sqr, var = base.grad_stats(128.0, 2)
    sqr_r, var_r = rebased.grad_stats(128.0, 2)
    assert sqr_r == sqr and var_r == pytest.approx(var * 64 / job_m0)


def test_rebasing_to_a_batch_below_one_is_refused() -> None:
    with pytest.raises(SimInputError, match="init_batch"):
        rebase_profile(load_profile(bundled_profile_dir()), 0)


def test_the_thesis_jobs_pass_over_the_same_data_per_epoch_whatever_their_m0() -> None:
    """job1 (M0 64) and job5 (M0 128) train on the same data: an epoch is the same samples."""
    from adaptsched.experiments.thesis import job_truths

    truths = job_truths(bundled_profile_dir())
    one, five = truths["mnist-job1"], truths["mnist-job5"]
    assert five.spec.init_batch == 2 * one.spec.init_batch
    for epoch in (0, 5):
        samples = [t.epoch_end(epoch) * t.spec.init_batch for t in (one, five)]
        assert samples[1] == pytest.approx(samples[0], rel=0.01)
