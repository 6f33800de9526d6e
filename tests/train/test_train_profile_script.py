"""`adaptsched profile --script`: a user's own script, run unchanged in real processes, becomes
a profile the simulator loads; a script that fails, hangs or never trains is one error line,
and no process outlives the command."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

from adaptsched.cli.main import main
from adaptsched.sim.profile import load_profile

TINY_JOB = Path(__file__).parents[1] / "runtime" / "jobs" / "tiny_job.py"


def _children() -> set[int]:
    """Processes whose parent is this one (a replica left behind would be one; so is
    multiprocessing's resource tracker, which an earlier test may have started: compare with
    the set before the command)."""
    me, found = str(os.getpid()), set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines())
        except (OSError, ValueError):
            continue
        if fields.get("PPid", "").strip() == me:
            found.add(int(status.parent.name))
    return found


def _error(argv: list[str], capsys: pytest.CaptureFixture) -> str:
    """The one error line of a refused or failed ``adaptsched profile`` (exit 2)."""
    try:
        status = main(["profile", *argv])
    except SystemExit as exc:  # refused by argparse
        status = exc.code
    assert status == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("adaptsched profile: error: ")
    return lines[0]


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_a_script_of_the_user_becomes_a_loadable_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)  # the script's own files go to the run's job folder, not here
    out = tmp_path / "tiny"
    before = _children()
    argv = ["profile", "--script", str(TINY_JOB), "--out", str(out), "--replicas", "1", "2"]
    argv += ["--local-bsz", "8", "16", "--steps", "3", "--batches", "16", "32", "--epochs", "2"]
    assert main([*argv, "--rounds", "2", "--", "--step-sleep", "0"]) == 0
    assert not list(workdir.iterdir()) and _children() <= before
    placements = _rows(out / "placements.csv")
    assert [(r["placement"], int(r["local_bsz"])) for r in placements] == [
        ("1", 8),
        ("1", 16),
        ("2", 8),
        ("2", 16),
    ]
    for row in placements:
        step_s, sync_s = float(row["step_time"]), float(row["sync_time"])
        assert 0 < step_s < 5
        assert sync_s == 0 if row["placement"] == "1" else 0 <= sync_s < step_s
    iterations_per_epoch = 512 / 16  # tiny_job: 512 samples, M0 = 16
    for batch in (16, 32):
        rows = _rows(out / f"validation-{batch}.csv")
        progress = [float(r["progress"]) for r in rows]
        assert len(rows) == 2
        assert iterations_per_epoch <= progress[0] < progress[1]
        assert progress[1] >= 2 * iterations_per_epoch
        assert all(float(r["grad_sqr"]) > 0 and float(r["grad_var"]) > 0 for r in rows)
        assert [r["metric"] for r in rows] == ["0", "0"]  # tiny_job reports none
    meta = json.loads((out / "profile.json").read_text())
    limits = [meta[k] for k in ("init_batch", "max_batch", "min_local", "max_local")]
    assert limits == [16, 128, 8, 32]  # tiny_job's BatchLimits, read from its trainer
    assert meta["epochs"] == 2 and "metric column is 0" in meta["note"]
    assert meta["measured"]["step_rounds"] == 2  # each row the median of two rounds
    assert isinstance(meta["measured"]["step_time_largest_spread"], float)  # recorded
    command = meta["measured"]["command"]
    assert command.startswith("adaptsched profile --script tiny_job.py --out tiny ")
    assert command.endswith("-- --step-sleep 0") and str(tmp_path) not in command
    profile = load_profile(out)
    assert sorted(profile.validation) == [16, 32]
    assert profile.spec.init_batch == 16 and profile.spec.max_local == 32
    assert sorted(set(profile.placements.replicas.tolist())) == [1, 2]


@pytest.mark.slow
def test_a_crashing_script_is_one_line_with_its_exit_code_and_output(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    argv = ["--script", str(TINY_JOB), "--out", str(tmp_path / "p"), "--replicas", "1"]
    argv += ["--local-bsz", "8", "--", "--crash-generations", "0"]
    line = _error(argv, capsys)
    assert line == (
        "adaptsched profile: error: script tiny_job.py (1 replica, local batch 8) exited with "
        "code 1 on rank 0: generation 0 rank 0 of 1 | crashing on purpose"
    )
    assert not (tmp_path / "p" / "placements.csv").exists()


def test_the_replica_that_failed_first_is_named_and_its_peers_stopped(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Rank 1 fails first, in its own code, then lingers (as a crashed replica does in its
    exit barrier); rank 0, like a peer that lost its connection, exits first; rank 2 would
    wait for a minute. Neither the first exit nor the lowest rank is the cause."""
    script = tmp_path / "ranks.py"
    script.write_text(
        "import os, sys, time\n"
        "rank = int(os.environ['RANK'])\n"
        "if rank == 1:\n"
        "    print('the real cause', flush=True)\n"
        "    time.sleep(1.0)\n"
        "    sys.exit(4)\n"
        "time.sleep(0.3)\n"
        "print(f'rank {rank} waiting for its peers', flush=True)\n"
        "time.sleep(0.3 if rank == 0 else 60)\n"
        "sys.exit('connection closed by peer')\n"
    )
    argv = ["--script", str(script), "--out", str(tmp_path / "p"), "--replicas", "3"]
    before = _children()
    line = _error(argv, capsys)
    assert line.endswith(
        "script ranks.py (3 replicas, local batch 16 32 64 128 256) exited with code 4 on "
        "rank 1: the real cause"
    )
    assert _children() <= before  # rank 2 did not wait out its minute


def test_a_script_that_fails_before_training(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    script = tmp_path / "boom.py"
    script.write_text("import sys\nprint('loading', sys.argv[1:])\nsys.exit('no data here')\n")
    argv = ["--script", str(script), "--out", str(tmp_path / "p"), "--replicas", "1"]
    line = _error([*argv, "--", "--data", "x"], capsys)
    assert line.endswith(
        "script boom.py (1 replica, local batch 16 32 64 128 256) exited with code 1 on rank 0: "
        "loading ['--data', 'x'] | no data here"
    )


def test_a_script_that_never_trains(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    script = tmp_path / "idle.py"
    script.write_text("print('hello')\n")
    line = _error(["--script", str(script), "--out", str(tmp_path / "p")], capsys)
    assert "exited without measuring anything: it must train through" in line


def test_a_script_that_hangs_is_stopped_at_the_timeout(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    script = tmp_path / "hang.py"
    script.write_text("import time\nprint('waiting', flush=True)\ntime.sleep(60)\n")
    argv = ["--script", str(script), "--out", str(tmp_path / "p"), "--replicas", "2"]
    before = _children()
    line = _error([*argv, "--timeout", "1"], capsys)
    assert "still running after 1 s (--timeout): waiting" in line
    assert _children() <= before


@pytest.mark.parametrize(
    ("flags", "error"),
    [
        (["--script", "no-such.py"], "--script no-such.py: no such file"),
        (["--script", "x.py", "--job", "mnist"], "argument --job: not allowed with argument"),
        (["--script", "x.py", "--train-samples", "10"], "--train-samples: applies to --job only"),
        (["--job-epochs", "3"], "--job-epochs: applies to --script only"),
        (["--", "--epochs", "3"], "only --script takes arguments after --"),
        (["--script", "x.py", "--batches", "15", "--val-replicas", "2"], "not divisible by"),
    ],
)
def test_refusals_before_anything_runs(
    tmp_path: Path,
    flags: list[str],
    error: str,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "x.py").write_text("raise SystemExit('must not run')\n")
    monkeypatch.chdir(tmp_path)
    assert error in _error(["--out", str(tmp_path / "p"), *flags], capsys)
    assert not (tmp_path / "p").exists()
