"""The real experiment's prediction and report: the simulated side follows the scaled job
(epochs of the scaled data set, the runtime's rules), and the report and charts show real and
simulated figures side by side with the thesis's percent changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from adaptsched.experiments.thesis import bundled_profile_dir, job_truths
from adaptsched.experiments.thesis_real import RealSetup, pct_error, predict_arm
from adaptsched.experiments.thesis_real_report import (
    charts,
    markdown,
    node_stacks,
    real_comparisons,
)


def test_scaled_jobs_have_the_scaled_epochs() -> None:
    """A scaled job's epoch is train_samples: in the bundled profile's 15000-sample epochs,
    job4's 45 epochs of 7500 samples are 22.5 profile epochs (rounded to 22)."""
    truths = job_truths(bundled_profile_dir(), job_epoch_samples=7500)
    assert truths["mnist-job4"].spec.epochs == 22
    assert truths["mnist-job1"].spec.epochs == 5


def _real_like(sim: dict, slower: float) -> dict:
    """A real side in collect_real's shape (what a runtime run returns)."""
    jobs = {name: jct * slower for name, jct in sim["jobs"].items()}
    return {
        "mean_jct_s": sum(jobs.values()) / len(jobs),
        "std_across_jobs_s": 1.0,
        "jobs": jobs,
        "node_seconds": sim["node_seconds"] * slower,
        "node_lifetimes_s": {"node-a": sim["node_seconds"] * slower},
        "restarts": dict.fromkeys(jobs, 0),
        "restarts_per_job": 0.0,
        "accuracy": dict.fromkeys(jobs, 0.9),
        "quality": 0.9,
        "step_times": {"1x64": 0.12 * slower, "11x128": 0.3},
    }


def test_report_puts_real_and_simulated_side_by_side(tmp_path: Path) -> None:
    setup = RealSetup(scale=0.05)  # 3000 samples: a fifth of the bundled profile's epoch
    report: dict = {"setup": {**setup.__dict__, "train_samples": setup.train_samples}}
    report["arms"] = {}
    for arm, slower in (("goodput", 1.0), ("cost", 1.1), ("cost-thesis", 1.2)):
        sim = predict_arm(arm, bundled_profile_dir(), setup, 8.0, 5.0, seeds=1, generations=5)
        real = _real_like(sim, slower)
        report["arms"][arm] = {
            "real": real,
            "sim": sim,
            "sim_inputs": {
                "restart_s": 8.0,
                "provision_delay_s": 5.0,
                "step_times": {"1x64": 0.125, "2x64": 0.14},
            },
            "jct_error_pct": pct_error(sim["mean_jct_s"], real["mean_jct_s"]),
            "node_seconds_error_pct": pct_error(sim["node_seconds"], real["node_seconds"]),
        }
    assert report["arms"]["cost"]["jct_error_pct"] == pytest.approx(-100 / 11)
    rows = real_comparisons(report)
    assert [(r["scenario"], r["arm"]) for r in rows] == [("cost", "cost"), ("cost", "cost-thesis")]
    assert rows[0]["real_jct_change_pct"] == pytest.approx(
        (1 - 1.1 * report["arms"]["cost"]["sim"]["mean_jct_s"]
         / report["arms"]["goodput"]["sim"]["mean_jct_s"]) * 100
    )  # fmt: skip
    report["comparisons"] = rows
    text = markdown(report)
    assert "| cost | job4 |" in text and "-9.1 %" in text
    assert "| goodput | 1x64 | 0.1250 | 0.1200 | +4.2 % |" in text  # only rows both sides have
    assert "11x128" not in text and "2x64" not in text
    assert "Replay:" not in text  # no replay in this report
    paths = charts(report, tmp_path)
    assert all(p.stat().st_size > 5000 for p in paths)


def test_node_chart_stacks_every_node_a_side_had() -> None:
    """A cluster of at most two nodes may still have had three (one left, another joined
    later): the chart's bars add up to every lifetime, not to the first two."""
    lifetimes = {
        "goodput": ({"a": 538.0, "b": 526.0}, {"n0": 548.0, "n1": 538.0}),
        "cost": ({"a": 601.0, "b": 394.0, "c": 107.0}, {"n0": 598.0, "n1": 410.0}),
    }
    report = {
        "arms": {
            arm: {"real": {"node_lifetimes_s": real}, "sim": {"node_lifetimes_s": sim}}
            for arm, (real, sim) in lifetimes.items()
        }
    }
    stacks = node_stacks(report)
    assert stacks["real"].shape == (3, 2)
    assert list(stacks["real"].sum(axis=0)) == [1064.0, 1102.0]
    assert list(stacks["sim"].sum(axis=0)) == [1086.0, 1008.0]
    assert list(stacks["real"][:, 1]) == [601.0, 394.0, 107.0]  # longest-lived first


def test_replay_profile_takes_the_real_jobs_step_times(tmp_path: Path) -> None:
    """The replay's profile: the real jobs' step times for the placements they ran (one
    replica alone and side by side alike), the profile's elsewhere; a multi-node row without
    recorded sync times takes the profile's two-replica sync."""
    from adaptsched.experiments.thesis_real import replay_profile
    from adaptsched.sim.profile import load_profile
    from adaptsched.sim.truth import ProfileTruth

    source = bundled_profile_dir()
    before = ProfileTruth(load_profile(source))
    out = replay_profile(source, {"1x64": 0.5, "11x128": 0.9}, tmp_path / "replay")
    truth = ProfileTruth(load_profile(out))
    assert truth.step_sync((1,), 64) == (pytest.approx(0.5), 0.0)
    assert truth.shared_step_sync((1,), 64, 2) == (pytest.approx(0.5), 0.0)
    assert truth.step_sync((2,), 64) == before.step_sync((2,), 64)  # not run: kept
    step, sync = truth.step_sync((1, 1), 128)
    assert step == pytest.approx(0.9) and sync == pytest.approx(before.step_sync((2,), 128)[1])
    synced = replay_profile(
        source, {"11x128": 0.9}, tmp_path / "synced", real_syncs={"11x128": 0.2}
    )
    assert ProfileTruth(load_profile(synced)).step_sync((1, 1), 128) == pytest.approx((0.9, 0.2))


def test_a_report_gives_back_the_setup_it_was_run_with() -> None:
    """``--rescore`` predicts an old run again with the setup that run had, not today's
    defaults; the derived figures of the report's setup block are left out."""
    import dataclasses

    from adaptsched.experiments.thesis_real import setup_of

    setup = RealSetup(scale=0.05, interval_s=7.0, policy="pollux", step_times_per_arm=False)
    block = dataclasses.asdict(setup) | {"train_samples": setup.train_samples}
    assert setup_of({"setup": block}) == setup
