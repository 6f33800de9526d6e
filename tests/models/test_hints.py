"""The hint format read by the controller: validation and the model built from hints."""

from __future__ import annotations

import math

import pytest
from hint_samples import hints_json as _hints

from adaptsched.models.hints import PRIOR_GRAD, PRIOR_PARAMS, Hints, HintsError


def test_round_trip_and_prior_before_any_fit() -> None:
    hints = Hints.from_json(_hints())
    assert Hints.from_json(hints.to_json()) == hints
    model = hints.model()
    assert model.params == PRIOR_PARAMS and model.grad == PRIOR_GRAD
    assert hints.remaining_samples() == pytest.approx(300.0 * 64)
    assert hints.remaining_fraction() == pytest.approx(0.75)
    assert hints.most_replicas == 0


def test_fitted_model_and_most_replicas_measured() -> None:
    params = dict(zip(PRIOR_PARAMS.field_names(), PRIOR_PARAMS.as_array().tolist(), strict=True))
    params["alpha_c"] = 0.01
    row = {"nodes": 1, "replicas": 3, "local_bsz": 32, "step_time": 0.1, "sync_time": 0.01}
    hints = Hints.from_json(
        _hints(
            throughput_params=params, grad_sqr=2.0, grad_var=3.0, observations=[row | {"count": 5}]
        )
    )
    model = hints.model()
    assert model.params.alpha_c == 0.01 and model.grad.sqr == 2.0
    assert hints.most_replicas == 3


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"colour": 1}, "unknown field 'colour'"),
        ({"progress": math.nan}, "'progress' must be a finite number"),
        ({"grad_sqr": math.inf}, "'grad_sqr' must be a finite number"),
        ({"replicas": -1}, "'replicas' must be an integer >= 0"),
        ({"init_batch": "64"}, "'init_batch' must be an integer"),
        ({"throughput_params": {"bogus": 1.0}}, "'throughput_params' must map"),
        ({"observations": [{"nodes": 1}]}, r"observations\[0\] needs"),
        ({"metric": ""}, "'metric' must be a non-empty string"),
    ],
)
def test_malformed_hints_name_the_field(changes: dict, message: str) -> None:
    with pytest.raises(HintsError, match=message):
        Hints.from_json(_hints(**changes))


def test_missing_field_and_non_object() -> None:
    data = _hints()
    del data["progress"]
    with pytest.raises(HintsError, match="missing field 'progress'"):
        Hints.from_json(data)
    with pytest.raises(HintsError, match="expected a JSON object"):
        Hints.from_json([1, 2])
