"""Batch decisions: the model's best configuration, replaced only for a >= 5% predicted gain."""

from __future__ import annotations

from adaptsched.models import GOODPUT, BatchLimits, GradStats, JobModel, ThroughputParams
from adaptsched.train import BatchConfig, choose_config, initial_config
from adaptsched.train.batching import predicted_value

LIMITS = BatchLimits(init_batch=64, max_batch=1024, min_local=16, max_local=128)
MODEL = JobModel(
    ThroughputParams(
        alpha_c=0.02, beta_c=1e-3, alpha_n=0.05, beta_n=0.0, alpha_r=0.02, beta_r=0.0, gamma=1.2
    ),
    GradStats(sqr=1.0, var=20.0),  # phi = 1280: larger batches pay off
    LIMITS,
)


def test_initial_config_splits_m0() -> None:
    assert initial_config(LIMITS, 1) == BatchConfig(64, 0)
    assert initial_config(LIMITS, 3) == BatchConfig(22, 0)
    small = BatchLimits(init_batch=64, max_batch=1024, min_local=4, max_local=16)
    assert initial_config(small, 2) == BatchConfig(16, 1)  # accumulate to reach M0


def test_no_model_keeps_current_or_starts_at_m0() -> None:
    assert choose_config(LIMITS, None, GOODPUT, 1, 2, None) == BatchConfig(32, 0)
    assert choose_config(LIMITS, None, GOODPUT, 1, 2, BatchConfig(50, 1)) == BatchConfig(50, 1)


def test_hysteresis_five_percent() -> None:
    best = choose_config(LIMITS, MODEL, GOODPUT, 1, 2, None)
    best_value = predicted_value(MODEL, GOODPUT, 1, 2, best)
    assert best.total(2) > 64
    candidates = [BatchConfig(m, s) for m in range(16, 129) for s in range(0, 4)]
    values = {c: predicted_value(MODEL, GOODPUT, 1, 2, c) for c in candidates}
    near = max(
        (c for c, v in values.items() if best_value / 1.05 < v < best_value * 0.99), key=values.get
    )
    far = max((c for c, v in values.items() if 0 < v < best_value / 1.06), key=values.get)
    assert choose_config(LIMITS, MODEL, GOODPUT, 1, 2, near) == near  # < 5% better: keep
    assert choose_config(LIMITS, MODEL, GOODPUT, 1, 2, far) == best  # > 5% better: switch
