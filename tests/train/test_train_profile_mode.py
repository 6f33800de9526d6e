"""Profiling mode of the trainer (``adaptsched profile --script``): switched on by the
environment, it holds the configurations of its plan, writes what it measured and ends the
script's loops; without the variables nothing changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from adaptsched import runtime_env as renv
from adaptsched.models import BatchLimits
from adaptsched.models.hints import Hints
from adaptsched.train import AdaptiveTrainer, BatchConfig
from adaptsched.train.profile_mode import ProfilePlan, config_for_batch

LIMITS = BatchLimits(init_batch=8, max_batch=64, min_local=2, max_local=8)
SAMPLES = 64


def _trainer(**kwargs: object) -> AdaptiveTrainer:
    torch.manual_seed(0)
    data = TensorDataset(torch.randn(SAMPLES, 3), torch.randn(SAMPLES, 1))
    model = nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    return AdaptiveTrainer(model, optimizer, data, limits=LIMITS, **kwargs)  # type: ignore[arg-type]


def _train(trainer: AdaptiveTrainer, epochs: float, evaluate: bool = False) -> list[tuple]:
    """A user's loop; returns (epoch, local batch, accumulation) per optimizer step."""
    seen = []
    for epoch in trainer.epochs(epochs):
        for x, y in trainer.batches():
            nn.functional.mse_loss(trainer.model(x), y).backward()
            if trainer.step():
                seen.append((epoch, trainer.config.local_bsz, trainer.config.accum_steps))
        if evaluate:
            trainer.report_metric(0.5 + epoch)
    return seen


def test_placements_plan_holds_each_local_batch_then_ends_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "measured.json"
    monkeypatch.setenv(renv.PROFILE_OUT, str(out))
    monkeypatch.setenv(renv.PROFILE_LOCAL_BSZ, "4,8")
    monkeypatch.setenv(renv.PROFILE_STEPS, "3")
    ckpt = tmp_path / "ckpt"
    trainer = _trainer(checkpoint_dir=str(ckpt))
    seen = _train(trainer, epochs=1000)  # the plan, not the count, ends the loop
    assert {(m, s) for _, m, s in seen} == {(4, 0), (8, 0)}
    assert [m for _, m, _ in seen] == sorted(m for _, m, _ in seen)  # 4 first, then 8
    body = json.loads(out.read_text())
    assert body["done"] is True and body["epochs"] == []
    hints = Hints.from_json(body["hints"])
    assert (hints.init_batch, hints.max_batch, hints.max_local_bsz) == (8, 64, 8)
    rows = {(r["replicas"], r["local_bsz"]): r for r in hints.observations}
    assert sorted(rows) == [(1, 4), (1, 8)]
    assert all(r["count"] == 3 and r["step_time"] > 0 for r in rows.values())
    assert not ckpt.exists()  # a measurement leaves the job's checkpoints alone
    with pytest.raises(SystemExit) as ended:  # a script that trains on is finished
        next(iter(trainer.batches()))
    assert ended.value.code == 0


def test_validation_plan_records_each_statistical_epoch_and_the_metric(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "measured.json"
    monkeypatch.setenv(renv.PROFILE_OUT, str(out))
    monkeypatch.setenv(renv.PROFILE_BATCH, "16")
    monkeypatch.setenv(renv.PROFILE_EPOCHS, "2")
    trainer = _trainer()
    seen = _train(trainer, epochs=1, evaluate=True)  # the script's own count is 1
    assert {(m, s) for _, m, s in seen} == {(8, 1)}  # M = 16 on one replica, max_local 8
    body = json.loads(out.read_text())
    assert body["done"] is True
    rows = body["epochs"]
    per_epoch = SAMPLES / LIMITS.init_batch
    assert len(rows) == 2
    assert per_epoch <= rows[0]["progress"] < rows[1]["progress"]
    assert rows[1]["progress"] >= 2 * per_epoch
    assert rows[1]["iteration"] == len(seen)
    assert all(r["grad_sqr"] > 0 and r["grad_var"] > 0 for r in rows)
    # each row takes the first metric the script reported after that epoch's end
    assert [r["metric"] is not None for r in rows] == [True, True]
    assert rows[-1]["metric"] == 0.5 + seen[-1][0]


def test_without_the_variables_nothing_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (renv.PROFILE_OUT, renv.PROFILE_LOCAL_BSZ, renv.PROFILE_BATCH):
        monkeypatch.delenv(name, raising=False)
    trainer = _trainer()
    assert trainer.profiling is None
    trainer.report_metric(1.0)  # ignored
    seen = _train(trainer, epochs=1)
    assert trainer.progress >= SAMPLES / LIMITS.init_batch - 1e-9 and seen


def test_a_step_larger_than_the_data_set_is_refused_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only full steps are timed, and a step of 128 samples never comes from 64."""
    monkeypatch.setenv(renv.PROFILE_OUT, str(tmp_path / "measured.json"))
    monkeypatch.setenv(renv.PROFILE_LOCAL_BSZ, "8,128")
    monkeypatch.setenv(renv.PROFILE_STEPS, "3")
    with pytest.raises(
        ValueError,
        match="local batch 128 x 1 micro-steps x 1 replicas takes 128 samples a step, more than",
    ):
        _trainer()


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({renv.PROFILE_LOCAL_BSZ: "8"}, f"{renv.PROFILE_OUT}: must name the file"),
        ({renv.PROFILE_OUT: "x", renv.PROFILE_LOCAL_BSZ: "8,0"}, "got '0'"),
        ({renv.PROFILE_OUT: "x", renv.PROFILE_LOCAL_BSZ: "8"}, f"{renv.PROFILE_STEPS}: expected"),
        ({renv.PROFILE_OUT: "x", renv.PROFILE_BATCH: "a"}, f"{renv.PROFILE_BATCH}: expected"),
        ({renv.PROFILE_OUT: "x", renv.PROFILE_BATCH: "8"}, f"{renv.PROFILE_EPOCHS}: expected"),
    ],
)
def test_malformed_plans_name_the_variable(env: dict[str, str], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        ProfilePlan.from_env(env)


def test_plan_from_env_and_the_batch_split() -> None:
    assert ProfilePlan.from_env({}) is None
    plan = ProfilePlan.from_env(
        {renv.PROFILE_OUT: "o.json", renv.PROFILE_LOCAL_BSZ: "8,16", renv.PROFILE_STEPS: "3"}
    )
    assert plan == ProfilePlan("o.json", local_bsz=(8, 16), steps=3)
    assert config_for_batch(64, 2, 128).total(2) == 64
    assert config_for_batch(96, 1, 32) == BatchConfig(32, 2)  # 3 micro-steps of 32
    assert config_for_batch(80, 1, 32) == BatchConfig(20, 3)  # 80 = 4 x 20, not 3 x 27
    with pytest.raises(ValueError, match="not divisible by 2 replicas"):
        config_for_batch(15, 2, 8)
