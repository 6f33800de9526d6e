"""Policies by name. Entries are "module:Class" strings imported on first use, so a name can be
registered before its module exists and listing names never imports heavy code."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from adaptsched.policy.base import Policy

_POLICIES: dict[str, str] = {
    "fifo": "adaptsched.policy.fifo:FifoPolicy",
    "optimus": "adaptsched.policy.optimus:OptimusPolicy",
    "pollux": "adaptsched.policy.pollux:PolluxPolicy",
    "pollux-milp": "adaptsched.policy.milp:MilpPolicy",
    "tiresias": "adaptsched.policy.tiresias:TiresiasPolicy",
}


#: The policy the commands use unless told otherwise (docs/milp-policy.md: why).
DEFAULT_POLICY = "pollux-milp"


def register_policy(name: str, target: str) -> None:
    """Add (or replace) ``name`` -> ``"module:Class"``."""
    if ":" not in target:
        raise ValueError(f"policy {name!r}: target must look like 'module:Class', got {target!r}")
    _POLICIES[name] = target


def policy_names() -> list[str]:
    return sorted(_POLICIES)


def policy_class(name: str) -> type[Policy]:
    """The class registered under ``name``; unknown names list the valid ones."""
    try:
        target = _POLICIES[name]
    except KeyError:
        raise ValueError(
            f"unknown policy {name!r}; valid policies: {', '.join(policy_names())}"
        ) from None
    module_path, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_path)
    except ImportError as exc:
        raise ValueError(f"policy {name!r} is not available ({exc})") from exc
    cls = getattr(module, attr)
    if not (isinstance(cls, type) and issubclass(cls, Policy)):
        raise ValueError(f"policy {name!r}: {target} is not a Policy subclass")
    return cls


#: Options every policy accepts: ``seed`` seeds a random policy and is ignored by deterministic
#: ones, so that a caller can seed whichever policy it was given.
COMMON_OPTIONS = frozenset({"seed"})


def policy_options(name: str) -> list[str]:
    """The options ``make_policy(name, ...)`` accepts."""
    params = inspect.signature(policy_class(name)).parameters
    own = [k for k, p in params.items() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    return sorted(set(own) | COMMON_OPTIONS)


def make_policy(name: str, **options: Any) -> Policy:
    """Instantiate ``name`` with ``options``; an option the policy does not take is an error
    (never silently dropped), except the common ``seed``."""
    cls = policy_class(name)
    params = inspect.signature(cls).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    unknown = sorted(k for k in options if k not in params and k not in COMMON_OPTIONS)
    if unknown and not takes_any:
        raise ValueError(
            f"policy {name!r}: unknown option {unknown[0]!r}; it takes: "
            f"{', '.join(policy_options(name))}"
        )
    accepted = {k: v for k, v in options.items() if takes_any or k in params}
    return cls(**accepted)


def available_policies() -> list[str]:
    """Registered names whose module imports (a policy still being written is skipped)."""
    out = []
    for name in policy_names():
        try:
            policy_class(name)
        except ValueError:
            continue
        out.append(name)
    return out
