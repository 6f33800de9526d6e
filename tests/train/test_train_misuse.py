"""Mistakes in a training script fail at once with an error naming the input, instead of
looping forever, swallowing SIGTERM or counting wrong; and the hints carry the work target."""

from __future__ import annotations

import json
import logging
import math
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from adaptsched.models import BatchLimits, ModelInputError
from adaptsched.models.hints import Hints
from adaptsched.train import AdaptiveTrainer, CheckpointError, JsonFileSink
from adaptsched.train.signals import PreemptionFlag
from adaptsched.train.trainer import TrainerUsageError

LIMITS = BatchLimits(init_batch=8, max_batch=32, min_local=2, max_local=8)


def _trainer(samples: int = 32, limits: BatchLimits = LIMITS, **kwargs) -> AdaptiveTrainer:
    torch.manual_seed(0)
    data = TensorDataset(torch.randn(samples, 3), torch.randn(samples, 1))
    model = nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    return AdaptiveTrainer(model, optimizer, data, limits=limits, **kwargs)


def _train(trainer: AdaptiveTrainer, epochs: float) -> Iterator[int]:
    for epoch in trainer.epochs(epochs):
        for x, y in trainer.batches():
            nn.functional.mse_loss(trainer.model(x), y).backward()
            trainer.step()
        yield epoch


@pytest.fixture
def sigterm_log() -> Iterator[list[int]]:
    """A Python SIGTERM handler that records deliveries (restored afterwards)."""
    received: list[int] = []

    def record(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    previous = signal.signal(signal.SIGTERM, record)
    yield received
    signal.signal(signal.SIGTERM, previous)


def test_optimizer_step_instead_of_trainer_step_fails_at_once() -> None:
    trainer = _trainer()
    with pytest.raises(TrainerUsageError, match=r"trainer\.step\(\) was not called"):
        for _ in trainer.epochs(1):
            for x, y in trainer.batches():
                nn.functional.mse_loss(trainer.model(x), y).backward()
                trainer.optimizer.step()  # the DDP habit
                trainer.optimizer.zero_grad()
    assert trainer.steps == 0 and trainer.sampler.position <= 2 * 8


@pytest.mark.parametrize("count", [math.nan, math.inf, -1, "2", True])
def test_epoch_count_must_be_a_finite_number(count: object) -> None:
    with pytest.raises(ValueError, match=r"epochs: count must be a finite number >= 0, got"):
        next(iter(_trainer().epochs(count)))  # type: ignore[arg-type]


def test_dataset_smaller_than_the_initial_batch_is_refused() -> None:
    limits = BatchLimits(init_batch=64, max_batch=256, min_local=8, max_local=64)
    with pytest.raises(ValueError, match=r"dataset: 10 samples, fewer than the initial batch"):
        _trainer(samples=10, limits=limits)


def test_limits_that_cannot_reach_m0_are_refused() -> None:
    """Local batch at most 8 and no accumulation can never make M0 = 32 on one replica."""
    with pytest.raises(ModelInputError, match=r"at most 1 micro-steps \(max_accum_steps 0\)"):
        BatchLimits(init_batch=32, max_batch=64, min_local=2, max_local=8, max_accum_steps=0)
    assert BatchLimits(32, 64, 2, 8, max_accum_steps=3).init_batch == 32


def test_metric_by_name() -> None:
    assert _trainer(metric="speed").metric.name == "speed"
    with pytest.raises(ModelInputError, match="fastest"):
        _trainer(metric="fastest")


def test_unwritable_checkpoint_folder_is_found_at_start(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(CheckpointError, match=f"checkpoint_dir {blocker / 'ckpt'}: cannot write"):
        _trainer(checkpoint_dir=str(blocker / "ckpt"))


def test_hints_carry_the_work_target_from_the_start_to_the_end(tmp_path: Path) -> None:
    path = tmp_path / "hints.json"
    trainer = _trainer(hint_sink=JsonFileSink(path))
    target = 2 * 32 / 8  # 2 epochs of 32 samples, in iterations at M0 = 8
    for epoch in _train(trainer, 2):
        if epoch == 0:
            first = Hints.from_json(json.loads(path.read_text()))
    assert first.target_progress == target and first.progress < target
    last = Hints.from_json(json.loads(path.read_text()))
    assert last.target_progress == target
    assert last.progress >= target - 1e-9 and last.remaining_samples() == pytest.approx(0.0)
    assert trainer.target_progress == target  # still known after the loop


def test_without_checkpoint_folder_sigterm_keeps_its_handler(
    sigterm_log: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    trainer = _trainer()
    with caplog.at_level(logging.WARNING, logger="adaptsched.train.trainer"):
        for _ in _train(trainer, 1):
            os.kill(os.getpid(), signal.SIGTERM)  # reaches the script's own handler
    assert sigterm_log == [signal.SIGTERM]
    assert "no checkpoint_dir: nothing is saved" in caplog.text


def test_sigterm_after_training_is_not_swallowed(tmp_path: Path, sigterm_log: list[int]) -> None:
    """Late in the last epoch (too late to act on) and after the loop (evaluation), SIGTERM
    reaches the handler the script had before: once when the loop ends, once at once."""
    trainer = _trainer(checkpoint_dir=str(tmp_path / "ckpt"))
    for _ in _train(trainer, 1):
        os.kill(os.getpid(), signal.SIGTERM)
        assert sigterm_log == []  # inside the loop: the trainer's own (checkpoint and exit)
    assert sigterm_log == [signal.SIGTERM]
    os.kill(os.getpid(), signal.SIGTERM)  # during evaluation
    assert sigterm_log == [signal.SIGTERM, signal.SIGTERM]


def test_a_stop_carried_out_is_not_delivered_again(sigterm_log: list[int]) -> None:
    """After the checkpoint-and-exit-75 path has run, a SIGTERM (first or second) is not
    re-sent when the handler is given back: the job is exiting with 75."""
    flag = PreemptionFlag()
    flag.install()
    os.kill(os.getpid(), signal.SIGTERM)
    assert flag.requested and sigterm_log == []
    flag.acted_on()
    os.kill(os.getpid(), signal.SIGTERM)  # a second one while exiting
    flag.uninstall()
    assert sigterm_log == []
    os.kill(os.getpid(), signal.SIGTERM)  # the script's own handler is back
    assert sigterm_log == [signal.SIGTERM]
