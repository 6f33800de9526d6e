"""A valid hint record as a job's rank 0 sends it, for tests that need one to change."""

from __future__ import annotations

from typing import Any


def hints_json(**changes: Any) -> dict[str, Any]:
    """A job on two replicas of one node, a quarter through its work target, not fitted yet;
    ``changes`` replace fields."""
    data: dict[str, Any] = {
        "metric": "goodput",
        "init_batch": 64,
        "max_batch": 1024,
        "min_local_bsz": 32,
        "max_local_bsz": 128,
        "max_accum_steps": 15,
        "progress": 100.0,
        "epoch": 1,
        "nodes": 1,
        "replicas": 2,
        "local_bsz": 64,
        "accum_steps": 0,
        "throughput_params": None,
        "grad_sqr": None,
        "grad_var": None,
        "observations": [],
        "target_progress": 400.0,
    }
    data.update(changes)
    return data
