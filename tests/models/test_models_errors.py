"""Every kind of bad input raises ModelInputError, and the message names the field."""

import numpy as np
import pytest

from adaptsched.models import (
    BatchLimits,
    GradStats,
    JobModel,
    ModelInputError,
    StepObservations,
    ThroughputParams,
    efficiency,
    get_metric,
    metric_names,
)

NAN, INF = float("nan"), float("inf")
GOOD = {"nodes": [1, 2], "replicas": [1, 4], "local_bsz": [32, 32], "step_time": [0.1, 0.2]}


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("nodes", [NAN, 1]),
        ("replicas", [1, INF]),
        ("local_bsz", [32, -1]),
        ("step_time", [0.1, NAN]),
        ("step_time", [0.1, -0.2]),
        ("step_time", [0.1, 0.0]),
        ("step_time", [INF, 0.2]),
        ("sync_time", [0.0, -0.01]),
        ("sync_time", [0.0, NAN]),
        ("sync_time", [0.0, 0.3]),  # not below the step time
        ("nodes", [1, 1.5]),
        ("nodes", [1, 8]),  # more nodes than replicas
        ("local_bsz", ["a", 3]),
    ],
)
def test_bad_observations_name_the_field(field: str, values: list) -> None:
    kwargs = dict(GOOD)
    kwargs[field] = values
    with pytest.raises(ModelInputError, match=field):
        StepObservations(**kwargs)


def test_empty_observations_are_rejected() -> None:
    with pytest.raises(ModelInputError, match="step_time: empty"):
        StepObservations([], [], [], [])


def test_ragged_observations_are_rejected() -> None:
    with pytest.raises(ModelInputError, match="differ in length"):
        StepObservations([1], [1, 2], [32], [0.1])


@pytest.mark.parametrize("m0", [0, -5])
def test_non_positive_initial_batch_is_rejected(m0: int) -> None:
    with pytest.raises(ModelInputError, match="init_batch"):
        BatchLimits(init_batch=m0, max_batch=128)
    with pytest.raises(ModelInputError, match="init_batch"):
        efficiency(GradStats(1.0, 1.0), m0, 128)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"init_batch": 64, "max_batch": 128, "min_local": 256}, "min_local"),
        ({"init_batch": 64, "max_batch": 128, "min_local": 32, "max_local": 16}, "max_local"),
        ({"init_batch": 256, "max_batch": 128}, "max_batch"),
        ({"init_batch": 64, "max_batch": 128, "max_accum_steps": -1}, "max_accum_steps"),
    ],
)
def test_limits_that_admit_no_batch_are_rejected(kwargs: dict, field: str) -> None:
    with pytest.raises(ModelInputError, match=field):
        BatchLimits(**kwargs)


@pytest.mark.parametrize(("sqr", "var", "field"), [(NAN, 1.0, "grad_sqr"), (1.0, -1.0, "grad_var")])
def test_bad_gradient_statistics_name_the_field(sqr: float, var: float, field: str) -> None:
    with pytest.raises(ModelInputError, match=field):
        GradStats(sqr=sqr, var=var)


def test_allocation_with_more_nodes_than_replicas_is_rejected() -> None:
    model = JobModel(
        ThroughputParams(0.02, 7e-4, 0.09, 2e-3, 0.015, 1e-4, 1.3),
        GradStats(1.0, 1.0),
        BatchLimits(64, 1024),
    )
    with pytest.raises(ModelInputError, match="nodes"):
        model.best_config(np.array([3]), np.array([2]))


def test_unknown_metric_lists_the_valid_ones() -> None:
    with pytest.raises(ModelInputError) as info:
        get_metric("fastest")
    message = str(info.value)
    assert "fastest" in message
    for name in metric_names():
        assert name in message
    assert get_metric("default") is get_metric("goodput")
