"""`adaptsched sim` end to end on a synthetic profile, and (when the reference data is there)
a golden run of the Tiresias baseline against the Pollux paper's simulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from synthetic import mixed_jobs, write_profile, write_workload

from adaptsched.cli.main import main
from adaptsched.policy.registry import make_policy
from adaptsched.sim.paths import profiles_dir, traces_root
from adaptsched.sim.runner import load_truths, run_workload_file


def test_sim_command_json_and_outputs(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    traces = write_profile(tmp_path / "traces").parent
    workloads = tmp_path / "workloads"
    workloads.mkdir()
    write_workload(workloads / "a.csv", mixed_jobs(6))
    write_workload(workloads / "b.csv", mixed_jobs(3))
    out = tmp_path / "out"
    argv = ["sim", str(workloads), "--traces", str(traces), "--policy", "tiresias"]
    argv += ["--nodes", "2", "--interval", "30", "--json", "--out", str(out)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert set(report["workloads"]) == {"a", "b"}
    assert report["workloads"]["a"]["jobs"] == 6
    assert "jobs" in captured.err  # progress bar on stderr
    for name in ("a.json", "a-jct-cdf.png", "a-gpus.png", "b-gpus.png"):
        assert (out / name).stat().st_size > 0
    saved = json.loads((out / "a.json").read_text())
    assert max(saved["timeline"]["gpus_in_use"]) <= 8


def test_sim_command_reports_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    traces = write_profile(tmp_path / "traces").parent
    path = write_workload(tmp_path / "w.csv", [("a", 0, 1, 8)], app="mnist")
    assert main(["sim", str(path), "--traces", str(traces), "--policy", "fifo"]) == 2
    assert "w.csv:2:3: application: no profile for 'mnist'" in capsys.readouterr().err


_ROOT = traces_root()
_REFERENCE = _ROOT / "reference-results" / "tiresias-1.0.json"


@pytest.mark.skipif(not _REFERENCE.is_file(), reason="Pollux reference traces not present")
def test_golden_tiresias_workload_1() -> None:
    truths = load_truths(profiles_dir(_ROOT))
    result = run_workload_file(
        _ROOT / "workloads" / "workload-1.csv", truths, make_policy("tiresias")
    )
    reference = json.loads(_REFERENCE.read_text())["avgs"]["workload-1"]
    assert result.summary()["mean_jct_s"] == pytest.approx(reference, rel=0.10)


def test_sim_command_autoscale_and_metric(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    traces = write_profile(tmp_path / "traces").parent
    path = write_workload(tmp_path / "w.csv", mixed_jobs(4))
    argv = ["sim", str(path), "--traces", str(traces), "--policy", "pollux", "--json"]
    argv += ["--autoscale", "--max-nodes", "3", "--metrics-options", "cost"]
    argv += ["--generations", "5", "--interval", "30", "--no-progress"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["metric"] == "cost"
    summary = report["workloads"]["w"]
    assert 0 < summary["node_hours"] <= 3 * summary["makespan_s"] / 3600 + 3 * 90 / 3600


def test_sim_command_rejects_unknown_metric_and_bad_bounds(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    traces = write_profile(tmp_path / "traces").parent
    path = write_workload(tmp_path / "w.csv", mixed_jobs(2))
    base = ["sim", str(path), "--traces", str(traces), "--policy", "pollux"]
    assert main([*base, "--metric", "fastest"]) == 2
    assert "unknown metric 'fastest'" in capsys.readouterr().err
    assert main([*base, "--autoscale", "--min-nodes", "4", "--max-nodes", "2"]) == 2
    assert "--min-nodes" in capsys.readouterr().err
