"""The thesis experiment: its jobs from the bundled MNIST profile, one short arm end to end,
and the comparisons in the thesis's percent convention."""

from __future__ import annotations

import json

import pytest

from adaptsched.experiments.thesis import (
    THESIS_JOBS,
    ThesisSetup,
    bundled_profile_dir,
    job_truths,
    run_arm,
)
from adaptsched.experiments.thesis_numbers import THESIS_REPORTED_CHANGE_PCT, thesis_change_pct
from adaptsched.experiments.thesis_report import comparisons, markdown


def test_bundled_profile_says_where_it_was_measured() -> None:
    meta = json.loads((bundled_profile_dir() / "profile.json").read_text())
    assert meta["job"] == "mnist" and meta["measured"]["backend"] == "gloo"
    assert meta["measured"]["cpu_count"] >= 1


def test_each_thesis_job_has_its_epochs_and_initial_batch() -> None:
    meta = json.loads((bundled_profile_dir() / "profile.json").read_text())
    per_epoch = meta["dataset_samples"] / meta["epoch_samples"]
    truths = job_truths(bundled_profile_dir())
    for name, epochs, batch in THESIS_JOBS:
        spec = truths[f"mnist-{name}"].spec
        assert spec.epochs == round(epochs * per_epoch)
        assert spec.init_batch == batch
    assert truths["mnist-job4"].total_progress > truths["mnist-job1"].total_progress


def test_one_arm_runs_every_job_to_completion_on_at_most_two_nodes() -> None:
    truths = job_truths(bundled_profile_dir())
    result = run_arm("speed", 0, truths, ThesisSetup(generations=5))
    assert len(result.jobs) == 5 and all(j.jct_s > 0 for j in result.jobs)
    assert len(result.node_lifetimes) <= 2 + 4  # at most 2 at a time; replaced nodes counted
    assert all(0.9 < j.quality <= 1.0 for j in result.jobs)  # MNIST test accuracy
    assert all(64 <= j.mean_batch <= 1024 for j in result.jobs)


def test_thesis_percent_convention_reproduces_its_reported_changes() -> None:
    # Table V.6.2: default (AdaptDL) mean 439.029 s, speed 509.707 s -> -16.1 %.
    assert thesis_change_pct(439.029, 509.707) == pytest.approx(
        THESIS_REPORTED_CHANGE_PCT["speed_jct"], abs=0.01
    )


def _arm(mean: float, node_s: float) -> dict:
    jobs = {f"job{i}": mean for i in range(1, 6)}
    return {
        "mean_jct_s": mean,
        "std_jct_s": 0.0,
        "jobs": jobs,
        "node_seconds": node_s,
        "node_lifetimes_s": {"n0": node_s},
        "quality": 0.99,
    }


def test_comparisons_against_the_reference_arm() -> None:
    report = {
        "scenarios": {
            "speed": {"arms": {"goodput": _arm(1000, 5000), "speed-thesis": _arm(1200, 5000)}},
            "cost": {"arms": {"goodput": _arm(1000, 5000), "cost": _arm(1100, 4000)}},
        },
        "setup": {"gpus_per_node": 1, "min_nodes": 1, "max_nodes": 2, "initial_nodes": 1},
    }
    report["setup"]["seeds"] = 1
    rows = {(r["scenario"], r["arm"]): r for r in comparisons(report)}
    speed = rows["speed", "speed-thesis"]
    assert speed["jct_change_pct"] == pytest.approx(-20.0)
    assert speed["thesis_jct_change_pct"] == pytest.approx(-16.1, abs=0.05)
    cost = rows["cost", "cost"]
    assert cost["node_time_change_pct"] == pytest.approx(20.0)
    assert cost["thesis_jct_change_pct"] is None  # the thesis had no such arm
    report["comparisons"] = list(rows.values())
    text = markdown(report)
    assert "| speed | speed-thesis | goodput | -20.0 % | -16.1 % |" in text
