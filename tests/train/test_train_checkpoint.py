"""A corrupt or half-written checkpoint is never loaded; a kill during a save leaves the last
good checkpoint loadable."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from adaptsched.train import CheckpointError, CheckpointStore
from adaptsched.train.checkpoint import decode, encode


def _state(step: int) -> dict:
    return {"step": step, "weights": torch.full((1000,), float(step))}


def test_round_trip_and_generations(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path, keep=2)
    for step in range(1, 5):
        store.save(_state(step))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ckpt-0000000003.pt",
        "ckpt-0000000004.pt",
    ]
    state = store.load_latest()
    assert state is not None and state["step"] == 4
    assert torch.equal(state["weights"], torch.full((1000,), 4.0))


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[: len(b) // 2],  # half-written (truncated)
        lambda b: b[:-1] + bytes([b[-1] ^ 0xFF]),  # one flipped byte in the payload
        lambda b: b[:10],  # cut inside the header
        lambda b: b"",  # empty file
        lambda b: b"NOTACKPT" + b[8:],  # foreign file
    ],
)
def test_damaged_newest_checkpoint_is_skipped(tmp_path: Path, damage) -> None:
    store = CheckpointStore(tmp_path, keep=2)
    store.save(_state(1))
    newest = store.save(_state(2))
    newest.write_bytes(damage(newest.read_bytes()))
    with pytest.raises(CheckpointError, match=newest.name):
        decode(newest.read_bytes(), str(newest))
    state = store.load_latest()
    assert state is not None and state["step"] == 1


def test_only_damaged_checkpoints_load_nothing(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path, keep=1)
    path = store.save(_state(1))
    path.write_bytes(encode(_state(1))[:-5])
    (tmp_path / ".ckpt-0000000002.pt.tmp-1").write_bytes(b"partial")  # an interrupted write
    assert store.load_latest() is None


_WRITER = """
import sys, torch
from adaptsched.train import CheckpointStore
store = CheckpointStore(sys.argv[1], keep=2)
step = 0
while True:
    step += 1
    store.save({"step": step, "weights": torch.full((2_000_000,), float(step))})
    print(step, flush=True)
"""


def test_sigkill_during_saves_leaves_a_valid_checkpoint(tmp_path: Path) -> None:
    for delay_s in (0.85, 1.25):
        directory = tmp_path / f"run-{delay_s}"
        proc = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(directory)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        proc.stdout.readline()  # at least one complete save
        time.sleep(delay_s - 0.8)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        state = CheckpointStore(directory).load_latest()
        assert state is not None
        assert torch.equal(state["weights"], torch.full((2_000_000,), float(state["step"])))
