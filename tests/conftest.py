"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from adaptsched.policy.base import Policy
from adaptsched.policy.registry import make_policy, policy_options


@pytest.fixture
def quick_policy() -> Callable[..., Policy]:
    """``quick_policy(name, **options)``: the policy with whichever of ``options`` it takes
    (tests pass a small search to every policy; ``make_policy`` itself refuses options a
    policy does not take)."""

    def make(name: str, **options: Any) -> Policy:
        accepted = policy_options(name)
        return make_policy(name, **{k: v for k, v in options.items() if k in accepted})

    return make


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium for the browser tests (``tests/browser.py``)."""
    from browser import find_chromium

    return find_chromium()
