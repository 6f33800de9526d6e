"""Lookups of the hidden truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from synthetic import step_sync, write_profile

from adaptsched.sim.profile import load_profile
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
