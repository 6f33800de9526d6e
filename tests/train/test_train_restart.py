"""Restarts at another size: kill two gloo replicas mid-epoch, resume with 3 or 1, and check
(inside the job's own checkpointed state) that every sample of the epoch was used once."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest
from train_launcher import launch

from adaptsched.train import EXIT_PREEMPTED, CheckpointStore

pytestmark = pytest.mark.slow

SAMPLES = 240


def _job_args(tmp_path: Path, sleep_s: float) -> list[str]:
    return [
        "--ckpt",
        str(tmp_path / "ckpt"),
        "--out",
        str(tmp_path / "epoch0.json"),
        "--samples",
        str(SAMPLES),
        "--step-sleep-s",
        str(sleep_s),
        "--checkpoint-interval-s",
        "0",  # every step: any checkpoint after the first step is mid-epoch
    ]


def _wait_for_mid_epoch_checkpoint(tmp_path: Path, timeout_s: float = 40.0) -> dict:
    store = CheckpointStore(tmp_path / "ckpt")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = store.load_latest()
        if state is not None and 0 < state["sampler"]["position"] < SAMPLES // 2:
            return state
        time.sleep(0.05)
    raise AssertionError("no mid-epoch checkpoint appeared")


def _finish_and_check(tmp_path: Path, replicas: int) -> None:
    job = launch("coverage_job.py", replicas, _job_args(tmp_path, 0.0), tmp_path / "logs")
    assert job.wait(60) == [0] * replicas, job.output()
    result = json.loads((tmp_path / "epoch0.json").read_text())
    assert result["replicas"] == replicas
    assert 0 < result["resumed_at"] < SAMPLES, result["resumed_at"]
    counts = result["counts"]
    assert len(counts) == SAMPLES
    assert min(counts) == max(counts) == 1, {c: counts.count(c) for c in set(counts)}


def test_sigkill_mid_epoch_then_resume_with_three_replicas(tmp_path: Path) -> None:
    job = launch("coverage_job.py", 2, _job_args(tmp_path, 0.1), tmp_path / "logs")
    _wait_for_mid_epoch_checkpoint(tmp_path)
    job.signal(signal.SIGKILL)
    assert job.wait(10) == [-signal.SIGKILL] * 2
    assert not (tmp_path / "epoch0.json").exists()
    _finish_and_check(tmp_path, replicas=3)


def test_sigterm_checkpoints_and_exits_75_then_resume_with_one_replica(tmp_path: Path) -> None:
    job = launch("coverage_job.py", 2, _job_args(tmp_path, 0.1), tmp_path / "logs")
    before = _wait_for_mid_epoch_checkpoint(tmp_path)
    job.signal(signal.SIGTERM)
    assert job.wait(20) == [EXIT_PREEMPTED] * 2, job.output()
    after = CheckpointStore(tmp_path / "ckpt").load_latest()
    assert after is not None
    assert after["steps"] > before["steps"]  # the preemption checkpoint, not an older one
    assert 0 < after["sampler"]["position"] < SAMPLES
    _finish_and_check(tmp_path, replicas=1)
