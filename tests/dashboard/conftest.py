"""Fixtures of the dashboard's tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from dashboard_helpers import simulate


@pytest.fixture(scope="package")
def sim_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An autoscaled Pollux run (so that desired nodes and node lifetimes change)."""
    flags = ("--policy", "pollux", "--generations", "5", "--seed", "1", "--nodes", "3")
    flags += ("--gpus-per-node", "2", "--autoscale", "--min-nodes", "1", "--max-nodes", "3")
    return simulate(tmp_path_factory.mktemp("sim"), *flags)
