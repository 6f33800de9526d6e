"""Learning-rate scaling rules: how much to scale the learning rate at total batch M.

Every rule maps the AdaScale gain ``r`` and the batch scale ``S = M / M0`` to a factor on the
learning rate tuned for M0. Rules register by name (``get_scaling_rule("adascale")``) and the
optimizer decides the default (:func:`default_rule_for`), so no caller branches on names.

- ``adascale`` (Johnson et al., "AdaScale SGD", ICML'20): factor ``r = (var + sqr) /
  (var / S + sqr)``, between 1 (no noise: a bigger batch gives no better gradient) and S
  (pure noise: the linear rule).
- ``adam-sqrt-gain``: adaptive optimizers (Adam, AdamW, Adadelta, ...) normalise the update by
  the gradient's second moment, for which the square-root rule is the matching one (Malladi et
  al., "On the SDEs and Scaling Rules for Adaptive Gradient Algorithms", NeurIPS'22); applied
  to the gain, ``sqrt(r)``, so that it also stops growing when the batch stops helping.
- ``linear`` (Goyal et al. 2017): factor S. ``sqrt`` (Krizhevsky 2014): sqrt(S).
- ``none``: factor 1.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch


def adascale_gain(var: float, sqr: float, scale: float) -> float:
    """AdaScale gain r = (var + sqr) / (var / S + sqr), var at batch M0; 1 when both are 0."""
    if scale <= 0:
        raise ValueError(f"scale: must be > 0, got {scale}")
    denom = var / scale + sqr
    if denom <= 0:
        return 1.0
    return float((var + sqr) / denom)


@dataclass(frozen=True)
class ScalingRule(ABC):
    """A learning-rate factor as a function of the gain r and the batch scale S."""

    name: str

    @abstractmethod
    def factor(self, gain: float, scale: float) -> float:
        """Multiplier on the learning rate tuned for the initial batch M0."""


@dataclass(frozen=True)
class AdaScaleRule(ScalingRule):
    def factor(self, gain: float, scale: float) -> float:
        return gain


@dataclass(frozen=True)
class SqrtGainRule(ScalingRule):
    def factor(self, gain: float, scale: float) -> float:
        return math.sqrt(gain)


@dataclass(frozen=True)
class LinearRule(ScalingRule):
    def factor(self, gain: float, scale: float) -> float:
        return scale


@dataclass(frozen=True)
class SqrtRule(ScalingRule):
    def factor(self, gain: float, scale: float) -> float:
        return math.sqrt(scale)


@dataclass(frozen=True)
class NoScalingRule(ScalingRule):
    def factor(self, gain: float, scale: float) -> float:
        return 1.0


_RULES: dict[str, ScalingRule] = {}


def register_scaling_rule(rule: ScalingRule) -> ScalingRule:
    _RULES[rule.name] = rule
    return rule


def scaling_rule_names() -> list[str]:
    return sorted(_RULES)


def get_scaling_rule(name: str) -> ScalingRule:
    """Look a rule up by name; unknown names list the valid ones."""
    try:
        return _RULES[name]
    except KeyError:
        valid = ", ".join(scaling_rule_names())
        raise ValueError(f"unknown scaling rule {name!r}; valid rules: {valid}") from None


ADASCALE = register_scaling_rule(AdaScaleRule("adascale"))
ADAM_SQRT_GAIN = register_scaling_rule(SqrtGainRule("adam-sqrt-gain"))
LINEAR = register_scaling_rule(LinearRule("linear"))
SQRT = register_scaling_rule(SqrtRule("sqrt"))
NONE = register_scaling_rule(NoScalingRule("none"))

#: Optimizers that divide by a running second moment: square-root family.
_ADAPTIVE_OPTIMIZERS: tuple[type[torch.optim.Optimizer], ...] = (
    torch.optim.Adam,
    torch.optim.AdamW,
    torch.optim.Adamax,
    torch.optim.NAdam,
    torch.optim.RAdam,
    torch.optim.Adadelta,
    torch.optim.Adagrad,
    torch.optim.RMSprop,
)


def default_rule_for(optimizer: torch.optim.Optimizer) -> ScalingRule:
    """AdaScale for SGD-like optimizers, the square-root-of-gain rule for adaptive ones."""
    if isinstance(optimizer, _ADAPTIVE_OPTIMIZERS):
        return ADAM_SQRT_GAIN
    return ADASCALE
