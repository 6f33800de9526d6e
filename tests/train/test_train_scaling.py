"""Each learning-rate scaling rule scales as specified."""

from __future__ import annotations

import math

import pytest
import torch

from adaptsched.train import adascale_gain, default_rule_for, get_scaling_rule, scaling_rule_names


def test_adascale_gain_limits() -> None:
    assert adascale_gain(var=0.0, sqr=2.0, scale=8.0) == pytest.approx(1.0)  # no noise
    assert adascale_gain(var=1e9, sqr=1e-9, scale=8.0) == pytest.approx(8.0)  # pure noise
    # var = sqr: r = 2 / (1/S + 1)
    assert adascale_gain(var=1.0, sqr=1.0, scale=4.0) == pytest.approx(2.0 / 1.25)
    assert adascale_gain(var=0.0, sqr=0.0, scale=4.0) == 1.0


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("adascale", lambda r, s: r),
        ("adam-sqrt-gain", lambda r, s: math.sqrt(r)),
        ("linear", lambda r, s: s),
        ("sqrt", lambda r, s: math.sqrt(s)),
        ("none", lambda r, s: 1.0),
    ],
)
@pytest.mark.parametrize(("gain", "scale"), [(1.0, 1.0), (3.2, 4.0), (1.5, 16.0)])
def test_rule_factor(name: str, expected, gain: float, scale: float) -> None:
    assert get_scaling_rule(name).factor(gain, scale) == pytest.approx(expected(gain, scale))


def test_registry_and_defaults() -> None:
    assert set(scaling_rule_names()) == {"adascale", "adam-sqrt-gain", "linear", "sqrt", "none"}
    with pytest.raises(ValueError, match="valid rules: adam-sqrt-gain"):
        get_scaling_rule("lars")
    params = [torch.nn.Parameter(torch.zeros(2))]
    assert default_rule_for(torch.optim.SGD(params, lr=0.1)).name == "adascale"
    assert default_rule_for(torch.optim.AdamW(params)).name == "adam-sqrt-gain"
    assert default_rule_for(torch.optim.Adadelta(params)).name == "adam-sqrt-gain"
