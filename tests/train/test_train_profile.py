"""`adaptsched profile` end to end on tiny data: the folder it writes loads in the simulator."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from train_data import write_mnist_like

from adaptsched.cli.main import main

pytestmark = pytest.mark.slow


def test_profile_command_writes_a_loadable_profile(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    write_mnist_like(data, train=2048, test=128)  # enough steps for the noise warm-up
    out = tmp_path / "mnist"
    argv = ["profile", "--out", str(out), "--data", str(data), "--replicas", "2"]
    argv += ["--local-bsz", "16", "32", "--steps", "2", "--batches", "128", "--rounds", "2"]
    argv += ["--epochs", "2", "--train-samples", "0", "--test-samples", "0"]
    assert main(argv) == 0
    with open(out / "placements.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["placement"], int(r["local_bsz"])) for r in rows] == [("2", 16), ("2", 32)]
    assert all(0 < float(r["sync_time"]) < float(r["step_time"]) for r in rows)
    with open(out / "host.csv") as f:  # two unsynchronised copies side by side
        host = list(csv.DictReader(f))
    assert [(int(r["replicas"]), int(r["local_bsz"])) for r in host] == [(2, 16), (2, 32)]
    assert all(float(r["step_time"]) > 0 for r in host)
    meta = json.loads((out / "profile.json").read_text())
    assert meta["init_batch"] == 64 and meta["epoch_samples"] == 2048
    assert meta["epochs"] == 10  # the whole (tiny) data set: the job's own 10 epochs
    assert meta["measured"]["step_rounds"] == 2  # rows are medians of two rounds
    with open(out / "validation-128.csv") as f:
        val = list(csv.DictReader(f))
    assert len(val) == 2
    # one statistical epoch = 2048 / 64 = 32 iterations at M0; rows are written as it is crossed
    assert 32 <= float(val[0]["progress"]) < 32 + 2.01
    assert float(val[1]["progress"]) >= 64
    assert all(float(r["grad_var"]) > 0 and float(r["grad_sqr"]) > 0 for r in val)
    sim_profile = pytest.importorskip("adaptsched.sim.profile")
    profile = sim_profile.load_profile(out)
    assert sorted(profile.validation) == [128]
    assert profile.spec.init_batch == 64
    assert sorted(profile.host) == [2] and profile.host[2][0].tolist() == [16.0, 32.0]


def test_profile_step_times_only_reuses_the_statistics(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """--statistics-from re-measures the machine's step times and copies the gradient
    statistics (they do not depend on the machine's speed); a mismatched source is refused
    before anything is measured."""
    data = tmp_path / "data"
    data.mkdir()
    write_mnist_like(data, train=1024, test=64)
    common = ["--data", str(data), "--train-samples", "0", "--test-samples", "0"]
    source = tmp_path / "full"
    argv = ["profile", "--out", str(source), "--replicas", "1", "--local-bsz", "32"]
    argv += ["--steps", "2", "--batches", "64", "--epochs", "1", "--val-replicas", "1"]
    assert main(argv + common) == 0
    out = tmp_path / "steps"
    argv = ["profile", "--out", str(out), "--replicas", "1", "2", "--local-bsz", "16"]
    argv += ["--steps", "2", "--statistics-from", str(source)]
    assert main(argv + common) == 0
    with open(out / "placements.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["placement"], int(r["local_bsz"])) for r in rows] == [("1", 16), ("2", 16)]
    assert (out / "host.csv").is_file() and not (source / "host.csv").exists()
    assert sorted(p.name for p in out.glob("validation-*.csv")) == ["validation-64.csv"]
    assert (out / "validation-64.csv").read_text() == (source / "validation-64.csv").read_text()
    meta = json.loads((out / "profile.json").read_text())["measured"]
    source_meta = json.loads((source / "profile.json").read_text())["measured"]
    assert meta["validation_batches"] == [64] and meta["validation_replicas"] == 1
    assert meta["statistics_from"]["date_utc"] == source_meta["date_utc"]
    refused = tmp_path / "refused"
    argv = ["profile", "--out", str(refused), "--statistics-from", str(source)]
    capsys.readouterr()
    assert main([*argv, "--data", str(data), "--train-samples", "512", "--replicas", "1"]) == 2
    assert "at 1024 samples per epoch, not 'mnist' at 512" in capsys.readouterr().err
    assert main([*argv[:-1], str(tmp_path / "missing"), *common]) == 2
    assert "no readable profile.json" in capsys.readouterr().err
    assert not refused.exists()
