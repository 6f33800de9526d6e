"""Every command refuses bad input up front with one line naming the flag or the input, and
loses nothing it computed before an error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_run import refusal, run_cli
from synthetic import mixed_jobs, write_profile, write_workload

import adaptsched.cli.sim as sim_cli


@pytest.fixture
def sim_base(tmp_path: Path) -> list[str]:
    traces = write_profile(tmp_path / "traces").parent
    path = write_workload(tmp_path / "w.csv", mixed_jobs(4))  # jobs of 1, 2, 4 and 8 GPUs
    return ["sim", str(path), "--traces", str(traces), "--no-progress"]


@pytest.mark.parametrize(
    ("flags", "error"),
    [
        (["--nodes", "0"], "argument --nodes: must be an integer in [1, 4096], got '0'"),
        (["--interval", "inf"], "argument --interval: must be a number in [1, 3600] seconds"),
        (["--interval", "0.001"], "argument --interval: must be a number in [1, 3600] seconds"),
        (["--provision-delay", "nan"], "argument --provision-delay: must be a number in [0, "),
        (["--gpus-per-node", "two"], "argument --gpus-per-node: expected an integer in [1, 64]"),
        (["--policy", "tiresias", "--metric", "speed"], "--metric speed: no effect with policy"),
        (["--min-nodes", "2"], "--min-nodes: only used with --autoscale"),
        (["--policy", "fifo", "--generations", "3"], "--generations: policy fifo takes no"),
        (["--policy", "tiresias", "--seed", "3"], "--seed: policy tiresias takes no seed"),
        (
            ["--autoscale", "--min-nodes", "3", "--max-nodes", "2"],
            "need 1 <= --min-nodes <= --initial-nodes <= --max-nodes, got 3, 3, 2",
        ),
        (
            ["--policy", "tiresias", "--nodes", "1"],
            "w.csv:5: job 'job-3' can never run: it needs 8 GPUs at once (num_replicas) under "
            "policy tiresias, and the cluster has at most 4 GPUs (1 node x 4)",
        ),
    ],
)
def test_sim_refusals_name_the_flag_or_the_job(
    sim_base: list[str], flags: list[str], error: str, capsys: pytest.CaptureFixture
) -> None:
    line = refusal([*sim_base, *flags], capsys)
    assert line.startswith("adaptsched sim: error: ")
    assert error in line


def test_sim_checks_the_output_folder_before_simulating(
    sim_base: list[str], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    line = refusal([*sim_base, "--out", str(blocker)], capsys)
    assert line.endswith(f"--out {blocker}: exists and is not a folder")
    line = refusal([*sim_base, "--out", str(blocker / "below")], capsys)
    assert f"--out {blocker / 'below'}: cannot write there" in line


def test_undecodable_csv_names_the_file_and_the_byte(
    sim_base: list[str], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / "w.csv"
    path.write_bytes(b"name,time,application,num_replicas,batch_size\na,0,t\xffoy,1,8\n")
    line = refusal(sim_base, capsys)
    assert line == f"adaptsched sim: error: {path}:2:6: not UTF-8 text (byte 0xff)"


def test_results_finished_before_an_error_are_still_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every workload is checked before the first runs; what finished before a later failure
    is still printed (and was written to --out as it finished)."""
    traces = write_profile(tmp_path / "traces").parent
    folder = tmp_path / "workloads"
    folder.mkdir()
    for name in ("a", "b"):
        write_workload(folder / f"{name}.csv", mixed_jobs(2))
    real = sim_cli.simulate_jobs
    calls: list[int] = []

    def fail_second(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 2:
            raise ValueError("simulated failure")
        return real(*args, **kwargs)

    monkeypatch.setattr(sim_cli, "simulate_jobs", fail_second)
    out = tmp_path / "out"
    argv = ["sim", str(folder), "--traces", str(traces), "--policy", "fifo", "--nodes", "2"]
    status, stdout, stderr = run_cli([*argv, "--json", "--no-progress", "--out", str(out)], capsys)
    assert status == 2
    assert stderr.strip() == "adaptsched sim: error: simulated failure"
    assert set(json.loads(stdout)["workloads"]) == {"a"}
    assert (out / "a.json").is_file()


def test_time_limit_says_why_and_reports_what_finished(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A run that reaches --max-time stops with one line naming each unfinished job, and still
    reports (and writes) the jobs that finished."""
    traces = write_profile(tmp_path / "traces").parent
    path = tmp_path / "w.csv"
    path.write_text(
        "name,time,application,num_replicas,batch_size\n"
        "short,0,toy,1,8\nlong,0,toy,4,8\nthird,0,toy,4,8\n"
    )
    out = tmp_path / "out"
    argv = ["sim", str(path), "--traces", str(traces), "--policy", "fifo", "--nodes", "1"]
    argv += ["--interval", "10", "--json", "--no-progress"]
    status, stdout, stderr = run_cli([*argv, "--max-time", "0.03", "--out", str(out)], capsys)
    assert status == 2
    assert stderr.strip() == (
        f"adaptsched sim: error: {path}: stopped at the simulated time limit of 0.03 h with "
        "2 of 3 jobs unfinished: short (running, 69 % done), third (pending, 0 % done) "
        "(--max-time)"
    )
    assert json.loads(stdout)["workloads"]["w"]["jobs"] == 1
    assert [j["name"] for j in json.loads((out / "w.json").read_text())["jobs"]] == ["long"]
    status, stdout, _ = run_cli(argv, capsys)  # the default limit: all three finish
    assert status == 0 and json.loads(stdout)["workloads"]["w"]["jobs"] == 3


@pytest.mark.parametrize(
    ("flags", "error"),
    [
        (["--local-bsz", "0"], "argument --local-bsz: must be an integer in [1, "),
        (["--batches", "0"], "argument --batches: must be an integer in [1, "),
        (["--threads", "0"], "argument --threads: must be an integer in [1, 256], got '0'"),
        (["--replicas", "0"], "argument --replicas: must be an integer in [1, 64], got '0'"),
        (["--steps", "0"], "argument --steps: must be an integer in [1, "),
        (["--epochs", "-1"], "argument --epochs: must be an integer in [1, 1000], got '-1'"),
        (["--job", "resnet"], "unknown job 'resnet'; jobs that can be profiled: mnist"),
    ],
)
def test_profile_refusals_name_the_flag(
    tmp_path: Path, flags: list[str], error: str, capsys: pytest.CaptureFixture
) -> None:
    line = refusal(["profile", "--out", str(tmp_path / "p"), *flags], capsys)
    assert line.startswith("adaptsched profile: error: ")
    assert error in line
    assert not (tmp_path / "p").exists() or not any((tmp_path / "p").iterdir())


def test_experiment_refusals(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert "argument --seeds: must be an integer in [1, 100]" in refusal(
        ["experiment", "thesis", "--seeds", "0"], capsys
    )
    assert refusal(["experiment", "thesis", "--step-times-once"], capsys).endswith(
        "--step-times-once: only used with --real"
    )
    blocker = tmp_path / "f"
    blocker.write_text("")
    line = refusal(["experiment", "thesis", "--out", str(blocker)], capsys)
    assert line.endswith("exists and is not a folder")


def test_the_installed_entry_point_exits_2_with_one_line(tmp_path: Path) -> None:
    """The same contract through a real process (exit status as a shell sees it)."""
    argv = [sys.executable, "-m", "adaptsched.cli.main", "sim", "w.csv", "--interval", "0"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "adaptsched sim: error: argument --interval: must be a number in [1, 3600] seconds, got '0'"
    ]
